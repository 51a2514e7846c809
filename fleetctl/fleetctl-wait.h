/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * fleetctl's blocking commands (start, load, stop, unload, restart) wait for units to reach a
 * state. fleet waited forever when that could no longer happen; fleet-c stops waiting and says
 * why when the unit was destroyed meanwhile, when someone else changed its desired state, or
 * when the engine reports that it cannot place the unit (the API's "reason" field). Pure.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "api-json.h"
#include "fleetctl-util.h"
#include "time-util.h"

/* A wait's timing: an attempt (--block-attempts counts them) lasts 2 s, as fleet's 250 ms x 8
 * polls did (reference 11.4); polls within it start faster (fleetctl_poll_delay()). */
#define WAIT_POLL_USEC (250 * 1000)
#define WAIT_ATTEMPT_USEC (2 * 1000 * 1000)

typedef enum FleetctlWaitVerdict {
        FLEETCTL_WAIT_PENDING,     /* keep waiting */
        FLEETCTL_WAIT_REACHED,     /* the unit is in the state */
        FLEETCTL_WAIT_DESTROYED,   /* the unit no longer exists */
        FLEETCTL_WAIT_CHANGED,     /* its desired state is no longer the awaited one */
        FLEETCTL_WAIT_UNPLACEABLE, /* the engine cannot place it: u->reason says why */
        _FLEETCTL_WAIT_VERDICT_MAX,
        _FLEETCTL_WAIT_VERDICT_INVALID = -EINVAL,
} FleetctlWaitVerdict;

/*
 * Judge one poll of a unit awaited in state ("inactive", "loaded" or "launched", which is also
 * the desired state fleetctl set). u NULL: the unit does not exist. global: the unit is global
 * (its desired state is what is awaited). creation: the wait that follows fleetctl creating the
 * unit, where another client setting a desired state meanwhile means the unit exists, which is
 * all that is awaited (REACHED, not CHANGED).
 */
FleetctlWaitVerdict fleetctl_wait_judge(const ApiUnit *u, bool global, const char *state,
                                        bool creation);

/*
 * The line fleetctl prints when it stops waiting for name (verdicts DESTROYED, CHANGED,
 * UNPLACEABLE), e.g. "Unit db.service cannot be placed: no machine satisfies ...". Malloc'd in
 * *ret. 0, -EINVAL (another verdict), -ENOMEM.
 */
int fleetctl_wait_message(const char *name, const ApiUnit *u, const char *state,
                          FleetctlWaitVerdict v, char **ret);

/*
 * fleetctl why: one line saying where unit u runs or why it does not, from the unit (its
 * reason, desired and current state, target) and its states as the agents report them (states,
 * n: any order, other machines' included). Machines are shown as legends ("586c13e0.../IP",
 * full IDs with full) through lookup. Examples:
 *   "db.service: not scheduled: no machine satisfies MachineMetadata region=ap (3 machines
 *    checked)"
 *   "web.service: launched on 586c13e0.../127.0.0.11; systemd: loaded active running"
 *   "mon.service: global unit, launched; on 586c13e0.../127.0.0.11: loaded active running"
 * Malloc'd in *ret. 0 or -ENOMEM.
 */
int fleetctl_why_line(const ApiUnit *u, bool global, const ApiUnitState *states, size_t n,
                      bool full, MachineLookup lookup, void *userdata, char **ret);

/*
 * How long to sleep before poll number n (0-based) of a wait: WAIT_POLL_FAST_USEC for the first
 * WAIT_POLL_FAST_N polls, then 10 ms, doubling, at most WAIT_POLL_USEC (fleet's fixed
 * interval). A start's two waits (launched, then active) each end some 10 - 20 ms after they
 * begin; with polls 5 ms apart fleetctl notices at most 5 ms late (10 ms, doubling, noticed
 * up to 10 - 20 ms late). The API answers these reads from memory; a long wait costs it no
 * more than fleet's polling did.
 */
#define WAIT_POLL_FAST_USEC (5 * 1000)
#define WAIT_POLL_FAST_N 16
uint64_t fleetctl_poll_delay(unsigned n);

/*
 * Whether systemd's "failed", seen waited_usec into a wait for a unit to become active, means
 * that this start failed. A unit that failed before keeps reporting "failed" until its agent
 * has started it again, which fast polls can beat: "failed" counts once another state was seen
 * during the wait (seen_other), or after FLEETCTL_FAILED_SETTLE_USEC.
 */
#define FLEETCTL_FAILED_SETTLE_USEC (1000 * 1000)
bool fleetctl_failed_counts(bool seen_other, uint64_t waited_usec);

/* A sleep that resumes after signals. */
void fleetctl_sleep_usec(uint64_t usec);
