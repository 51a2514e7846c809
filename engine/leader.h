/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Engine leader election over etcd (DESIGN.md section 4, Engine), in the sd-event loop.
 *
 * Every engine watches <P>engine/ (one cheap watch: no requests while idle). When the leader
 * key is absent it campaigns: create engine/leader = {"MachineID","Version"} attached to a
 * lease only if absent (registry_campaign). The winner's key create_revision is its TERM;
 * every schedule write it makes is fenced by that term (registry_apply_schedule), so an engine
 * that lost the key cannot write any more.
 *
 * Which lease, chosen explicitly by LeaderConfig.machine_lease:
 *  - machine lease (fleetd): the key goes on the lease of this machine's agent, which the
 *    owner passes in with leader_set_lease() (0 while the machine is not registered, or its
 *    lease may have expired: presence SUSPECT or FENCED). One lease per machine, renewed by
 *    the agent only: an idle leader sends nothing of its own. The elector never grants, renews
 *    or revokes it. leader_set_lease() with another lease (0 included) ends the term at once:
 *    the engine never leads on a lease that may be dead. A crash of the leader's machine (or
 *    fleetd) frees the key when the machine's lease expires, after at most agent_ttl. A key on
 *    our lease whose term has ended (we stepped down, or a previous fleetd that reused the
 *    lease led) is deleted (fenced by its create_revision) before campaigning again: a term is
 *    never resumed.
 *  - own lease (the standalone engine of bench-scale, tests): grant a lease of the configured
 *    TTL for each campaign and keep it alive every TTL/3, as below.
 *
 * An own-lease leader keeps its lease alive every TTL/3. It stops leading when:
 *  - the watch shows the key deleted or re-created by someone else (create_revision != term);
 *  - a keepalive says the lease is gone;
 *  - no keepalive succeeded within TTL of the last good one's send time (etcd may have expired
 *    the lease by then; its writes would be refused anyway, this only stops futile work);
 *  - leader_step_down(): a fenced write was refused.
 * (A machine-lease leader stops on the first of those that apply: the watch, leader_set_lease(),
 * leader_step_down().) Then an own-lease leader revokes its lease (so the key, if still its own,
 * goes at once) and campaigns again as soon as the key is absent. A crashed leader's key vanishes
 * with its lease after at most the TTL, and the watchers campaign within a round trip.
 *
 * Followers hold no lease of their own and send nothing. Losing a campaign revokes the own
 * lease just granted.
 * A campaign whose outcome is unknown (a timed-out txn) is settled by the watch: a leader key
 * attached to this engine's lease is this engine's term.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "registry.h"
#include "time-util.h"

typedef struct Leader Leader;

typedef struct LeaderConfig {
        const char *machine_id; /* written into the leader key; required */
        const char *version;    /* idem; NULL = "" */
        usec_t lease_ttl;       /* own lease: its TTL, rounded up to whole seconds, at least
                                 * 1 s; both modes: the cap of the retry backoff */
        bool machine_lease;     /* true: campaign with the lease leader_set_lease() gives (the
                                 * agent's); false: grant and renew an own lease */
} LeaderConfig;

/* Called from the event loop when this engine becomes leader (term > 0) or stops being leader
 * (is_leader false, term = the term just lost). Not called for leader_resign(). The handler
 * must not free the Leader. */
typedef void (*leader_change_handler_t)(Leader *l, bool is_leader, int64_t term, void *userdata);

/* A stopped elector. cfg is copied; registry is borrowed. 0, -EINVAL, -ENOMEM. */
int leader_new(Leader **ret, sd_event *event, Registry *registry, const LeaderConfig *cfg,
               leader_change_handler_t handler, void *userdata);

/* Start watching the leader key (and campaigning when it is free). 0, -EALREADY, -ENOMEM. */
int leader_start(Leader *l);

/*
 * Machine-lease mode: the machine's lease is now lease (0 = none, or it may have expired). A
 * change ends a term held on the old lease at once (handler called); with a lease, campaign
 * when the key is free. 0, or -EINVAL (own-lease mode, lease < 0).
 */
int leader_set_lease(Leader *l, int64_t lease);

/* A fenced write was refused: stop leading now (handler called), revoke the lease, and
 * campaign again once the key is free. No-op when not leading. */
void leader_step_down(Leader *l, const char *reason);

/*
 * Graceful stop: stop campaigning and watching; if leading, delete the leader key (only if its
 * create_revision is still the term), then revoke an own lease (a machine lease stays: its
 * owner revokes it, or hands it to the next fleetd); then call done (always from the
 * event loop, never from inside this call). Errors are logged and ignored. -EALREADY if a
 * resign is already running.
 */
int leader_resign(Leader *l, void (*done)(Leader *l, void *userdata), void *userdata);

/* Cancel everything in flight (no callbacks, the lease is left to expire). NULL ok. */
Leader *leader_free(Leader *l);
DEFINE_CLEANUP(Leader *, leader_free);

bool leader_is_leader(const Leader *l);
/* The term while leading, else 0. */
int64_t leader_get_term(const Leader *l);
/* The current leader's machine ID as last seen by the watch (borrowed), or NULL if none. */
const char *leader_get_current(const Leader *l);
/* The lease this engine campaigns with or leads on (0 = none). */
int64_t leader_get_lease(const Leader *l);
/* How many times this engine gained leadership. */
uint64_t leader_get_terms_won(const Leader *l);
