/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Shared by the agent's implementation files: agent.c (lifecycle, presence and systemd glue,
 * shutdown, metrics), agent-desired.c (watches, unit contents, desired state) and agent-pass.c
 * (current state, reconcile pass, task outcomes, state publishing). Not for other modules.
 */

#include "agent.h"
#include "curl-glue.h"
#include "executor.h"
#include "presence.h"
#include "publisher.h"
#include "reconcile.h"
#include "registry.h"
#include "strmap.h"
#include "systemd.h"
#include "unit-file.h"
#include "xfleet.h"

#define AGENT_PASS_BACKOFF_MIN (1 * USEC_PER_SEC)
#define AGENT_PASS_BACKOFF_MAX (60 * USEC_PER_SEC)
#define AGENT_SHUTDOWN_ATTEMPTS 5
/* How long a pass waits for systemd's state of a unit before it isolates the unit. */
#define AGENT_STATE_WAIT_MAX (10 * USEC_PER_SEC)
/* How long a queued StopUnit job of ours may go unseen (systemd still reporting the unit
 * active) before the agent stops waiting for it: systemd runs a queued stop job at once, so
 * only a job cancelled by someone else takes this long. */
#define AGENT_STOP_QUEUED_MAX (2 * USEC_PER_SEC)

/* unit/<hash>: content fetched from etcd. */
typedef struct AgentContent {
        Agent *agent;
        char hash[REGISTRY_HASH_LEN + 1];
        char *text; /* normalized unit text; NULL until fetched */
        size_t len;
        /* No parsed copy is kept (with 1,000 units it cost ~0.5 MB): wanted_prepare() parses
         * the text again when an entry's X-Fleet options must be (re)read. */
        bool has_install;
        EtcdCall *call; /* fetch in flight */
        int error;      /* the fetch failed (retried by the pass retry timer) */
        bool permanent; /* the content itself is bad: never retried */
} AgentContent;

/* A schedule/<id>/<name> or global/<name> entry. */
typedef struct AgentWanted {
        RegistryTarget target;
        XFleet *xfleet; /* parsed for this name from the content with xfleet_hash */
        char xfleet_hash[REGISTRY_HASH_LEN + 1];
} AgentWanted;

/* A unit this agent has to do with: a file in the units directory, a desired unit, or one it
 * still has records of. Watched in systemd for as long as it is here. */
typedef struct AgentUnit {
        char *name;
        bool has_file;
        char file_hash[REGISTRY_HASH_LEN + 1];
        JobState recorded;
        bool has_started;
        char started_hash[REGISTRY_HASH_LEN + 1];
        bool global;                /* last desired as a global unit */
        uint64_t stop_queued_at;    /* CLOCK_MONOTONIC: a StopUnit job of ours was queued and
                                     * systemd has not reported the unit stopping since; 0: none */
        uint64_t state_wait_since;  /* CLOCK_MONOTONIC: a pass waits for its state since */
        AgentStateVerdict isolated; /* left out of passes, and why; AGENT_STATE_READY if not */
} AgentUnit;

/* A unit frozen at the fencing deadline (agent-freeze.c). */
typedef struct AgentFrozen {
        char *name;
        bool by_signal; /* SIGSTOP through KillUnit, not systemd's freezer */
} AgentFrozen;

typedef struct QuorumAsk QuorumAsk;

/* What a pass decided to reach, kept until its tasks are done. */
typedef struct AgentPassUnit {
        char *name;
        char hash[REGISTRY_HASH_LEN + 1];
        JobState target;
        bool global;
        bool failed; /* a task for it failed or was skipped */
} AgentPassUnit;

struct Agent {
        sd_event *event;
        Registry *registry;
        char *machine_id;
        char *public_ip;
        char **metadata; /* config metadata: alternating key, value */
        char *units_directory;
        char *link_directory; /* where systemd's runtime links are */
        bool systemd_user;
        usec_t ttl;
        bool disable_engine;
        char *version;
        char *lease_file;
        bool freeze_with_signals;

        Presence *presence;
        SystemdManager *systemd;
        Executor *executor;
        Publisher *publisher;

        RegistryWatch *schedule_watch, *global_watch, *metadata_watch, *pin_watch;
        bool schedule_synced, global_synced, metadata_synced, pin_synced;
        sd_event_source *watch_retry_timer;
        unsigned watches_failed; /* bit per watch: 1 schedule, 2 global, 4 metadata, 8 pins */

        /* All with own_keys (agent_new()). */
        StrMap schedule;     /* name -> AgentWanted */
        StrMap globals;      /* name -> AgentWanted: global/<name>, this machine's pin applied */
        StrMap global_raw;   /* name -> AgentWanted: global/<name> as stored (xfleet unused) */
        StrMap pins;         /* name -> char* hash: pin/<this machine>/<name> (fleet-c) */
        StrMap dyn_metadata; /* key -> char* value ("" removes the config value) */
        StrMap contents;     /* hash -> AgentContent */
        StrMap units;        /* name -> AgentUnit */

        sd_event_source *pass_source; /* defer: one coalesced pass */
        sd_event_source *retry_timer; /* pass retry with backoff */
        sd_event_source *state_timer; /* a wait for systemd's state of a unit ends */
        sd_event_source *reconnect_timer;
        unsigned reconnect_attempts;
        usec_t backoff;
        bool pass_again;           /* an event arrived during a pass */
        bool waiting_states;       /* the last pass waits for systemd states */
        bool has_isolated;         /* the last pass left isolated units out: keep the backoff */
        AgentPassUnit *pass_units; /* the running pass's desired units */
        size_t n_pass_units;

        bool started;
        bool ready_notified;
        bool stopping; /* agent_shutdown() or agent_handover() called */
        bool handover; /* agent_handover(): no purge */
        unsigned shutdown_attempt;
        AgentStoppedCallback stopped_cb;
        void *stopped_userdata;
        sd_event_source *shutdown_timer;

        AgentReadyCallback ready_cb;
        void *ready_userdata;
        AgentFailureCallback failure_cb;
        void *failure_userdata;
        AgentRegistrationCallback registration_cb;
        void *registration_userdata;

        bool freezing;       /* presence is suspect: movable units must not run */
        AgentFrozen *frozen; /* units frozen (or being frozen) */
        size_t n_frozen;
        uint64_t freezes;

        /* agent-quorum.c */
        uint16_t peer_port; /* the API's TCP port, the same on every machine; 0: none */
        CurlGlue *curl;
        StrMap peer_ips; /* machine ID -> public IP ("" = none) of the other machines, kept
                          * current by peers_watch on machine/ */
        char **peers;    /* public IPs of the other machines, taken from peer_ips for a question */
        size_t n_peers;
        size_t n_known;   /* other machines registered, as the question began */
        bool peers_known; /* the watch delivered a listing */
        RegistryWatch *peers_watch;
        sd_event_source *peers_timer, *ask_timer; /* peers_timer: restart a failed watch */
        QuorumAsk *asks;
        size_t n_asks, n_answered, n_down;
        bool holding; /* etcd is down for the majority: units keep running */
        uint64_t quorum_asks;

        uint64_t passes;
};

/* agent-desired.c */
int agent_watches_open(Agent *a);
void agent_watches_close(Agent *a);
/* Forget that the desired state is known and list it again from etcd (after fencing). */
void agent_watches_resync(Agent *a);
/* The merged metadata value of key (dynamic over config), or NULL. */
const char *agent_metadata_lookup(const char *key, void *userdata);
/*
 * Compute the desired units: the scheduled ones plus the applicable global units. 0 with
 * *ret (malloc'd, names copied; agent_pass_units_free() style) and the excluded names (units whose
 * content is unavailable: leave them alone) in *ret_excluded (strv); -EAGAIN while contents are
 * being fetched (a fetch completion kicks the next pass); -ENOMEM.
 */
int agent_desired_compute(Agent *a, AgentPassUnit **ret, size_t *ret_n, char ***ret_excluded);
/* The cached content of hash, or NULL. */
AgentContent *agent_content_get(Agent *a, const char *hash);
/* Drop contents no schedule or global entry refers to; forget failed fetches (retry). */
void agent_contents_prune(Agent *a, bool retry_failed);
void agent_desired_done(Agent *a);

/* agent-pass.c */
void agent_pass_kick(Agent *a);
int agent_pass_setup(Agent *a);
void agent_pass_done_sources(Agent *a);
void agent_on_task(Executor *x, const ExecTask *t, void *userdata);
void agent_on_executed(Executor *x, size_t n_failed, bool aborted, void *userdata);
void agent_on_unit_state(SystemdManager *m, const char *name, const SystemdUnitState *state,
                         void *userdata);
AgentUnit *agent_unit_ensure(Agent *a, const char *name);
void agent_unit_publish(Agent *a, AgentUnit *u);
void agent_units_done(Agent *a);
void agent_pass_units_free(Agent *a);
/* Stop every unit the cluster could start elsewhere (fencing). */
void agent_fence_units(Agent *a);
/* agent-freeze.c: at the fencing deadline, freeze every movable unit that runs (a unit that
 * cannot be frozen is stopped); thaw them when the lease proves alive; forget them when the
 * lease is gone (agent_fence_units() stops them). agent_freeze_on_state() freezes a movable
 * unit that starts running while the agent is freezing. */
void agent_freeze_units(Agent *a);
void agent_thaw_units(Agent *a);
/* kill: SIGKILL the frozen units first (the lease is gone). */
void agent_freeze_forget(Agent *a, bool kill);
void agent_freeze_on_state(Agent *a, const char *name);
void agent_frozen_clear(Agent *a);

/* agent-quorum.c: at the deadline, ask the peers (then hold on, or agent_freeze_units());
 * settled: the lease proved alive or gone, stop asking. */
int agent_quorum_setup(Agent *a);
void agent_quorum_done(Agent *a);
void agent_quorum_suspect(Agent *a);
void agent_quorum_settled(Agent *a);
/* Graceful shutdown: unload everything (agent.c continues when the executor is done). */
int agent_purge(Agent *a);
void agent_shutdown_continue(Agent *a);
