/* SPDX-License-Identifier: MIT */
/*
 * The agent's reconcile pass: gather the current state (units directory records, systemd's
 * view, the runtime links), diff it against the desired state with agent_reconcile() (pure),
 * hand the tasks to the executor, and record what was done. Also: the unit records, state
 * publishing, fencing and the shutdown purge.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-internal.h"
#include "log.h"
#include "strv.h"
#include "unit-name.h"

/* --- unit records ----------------------------------------------------------------------------- */

AgentUnit *agent_unit_ensure(Agent *a, const char *name) {
        AgentUnit *u = strmap_get(&a->units, name);

        if (u)
                return u;
        u = calloc(1, sizeof(AgentUnit));
        if (!u)
                return NULL;
        u->name = strdup(name);
        if (!u->name || strmap_put(&a->units, name, u, NULL) < 0) {
                free(u->name);
                free(u);
                return NULL;
        }
        u->recorded = JOB_STATE_INACTIVE;
        if (a->systemd && systemd_manager_watch_unit(a->systemd, name) < 0)
                log_warning("Failed to follow the state of %s", name);
        return u;
}

static void unit_free(AgentUnit *u) {
        if (!u)
                return;
        free(u->name);
        free(u);
}

void agent_units_done(Agent *a) {
        StrMapIter i = {};
        AgentUnit *u;

        while (strmap_next(&a->units, &i, NULL, (void **) &u))
                unit_free(u);
        strmap_done(&a->units);
}

void agent_unit_publish(Agent *a, AgentUnit *u) {
        const SystemdUnitState *st;
        RegistryUnitState s = {};
        int r;

        if (u->recorded == JOB_STATE_INACTIVE || !u->has_file || !a->systemd)
                return;
        st = systemd_manager_get_unit_state(a->systemd, u->name);
        if (!st)
                return;
        s.load_state = (char *) st->load_state;
        s.active_state = (char *) st->active_state;
        s.sub_state = (char *) st->sub_state;
        /* The content that runs: a unit still running what it was started with before its
         * file changed reports that, so that nobody takes the new file for a restarted unit. */
        memcpy(s.unit_hash,
               u->has_started && agent_unit_activity_from_active_state(st->active_state) !=
                                         AGENT_UNIT_STOPPED
                       ? u->started_hash
                       : u->file_hash,
               sizeof(s.unit_hash));
        s.fleet_state = u->recorded;
        r = publisher_set(a->publisher, u->name, &s);
        if (r < 0)
                log_warning_errno(r, "Failed to queue the state of %s: %m", u->name);
}

void agent_on_unit_state(SystemdManager *m, const char *name, const SystemdUnitState *state,
                         void *userdata) {
        Agent *a = userdata;
        AgentUnit *u = strmap_get(&a->units, name);
        bool stopped = false;

        if (u && u->stop_queued_at &&
            agent_unit_activity_from_active_state(state ? state->active_state : NULL) !=
                    AGENT_UNIT_RUNNING) {
                /* Our stop is under way: a pass may now start the unit again. */
                u->stop_queued_at = 0;
                stopped = true;
        }
        if (u)
                agent_unit_publish(a, u);
        agent_freeze_on_state(a, name);
        if (stopped || a->waiting_states || (u && u->isolated != AGENT_STATE_READY))
                agent_pass_kick(a);
}

/* Whether a StopUnit job of ours is queued and systemd still reports the unit as it was. Its
 * reply comes before systemd runs the job, so until the unit is seen stopping, "active" is the
 * state from before the stop, not a unit running as desired. */
static bool unit_stop_queued(const AgentUnit *u) {
        return u->stop_queued_at &&
               clock_now_usec(CLOCK_MONOTONIC) < u->stop_queued_at + AGENT_STOP_QUEUED_MAX;
}

/* Is systemd's runtime link for name in place and pointing at our file? */
static bool unit_linked(Agent *a, const char *name) {
        _cleanup_free_ char *link = NULL, *want = NULL;
        char target[PATH_MAX];
        ssize_t n;

        if (asprintf(&link, "%s/%s", a->link_directory, name) < 0 ||
            asprintf(&want, "%s/%s", a->units_directory, name) < 0)
                return false;
        n = readlink(link, target, sizeof(target) - 1);
        if (n < 0)
                return false;
        target[n] = '\0';
        return streq(target, want);
}

/* systemd's last known state of a watched unit; NULL if unknown or while reconnecting. */
static const SystemdUnitState *unit_state(Agent *a, const char *name) {
        return a->systemd ? systemd_manager_get_unit_state(a->systemd, name) : NULL;
}

static AgentUnitActivity unit_activity(Agent *a, const char *name) {
        const SystemdUnitState *st = unit_state(a, name);

        return agent_unit_activity_from_active_state(st ? st->active_state : NULL);
}

/* --- pass bookkeeping ------------------------------------------------------------------------- */

void agent_pass_units_free(Agent *a) {
        for (size_t i = 0; i < a->n_pass_units; i++)
                free(a->pass_units[i].name);
        free(a->pass_units);
        a->pass_units = NULL;
        a->n_pass_units = 0;
}

static AgentPassUnit *pass_unit_find(Agent *a, const char *name) {
        for (size_t i = 0; i < a->n_pass_units; i++)
                if (streq(a->pass_units[i].name, name))
                        return &a->pass_units[i];
        return NULL;
}

void agent_pass_kick(Agent *a) {
        if (a->stopping || !a->pass_source)
                return;
        if (a->executor && executor_is_running(a->executor)) {
                a->pass_again = true;
                return;
        }
        (void) sd_event_source_set_enabled(a->pass_source, SD_EVENT_ONESHOT);
}

static void schedule_retry(Agent *a) {
        char buf[FORMAT_TIMESPAN_MAX];
        int enabled = SD_EVENT_OFF;

        (void) sd_event_source_get_enabled(a->retry_timer, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;
        a->backoff =
                a->backoff ? MIN(a->backoff * 2, AGENT_PASS_BACKOFF_MAX) : AGENT_PASS_BACKOFF_MIN;
        log_info("Retrying in %s", format_timespan(buf, a->backoff));
        (void) sd_event_source_set_time_relative(a->retry_timer, a->backoff);
        (void) sd_event_source_set_enabled(a->retry_timer, SD_EVENT_ONESHOT);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Agent *a = userdata;

        agent_contents_prune(a, true);
        agent_pass_kick(a);
        return 0;
}

/* After a pass: each desired unit whose tasks all succeeded is now in its target state; one
 * found running with the desired content is adopted. Then forget units that left no trace. */
static void pass_record(Agent *a) {
        StrMapIter it = {};

        for (size_t i = 0; i < a->n_pass_units; i++) {
                AgentPassUnit *p = &a->pass_units[i];
                AgentUnit *u = strmap_get(&a->units, p->name);

                if (!u || p->failed)
                        continue;
                u->global = p->global;
                /* Not launched by a unit still "active" only until our stop runs: once it
                 * stops, the next pass starts it again. */
                if (u->recorded != p->target &&
                    !(p->target == JOB_STATE_LAUNCHED && unit_stop_queued(u)))
                        u->recorded = p->target;
                if (p->target == JOB_STATE_LAUNCHED &&
                    unit_activity(a, p->name) == AGENT_UNIT_RUNNING && !u->has_started &&
                    u->has_file && streq(u->file_hash, p->hash)) {
                        u->has_started = true;
                        memcpy(u->started_hash, p->hash, sizeof(u->started_hash));
                }
                agent_unit_publish(a, u);
        }
        for (AgentUnit *u; strmap_next(&a->units, &it, NULL, (void **) &u);) {
                if (pass_unit_find(a, u->name) || u->has_file ||
                    u->recorded != JOB_STATE_INACTIVE || unit_linked(a, u->name) ||
                    unit_activity(a, u->name) != AGENT_UNIT_STOPPED)
                        continue;
                if (a->systemd)
                        (void) systemd_manager_unwatch_unit(a->systemd, u->name);
                if (u->isolated != AGENT_STATE_READY)
                        (void) publisher_set(a->publisher, u->name, NULL);
                unit_free(strmap_remove_current(&a->units, &it));
        }
}

/* --- executor outcomes ------------------------------------------------------------------------ */

void agent_on_task(Executor *x, const ExecTask *t, void *userdata) {
        Agent *a = userdata;
        AgentUnit *u = t->name ? strmap_get(&a->units, t->name) : NULL;
        AgentPassUnit *p = t->name ? pass_unit_find(a, t->name) : NULL;

        if (t->error < 0) {
                if (p)
                        p->failed = true;
                return;
        }
        if (!u)
                return;
        switch (t->type) {
        case AGENT_TASK_UNLOAD:
                u->has_file = false;
                u->recorded = JOB_STATE_INACTIVE;
                u->has_started = false;
                (void) publisher_set(a->publisher, u->name, NULL);
                return;
        case AGENT_TASK_LOAD:
                u->has_file = true;
                memcpy(u->file_hash, t->hash, sizeof(u->file_hash));
                if (u->recorded == JOB_STATE_INACTIVE)
                        u->recorded = JOB_STATE_LOADED;
                break;
        case AGENT_TASK_STOP:
                u->recorded = JOB_STATE_LOADED;
                u->stop_queued_at = clock_now_usec(CLOCK_MONOTONIC);
                break;
        case AGENT_TASK_START:
        case AGENT_TASK_RESTART:
                /* A start that completes after fencing stopped the unit must not count. */
                if (!presence_is_registered(a->presence))
                        break;
                u->recorded = JOB_STATE_LAUNCHED;
                u->stop_queued_at = 0;
                u->has_started = u->has_file;
                memcpy(u->started_hash, u->file_hash, sizeof(u->started_hash));
                break;
        default:
                return;
        }
        agent_unit_publish(a, u);
}

void agent_on_executed(Executor *x, size_t n_failed, bool aborted, void *userdata) {
        Agent *a = userdata;

        if (!aborted && !a->stopping)
                pass_record(a);
        agent_pass_units_free(a);
        if (a->stopping) {
                if (!a->handover)
                        agent_shutdown_continue(a);
                return;
        }
        if (n_failed > 0 && !aborted)
                schedule_retry(a);
        else if (!aborted && !a->has_isolated)
                a->backoff = 0;
        if (a->pass_again || aborted) {
                a->pass_again = false;
                agent_pass_kick(a);
        }
}

/* --- the pass --------------------------------------------------------------------------------- */

static int tasks_to_exec(Agent *a, const AgentTask *tasks, size_t n, ExecTask **ret) {
        ExecTask *et = calloc(n, sizeof(ExecTask));

        if (!et)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const AgentTask *t = &tasks[i];
                ExecTask *e = &et[i];

                e->type = t->type;
                e->reason = t->reason;
                e->write_file = t->write_file;
                if (t->name && !(e->name = strdup(t->name)))
                        goto oom;
                if (t->type == AGENT_TASK_LOAD) {
                        AgentContent *c = agent_content_get(a, t->hash);

                        if (!c || !c->text || !(e->hash = strdup(t->hash)))
                                goto oom;
                        e->enable = c->has_install;
                        if (e->write_file) {
                                e->text = strndup(c->text, c->len);
                                e->len = c->len;
                                if (!e->text)
                                        goto oom;
                        }
                }
        }
        *ret = et;
        return 0;
oom:
        for (size_t i = 0; i < n; i++)
                exec_task_done(&et[i]);
        free(et);
        return -ENOMEM;
}

/* Build the current-state array of every unit not in excluded. Names are borrowed. */
static int current_build(Agent *a, char **excluded, AgentCurrentUnit **ret, size_t *ret_n) {
        AgentCurrentUnit *cur = calloc(strmap_size(&a->units) + 1, sizeof(AgentCurrentUnit));
        StrMapIter i = {};
        AgentUnit *u;
        size_t n = 0;

        if (!cur)
                return -ENOMEM;
        while (strmap_next(&a->units, &i, NULL, (void **) &u)) {
                const SystemdUnitState *st = unit_state(a, u->name);
                bool linked;

                if (strv_contains(excluded, u->name))
                        continue;
                linked = unit_linked(a, u->name);
                cur[n++] = (AgentCurrentUnit){
                        .name = u->name,
                        .file_hash = u->has_file ? u->file_hash : NULL,
                        .linked = linked,
                        .systemd_stale = linked && st && streq(st->load_state, "not-found"),
                        .systemd_loaded =
                                st && st->load_state && !streq(st->load_state, "not-found"),
                        .activity =
                                agent_unit_activity_from_active_state(st ? st->active_state : NULL),
                        .recorded = u->recorded,
                        .started_hash = u->has_started ? u->started_hash : NULL,
                };
        }
        *ret = cur;
        *ret_n = n;
        return 0;
}

/* Publish an isolated unit's state: what systemd reports for a unit it could not load, with
 * the reason as the subState. The first time (or a new reason) is logged; a unit without a
 * state has it asked for again (each isolation comes with a pass retry, with backoff). */
static void unit_isolate(Agent *a, AgentUnit *u, AgentStateVerdict v) {
        AgentPassUnit *p = pass_unit_find(a, u->name);
        RegistryUnitState s = {
                .load_state = (char *) "error",
                .active_state = (char *) "failed",
                .sub_state = (char *) agent_state_verdict_to_sub_state(v),
                .fleet_state = u->recorded,
        };
        int r;

        if (u->isolated != v) {
                _cleanup_free_ char *why = NULL;

                if (v == AGENT_STATE_INVALID_NAME)
                        (void) unit_name_validate(u->name, &why);
                log_warning("Isolating %s: %s%s; the other units go on, it is retried with backoff",
                            u->name,
                            v == AGENT_STATE_INVALID_NAME ? "systemd refuses its name: "
                                                          : "systemd did not report its state",
                            strempty(why));
        } else if (v == AGENT_STATE_NO_STATE && a->systemd) {
                (void) systemd_manager_unwatch_unit(a->systemd, u->name);
                (void) systemd_manager_watch_unit(a->systemd, u->name);
        }
        u->isolated = v;
        memcpy(s.unit_hash, p ? p->hash : u->file_hash, sizeof(s.unit_hash));
        if (p)
                p->failed = true; /* no record of this pass for it */
        r = publisher_set(a->publisher, u->name, &s);
        if (r < 0)
                log_warning_errno(r, "Failed to queue the state of %s: %m", u->name);
}

/*
 * Every unit taking part needs a record (watched) and a known systemd state. A unit whose
 * name systemd refuses, or whose state has not come within AGENT_STATE_WAIT_MAX, is isolated
 * (agent_state_verdict()): added to *excluded so that this pass leaves it alone and the other
 * units go on. 1 if the pass can run, 0 to wait (a state change or the state timer kicks the
 * next pass), -ENOMEM.
 */
static int states_ready(Agent *a, char ***excluded) {
        usec_t now = 0, deadline = USEC_INFINITY;
        StrMapIter it = {};
        bool isolated = false;
        AgentUnit *u;

        (void) sd_event_now(a->event, CLOCK_MONOTONIC, &now);
        for (size_t i = 0; i < a->n_pass_units; i++)
                if (!agent_unit_ensure(a, a->pass_units[i].name))
                        return -ENOMEM;
        while (strmap_next(&a->units, &it, NULL, (void **) &u)) {
                AgentStateVerdict v;

                if (strv_contains(*excluded, u->name))
                        continue;
                v = agent_state_verdict(u->name, unit_state(a, u->name) != NULL,
                                        u->isolated != AGENT_STATE_READY, u->state_wait_since, now,
                                        AGENT_STATE_WAIT_MAX);
                switch (v) {
                case AGENT_STATE_READY:
                        if (u->isolated != AGENT_STATE_READY)
                                log_info("%s: systemd reports its state now, taking it back",
                                         u->name);
                        u->isolated = AGENT_STATE_READY;
                        u->state_wait_since = 0;
                        break;
                case AGENT_STATE_WAIT:
                        if (u->state_wait_since == 0)
                                u->state_wait_since = now;
                        deadline = MIN(deadline, u->state_wait_since + AGENT_STATE_WAIT_MAX);
                        break;
                default:
                        if (strv_extend(excluded, u->name) < 0)
                                return -ENOMEM;
                        unit_isolate(a, u, v);
                        isolated = true;
                }
        }
        if (deadline != USEC_INFINITY) {
                (void) sd_event_source_set_time(a->state_timer, deadline);
                (void) sd_event_source_set_enabled(a->state_timer, SD_EVENT_ONESHOT);
                return 0;
        }
        (void) sd_event_source_set_enabled(a->state_timer, SD_EVENT_OFF);
        a->has_isolated = isolated;
        if (isolated)
                schedule_retry(a);
        return 1;
}

static void log_tasks(const AgentTask *tasks, size_t n) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *s = agent_task_to_string(&tasks[i]);

                log_debug("Planned task: %s (%s)", strempty(s), tasks[i].reason);
        }
}

/* Run tasks computed from desired (may be empty) and current. 1 if the executor runs, 0 if
 * there was nothing to do. */
static int run_diff(Agent *a, const AgentDesiredUnit *desired, size_t nd,
                    const AgentCurrentUnit *current, size_t nc) {
        _cleanup_free_ AgentTask *tasks = NULL;
        ExecTask *et = NULL;
        size_t n = 0;
        int r;

        r = agent_reconcile(desired, nd, current, nc, &tasks, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to compute the agent's tasks: %m");
        if (n == 0)
                return 0;
        log_tasks(tasks, n);
        r = tasks_to_exec(a, tasks, n, &et);
        if (r < 0)
                return log_oom();
        r = executor_run(a->executor, et, n);
        if (r < 0)
                return log_error_errno(r, "Failed to run the agent's tasks: %m");
        return 1;
}

static int pass(Agent *a) {
        _cleanup_strv_free_ char **excluded = NULL;
        _cleanup_free_ AgentDesiredUnit *desired = NULL;
        _cleanup_free_ AgentCurrentUnit *current = NULL;
        size_t nc = 0, nd = 0;
        int r;

        agent_pass_units_free(a);
        r = agent_desired_compute(a, &a->pass_units, &a->n_pass_units, &excluded);
        if (r == -EAGAIN)
                return 0; /* a content fetch completes first and kicks again */
        if (r < 0)
                return log_error_errno(r, "Failed to compute the desired state: %m");
        if (excluded)
                schedule_retry(a); /* contents missing: fetch them again later */
        r = states_ready(a, &excluded);
        if (r <= 0) {
                a->waiting_states = r == 0;
                agent_pass_units_free(a);
                return r < 0 ? log_oom() : 0;
        }
        a->waiting_states = false;
        desired = calloc(a->n_pass_units + 1, sizeof(AgentDesiredUnit));
        if (!desired)
                return log_oom();
        for (size_t i = 0; i < a->n_pass_units; i++) {
                const AgentContent *content;

                if (strv_contains(excluded, a->pass_units[i].name))
                        continue;
                content = agent_content_get(a, a->pass_units[i].hash);
                desired[nd++] = (AgentDesiredUnit){a->pass_units[i].name, a->pass_units[i].hash,
                                                   a->pass_units[i].target,
                                                   content && content->has_install};
        }
        r = current_build(a, excluded, &current, &nc);
        if (r < 0)
                return log_oom();
        a->passes++;
        r = run_diff(a, desired, nd, current, nc);
        if (r == 0) {
                pass_record(a);
                agent_pass_units_free(a);
                if (!a->has_isolated)
                        a->backoff = 0;
        }
        return r;
}

static int on_state_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        agent_pass_kick(userdata);
        return 0;
}

static int on_pass(sd_event_source *s, void *userdata) {
        Agent *a = userdata;
        int r;

        if (a->stopping || executor_is_running(a->executor))
                return 0;
        if (!presence_is_registered(a->presence) || !a->schedule_synced || !a->global_synced ||
            !a->metadata_synced || !a->pin_synced || !a->systemd ||
            !systemd_manager_is_connected(a->systemd))
                return 0;
        r = pass(a);
        if (r < 0) {
                agent_pass_units_free(a);
                schedule_retry(a);
        }
        return 0;
}

int agent_pass_setup(Agent *a) {
        int r;

        r = sd_event_add_defer(a->event, &a->pass_source, on_pass, a);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(a->pass_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(a->pass_source, "agent-pass");
        r = sd_event_add_time_relative(a->event, &a->retry_timer, CLOCK_MONOTONIC, 0, 0, on_retry,
                                       a);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(a->retry_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(a->retry_timer, "agent-retry");
        r = sd_event_add_time(a->event, &a->state_timer, CLOCK_MONOTONIC, 0, 0, on_state_timer, a);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(a->state_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(a->state_timer, "agent-state-wait");
        return 0;
}

void agent_pass_done_sources(Agent *a) {
        a->pass_source = sd_event_source_disable_unref(a->pass_source);
        a->retry_timer = sd_event_source_disable_unref(a->retry_timer);
        a->state_timer = sd_event_source_disable_unref(a->state_timer);
}

/* --- fencing and purge ------------------------------------------------------------------------ */

void agent_fence_units(Agent *a) {
        StrMapIter i = {};
        AgentUnit *u;
        size_t n = 0;

        publisher_set_lease(a->publisher, 0);
        if (a->executor)
                executor_abort(a->executor);
        if (!a->systemd) {
                /* Reconnecting: units cannot be stopped now; say so loudly. */
                log_error("Fencing: not connected to systemd, cannot stop units");
                return;
        }
        while (strmap_next(&a->units, &i, NULL, (void **) &u)) {
                if (u->global || (!u->has_file && u->recorded == JOB_STATE_INACTIVE))
                        continue;
                if (systemd_manager_stop_unit(a->systemd, u->name, 0, NULL, NULL) >= 0)
                        n++;
                if (u->recorded == JOB_STATE_LAUNCHED)
                        u->recorded = JOB_STATE_LOADED;
                u->has_started = false;
        }
        if (n > 0)
                log_warning("Fencing: stopped %zu unit(s) that the cluster may start elsewhere", n);
}

int agent_purge(Agent *a) {
        _cleanup_free_ AgentCurrentUnit *current = NULL;
        size_t nc = 0;
        int r;

        if (!a->systemd)
                return 0;
        r = current_build(a, NULL, &current, &nc);
        if (r < 0)
                return log_oom();
        if (nc > 0)
                log_info("Unloading %zu unit(s) before exiting", nc);
        return run_diff(a, NULL, 0, current, nc);
}
