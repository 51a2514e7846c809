/* SPDX-License-Identifier: MIT */
/*
 * Freezing at the fencing deadline (DESIGN.md section 4 "Fencing and faults",
 * docs/failure-behaviour.md). When presence reports SUSPECT (no keepalive succeeded before the
 * lease deadline, so the lease may have expired and the cluster may start the units elsewhere),
 * the agent freezes every movable unit instead of stopping it: systemd's FreezeUnit (the cgroup
 * v2 freezer), or SIGSTOP to every process of the unit through KillUnit where systemd cannot
 * freeze (or when freeze_method=signal). A frozen unit runs nothing, so it cannot run twice,
 * and it keeps its processes: when etcd confirms that the lease lives (ALIVE), the units are
 * thawed and nothing was restarted. When etcd says the lease is gone (FENCED), the frozen units
 * are killed (SIGKILL, so that they never run again: a copy may run elsewhere by then) and
 * stopped.
 *
 * A unit that cannot be frozen (the call fails for another reason than "not running") is
 * stopped instead: whatever happens, a movable unit does not run on while the agent is
 * suspect.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "agent-internal.h"
#include "log.h"

typedef struct FreezeCall {
        Agent *agent;
        char *name;
        bool by_signal;
        bool thaw;
} FreezeCall;

static FreezeCall *freeze_call_free(FreezeCall *c) {
        if (c) {
                free(c->name);
                free(c);
        }
        return NULL;
}

static AgentFrozen *frozen_find(Agent *a, const char *name) {
        for (size_t i = 0; i < a->n_frozen; i++)
                if (streq(a->frozen[i].name, name))
                        return &a->frozen[i];
        return NULL;
}

static int frozen_add(Agent *a, const char *name, bool by_signal) {
        AgentFrozen *f = frozen_find(a, name), *n;

        if (f) {
                f->by_signal = by_signal;
                return 0;
        }
        n = realloc(a->frozen, sizeof(AgentFrozen) * (a->n_frozen + 1));
        if (!n)
                return -ENOMEM;
        a->frozen = n;
        n[a->n_frozen].name = strdup(name);
        if (!n[a->n_frozen].name)
                return -ENOMEM;
        n[a->n_frozen++].by_signal = by_signal;
        return 0;
}

static void frozen_remove(Agent *a, const char *name) {
        AgentFrozen *f = frozen_find(a, name);

        if (!f)
                return;
        free(f->name);
        *f = a->frozen[--a->n_frozen];
}

void agent_frozen_clear(Agent *a) {
        for (size_t i = 0; i < a->n_frozen; i++)
                free(a->frozen[i].name);
        free(a->frozen);
        a->frozen = NULL;
        a->n_frozen = 0;
}

/* Movable: the cluster could start it elsewhere. Global units run everywhere anyway. */
static bool unit_movable(const AgentUnit *u) {
        return !u->global && (u->has_file || u->recorded != JOB_STATE_INACTIVE);
}

static bool unit_running(Agent *a, const char *name) {
        const SystemdUnitState *st =
                a->systemd ? systemd_manager_get_unit_state(a->systemd, name) : NULL;

        return agent_unit_activity_from_active_state(st ? st->active_state : NULL) !=
               AGENT_UNIT_STOPPED;
}

static int send_call(Agent *a, const char *name, bool by_signal, bool thaw);

/* The unit could not be made harmless by freezing: stop it. */
static void stop_instead(Agent *a, const char *name, int error) {
        AgentUnit *u = strmap_get(&a->units, name);
        int r;

        log_warning_errno(error, "Fencing: failed to freeze %s: %m; stopping it instead", name);
        frozen_remove(a, name);
        if (!a->systemd)
                return;
        r = systemd_manager_stop_unit(a->systemd, name, 0, NULL, NULL);
        if (r < 0)
                log_error_errno(r, "Fencing: failed to stop %s: %m", name);
        if (u) {
                if (u->recorded == JOB_STATE_LAUNCHED)
                        u->recorded = JOB_STATE_LOADED;
                u->has_started = false;
        }
}

static void on_call_done(SystemdManager *m, const SystemdResult *res, void *userdata) {
        FreezeCall *c = userdata;
        Agent *a = c->agent;

        if (c->thaw) {
                if (res->error < 0 && res->error != -ENONET)
                        log_warning("Failed to thaw %s: %s", c->name, strempty(res->message));
                freeze_call_free(c);
                return;
        }
        if (res->error == -ENONET) /* not running: nothing to freeze */
                frozen_remove(a, c->name);
        else if (res->error == -EOPNOTSUPP && !c->by_signal) {
                log_info("systemd cannot freeze %s (%s): sending SIGSTOP instead", c->name,
                         strempty(res->message));
                if (frozen_add(a, c->name, true) < 0 || send_call(a, c->name, true, false) < 0)
                        stop_instead(a, c->name, -ENOMEM);
        } else if (res->error < 0)
                stop_instead(a, c->name, res->error);
        else if (!a->freezing && frozen_find(a, c->name)) {
                /* Thawed meanwhile (ALIVE came before this answer): thaw this one too. */
                frozen_remove(a, c->name);
                (void) send_call(a, c->name, c->by_signal, true);
        }
        freeze_call_free(c);
}

static int send_call(Agent *a, const char *name, bool by_signal, bool thaw) {
        FreezeCall *c;
        int r;

        if (!a->systemd)
                return -ENOTCONN;
        c = calloc(1, sizeof(FreezeCall));
        if (!c)
                return -ENOMEM;
        *c = (FreezeCall){.agent = a, .name = strdup(name), .by_signal = by_signal, .thaw = thaw};
        if (!c->name)
                return freeze_call_free(c), -ENOMEM;
        if (by_signal)
                r = systemd_manager_kill_unit(a->systemd, name, thaw ? SIGCONT : SIGSTOP,
                                              on_call_done, c);
        else if (thaw)
                r = systemd_manager_thaw_unit(a->systemd, name, on_call_done, c);
        else
                r = systemd_manager_freeze_unit(a->systemd, name, on_call_done, c);
        if (r < 0)
                freeze_call_free(c);
        return r;
}

static void freeze_one(Agent *a, const char *name) {
        int r;

        r = frozen_add(a, name, a->freeze_with_signals);
        if (r >= 0)
                r = send_call(a, name, a->freeze_with_signals, false);
        if (r < 0)
                stop_instead(a, name, r);
}

void agent_freeze_units(Agent *a) {
        StrMapIter it = {};
        AgentUnit *u;
        size_t n = 0;

        a->freezing = true;
        if (a->executor)
                executor_abort(a->executor); /* no start may complete behind our back */
        if (!a->systemd) {
                log_error("Fencing: not connected to systemd, cannot freeze units");
                return;
        }
        while (strmap_next(&a->units, &it, NULL, (void **) &u)) {
                if (!unit_movable(u) || !unit_running(a, u->name) || frozen_find(a, u->name))
                        continue;
                freeze_one(a, u->name);
                n++;
        }
        a->freezes++;
        log_warning("Fencing: froze %zu unit(s) that the cluster may start elsewhere (%s); they "
                    "are thawed if etcd confirms the lease, stopped if it is gone",
                    n, a->freeze_with_signals ? "SIGSTOP" : "systemd's freezer");
}

void agent_thaw_units(Agent *a) {
        size_t n = a->n_frozen;

        a->freezing = false;
        for (size_t i = 0; i < a->n_frozen; i++) {
                int r = send_call(a, a->frozen[i].name, a->frozen[i].by_signal, true);

                if (r < 0)
                        log_error_errno(r, "Failed to thaw %s: %m", a->frozen[i].name);
        }
        agent_frozen_clear(a);
        if (n > 0)
                log_notice("Thawed %zu unit(s): etcd confirmed the lease, nothing was restarted",
                           n);
}

void agent_freeze_forget(Agent *a, bool kill) {
        size_t n = 0;

        /* The lease is gone: the cluster may run these units elsewhere already. Stopping a
         * frozen unit thaws it first, and its processes would run again until they handle
         * SIGTERM; SIGKILL ends them where they stand (it works on frozen and on stopped
         * processes). agent_fence_units() then stops the units. */
        for (size_t i = 0; kill && a->systemd && i < a->n_frozen; i++)
                if (systemd_manager_kill_unit(a->systemd, a->frozen[i].name, SIGKILL, NULL, NULL) >=
                    0)
                        n++;
        if (n > 0)
                log_warning("Fencing: killed %zu frozen unit(s) (SIGKILL): the lease is gone", n);
        a->freezing = false;
        agent_frozen_clear(a);
}

void agent_freeze_on_state(Agent *a, const char *name) {
        AgentUnit *u;

        if (!a->freezing || frozen_find(a, name))
                return;
        u = strmap_get(&a->units, name);
        if (u && unit_movable(u) && unit_running(a, name)) {
                log_warning("Fencing: %s started while units are frozen: freezing it", name);
                freeze_one(a, name);
        }
}
