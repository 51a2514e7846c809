/* SPDX-License-Identifier: MIT */
/*
 * The engine against a real etcd: election, fencing, leader failover, scheduling onto machines
 * per their constraints, machine failover (MachineOf pairs move together), schedule entries
 * kept in step with their jobs, content garbage collection, explanations.
 *
 * Machines are stand-ins, as agents would write them: machine/<id> attached to a lease that
 * the test keeps alive (or lets expire, or revokes). Watch recovery after a compaction (the
 * engine's and an agent's registry watches, through a proxy the test cuts). Several engines run
 * in this one process,
 * each with its own etcd client and registry, on one sd_event loop. Every wait has a deadline;
 * timings are printed, never asserted.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "etcd-launcher.h"
#include "etcd.h"
#include "log.h"
#include "registry.h"
#include "strv.h"
#include "test-net.h"
#include "test-util.h"
#include "unit-file.h"

#define SEC 1000000ULL
#define MSEC 1000ULL
#define WAIT (20 * SEC)
#define UNIT(xfleet) "[Unit]\nDescription=test\n\n[Service]\nExecStart=/bin/sleep 1000\n" xfleet

static char *scratch;
static EtcdLauncher *etcd;
static sd_event *event;
static char prefix[64];
static EtcdClient *admin_client;
static Registry *admin; /* the test's own view of the registry */

typedef struct Node {
        EtcdClient *client;
        Registry *registry;
        Engine *engine;
        char id[64];
} Node;

/* ---- fixtures ----------------------------------------------------------------------------- */

static void shared_setup(void) {
        EtcdLauncherOptions o = {};

        ck_assert_int_eq(etcd_launcher_mkdtemp(&scratch), 0);
        o.base_dir = scratch;
        ck_assert_int_eq(etcd_launcher_start(&o, &etcd), 0);
}

static void shared_teardown(void) {
        etcd = etcd_launcher_free(etcd);
        (void) etcd_launcher_rm_rf(scratch);
        free(scratch);
        scratch = NULL;
}

static EtcdClient *new_client_on(sd_event *loop) {
        EtcdClientConfig cfg = {.endpoints = etcd_launcher_endpoints(etcd),
                                .request_timeout_usec = 5 * SEC};
        EtcdClient *c = NULL;

        ck_assert_int_eq(etcd_client_new(&c, loop, &cfg), 0);
        return c;
}

static EtcdClient *new_client(void) {
        return new_client_on(event);
}

static void setup(void) {
        static unsigned counter;

        /* Each test runs in its own fork, on its own key prefix of the shared etcd. */
        (void) snprintf(prefix, sizeof(prefix), "/engine-test-%ld-%u/", (long) getpid(), counter++);
        ck_assert_int_eq(sd_event_new(&event), 0);
        admin_client = new_client();
        ck_assert_int_eq(registry_new(&admin, admin_client, prefix), 0);
        if (getenv("FLEET_TEST_DEBUG"))
                log_set_max_level(LOG_DEBUG);
}

static void teardown(void) {
        admin = registry_free(admin);
        admin_client = etcd_client_free(admin_client);
        event = sd_event_unref(event);
}

static usec_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * SEC + (usec_t) ts.tv_nsec / 1000;
}

/* Run the loop until cond holds or timeout passes; cond may do synchronous registry calls. */
static int wait_for(bool (*cond)(void *userdata), void *userdata, usec_t timeout) {
        usec_t deadline = now_usec() + timeout;

        for (;;) {
                if (cond(userdata))
                        return 0;
                if (now_usec() > deadline)
                        return -ETIMEDOUT;
                ck_assert_int_ge(sd_event_run(event, 20 * MSEC), 0);
        }
}

/* Run the loop for a while (lets things settle; asserts nothing about timing). */
static void run_for(usec_t t) {
        usec_t deadline = now_usec() + t;

        while (now_usec() < deadline)
                ck_assert_int_ge(sd_event_run(event, 10 * MSEC), 0);
}

/* ---- engines ------------------------------------------------------------------------------ */

/* An engine on its own client and registry, on loop. */
static void node_start_on(Node *n, const char *id, sd_event *loop) {
        EngineConfig cfg = {.machine_id = id,
                            .version = "test",
                            .reconcile_interval = SEC,
                            .lease_ttl = 2 * SEC};

        (void) snprintf(n->id, sizeof(n->id), "%s", id);
        n->client = new_client_on(loop);
        ck_assert_int_eq(registry_new(&n->registry, n->client, prefix), 0);
        ck_assert_int_eq(engine_new(&n->engine, loop, n->registry, &cfg), 0);
        ck_assert_int_eq(engine_start(n->engine), 0);
}

static void node_start(Node *n, const char *id) {
        node_start_on(n, id, event);
}

/* An engine in machine-lease mode (fleetd's): the leader key goes on lease. */
static void node_start_machine(Node *n, const char *id, int64_t lease) {
        EngineConfig cfg = {.machine_id = id,
                            .version = "test",
                            .reconcile_interval = SEC,
                            .lease_ttl = 2 * SEC,
                            .machine_lease = true};

        (void) snprintf(n->id, sizeof(n->id), "%s", id);
        n->client = new_client_on(event);
        ck_assert_int_eq(registry_new(&n->registry, n->client, prefix), 0);
        ck_assert_int_eq(engine_new(&n->engine, event, n->registry, &cfg), 0);
        ck_assert_int_eq(engine_set_lease(n->engine, lease), 0);
        ck_assert_int_eq(engine_start(n->engine), 0);
}

static void node_stop(Node *n) {
        n->engine = engine_free(n->engine);
        n->registry = registry_free(n->registry);
        n->client = etcd_client_free(n->client);
}

static bool is_leader(const Node *n) {
        return n->engine && engine_get_stats(n->engine)->is_leader;
}

typedef struct Pair {
        Node *a, *b;
} Pair;

static bool one_leader(void *userdata) {
        Pair *p = userdata;

        return is_leader(p->a) != is_leader(p->b);
}

static bool node_leads(void *userdata) {
        return is_leader(userdata);
}

/* The leader key as etcd has it: its create_revision (the term) and value. */
static int64_t leader_key(char **ret_machine, int64_t *ret_lease) {
        _cleanup_(registry_entry_done) RegistryEntry e = {};
        RegistryKey k = {.kind = REGISTRY_KEY_ENGINE_LEADER};
        int r;

        r = registry_get_sync(admin, &k, &e);
        if (r == -ENOENT)
                return 0;
        ck_assert_int_eq(r, 0);
        if (ret_machine)
                *ret_machine = strdup(e.leader.machine_id);
        if (ret_lease)
                *ret_lease = e.lease;
        return e.create_revision;
}

/* ---- machines, jobs, schedule --------------------------------------------------------------- */

typedef struct Machine {
        char id[64];
        int64_t lease;
        usec_t ttl;
        sd_event_source *keepalive;
        usec_t last_keepalive; /* send time of the last successful one */
        usec_t sent;
} Machine;

static void keepalive_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Machine *m = userdata;

        if (error >= 0)
                m->last_keepalive = m->sent;
}

static int keepalive_fired(sd_event_source *s, uint64_t usec, void *userdata) {
        Machine *m = userdata;

        m->sent = now_usec();
        (void) etcd_lease_keepalive(admin_client, m->lease, keepalive_done, m, NULL);
        (void) sd_event_source_set_time_relative(s, m->ttl / 4);
        return 0;
}

/* Register a machine as an agent does: machine/<id> on a lease kept alive every TTL/4.
 * metadata: "k=v" strings (sorted by key), NULL-terminated. */
static void machine_up(Machine *m, const char *id, usec_t ttl, const char *const *metadata) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        RegistryMetadata md[8] = {};
        char buf[8][64];
        size_t n = 0;

        (void) snprintf(m->id, sizeof(m->id), "%s", id);
        m->ttl = ttl;
        ck_assert_int_eq(etcd_lease_grant_sync(admin_client, (int64_t) (ttl / SEC), 0, &resp), 0);
        m->lease = resp->lease.id;
        for (; metadata && metadata[n]; n++) {
                char *eq;

                (void) snprintf(buf[n], sizeof(buf[n]), "%s", metadata[n]);
                eq = strchr(buf[n], '=');
                ck_assert_ptr_nonnull(eq);
                *eq = '\0';
                md[n] = (RegistryMetadata){buf[n], eq + 1};
        }
        RegistryMachine rm = {.id = (char *) id,
                              .public_ip = (char *) "127.0.0.1",
                              .metadata = md,
                              .n_metadata = n,
                              .version = (char *) "test"};
        ck_assert_int_eq(registry_put_machine_sync(admin, &rm, m->lease, NULL), 0);
        m->last_keepalive = now_usec();
        ck_assert_int_eq(sd_event_add_time_relative(event, &m->keepalive, CLOCK_MONOTONIC, ttl / 4,
                                                    MSEC, keepalive_fired, m),
                         0);
        ck_assert_int_eq(sd_event_source_set_enabled(m->keepalive, SD_EVENT_ON), 0);
}

/* Stop keeping the machine alive: it dies when its lease expires. */
static void machine_crash(Machine *m) {
        m->keepalive = sd_event_source_disable_unref(m->keepalive);
}

static void machine_revoke(Machine *m) {
        machine_crash(m);
        ck_assert_int_eq(etcd_lease_revoke_sync(admin_client, m->lease, NULL), 0);
}

static void machine_done(Machine *m) {
        machine_crash(m);
        (void) etcd_lease_revoke_sync(admin_client, m->lease, NULL);
}

/* Submit a job as the API does; returns its hash in hash_out (41 bytes). */
static void create_job(const char *name, const char *text, JobState state, char *hash_out) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        _cleanup_free_ char *normalized = NULL;
        RegistryJob j = {.name = (char *) name, .desired_state = state};

        ck_assert_int_eq(unit_file_parse(text, strlen(text), &u, NULL), 0);
        ck_assert_int_eq(unit_file_serialize(u, &normalized), 0);
        ck_assert_int_eq(unit_file_hash(u, j.hash), 0);
        j.global = strstr(text, "Global=true") != NULL;
        ck_assert_int_eq(registry_create_job_sync(admin, &j, normalized, NULL), 0);
        if (hash_out)
                memcpy(hash_out, j.hash, REGISTRY_HASH_LEN + 1);
}

static void set_job_state(const char *name, JobState state) {
        _cleanup_(registry_entry_done) RegistryEntry e = {};
        RegistryKey k = {.kind = REGISTRY_KEY_JOB, .name = (char *) name};

        ck_assert_int_eq(registry_get_sync(admin, &k, &e), 0);
        e.job.desired_state = state;
        ck_assert_int_eq(registry_update_job_sync(admin, &e.job, NULL, e.mod_revision, NULL), 0);
}

/* Where job is scheduled: a strv of machine IDs (sorted), and the first entry's target. */
static char **schedule_of(const char *job, RegistryTarget *ret_target) {
        _cleanup_(registry_list_freep) RegistryList *l = NULL;
        char **machines = strv_copy(NULL);

        ck_assert_ptr_nonnull(machines);
        ck_assert_int_eq(registry_list_sync(admin, REGISTRY_KEY_SCHEDULE, NULL, 0, false, &l), 0);
        for (size_t i = 0; i < l->n_entries; i++) {
                const RegistryEntry *e = &l->entries[i];

                if (!streq(e->key.name, job))
                        continue;
                ck_assert_int_eq(strv_extend(&machines, e->key.machine_id), 0);
                if (ret_target)
                        *ret_target = e->target;
        }
        strv_sort(machines);
        return machines;
}

static size_t schedule_size(void) {
        _cleanup_(registry_list_freep) RegistryList *l = NULL;

        ck_assert_int_eq(registry_list_sync(admin, REGISTRY_KEY_SCHEDULE, NULL, 0, true, &l), 0);
        return l->n_entries;
}

typedef struct Placed {
        const char *job;
        const char *machine; /* NULL: anywhere but not_on */
        const char *not_on;
        JobState state; /* _JOB_STATE_INVALID: any */
} Placed;

static bool is_placed(void *userdata) {
        const Placed *p = userdata;
        RegistryTarget t = {};
        _cleanup_strv_free_ char **m = schedule_of(p->job, &t);

        if (strv_length(m) != 1)
                return false;
        if (p->machine && !streq(m[0], p->machine))
                return false;
        if (p->not_on && streq(m[0], p->not_on))
                return false;
        return p->state < 0 || t.desired_state == p->state;
}

static bool is_unscheduled(void *userdata) {
        _cleanup_strv_free_ char **m = schedule_of(userdata, NULL);

        return strv_length(m) == 0;
}

static void wait_placed(const char *job, const char *machine) {
        Placed p = {job, machine, NULL, _JOB_STATE_INVALID};

        ck_assert_msg(wait_for(is_placed, &p, WAIT) == 0, "%s not placed on %s", job,
                      strempty(machine));
}

static bool unit_absent(void *userdata) {
        _cleanup_(registry_entry_done) RegistryEntry e = {};
        RegistryKey k = {.kind = REGISTRY_KEY_UNIT, .name = userdata};

        return registry_get_sync(admin, &k, &e) == -ENOENT;
}

/* ---- tests: election and fencing ---------------------------------------------------------- */

START_TEST(test_election_and_fencing) {
        Node a = {}, b = {};
        Pair p = {&a, &b};
        Node *leader, *loser;
        _cleanup_free_ char *key_machine = NULL;
        _cleanup_free_ char *why = NULL;
        int64_t term, rev;
        RegistryTarget t = {.hash = "0123456789abcdef0123456789abcdef01234567",
                            .desired_state = JOB_STATE_LAUNCHED};
        RegistryScheduleOp op = {.machine_id = "m1", .name = "x.service", .target = &t};

        node_start(&a, "engine-a");
        node_start(&b, "engine-b");
        ck_assert_int_eq(wait_for(one_leader, &p, WAIT), 0);
        /* Let the loser's campaign settle too: still exactly one leader. */
        run_for(300 * MSEC);
        ck_assert(one_leader(&p));
        leader = is_leader(&a) ? &a : &b;
        loser = leader == &a ? &b : &a;
        term = engine_get_stats(leader->engine)->term;
        ck_assert_int_gt(term, 0);
        ck_assert_int_eq(engine_get_stats(loser->engine)->term, 0);
        ck_assert_int_eq(leader_key(&key_machine, NULL), term);
        ck_assert_str_eq(key_machine, leader->id);
        ck_assert_ptr_nonnull(engine_get_leader(loser->engine));
        ck_assert_str_eq(engine_get_leader(loser->engine), leader->id);
        ck_assert_int_eq(engine_explain(loser->engine, "x.service", &why), -EREMOTE);
        printf("election: %s leads with term %" PRIi64 "\n", leader->id, term);

        /* A write with any other term (the loser's 0 is invalid; an older term is stale) is
         * refused and changes nothing. */
        ck_assert_int_eq(registry_apply_schedule_sync(loser->registry, term - 1, &op, 1, NULL),
                         -ESTALE);
        ck_assert_int_eq(registry_apply_schedule_sync(loser->registry, term + 1, &op, 1, NULL),
                         -ESTALE);
        ck_assert_uint_eq(schedule_size(), 0);
        /* The current term writes (what the leader's engine does); the leader then removes
         * the stray entry, since no such job exists. */
        ck_assert_int_eq(registry_apply_schedule_sync(loser->registry, term, &op, 1, &rev), 0);
        ck_assert_int_gt(rev, term);
        ck_assert_int_eq(wait_for(is_unscheduled, (void *) "x.service", WAIT), 0);

        node_stop(&a);
        node_stop(&b);
}
END_TEST

/* A deposed leader: its writes with the old term are refused after another engine won. */
START_TEST(test_deposed_leader_is_fenced) {
        Node a = {}, b = {};
        Pair p = {&a, &b};
        Node *old, *other;
        int64_t old_term, lease = 0, new_term;
        usec_t t0;
        RegistryTarget t = {.hash = "0123456789abcdef0123456789abcdef01234567",
                            .desired_state = JOB_STATE_LAUNCHED};
        RegistryScheduleOp op = {.machine_id = "m1", .name = "y.service", .target = &t};

        node_start(&a, "engine-a");
        node_start(&b, "engine-b");
        ck_assert_int_eq(wait_for(one_leader, &p, WAIT), 0);
        old = is_leader(&a) ? &a : &b;
        other = old == &a ? &b : &a;
        old_term = engine_get_stats(old->engine)->term;
        ck_assert_int_eq(leader_key(NULL, &lease), old_term);
        ck_assert_int_ne(lease, 0);

        /* Revoking the leader's lease deletes its key: the other engine takes over. */
        t0 = now_usec();
        ck_assert_int_eq(etcd_lease_revoke_sync(admin_client, lease, NULL), 0);
        ck_assert_int_eq(wait_for(node_leads, other, WAIT), 0);
        printf("leader lease revoked -> new leader in %.1f ms\n", (now_usec() - t0) / 1000.0);
        ck_assert_int_eq(wait_for(one_leader, &p, WAIT), 0);
        ck_assert(!is_leader(old));
        new_term = engine_get_stats(other->engine)->term;
        ck_assert_int_gt(new_term, old_term);
        ck_assert_int_eq(leader_key(NULL, NULL), new_term);

        /* The deposed engine's term no longer writes anything. */
        ck_assert_int_eq(registry_apply_schedule_sync(old->registry, old_term, &op, 1, NULL),
                         -ESTALE);
        ck_assert_uint_eq(schedule_size(), 0);
        node_stop(&a);
        node_stop(&b);
}
END_TEST

static void stop_done(Engine *e, void *userdata) {
        *(bool *) userdata = true;
}

static bool flag_set(void *userdata) {
        return *(bool *) userdata;
}

/*
 * A leader that stalls (a long pause: its loop does not run), loses its lease meanwhile, and
 * resumes with work queued: it must stop leading, and nothing it does may change the schedule
 * the new leader made. Whether it learns it was deposed from its watch or from a refused
 * (fenced) write depends on which of its sockets it reads first; both are fine.
 */
START_TEST(test_stalled_leader_resumes) {
        _cleanup_(sd_event_unrefp) sd_event *frozen = NULL;
        Node a = {}, b = {};
        Machine m1 = {}, m2 = {};
        int64_t lease = 0;
        usec_t deadline;
        _cleanup_strv_free_ char **where = NULL;

        ck_assert_int_eq(sd_event_new(&frozen), 0);
        machine_up(&m1, "m1", 30 * SEC, NULL);
        machine_up(&m2, "m2", 30 * SEC, NULL);
        node_start_on(&a, "engine-a", frozen);
        deadline = now_usec() + WAIT;
        while (!is_leader(&a) || engine_get_stats(a.engine)->passes == 0) {
                ck_assert(now_usec() < deadline);
                ck_assert_int_ge(sd_event_run(frozen, 20 * MSEC), 0);
        }

        /* A stalls. Its lease goes; B takes over and places a new job. */
        ck_assert_int_gt(leader_key(NULL, &lease), 0);
        ck_assert_int_eq(etcd_lease_revoke_sync(admin_client, lease, NULL), 0);
        node_start(&b, "engine-b");
        ck_assert_int_eq(wait_for(node_leads, &b, WAIT), 0);
        create_job("late.service", UNIT(""), JOB_STATE_LAUNCHED, NULL);
        wait_placed("late.service", NULL);
        where = schedule_of("late.service", NULL);

        /* A resumes: both loops run. */
        deadline = now_usec() + 3 * SEC;
        while (now_usec() < deadline) {
                ck_assert_int_ge(sd_event_run(frozen, 0), 0);
                ck_assert_int_ge(sd_event_run(event, 10 * MSEC), 0);
        }
        ck_assert(!is_leader(&a));
        ck_assert(is_leader(&b));
        printf("stalled leader resumed: %" PRIu64 " fenced write(s) refused, %" PRIu64
               " decision(s) applied by it\n",
               engine_get_stats(a.engine)->fenced_rejections,
               engine_get_stats(a.engine)->decisions_applied);
        ck_assert_uint_eq(engine_get_stats(a.engine)->decisions_applied, 0);
        wait_placed("late.service", where[0]); /* still exactly where B put it */
        node_stop(&a);
        node_stop(&b);
        machine_done(&m1);
        machine_done(&m2);
}
END_TEST

/* A crashed leader (no resign, lease left to expire) is replaced within the lease TTL. */
START_TEST(test_leader_crash_and_graceful_stop) {
        Node a = {}, b = {}, c = {};
        Pair p = {&a, &b};
        Node *first, *second;
        usec_t t0;
        bool stopped = false;

        node_start(&a, "engine-a");
        node_start(&b, "engine-b");
        ck_assert_int_eq(wait_for(one_leader, &p, WAIT), 0);
        first = is_leader(&a) ? &a : &b;
        second = first == &a ? &b : &a;

        t0 = now_usec();
        node_stop(first); /* a crash: nothing is revoked */
        ck_assert_int_eq(wait_for(node_leads, second, WAIT), 0);
        printf("leader crashed -> new leader in %.1f ms (lease TTL 2 s)\n",
               (now_usec() - t0) / 1000.0);

        /* A graceful stop resigns at once: a third engine takes over without waiting. */
        node_start(&c, "engine-c");
        run_for(200 * MSEC);
        ck_assert(!is_leader(&c));
        t0 = now_usec();
        ck_assert_int_eq(engine_stop(second->engine, stop_done, &stopped), 0);
        ck_assert_int_eq(engine_stop(second->engine, stop_done, &stopped), -EALREADY);
        ck_assert(!is_leader(second));
        ck_assert(!stopped); /* never from inside engine_stop() */
        ck_assert_int_eq(wait_for(flag_set, &stopped, WAIT), 0);
        ck_assert_int_eq(wait_for(node_leads, &c, WAIT), 0);
        printf("leader stopped gracefully -> new leader in %.1f ms\n", (now_usec() - t0) / 1000.0);
        node_stop(second);
        node_stop(&c);
}
END_TEST

static int64_t grant(int64_t ttl) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;

        ck_assert_int_eq(etcd_lease_grant_sync(admin_client, ttl, 0, &resp), 0);
        return resp->lease.id;
}

static bool lease_alive(int64_t lease) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;

        return etcd_lease_timetolive_sync(admin_client, lease, false, &resp) == 0 &&
               resp->lease.ttl > 0;
}

static bool term_changed(void *userdata) {
        int64_t t = leader_key(NULL, NULL);

        return t != 0 && t != *(int64_t *) userdata;
}

/*
 * Machine-lease mode (fleetd's): the leader key goes on the leader machine's lease, which the
 * engine never renews or revokes. Losing that lease (presence SUSPECT or FENCED: lease 0) ends
 * the term at once; a key of an ended term on our lease is deleted, never resumed; the
 * machine's lease expiring frees the key for another machine; a graceful stop deletes the key
 * and leaves the machine's lease alive.
 */
START_TEST(test_machine_lease_leadership) {
        Node a = {}, b = {}, c = {};
        Pair p = {&a, &b};
        Node *first, *second;
        int64_t la = grant(30), lb = grant(30), lc, key_lease = 0, term, term2;
        bool stopped = false;

        node_start_machine(&a, "engine-a", la);
        node_start_machine(&b, "engine-b", lb);
        ck_assert_int_eq(wait_for(one_leader, &p, WAIT), 0);
        first = is_leader(&a) ? &a : &b;
        second = first == &a ? &b : &a;
        term = engine_get_stats(first->engine)->term;
        ck_assert_int_eq(leader_key(NULL, &key_lease), term);
        ck_assert_int_eq(key_lease, first == &a ? la : lb);
        ck_assert_int_eq(engine_set_lease(first->engine, -1), -EINVAL);

        /* The machine's lease may have expired (presence SUSPECT): the term ends at once,
         * before any event loop iteration. The key stays on the lease meanwhile. */
        ck_assert_int_eq(engine_set_lease(first->engine, 0), 0);
        ck_assert(!is_leader(first));
        run_for(300 * MSEC);
        ck_assert(!is_leader(first));
        ck_assert(!is_leader(second)); /* the key is not free */
        ck_assert_int_eq(leader_key(NULL, NULL), term);

        /* The lease lives after all (presence ALIVE): the ended term's key is deleted and a
         * new term begins (on whichever machine wins the campaign). */
        ck_assert_int_eq(engine_set_lease(first->engine, first == &a ? la : lb), 0);
        ck_assert_int_eq(wait_for(term_changed, &term, WAIT), 0);
        ck_assert_int_eq(wait_for(one_leader, &p, WAIT), 0);
        first = is_leader(&a) ? &a : &b;
        second = first == &a ? &b : &a;
        term2 = engine_get_stats(first->engine)->term;
        ck_assert_int_gt(term2, term);
        printf("machine lease: term %" PRIi64 " ended with the lease, new term %" PRIi64 "\n", term,
               term2);

        /* A fleetd crash and restart on the same machine lease (the lease file): the new
         * engine deletes the previous term's key and wins a new one. */
        lc = first == &a ? la : lb;
        node_stop(first);
        node_start_machine(&c, "engine-c", lc);
        p = (Pair){&c, second};
        ck_assert_int_eq(wait_for(term_changed, &term2, WAIT), 0);
        ck_assert_int_eq(wait_for(one_leader, &p, WAIT), 0);
        ck_assert_int_gt(leader_key(NULL, NULL), term2);
        first = is_leader(&c) ? &c : second;
        second = first == &c ? second : &c;
        term = engine_get_stats(first->engine)->term;

        /* The leader machine's lease expires (revoked here): the key goes with it and the
         * other machine's engine takes over; the old one stops leading. */
        ck_assert_int_eq(leader_key(NULL, &key_lease), term);
        ck_assert_int_eq(etcd_lease_revoke_sync(admin_client, key_lease, NULL), 0);
        ck_assert_int_eq(wait_for(node_leads, second, WAIT), 0);
        ck_assert_int_eq(wait_for(one_leader, &p, WAIT), 0);
        ck_assert_int_gt(engine_get_stats(second->engine)->term, term);

        /* A graceful stop deletes the key but leaves the machine's lease to its agent. */
        ck_assert_int_eq(leader_key(NULL, &key_lease), engine_get_stats(second->engine)->term);
        ck_assert_int_eq(engine_stop(second->engine, stop_done, &stopped), 0);
        ck_assert_int_eq(wait_for(flag_set, &stopped, WAIT), 0);
        ck_assert(lease_alive(key_lease));
        node_stop(&a);
        node_stop(&b);
        node_stop(&c);
        (void) etcd_lease_revoke_sync(admin_client, la, NULL);
        (void) etcd_lease_revoke_sync(admin_client, lb, NULL);
}
END_TEST

/* ---- tests: scheduling -------------------------------------------------------------------- */

static void explain_contains(Engine *e, const char *job, const char *text) {
        _cleanup_free_ char *why = NULL;

        ck_assert_int_eq(engine_explain(e, job, &why), 0);
        printf("explain %s: %s\n", job, why);
        ck_assert_msg(strstr(why, text), "%s: \"%s\" lacks \"%s\"", job, why, text);
}

/* The stored reason of job, if any, that describes its current job version. */
static char *current_reason(const char *job) {
        _cleanup_(registry_entry_done) RegistryEntry j = {}, r = {};
        RegistryKey jk = {.kind = REGISTRY_KEY_JOB, .name = (char *) job};
        RegistryKey rk = {.kind = REGISTRY_KEY_REASON, .name = (char *) job};

        if (registry_get_sync(admin, &rk, &r) < 0 || registry_get_sync(admin, &jk, &j) < 0)
                return NULL;
        if (r.reason.job_revision != j.mod_revision)
                return NULL;
        return strdup(r.reason.reason);
}

static bool has_reason(void *userdata) {
        _cleanup_free_ char *r = current_reason(userdata);

        return r != NULL;
}

static bool reason_absent(void *userdata) {
        _cleanup_(registry_entry_done) RegistryEntry e = {};
        RegistryKey k = {.kind = REGISTRY_KEY_REASON, .name = userdata};

        return registry_get_sync(admin, &k, &e) == -ENOENT;
}

static bool stats_unscheduled_is_one(void *userdata) {
        return engine_get_stats(userdata)->unscheduled_jobs == 1;
}

START_TEST(test_schedule_constraints) {
        Node n = {};
        Machine m1 = {}, m2 = {}, m3 = {};
        char hash_a[REGISTRY_HASH_LEN + 1], hash_b[REGISTRY_HASH_LEN + 1];
        _cleanup_free_ char *why = NULL;
        Placed loaded = {"a.service", "m1", NULL, JOB_STATE_LOADED};
        const EngineStats *st;

        machine_up(&m1, "m1", 10 * SEC, (const char *const[]){"region=us", NULL});
        machine_up(&m2, "m2", 10 * SEC, (const char *const[]){"region=eu", NULL});
        machine_up(&m3, "m3", 10 * SEC, (const char *const[]){"disk=ssd", "region=eu", NULL});
        node_start(&n, "m1");
        ck_assert_int_eq(wait_for(node_leads, &n, WAIT), 0);

        create_job("a.service", UNIT("[X-Fleet]\nMachineMetadata=region=us\n"), JOB_STATE_LAUNCHED,
                   hash_a);
        wait_placed("a.service", "m1");
        create_job("b.service", UNIT("[X-Fleet]\nMachineMetadata=disk=ssd\n"), JOB_STATE_LAUNCHED,
                   hash_b);
        wait_placed("b.service", "m3");
        create_job("c.service", UNIT("[X-Fleet]\nMachineOf=a.service\n"), JOB_STATE_LAUNCHED, NULL);
        wait_placed("c.service", "m1");
        create_job("d.service", UNIT(""), JOB_STATE_LOADED, NULL);
        wait_placed("d.service", "m2"); /* the least-loaded machine */
        create_job("e.service", UNIT("[X-Fleet]\nMachineMetadata=region=mars\n"),
                   JOB_STATE_LAUNCHED, NULL);
        create_job("f.service", UNIT(""), JOB_STATE_INACTIVE, NULL);
        create_job("g.service", UNIT("[X-Fleet]\nGlobal=true\n"), JOB_STATE_LAUNCHED, NULL);
        ck_assert_int_eq(wait_for(stats_unscheduled_is_one, n.engine, WAIT), 0);
        run_for(200 * MSEC);
        ck_assert(is_unscheduled((void *) "e.service"));
        ck_assert(is_unscheduled((void *) "f.service"));
        ck_assert(is_unscheduled((void *) "g.service"));
        ck_assert_uint_eq(schedule_size(), 4);

        /* The entries carry the job's hash and desired state. */
        {
                RegistryTarget t = {};
                _cleanup_strv_free_ char **where = schedule_of("a.service", &t);

                ck_assert_uint_eq(strv_length(where), 1);
                ck_assert_str_eq(t.hash, hash_a);
                ck_assert_int_eq(t.desired_state, JOB_STATE_LAUNCHED);
        }
        explain_contains(n.engine, "a.service", "scheduled on Machine(m1)");
        explain_contains(n.engine, "a.service", "MachineMetadata");
        explain_contains(n.engine, "c.service", "MachineOf");
        explain_contains(n.engine, "e.service", "not scheduled");
        explain_contains(n.engine, "e.service", "region=mars");
        explain_contains(n.engine, "f.service", "inactive");
        explain_contains(n.engine, "g.service", "global");
        ck_assert_int_eq(engine_explain(n.engine, "nosuch.service", &why), -ENOENT);

        /* The reason is stored for the unplaceable unit only, for its current job version. */
        ck_assert_int_eq(wait_for(has_reason, (void *) "e.service", WAIT), 0);
        {
                _cleanup_free_ char *r = current_reason("e.service");

                printf("reason/e.service: %s\n", r);
                ck_assert_ptr_nonnull(strstr(r, "region=mars"));
        }
        ck_assert(reason_absent((void *) "a.service"));
        ck_assert(reason_absent((void *) "f.service"));
        ck_assert(reason_absent((void *) "g.service"));
        /* A new job version gets the reason again; a machine that fits clears it. */
        set_job_state("e.service", JOB_STATE_LOADED);
        ck_assert_int_eq(wait_for(has_reason, (void *) "e.service", WAIT), 0);
        set_job_state("e.service", JOB_STATE_INACTIVE);
        ck_assert_int_eq(wait_for(reason_absent, (void *) "e.service", WAIT), 0);
        set_job_state("e.service", JOB_STATE_LAUNCHED);
        ck_assert_int_eq(wait_for(has_reason, (void *) "e.service", WAIT), 0);
        ck_assert_int_eq(registry_destroy_job_sync(admin, "e.service", NULL), 0);
        ck_assert_int_eq(wait_for(reason_absent, (void *) "e.service", WAIT), 0);

        /* Entries follow their jobs: launched -> loaded rewrites, inactive removes. */
        set_job_state("a.service", JOB_STATE_LOADED);
        ck_assert_int_eq(wait_for(is_placed, &loaded, WAIT), 0);
        set_job_state("d.service", JOB_STATE_INACTIVE);
        ck_assert_int_eq(wait_for(is_unscheduled, (void *) "d.service", WAIT), 0);
        /* Destroying a job removes its entry, then its content (nothing else uses it). */
        ck_assert_int_eq(registry_destroy_job_sync(admin, "b.service", NULL), 0);
        ck_assert_int_eq(wait_for(is_unscheduled, (void *) "b.service", WAIT), 0);
        ck_assert_int_eq(wait_for(unit_absent, hash_b, WAIT), 0);
        ck_assert(!unit_absent(hash_a));

        st = engine_get_stats(n.engine);
        printf("stats: passes %" PRIu64 ", decisions %" PRIu64 ", updates %" PRIu64
               ", collected %" PRIu64 ", last pass %" PRIu64 " us\n",
               st->passes, st->decisions_applied, st->updates_applied, st->units_collected,
               st->last_pass_usec);
        ck_assert_uint_ge(st->decisions_applied, 6); /* 4 placed, 2 removed */
        ck_assert_uint_ge(st->updates_applied, 1);
        ck_assert_uint_ge(st->units_collected, 1);
        ck_assert_uint_eq(st->fenced_rejections, 0);
        node_stop(&n);
        machine_done(&m1);
        machine_done(&m2);
        machine_done(&m3);
}
END_TEST

/* A unit state on machine, as its agent publishes it (no lease: the test deletes it). */
static void put_state(const char *name, const char *machine, const char *hash) {
        RegistryUnitState st = {.name = (char *) name,
                                .machine_id = (char *) machine,
                                .load_state = (char *) "loaded",
                                .active_state = (char *) "active",
                                .sub_state = (char *) "running",
                                .fleet_state = JOB_STATE_LAUNCHED};

        memcpy(st.unit_hash, hash, sizeof(st.unit_hash));
        ck_assert_int_eq(registry_put_state_sync(admin, &st, 0, NULL), 0);
}

static void del_state(const char *name, const char *machine) {
        RegistryKey k = {
                .kind = REGISTRY_KEY_STATE, .name = (char *) name, .machine_id = (char *) machine};

        ck_assert_int_eq(registry_delete_sync(admin, &k, NULL), 0);
}

/* Cordons through etcd: no new unit on a cordoned machine; a drain unschedules the machine's
 * units and places each elsewhere only once its state there is gone (stop before start). */
START_TEST(test_cordon_and_drain) {
        Node n = {};
        Machine m1 = {}, m2 = {};
        RegistryCordon cordoned = {.draining = false}, draining = {.draining = true};
        RegistryKey ck = {.kind = REGISTRY_KEY_CORDON, .machine_id = (char *) "m1"};
        char hash[REGISTRY_HASH_LEN + 1];

        machine_up(&m1, "m1", 10 * SEC, NULL);
        machine_up(&m2, "m2", 10 * SEC, NULL);
        node_start(&n, "m1");
        ck_assert_int_eq(wait_for(node_leads, &n, WAIT), 0);
        ck_assert_int_eq(registry_put_cordon_sync(admin, "m1", &cordoned, NULL), 0);
        create_job("a.service", UNIT(""), JOB_STATE_LAUNCHED, hash);
        create_job("b.service", UNIT(""), JOB_STATE_LAUNCHED, NULL);
        wait_placed("a.service", "m2");
        wait_placed("b.service", "m2"); /* not the least-loaded m1: it is cordoned */
        create_job("p.service", UNIT("[X-Fleet]\nMachineID=m1\n"), JOB_STATE_LAUNCHED, NULL);
        ck_assert_int_eq(wait_for(has_reason, (void *) "p.service", WAIT), 0);
        {
                _cleanup_free_ char *r = current_reason("p.service");

                ck_assert_ptr_nonnull(strstr(r, "Machine(m1) is cordoned"));
        }
        ck_assert_int_eq(registry_delete_sync(admin, &ck, NULL), 0);
        wait_placed("p.service", "m1");
        ck_assert_int_eq(registry_destroy_job_sync(admin, "p.service", NULL), 0);

        /* drain m2: a still runs there (its state), b has stopped already */
        put_state("a.service", "m2", hash);
        ck_assert_int_eq(registry_put_cordon_sync(admin, "m2", &draining, NULL), 0);
        wait_placed("b.service", "m1");
        ck_assert_int_eq(wait_for(is_unscheduled, (void *) "a.service", WAIT), 0);
        run_for(300 * MSEC);
        ck_assert(is_unscheduled((void *) "a.service")); /* not while its copy runs on m2 */
        ck_assert_int_eq(wait_for(has_reason, (void *) "a.service", WAIT), 0);
        del_state("a.service", "m2");
        wait_placed("a.service", "m1");
        node_stop(&n);
        machine_done(&m1);
        machine_done(&m2);
}
END_TEST

START_TEST(test_content_gc) {
        Node n = {};
        Machine m1 = {};
        char hash[REGISTRY_HASH_LEN + 1];
        const char *orphan = "abcdefabcdefabcdefabcdefabcdefabcdefabcd";
        const char *pinned = "0123401234012340123401234012340123401234";
        RegistryKey pk = {.kind = REGISTRY_KEY_PIN,
                          .name = (char *) "g.service",
                          .machine_id = (char *) "m1"};
        _cleanup_free_ char *key = NULL, *pkey = NULL;
        RegistryPin pin = {};

        machine_up(&m1, "m1", 10 * SEC, NULL);
        create_job("keep.service", UNIT(""), JOB_STATE_LAUNCHED, hash);
        ck_assert_int_gt(asprintf(&key, "%sunit/%s", prefix, orphan), 0);
        EtcdPutRequest q = {.key = key, .value = "[Service]\nExecStart=/bin/true\n"};
        ck_assert_int_eq(etcd_put_sync(admin_client, &q, NULL), 0);
        ck_assert(!unit_absent((void *) orphan));

        /* a content only a pin names (a rolling update of a global unit) stays */
        ck_assert_int_gt(asprintf(&pkey, "%sunit/%s", prefix, pinned), 0);
        EtcdPutRequest pq = {.key = pkey, .value = "[Service]\nExecStart=/bin/false\n"};
        ck_assert_int_eq(etcd_put_sync(admin_client, &pq, NULL), 0);
        memcpy(pin.hash, pinned, sizeof(pin.hash));
        ck_assert_int_eq(registry_put_pin_sync(admin, "m1", "g.service", &pin, NULL), 0);

        node_start(&n, "m1");
        ck_assert_int_eq(wait_for(unit_absent, (void *) orphan, WAIT), 0);
        wait_placed("keep.service", "m1");
        run_for(300 * MSEC);
        ck_assert(!unit_absent(hash));
        ck_assert(!unit_absent((void *) pinned));
        /* the pin gone, its content is collected */
        ck_assert_int_eq(registry_delete_sync(admin, &pk, NULL), 0);
        ck_assert_int_eq(wait_for(unit_absent, (void *) pinned, WAIT), 0);
        ck_assert(!unit_absent(hash));
        node_stop(&n);
        machine_done(&m1);
}
END_TEST

/* ---- tests: machine failover ------------------------------------------------------------- */

/* Times (as the test sees the watch events) of a machine's key deletion and of a job's entry
 * appearing elsewhere. */
typedef struct Timeline {
        const char *machine, *job;
        usec_t gone, moved;
} Timeline;

static void on_timeline(RegistryWatch *w, int error, const RegistryWatchUpdate *u, void *userdata) {
        Timeline *t = userdata;

        for (size_t i = 0; u && i < u->n_events; i++) {
                const RegistryEvent *ev = &u->events[i];
                const RegistryKey *k = &ev->entry.key;

                if (ev->type == REGISTRY_EVENT_DELETE && k->kind == REGISTRY_KEY_MACHINE &&
                    streq(k->machine_id, t->machine) && !t->gone)
                        t->gone = now_usec();
                if (ev->type == REGISTRY_EVENT_PUT && k->kind == REGISTRY_KEY_SCHEDULE &&
                    streq(k->name, t->job) && !streq(k->machine_id, t->machine) && t->gone &&
                    !t->moved)
                        t->moved = now_usec();
        }
}

static bool timeline_moved(void *userdata) {
        return ((Timeline *) userdata)->moved != 0;
}

static bool pair_moved(void *userdata) {
        _cleanup_strv_free_ char **a = schedule_of("a.service", NULL);
        _cleanup_strv_free_ char **b = schedule_of("b.service", NULL);

        return strv_length(a) == 1 && strv_length(b) == 1 && !streq(a[0], "m1") &&
               streq(a[0], b[0]);
}

START_TEST(test_machine_failover) {
        _cleanup_(registry_watch_freep) RegistryWatch *w = NULL;
        RegistryWatchOptions opts = {.resync = false};
        Timeline tl = {.machine = "m1", .job = "b.service"};
        Timeline tl2 = {.machine = "m2", .job = "x.service"};
        _cleanup_(registry_watch_freep) RegistryWatch *w2 = NULL;
        _cleanup_strv_free_ char **where = NULL;
        Node n = {}, standby = {};
        Machine m1 = {}, m2 = {}, m3 = {};
        usec_t t0;

        machine_up(&m1, "m1", 2 * SEC, NULL);
        machine_up(&m2, "m2", 10 * SEC, NULL);
        machine_up(&m3, "m3", 10 * SEC, NULL);
        node_start(&n, "engine-1");
        ck_assert_int_eq(wait_for(node_leads, &n, WAIT), 0);
        node_start(&standby, "engine-2");

        create_job("a.service", UNIT(""), JOB_STATE_LAUNCHED, NULL);
        wait_placed("a.service", "m1"); /* ties go to the lowest machine ID */
        create_job("b.service", UNIT("[X-Fleet]\nMachineOf=a.service\n"), JOB_STATE_LAUNCHED, NULL);
        wait_placed("b.service", "m1");
        create_job("x.service", UNIT(""), JOB_STATE_LAUNCHED, NULL);
        wait_placed("x.service", "m2");

        ck_assert_int_eq(registry_watch_new(admin, _REGISTRY_KEY_KIND_INVALID, NULL, &opts,
                                            on_timeline, &tl, &w),
                         0);
        run_for(100 * MSEC);
        /* m1 crashes: its lease expires within its TTL, and its units move together. */
        t0 = now_usec();
        machine_crash(&m1);
        ck_assert_int_eq(wait_for(pair_moved, NULL, WAIT), 0);
        (void) wait_for(timeline_moved, &tl, 5 * SEC);
        where = schedule_of("a.service", NULL);
        ck_assert_str_eq(where[0], "m3"); /* m2 runs x.service, m3 nothing */
        printf("machine m1 crashed (agent TTL 2 s): lease expired after %.1f ms (last "
               "keepalive %.1f ms before the crash); units rescheduled %.3f ms after the "
               "expiry, %.1f ms after the crash\n",
               (tl.gone - t0) / 1000.0, (t0 - m1.last_keepalive) / 1000.0,
               tl.moved >= tl.gone ? (tl.moved - tl.gone) / 1000.0 : -1.0,
               (tl.moved - t0) / 1000.0);

        /* A machine that leaves gracefully (lease revoked) loses its units at once. */
        ck_assert_int_eq(registry_watch_new(admin, _REGISTRY_KEY_KIND_INVALID, NULL, &opts,
                                            on_timeline, &tl2, &w2),
                         0);
        run_for(100 * MSEC);
        t0 = now_usec();
        machine_revoke(&m2);
        wait_placed("x.service", "m3");
        (void) wait_for(timeline_moved, &tl2, 5 * SEC);
        printf("machine m2 revoked: x.service rescheduled %.3f ms after the machine key went "
               "(%.1f ms after the revoke)\n",
               tl2.moved >= tl2.gone ? (tl2.moved - tl2.gone) / 1000.0 : -1.0,
               (now_usec() - t0) / 1000.0);
        ck_assert(!is_leader(&standby));
        node_stop(&standby);
        node_stop(&n);
        machine_done(&m1);
        machine_done(&m3);
}
END_TEST

/* ---- tests: the majority rule ----------------------------------------------------------- */

static bool machine_gone(void *userdata) {
        _cleanup_free_ char *key = NULL;

        ck_assert_int_ge(asprintf(&key, "%smachine/%s", prefix, (const char *) userdata), 0);
        return etcd_get_sync(admin_client, key, NULL, NULL) == -ENOENT;
}

typedef struct HeldWait {
        const Node *n;
        size_t want;
} HeldWait;

static bool held_is(void *userdata) {
        const HeldWait *h = userdata;

        return engine_get_stats(h->n->engine)->machines_held == h->want;
}

/* The job among jobs[] scheduled on machine, or NULL. */
static const char *job_on(const char *const *jobs, const char *machine) {
        for (; *jobs; jobs++) {
                _cleanup_strv_free_ char **where = schedule_of(*jobs, NULL);

                if (strv_length(where) == 1 && streq(where[0], machine))
                        return *jobs;
        }
        return NULL;
}

/*
 * Two of three machines expire together: more than half, so the engine holds their units
 * where they are (etcd came back from an outage, or the engine is on the small side). An
 * operator drains one (a draining cordon): its unit moves, the other stays held; the other
 * comes back and keeps its unit.
 */
START_TEST(test_majority_holds) {
        static const char *const jobs[] = {"j1.service", "j2.service", "j3.service", NULL};
        HeldWait held = {};
        Node n = {};
        Machine m1 = {}, m2 = {}, m3 = {}, m2b = {};
        const char *on2, *on3;

        machine_up(&m1, "m1", 10 * SEC, NULL);
        machine_up(&m2, "m2", 2 * SEC, NULL);
        machine_up(&m3, "m3", 2 * SEC, NULL);
        node_start(&n, "engine-1");
        ck_assert_int_eq(wait_for(node_leads, &n, WAIT), 0);
        for (size_t i = 0; jobs[i]; i++)
                create_job(jobs[i], UNIT(""), JOB_STATE_LAUNCHED, NULL);
        wait_placed("j1.service", "m1");
        run_for(500 * MSEC);
        on2 = job_on(jobs, "m2");
        on3 = job_on(jobs, "m3");
        ck_assert_ptr_nonnull(on2);
        ck_assert_ptr_nonnull(on3);

        machine_crash(&m2);
        machine_crash(&m3);
        ck_assert_int_eq(wait_for(machine_gone, (void *) "m2", WAIT), 0);
        ck_assert_int_eq(wait_for(machine_gone, (void *) "m3", WAIT), 0);
        held.n = &n;
        held.want = 2;
        ck_assert_int_eq(wait_for(held_is, &held, WAIT), 0);
        run_for(3 * SEC); /* several passes and safety ticks */
        ck_assert_str_eq(job_on(jobs, "m2"), on2);
        ck_assert_str_eq(job_on(jobs, "m3"), on3);

        /* An operator drains m3 (fleetctl drain: a draining cordon of the expired machine):
         * released, its unit is placed anew; m2 stays held. */
        ck_assert_int_eq(
                registry_put_cordon_sync(admin, "m3", &(RegistryCordon){.draining = true}, NULL),
                0);
        Placed p = {on3, NULL, "m3", _JOB_STATE_INVALID};
        ck_assert_int_eq(wait_for(is_placed, &p, WAIT), 0);
        held.want = 1;
        ck_assert_int_eq(wait_for(held_is, &held, WAIT), 0);
        run_for(1 * SEC);
        ck_assert_str_eq(job_on(jobs, "m2"), on2);
        ck_assert_ptr_null(job_on(jobs, "m3"));

        /* m2 registers again: no longer held, its unit stays with it. */
        machine_up(&m2b, "m2", 10 * SEC, NULL);
        held.want = 0;
        ck_assert_int_eq(wait_for(held_is, &held, WAIT), 0);
        run_for(1 * SEC);
        ck_assert_str_eq(job_on(jobs, "m2"), on2);
        machine_crash(&m1);
        node_stop(&n);
        machine_done(&m1);
        machine_done(&m2b);
        machine_done(&m3);
}
END_TEST

/* A new leader picks up where the old one stopped: it lists the registry and schedules. */
START_TEST(test_leader_failover_schedules) {
        Node a = {}, b = {};
        Pair p = {&a, &b};
        Node *first, *second;
        Machine m1 = {};
        int64_t lease = 0;

        machine_up(&m1, "m1", 10 * SEC, NULL);
        node_start(&a, "engine-a");
        node_start(&b, "engine-b");
        ck_assert_int_eq(wait_for(one_leader, &p, WAIT), 0);
        first = is_leader(&a) ? &a : &b;
        second = first == &a ? &b : &a;
        create_job("one.service", UNIT(""), JOB_STATE_LAUNCHED, NULL);
        wait_placed("one.service", "m1");

        ck_assert_int_gt(leader_key(NULL, &lease), 0);
        ck_assert_int_eq(etcd_lease_revoke_sync(admin_client, lease, NULL), 0);
        ck_assert_int_eq(wait_for(node_leads, second, WAIT), 0);
        create_job("two.service", UNIT(""), JOB_STATE_LAUNCHED, NULL);
        wait_placed("two.service", "m1");
        wait_placed("one.service", "m1"); /* untouched */
        ck_assert(!is_leader(first));
        node_stop(&a);
        node_stop(&b);
        machine_done(&m1);
}
END_TEST

/* ---- watch recovery after a compaction --------------------------------------------------------
 */

/* A loopback TCP proxy to etcd on its own loop: proxy_cut() closes every connection at once
 * (new ones are forwarded again), which the clients behind it only see when their loop runs. */
#define PROXY_MAX 64

typedef struct ProxyConn {
        int fd[2]; /* client side, etcd side; -1 once closed */
        sd_event_source *src[2];
} ProxyConn;

typedef struct Proxy {
        int listen_fd;
        int port;
        int upstream_port;
        sd_event_source *accept_src;
        ProxyConn conns[PROXY_MAX];
        size_t n;
        char endpoint[64];
} Proxy;

static void proxy_conn_close(ProxyConn *c) {
        for (int i = 0; i < 2; i++) {
                c->src[i] = sd_event_source_disable_unref(c->src[i]);
                if (c->fd[i] >= 0)
                        (void) close(c->fd[i]);
                c->fd[i] = -1;
        }
}

static int proxy_on_data(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ProxyConn *c = userdata;
        int to = fd == c->fd[0] ? c->fd[1] : c->fd[0];
        char buf[65536];
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n <= 0) {
                proxy_conn_close(c);
                return 0;
        }
        for (ssize_t off = 0; off < n;) {
                ssize_t w = write(to, buf + off, (size_t) (n - off));

                if (w <= 0) {
                        proxy_conn_close(c);
                        return 0;
                }
                off += w;
        }
        return 0;
}

static int proxy_on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Proxy *p = userdata;
        struct sockaddr_in up = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t) p->upstream_port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        ProxyConn *c;
        int a = accept4(fd, NULL, NULL, SOCK_CLOEXEC), b;

        if (a < 0)
                return 0;
        b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(b, 0);
        ck_assert_int_eq(connect(b, (struct sockaddr *) &up, sizeof(up)), 0);
        ck_assert_uint_lt(p->n, PROXY_MAX);
        c = &p->conns[p->n++];
        c->fd[0] = a;
        c->fd[1] = b;
        for (int i = 0; i < 2; i++)
                ck_assert_int_eq(sd_event_add_io(sd_event_source_get_event(s), &c->src[i], c->fd[i],
                                                 EPOLLIN, proxy_on_data, c),
                                 0);
        return 0;
}

static void proxy_start(Proxy *p, sd_event *loop) {
        const char *ep = etcd_launcher_endpoint(etcd, 0);
        const char *colon = strrchr(ep, ':');

        ck_assert_ptr_nonnull(colon);
        p->upstream_port = atoi(colon + 1);
        p->listen_fd = test_listen_loopback(&p->port);
        ck_assert_int_ge(p->listen_fd, 0);
        (void) snprintf(p->endpoint, sizeof(p->endpoint), "http://127.0.0.1:%d", p->port);
        ck_assert_int_eq(
                sd_event_add_io(loop, &p->accept_src, p->listen_fd, EPOLLIN, proxy_on_accept, p),
                0);
}

static size_t proxy_cut(Proxy *p) {
        size_t n = 0;

        for (size_t i = 0; i < p->n; i++)
                if (p->conns[i].fd[0] >= 0) {
                        proxy_conn_close(&p->conns[i]);
                        n++;
                }
        return n;
}

static void proxy_stop(Proxy *p) {
        (void) proxy_cut(p);
        p->accept_src = sd_event_source_disable_unref(p->accept_src);
        (void) close(p->listen_fd);
}

/* An agent's view of schedule/<machine>/: the watch agent-desired.c opens (resync mode), with
 * a handler that keeps the set of names as the agent's does (a resync replaces it). */
typedef struct AgentView {
        char **names;
        unsigned resyncs;
        int error;
} AgentView;

static void names_remove(char **l, const char *name) {
        char **o = l;

        for (char **i = l; i && *i; i++)
                if (streq(*i, name))
                        free(*i);
                else
                        *o++ = *i;
        if (o)
                *o = NULL;
}

static void agent_view_on_update(RegistryWatch *w, int error, const RegistryWatchUpdate *u,
                                 void *userdata) {
        AgentView *v = userdata;

        if (error < 0) {
                v->error = error;
                return;
        }
        if (u->resync) {
                v->resyncs++;
                v->names = strv_free(v->names);
                for (size_t i = 0; i < u->n_entries; i++)
                        ck_assert_int_eq(strv_extend(&v->names, u->entries[i].key.name), 0);
        }
        for (size_t i = 0; i < u->n_events; i++) {
                const RegistryEvent *e = &u->events[i];

                names_remove(v->names, e->entry.key.name);
                if (e->type == REGISTRY_EVENT_PUT)
                        ck_assert_int_eq(strv_extend(&v->names, e->entry.key.name), 0);
        }
}

typedef struct Recovery {
        sd_event *frozen;
        Node *node;
        AgentView *view;
        const char *want; /* the one name the agent's view must hold */
        unsigned min_resyncs;
} Recovery;

static bool recovered(Recovery *c) {
        return engine_get_stats(c->node->engine)->resyncs >= c->min_resyncs &&
               c->view->resyncs >= c->min_resyncs && strv_length(c->view->names) == 1 &&
               streq(c->view->names[0], c->want);
}

/* Run both loops until the engine and the agent's view have re-listed and converged. */
static int run_until_recovered(Recovery *c, usec_t timeout) {
        usec_t deadline = now_usec() + timeout;

        while (!recovered(c)) {
                if (now_usec() > deadline)
                        return -ETIMEDOUT;
                ck_assert_int_ge(sd_event_run(c->frozen, 0), 0);
                ck_assert_int_ge(sd_event_run(event, 10 * MSEC), 0);
        }
        return 0;
}

/*
 * Issue 12: the watch recovery after a compaction was never exercised. An engine and an
 * agent's schedule watch reach etcd through a proxy, on a loop that stalls. While it stalls
 * their connections are cut, a job is destroyed (its schedule entry with it), another is
 * submitted, and etcd compacts its history past the revision they had seen. When they run
 * again, their watches resume from that revision, etcd answers "compacted", and both must list
 * again: the agent's view drops the destroyed unit and gets the new one, the engine schedules
 * the new job.
 */
START_TEST(test_watch_compaction_recovery) {
        _cleanup_(sd_event_unrefp) sd_event *frozen = NULL;
        _cleanup_(etcd_response_freep) EtcdResponse *put = NULL;
        _cleanup_(registry_watch_freep) RegistryWatch *w = NULL;
        char key_job[128], key_sched[128];
        Proxy proxy = {};
        AgentView view = {};
        Node a = {};
        Machine m1 = {};
        EtcdClient *agent_client = NULL;
        Registry *agent_registry = NULL;
        Recovery rec;
        usec_t deadline;
        unsigned engine_resyncs;
        size_t cut;

        ck_assert_int_eq(sd_event_new(&frozen), 0);
        proxy_start(&proxy, frozen);
        machine_up(&m1, "m1", 30 * SEC, NULL);

        /* The engine and the agent's watch, both behind the proxy, on the frozen loop. */
        {
                EngineConfig cfg = {.machine_id = "engine-a",
                                    .version = "test",
                                    .reconcile_interval = SEC,
                                    .lease_ttl = 10 * SEC};
                char *eps[] = {proxy.endpoint, NULL};
                EtcdClientConfig cc = {.endpoints = eps, .request_timeout_usec = 5 * SEC};

                (void) snprintf(a.id, sizeof(a.id), "engine-a");
                ck_assert_int_eq(etcd_client_new(&a.client, frozen, &cc), 0);
                ck_assert_int_eq(registry_new(&a.registry, a.client, prefix), 0);
                ck_assert_int_eq(engine_new(&a.engine, frozen, a.registry, &cfg), 0);
                ck_assert_int_eq(engine_start(a.engine), 0);
                ck_assert_int_eq(etcd_client_new(&agent_client, frozen, &cc), 0);
                ck_assert_int_eq(registry_new(&agent_registry, agent_client, prefix), 0);
                ck_assert_int_eq(registry_watch_new(agent_registry, REGISTRY_KEY_SCHEDULE, "m1",
                                                    NULL, agent_view_on_update, &view, &w),
                                 0);
        }
        create_job("old.service", UNIT(""), JOB_STATE_LAUNCHED, NULL);
        rec = (Recovery){frozen, &a, &view, "old.service", 1};
        ck_assert_int_eq(run_until_recovered(&rec, WAIT), 0);
        wait_placed("old.service", "m1");
        engine_resyncs = (unsigned) engine_get_stats(a.engine)->resyncs;
        ck_assert_uint_eq(view.resyncs, 1);

        /* The loop stalls; meanwhile the connections go, the registry changes, etcd compacts. */
        cut = proxy_cut(&proxy);
        ck_assert_uint_gt(cut, 0);
        (void) snprintf(key_job, sizeof(key_job), "%sjob/old.service", prefix);
        (void) snprintf(key_sched, sizeof(key_sched), "%sschedule/m1/old.service", prefix);
        ck_assert_int_eq(etcd_delete_sync(admin_client, &(EtcdDeleteRequest){.key = key_job}, NULL),
                         0);
        ck_assert_int_eq(
                etcd_delete_sync(admin_client, &(EtcdDeleteRequest){.key = key_sched}, NULL), 0);
        create_job("new.service", UNIT(""), JOB_STATE_LAUNCHED, NULL);
        ck_assert_int_eq(etcd_put_sync(admin_client,
                                       &(EtcdPutRequest){.key = "/compaction-marker", .value = "x"},
                                       &put),
                         0);
        ck_assert_int_eq(etcd_compact_sync(admin_client, put->revision, true, NULL), 0);

        /* They run again: both re-list (a resync each) and converge. */
        rec = (Recovery){frozen, &a, &view, "new.service", 2};
        deadline = now_usec();
        ck_assert_msg(run_until_recovered(&rec, WAIT) == 0,
                      "not recovered: engine resyncs %" PRIu64
                      ", agent view resyncs %u (%zu names)",
                      engine_get_stats(a.engine)->resyncs, view.resyncs, strv_length(view.names));
        printf("compaction past a stalled watcher: %zu connection(s) cut; engine re-listed "
               "(%" PRIu64
               " listings, %u before), agent's schedule watch re-listed (%u listings); converged "
               "%" PRIu64 " ms after the loop resumed\n",
               cut, engine_get_stats(a.engine)->resyncs, engine_resyncs, view.resyncs,
               (uint64_t) ((now_usec() - deadline) / MSEC));
        ck_assert_int_eq(view.error, 0);
        ck_assert_uint_gt(engine_get_stats(a.engine)->resyncs, engine_resyncs);
        wait_placed("new.service", "m1");
        ck_assert(is_unscheduled((char *) "old.service"));

        w = registry_watch_free(w);
        view.names = strv_free(view.names);
        agent_registry = registry_free(agent_registry);
        agent_client = etcd_client_free(agent_client);
        node_stop(&a);
        proxy_stop(&proxy);
        machine_done(&m1);
}
END_TEST

static Suite *engine_suite(void) {
        Suite *s = suite_create("engine");
        TCase *tc = tcase_create("engine");

        tcase_add_unchecked_fixture(tc, shared_setup, shared_teardown);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_election_and_fencing);
        tcase_add_test(tc, test_deposed_leader_is_fenced);
        tcase_add_test(tc, test_stalled_leader_resumes);
        tcase_add_test(tc, test_leader_crash_and_graceful_stop);
        tcase_add_test(tc, test_machine_lease_leadership);
        tcase_add_test(tc, test_schedule_constraints);
        tcase_add_test(tc, test_content_gc);
        tcase_add_test(tc, test_cordon_and_drain);
        tcase_add_test(tc, test_machine_failover);
        tcase_add_test(tc, test_leader_failover_schedules);
        tcase_add_test(tc, test_majority_holds);
        /* Last: it compacts the shared etcd's history. */
        tcase_add_test(tc, test_watch_compaction_recovery);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(engine_suite)
