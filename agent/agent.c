/* SPDX-License-Identifier: MIT */
/*
 * The agent's lifecycle: construction, start (lease file, units directory scan, systemd,
 * watches, presence), the presence and systemd callbacks, reconnecting to systemd, the
 * graceful shutdown and metrics. See agent.h.
 */
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-internal.h"
#include "log.h"
#include "strv.h"
#include "unit-dir.h"

_Static_assert(ELEMENTSOF(((AgentStats *) NULL)->tasks) == _AGENT_TASK_TYPE_MAX,
               "AgentStats has one counter per task type");

#define RECONNECT_USEC (1 * USEC_PER_SEC)
#define RECONNECT_ATTEMPTS 30
#define SHUTDOWN_RETRY_USEC (1 * USEC_PER_SEC)

char *agent_default_lease_file(const char *units_directory) {
        _cleanup_free_ char *d = strdup(units_directory);
        size_t n;
        char *p;

        if (!d)
                return NULL;
        n = strlen(d);
        while (n > 1 && d[n - 1] == '/')
                d[--n] = '\0';
        if (asprintf(&p, "%s/lease", dirname(d)) < 0)
                return NULL;
        return p;
}

/* --- presence and systemd callbacks ----------------------------------------------------------- */

static void on_presence(Presence *p, PresenceEvent ev, void *userdata) {
        Agent *a = userdata;

        switch (ev) {
        case PRESENCE_SUSPECT:
                agent_quorum_suspect(a);
                if (a->registration_cb)
                        a->registration_cb(a, false, a->registration_userdata);
                break;
        case PRESENCE_ALIVE:
                agent_quorum_settled(a);
                agent_thaw_units(a);
                agent_pass_kick(a);
                if (a->registration_cb)
                        a->registration_cb(a, true, a->registration_userdata);
                break;
        case PRESENCE_FENCED:
                agent_freeze_forget(a, !a->holding);
                if (a->holding) {
                        /* etcd was down for the majority: the engine holds the units of the
                         * machines that expired with it; register again and adopt them. */
                        log_warning("Fencing: the lease is gone, but etcd was down for the "
                                    "majority: units keep running; registering again");
                        publisher_set_lease(a->publisher, 0);
                } else
                        agent_fence_units(a);
                agent_quorum_settled(a);
                agent_watches_resync(a);
                if (a->registration_cb)
                        a->registration_cb(a, false, a->registration_userdata);
                break;
        case PRESENCE_REGISTERED:
                publisher_set_lease(a->publisher, presence_get_lease(p));
                agent_pass_kick(a);
                if (a->registration_cb)
                        a->registration_cb(a, true, a->registration_userdata);
                break;
        default:
                break;
        }
}

static int systemd_connect(Agent *a) {
        StrMapIter i = {};
        const char *name;
        int r;

        r = systemd_manager_new(&a->systemd, a->event, a->units_directory, a->systemd_user);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to systemd: %m");
        systemd_manager_set_state_callback(a->systemd, agent_on_unit_state, a);
        r = executor_new(&a->executor, a->event, a->systemd, agent_on_task, agent_on_executed, a);
        if (r < 0)
                return log_oom();
        while (strmap_next(&a->units, &i, &name, NULL))
                if (systemd_manager_watch_unit(a->systemd, name) < 0)
                        return log_oom();
        return 0;
}

static void on_systemd_failure(SystemdManager *m, int error, void *userdata);

static int on_reconnect(sd_event_source *s, uint64_t usec, void *userdata) {
        Agent *a = userdata;
        int r;

        if (a->executor && executor_is_running(a->executor))
                goto later; /* its steps fail fast now; wait for the end of the list */
        a->systemd = systemd_manager_free(a->systemd);
        a->executor = executor_free(a->executor);
        r = systemd_connect(a);
        if (r >= 0) {
                a->reconnect_attempts = 0;
                systemd_manager_set_failure_callback(a->systemd, on_systemd_failure, a);
                log_info("Reconnected to systemd");
                if (a->stopping && !a->handover)
                        agent_shutdown_continue(a);
                else
                        agent_pass_kick(a);
                return 0;
        }
        a->systemd = systemd_manager_free(a->systemd);
        a->executor = executor_free(a->executor);
        if (++a->reconnect_attempts >= RECONNECT_ATTEMPTS) {
                if (a->failure_cb)
                        a->failure_cb(a, r, a->failure_userdata);
                return 0;
        }
later:
        (void) sd_event_source_set_time_relative(s, RECONNECT_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static void on_systemd_failure(SystemdManager *m, int error, void *userdata) {
        Agent *a = userdata;

        log_error_errno(error, "Lost the connection to systemd: %m, reconnecting");
        (void) sd_event_source_set_time_relative(a->reconnect_timer, RECONNECT_USEC);
        (void) sd_event_source_set_enabled(a->reconnect_timer, SD_EVENT_ONESHOT);
}

/* --- lifecycle -------------------------------------------------------------------------------- */

static char *link_directory(bool user) {
        const char *rt;
        char *p;

        if (!user)
                return strdup("/run/systemd/system");
        rt = getenv("XDG_RUNTIME_DIR");
        if (rt && rt[0] == '/')
                return asprintf(&p, "%s/systemd/user", rt) < 0 ? NULL : p;
        return asprintf(&p, "/run/user/%u/systemd/user", (unsigned) getuid()) < 0 ? NULL : p;
}

static char *strip_slashes(const char *dir) {
        char *d = strdup(dir);
        size_t n;

        if (!d)
                return NULL;
        n = strlen(d);
        while (n > 1 && d[n - 1] == '/')
                d[--n] = '\0';
        return d;
}

int agent_new(Agent **ret, sd_event *event, Registry *registry, const AgentConfig *c) {
        _cleanup_(agent_freep) Agent *a = NULL;

        if (!c->machine_id || !c->units_directory || c->units_directory[0] != '/' || c->ttl == 0)
                return -EINVAL;
        a = calloc(1, sizeof(Agent));
        if (!a)
                return -ENOMEM;
        a->schedule = a->globals = a->global_raw = a->pins = a->dyn_metadata = a->contents =
                a->units = a->peer_ips = (StrMap){.own_keys = true};
        a->event = sd_event_ref(event);
        a->registry = registry;
        a->systemd_user = c->systemd_user;
        a->ttl = c->ttl;
        a->disable_engine = c->disable_engine;
        a->freeze_with_signals = c->freeze_with_signals;
        a->peer_port = c->peer_port;
        a->machine_id = strdup(c->machine_id);
        a->public_ip = strdup(strempty(c->public_ip));
        a->version = strdup(strempty(c->version));
        a->metadata = strv_copy(c->metadata);
        a->units_directory = strip_slashes(c->units_directory);
        a->link_directory = link_directory(c->systemd_user);
        a->lease_file = c->lease_file ? strdup(c->lease_file)
                                      : agent_default_lease_file(c->units_directory);
        if (!a->machine_id || !a->public_ip || !a->version || !a->metadata || !a->units_directory ||
            !a->link_directory || !a->lease_file)
                return -ENOMEM;
        *ret = TAKE_PTR(a);
        return 0;
}

void agent_set_ready_callback(Agent *a, AgentReadyCallback cb, void *userdata) {
        a->ready_cb = cb;
        a->ready_userdata = userdata;
}

void agent_set_failure_callback(Agent *a, AgentFailureCallback cb, void *userdata) {
        a->failure_cb = cb;
        a->failure_userdata = userdata;
}

void agent_set_registration_callback(Agent *a, AgentRegistrationCallback cb, void *userdata) {
        a->registration_cb = cb;
        a->registration_userdata = userdata;
}

/* Read what a previous fleetd left in the units directory. */
static int scan_units(Agent *a) {
        UnitDirEntry *entries = NULL;
        size_t n = 0;
        int r;

        r = unit_dir_scan(a->units_directory, &entries, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", a->units_directory);
        for (size_t i = 0; i < n; i++) {
                AgentUnit *u = agent_unit_ensure(a, entries[i].name);

                if (!u) {
                        unit_dir_entries_free(entries, n);
                        return log_oom();
                }
                if (entries[i].content) {
                        u->has_file = true;
                        unit_hash_bytes(entries[i].content, entries[i].len, u->file_hash);
                } else
                        log_warning_errno(entries[i].error, "Failed to read %s/%s: %m",
                                          a->units_directory, entries[i].name);
        }
        if (n > 0)
                log_info("Found %zu unit file(s) in %s", n, a->units_directory);
        unit_dir_entries_free(entries, n);
        return 0;
}

int agent_start(Agent *a) {
        PresenceConfig pc = {
                .machine_id = a->machine_id,
                .public_ip = a->public_ip,
                .metadata = a->metadata,
                .disable_engine = a->disable_engine,
                .version = a->version,
                .ttl = a->ttl,
                .lease_file = a->lease_file,
        };
        int r;

        assert(!a->started);
        a->started = true;
        r = publisher_new(&a->publisher, a->event, a->registry, a->machine_id);
        if (r < 0)
                return log_oom();
        r = presence_new(&a->presence, a->event, a->registry, &pc, on_presence, a);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the agent's presence: %m");
        /* First: refuses to run beside another fleetd on the same lease file. Its timers
         * fire from the loop, after the rest is set up. */
        r = presence_start(a->presence);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(a->event, &a->reconnect_timer, CLOCK_MONOTONIC, 0, 0,
                                       on_reconnect, a);
        if (r < 0)
                return log_error_errno(r, "Failed to add a timer: %m");
        (void) sd_event_source_set_enabled(a->reconnect_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(a->reconnect_timer, "agent-systemd-reconnect");
        r = systemd_connect(a);
        if (r < 0)
                return r;
        systemd_manager_set_failure_callback(a->systemd, on_systemd_failure, a);
        r = scan_units(a);
        if (r < 0)
                return r;
        r = agent_pass_setup(a);
        if (r >= 0)
                r = agent_quorum_setup(a);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the agent's event sources: %m");
        r = agent_watches_open(a);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the registry: %m");
        log_info("Agent started: machine %s, units in %s, lease file %s", a->machine_id,
                 a->units_directory, a->lease_file);
        return 0;
}

Agent *agent_free(Agent *a) {
        if (!a)
                return NULL;
        /* The manager first: it drops the callbacks of operations still in flight, which
         * point into the executor. */
        a->systemd = systemd_manager_free(a->systemd);
        a->executor = executor_free(a->executor);
        a->presence = presence_free(a->presence);
        agent_desired_done(a);
        a->publisher = publisher_free(a->publisher);
        agent_pass_done_sources(a);
        agent_pass_units_free(a);
        agent_units_done(a);
        agent_frozen_clear(a);
        agent_quorum_done(a);
        sd_event_source_disable_unref(a->reconnect_timer);
        sd_event_source_disable_unref(a->shutdown_timer);
        sd_event_unref(a->event);
        free(a->machine_id);
        free(a->public_ip);
        free(a->version);
        strv_free(a->metadata);
        free(a->units_directory);
        free(a->link_directory);
        free(a->lease_file);
        free(a);
        return NULL;
}

/* --- graceful shutdown ------------------------------------------------------------------------ */

static void on_revoked(int error, void *userdata) {
        Agent *a = userdata;

        if (a->stopped_cb)
                a->stopped_cb(a, a->stopped_userdata);
}

static void shutdown_revoke(Agent *a) {
        int r = presence_revoke(a->presence, on_revoked, a);

        if (r < 0) {
                log_error_errno(r, "Failed to revoke the lease: %m");
                if (a->stopped_cb)
                        a->stopped_cb(a, a->stopped_userdata);
        }
}

static void purge_now(Agent *a) {
        int r = agent_purge(a);

        if (r <= 0) /* nothing left to unload, or cannot: done */
                shutdown_revoke(a);
        /* else agent_on_executed() calls agent_shutdown_continue() */
}

static int on_shutdown_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        purge_now(userdata);
        return 0;
}

void agent_shutdown_continue(Agent *a) {
        StrMapIter i = {};
        AgentUnit *u;
        size_t left = 0;
        int r;

        while (strmap_next(&a->units, &i, NULL, (void **) &u))
                left += u->has_file;
        if (a->shutdown_attempt > 0 && left == 0) {
                shutdown_revoke(a);
                return;
        }
        if (a->shutdown_attempt >= AGENT_SHUTDOWN_ATTEMPTS || !a->systemd ||
            !systemd_manager_is_connected(a->systemd)) {
                log_error("Giving up unloading %zu unit(s): they keep running", left);
                shutdown_revoke(a);
                return;
        }
        if (a->shutdown_attempt++ == 0) {
                purge_now(a);
                return;
        }
        a->shutdown_timer = sd_event_source_disable_unref(a->shutdown_timer);
        r = sd_event_add_time_relative(a->event, &a->shutdown_timer, CLOCK_MONOTONIC,
                                       SHUTDOWN_RETRY_USEC, 0, on_shutdown_timer, a);
        if (r < 0) {
                log_error_errno(r, "Failed to add a timer: %m");
                shutdown_revoke(a);
                return;
        }
        (void) sd_event_source_set_description(a->shutdown_timer, "agent-shutdown");
}

int agent_shutdown(Agent *a, AgentStoppedCallback cb, void *userdata) {
        assert(!a->stopping);
        a->stopping = true;
        a->stopped_cb = cb;
        a->stopped_userdata = userdata;
        agent_watches_close(a);
        (void) sd_event_source_set_enabled(a->pass_source, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(a->retry_timer, SD_EVENT_OFF);
        if (a->executor && executor_is_running(a->executor)) {
                executor_abort(a->executor); /* agent_on_executed() continues */
                return 0;
        }
        if (!a->systemd) /* reconnecting: on_reconnect() continues */
                return 0;
        agent_shutdown_continue(a);
        return 0;
}

static void on_handover_keepalive(int error, void *userdata) {
        Agent *a = userdata;

        if (a->stopped_cb)
                a->stopped_cb(a, a->stopped_userdata);
}

int agent_handover(Agent *a, AgentStoppedCallback cb, void *userdata) {
        assert(!a->stopping);
        a->stopping = true;
        a->handover = true;
        a->stopped_cb = cb;
        a->stopped_userdata = userdata;
        agent_watches_close(a);
        (void) sd_event_source_set_enabled(a->pass_source, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(a->retry_timer, SD_EVENT_OFF);
        if (a->executor)
                executor_abort(a->executor);
        return presence_keepalive_now(a->presence, on_handover_keepalive, a);
}

/* --- queries and metrics ---------------------------------------------------------------------- */

bool agent_reaches_etcd(const Agent *a) {
        return a->presence && presence_reaches_etcd(a->presence);
}

bool agent_is_registered(const Agent *a) {
        return a->presence && presence_is_registered(a->presence);
}

int64_t agent_get_lease(const Agent *a) {
        return a->presence && presence_is_registered(a->presence) ? presence_get_lease(a->presence)
                                                                  : 0;
}

const char *agent_get_machine_id(const Agent *a) {
        return a->machine_id;
}

void agent_get_stats(const Agent *a, AgentStats *ret) {
        AgentStats s = {.passes = a->passes, .registered = agent_is_registered(a)};
        StrMapIter i = {};
        const AgentUnit *u;

        if (a->executor) {
                const ExecutorStats *x = executor_get_stats(a->executor);

                for (int t = 0; t < _AGENT_TASK_TYPE_MAX && t < (int) ELEMENTSOF(s.tasks); t++) {
                        s.tasks[t] = x->tasks[t];
                        s.task_failures[t] = x->failed[t];
                }
        }
        if (a->presence) {
                const PresenceStats *p = presence_get_stats(a->presence);

                s.fences = p->fences;
                s.freezes = a->freezes;
                s.units_frozen = a->n_frozen;
                s.quorum_asks = a->quorum_asks;
                s.holding = a->holding;
                s.registrations = p->registrations;
                s.refusals = p->refusals;
                s.keepalives = p->keepalives;
                s.keepalive_errors = p->keepalive_errors;
        }
        if (a->publisher) {
                const PublisherStats *p = publisher_get_stats(a->publisher);

                s.state_puts = p->puts;
                s.state_deletes = p->deletes;
                s.state_errors = p->errors;
        }
        while (strmap_next(&a->units, &i, NULL, (void **) &u)) {
                s.units_loaded += u->recorded == JOB_STATE_LOADED;
                s.units_launched += u->recorded == JOB_STATE_LAUNCHED;
        }
        *ret = s;
}
