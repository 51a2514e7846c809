/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * fleetctl's pure helpers for cordon, uncordon and drain (fleet-c): machine arguments given as
 * an ID or a unique prefix (as fleetctl ssh takes them), the cordon list of the API
 * (GET /fleet-c/v1/cordons), and the progress of a drain. No I/O.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "api-json.h"

/*
 * The machine of ms (n of them) whose ID is arg or starts with it, in *ret (borrowed). -EINVAL
 * (empty arg), -ENOENT (none), -EEXIST (several: an ambiguous prefix), each with a message in
 * *reterr_message ("machine 5e6b does not exist", "machine prefix 5 is ambiguous: 5e6b...,
 * 5f00..."), -ENOMEM.
 */
int fleetctl_machine_resolve(const ApiMachine *ms, size_t n, const char *arg,
                             const ApiMachine **ret, char **reterr_message);

/*
 * ms (n of them) and, after them, a machine with only an ID for each of ids that is not among
 * ms (machines whose lease expired but that still have units scheduled, which drain and
 * uncordon take too), in a new array *ret (free() it; the IDs are borrowed from ms and ids),
 * *ret_n of them. 0 or -ENOMEM.
 */
int fleetctl_machines_with(const ApiMachine *ms, size_t n, char *const *ids, ApiMachine **ret,
                           size_t *ret_n);

/* {"cordons":[{"machineID":"...","state":"..."}]} -> a strv of alternating ID, state. -EINVAL
 * with a message for anything else, -ENOMEM. */
int fleetctl_cordons_parse(const char *text, size_t len, char ***ret, char **reterr_message);

/* The state of machine id in a parsed cordon list ("cordoned", "draining"), or NULL. */
const char *fleetctl_cordon_state(char *const *cordons, const char *id);

/* Where one unit of a draining machine stands. */
typedef enum FleetctlDrainStep {
        FLEETCTL_DRAIN_WAITING,     /* still on the machine, or on its way */
        FLEETCTL_DRAIN_MOVED,       /* runs elsewhere in its desired state */
        FLEETCTL_DRAIN_UNPLACED,    /* off the machine, but the engine cannot place it */
        FLEETCTL_DRAIN_DESTROYED,   /* the unit was destroyed meanwhile */
        FLEETCTL_DRAIN_DEACTIVATED, /* off the machine; someone set it inactive */
        _FLEETCTL_DRAIN_STEP_MAX,
        _FLEETCTL_DRAIN_STEP_INVALID = -EINVAL,
} FleetctlDrainStep;

/*
 * Judge unit u (NULL: it no longer exists) that was on machine, given whether its agent still
 * reports a state there (on_machine).
 */
FleetctlDrainStep fleetctl_drain_step(const ApiUnit *u, const char *machine, bool on_machine);
