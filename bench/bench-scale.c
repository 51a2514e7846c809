/* SPDX-License-Identifier: MIT */
/*
 * bench-scale: the scale simulator (DESIGN.md section 7, "engine placement throughput").
 *
 * It starts a real etcd (test/lib/etcd-launcher), runs the real Engine (engine/engine.h) in a
 * child process (so that its CPU time and RSS are its own), and stands in for M machines the
 * way agents behave towards etcd:
 *   - each machine has its own lease and a machine/<id> record attached to it (granted and
 *     written in pipelined requests, the records in txns of up to 128 puts);
 *   - every schedule entry the engine writes is "acknowledged" as an agent would once the unit
 *     runs: a state/<name>/<machine> record attached to that machine's lease (txns of up to
 *     128 puts). One watch over schedule/ stands in for the M per-machine watches of real
 *     agents (M HTTP streams would measure the simulator, not the engine).
 * The leases are long (--lease-ttl, 900 s): real agents with agent_ttl 5 s would send M/1.7
 * keepalives per second, which is etcd load unrelated to placement. They are kept alive all
 * the same (every TTL/3).
 *
 * Phases, each timed with CLOCK_MONOTONIC:
 *   1. register:  M leases + M machine records.
 *   -  ceiling:   etcd's own rate for schedule-shaped writes (fenced txns of 128 puts under a
 *                 scratch prefix: 1 in flight, 4 in flight, 1 in flight with a watcher), to
 *                 tell the engine's limits from etcd's.
 *   2. submit:    U jobs with registry_create_job() (one txn each, as the API writes them:
 *                 unit content + job), pipelined, --inflight at a time. The engine has not
 *                 started yet, so this is etcd's (and the client's) rate for API writes.
 *                 Beyond --api-jobs (10,000) the rest is bulk-loaded, 64 jobs per txn, to stay
 *                 within a few minutes at 100,000 units.
 *   3. placement: the engine starts (campaign, full listing, passes, fenced txns of <= 128
 *                 schedule writes); timed until the schedule/ watch has seen all U entries.
 *                 This is the "engine placement throughput" of DESIGN.md section 7.
 *   4. ack:       until every state record is written.
 *   5. stream:    U/10 (at most 2,000) more jobs submitted while the engine leads; per-unit
 *                 latency from the submit request to the schedule entry's watch event
 *                 (p50/p90/p99), and the end-to-end rate.
 *   6. failover:  revoke the leases of 1% of the machines (at least one): time until all
 *                 their units are scheduled elsewhere (the engine reacts to machine/<id>
 *                 DELETE; a real crash adds the agent_ttl on top).
 * Then the engine child reports its counters, CPU time and RSS, and everything is torn down.
 *
 * Output: human-readable lines, then one line "RESULT ok=0|1 failed_phase=... key=value ..."
 * for tools/bench.sh (also after a failure: the figures of the phases that completed, 0 for
 * the others). Exit 0 when every unit was placed, acknowledged and failed over; 1 if anything
 * did not happen before the deadline (a timing is never a failure, a lost unit is), or on
 * SIGINT/SIGTERM (etcd's data directory is removed either way). 2: usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "etcd-launcher.h"
#include "etcd.h"
#include "log.h"
#include "registry.h"
#include "strv.h"
#include "unit-file.h"

#define SEC 1000000ULL
#define MSEC 1000ULL
#define ENGINE_MACHINE_ID "be4c0000e4e1e0000000000000000000"
#define MAX_OPS REGISTRY_MAX_TXN_OPS

/* ---- options ------------------------------------------------------------------------------ */

static size_t arg_machines = 100;
static size_t arg_units = 1000;
static size_t arg_stream_units = (size_t) -1; /* default U/10 */
static size_t arg_inflight = 32;
static size_t arg_api_jobs = 10000; /* jobs written with registry_create_job(); the rest in bulk */
static bool arg_ack = true;
static bool arg_failover = true;
static int64_t arg_lease_ttl = 900;
static usec_t arg_engine_timeout = 1 * SEC; /* fleet's etcd_request_timeout default */
static usec_t arg_deadline = 600 * SEC;
static const char *arg_data_dir = NULL;   /* NULL: /dev/shm if it exists, else $TMPDIR */
static const char *arg_etcd = NULL;       /* use this etcd instead of starting one */
static const char *arg_engine_log = NULL; /* NULL: in etcd's directory (removed at exit) */

/* ---- clocks and /proc ------------------------------------------------------------------ */

static usec_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * SEC + (usec_t) ts.tv_nsec / 1000;
}

static double secs(usec_t d) {
        return (double) d / (double) SEC;
}

/* utime + stime of pid (0 = self) in microseconds, or 0 if unreadable. */
static usec_t proc_cpu_usec(pid_t pid) {
        char path[64], buf[1024];
        unsigned long long ut = 0, st = 0;
        const char *p;
        ssize_t n;
        int fd;

        if (pid == 0)
                (void) snprintf(path, sizeof(path), "/proc/self/stat");
        else
                (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = read(fd, buf, sizeof(buf) - 1);
        (void) close(fd);
        if (n <= 0)
                return 0;
        buf[n] = 0;
        p = strrchr(buf, ')'); /* comm may contain spaces */
        if (!p)
                return 0;
        /* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
         * utime(14) stime(15) */
        if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
                return 0;
        return (usec_t) ((ut + st) * SEC / (unsigned long long) sysconf(_SC_CLK_TCK));
}

/* A "VmRSS:"-style field of /proc/<pid>/status in kB, or -1. */
static long proc_status_kb(pid_t pid, const char *field) {
        char path[64], line[256];
        size_t fl = strlen(field);
        long v = -1;
        FILE *f;

        (void) snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (strneq(line, field, fl) && line[fl] == ':') {
                        v = strtol(line + fl + 1, NULL, 10);
                        break;
                }
        (void) fclose(f);
        return v;
}

/* ---- the engine child ------------------------------------------------------------------- */

static int child_report_fd = -1;
static Engine *child_engine;

static int child_on_term(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        const EngineStats *st = engine_get_stats(child_engine);
        struct rusage ru = {};
        char buf[1024];
        int n;

        (void) getrusage(RUSAGE_SELF, &ru);
        n = snprintf(buf, sizeof(buf),
                     "engine_passes=%" PRIu64 " engine_decisions=%" PRIu64
                     " engine_txn_failures=%" PRIu64 " engine_fenced=%" PRIu64
                     " engine_resyncs=%" PRIu64 " engine_terms=%" PRIu64
                     " engine_last_pass_ms=%.3f engine_cpu_total_s=%.3f engine_rss_kb=%ld"
                     " engine_hwm_kb=%ld\n",
                     st->passes, st->decisions_applied, st->txn_failures, st->fenced_rejections,
                     st->resyncs, st->terms_won, (double) st->last_pass_usec / 1000.0,
                     (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 +
                             (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6,
                     proc_status_kb(getpid(), "VmRSS"), proc_status_kb(getpid(), "VmHWM"));
        if (n > 0)
                (void) !write(child_report_fd, buf, (size_t) n);
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/*
 * The engine process: waits for one byte on go_fd, then runs an Engine exactly as fleetd
 * configures it (defaults of fleet.conf) until SIGTERM, when it writes its report to
 * report_fd. Its log (one line per decision, as fleetd logs) goes to log_path.
 */
__attribute__((noreturn)) static void engine_child(const char *endpoint, int go_fd, int report_fd,
                                                   const char *log_path) {
        sd_event *event = NULL;
        EtcdClient *client = NULL;
        Registry *registry = NULL;
        char *const endpoints[] = {(char *) endpoint, NULL};
        EtcdClientConfig cc = {.endpoints = endpoints, .request_timeout_usec = arg_engine_timeout};
        EngineConfig ec = {.machine_id = ENGINE_MACHINE_ID, .version = "bench"};
        sigset_t ss;
        char go;
        int fd;

        child_report_fd = report_fd;
        fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
                (void) dup2(fd, STDERR_FILENO);
                (void) close(fd);
        }
        log_open();
        log_set_program("bench-engine");
        log_set_max_level(LOG_INFO); /* fleetd's default verbosity */
        if (read(go_fd, &go, 1) != 1)
                _exit(0); /* the parent gave up before starting us */
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0 || sd_event_new(&event) < 0 ||
            etcd_client_new(&client, event, &cc) < 0 ||
            registry_new(&registry, client, REGISTRY_DEFAULT_PREFIX) < 0 ||
            engine_new(&child_engine, event, registry, &ec) < 0 ||
            sd_event_add_signal(event, NULL, SIGTERM, child_on_term, NULL) < 0 ||
            engine_start(child_engine) < 0) {
                log_error("bench-engine: setup failed");
                _exit(1);
        }
        (void) sd_event_loop(event);
        child_engine = engine_free(child_engine);
        registry = registry_free(registry);
        client = etcd_client_free(client);
        event = sd_event_unref(event);
        _exit(0);
}

/* ---- the simulator ---------------------------------------------------------------------- */

typedef struct Ack {
        uint32_t unit;    /* unit index */
        uint32_t machine; /* machine index */
        char hash[REGISTRY_HASH_LEN + 1];
} Ack;

typedef struct Sim {
        sd_event *event;
        EtcdClient *client;
        Registry *registry;
        const char *prefix;
        char sched_dir[256];
        size_t sched_dir_len;

        size_t n_machines;
        int64_t *leases;
        bool *dead;

        size_t n_units;      /* jobs created so far (names 0..n_units-1) */
        size_t n_total;      /* U + stream units */
        uint32_t *placed_on; /* machine index + 1 of each unit's current schedule entry, 0 none */
        usec_t *submit_at;   /* stream phase: when the create request was issued */
        usec_t *sched_at;    /* stream phase: when its schedule entry was seen */

        /* pipelined work of the current phase */
        size_t next, total, done, inflight;
        int error;
        const char *error_what;

        /* watch and acknowledgements */
        EtcdWatch *watch;
        bool watch_created;
        size_t scheduled; /* schedule entries created (ever) */
        usec_t first_sched_at;
        size_t unscheduled; /* schedule entries deleted */
        size_t moved;       /* schedule entries created for units placed before */
        bool dirty;         /* placements changed since all_live() last looked */
        size_t acked;       /* state records written */
        Ack *ackq;
        size_t ackq_head, ackq_len, ackq_cap;
        size_t ack_inflight;
        sd_event_source *keepalive_timer;
} Sim;

static void sim_fail(Sim *s, int error, const char *what) {
        if (s->error == 0) {
                s->error = error < 0 ? error : -EIO;
                s->error_what = what;
                fprintf(stderr, "bench-scale: %s failed: %s\n", what, strerror(-s->error));
        }
}

static void machine_id(size_t i, char ret[static 33]) {
        (void) snprintf(ret, 33, "be4c%028zx", i + 1);
}

static int machine_index(const char *id, size_t len) {
        unsigned long long v;
        char buf[33];
        char *end;

        if (len != 32 || !strneq(id, "be4c", 4))
                return -1;
        memcpy(buf, id + 4, 28);
        buf[28] = 0;
        v = strtoull(buf, &end, 16);
        if (*end || v == 0)
                return -1;
        return (int) (v - 1);
}

static void unit_name(size_t i, char ret[static 40]) {
        (void) snprintf(ret, 40, "bench-%07zu.service", i % 10000000);
}

static int unit_index(const char *name, size_t len) {
        if (len != strlen("bench-0000000.service") || !strneq(name, "bench-", 6))
                return -1;
        return atoi(name + 6);
}

/* The normalized text of unit i and its hash. */
static int unit_text(size_t i, char **ret, char hash[static REGISTRY_HASH_LEN + 1]) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        _cleanup_free_ char *raw = NULL;
        int r;

        if (asprintf(&raw,
                     "[Unit]\nDescription=scale simulator unit %zu\n\n[Service]\n"
                     "ExecStart=/bin/sleep infinity\n",
                     i) < 0)
                return -ENOMEM;
        r = unit_file_parse(raw, strlen(raw), &u, NULL);
        if (r < 0)
                return r;
        r = unit_file_serialize(u, ret);
        if (r < 0)
                return r;
        return unit_file_hash(u, hash);
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig) {
        interrupted = sig;
}

static bool deadline_passed(usec_t deadline) {
        return interrupted || now_usec() > deadline;
}

/* Run the loop until cond holds, an error, or the deadline. */
static int run_until(Sim *s, bool (*cond)(Sim *s), usec_t deadline, pid_t engine_pid) {
        while (!cond(s)) {
                int r;

                if (s->error)
                        return s->error;
                if (interrupted) {
                        fprintf(stderr, "bench-scale: interrupted (signal %d)\n",
                                (int) interrupted);
                        return -EINTR;
                }
                if (deadline_passed(deadline))
                        return -ETIMEDOUT;
                if (engine_pid > 0 && waitpid(engine_pid, NULL, WNOHANG) == engine_pid) {
                        fprintf(stderr, "bench-scale: the engine process died\n");
                        return -ECHILD;
                }
                r = sd_event_run(s->event, 100 * MSEC);
                if (r < 0)
                        return r;
        }
        return s->error;
}

static bool phase_done(Sim *s) {
        return s->done >= s->total && s->inflight == 0;
}

/* ---- phase 1: leases and machine records --------------------------------------------------- */

static void pump_grants(Sim *s);

static void grant_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Sim *s = userdata;

        s->inflight--;
        s->done++;
        if (error < 0)
                return sim_fail(s, error, "lease grant");
        /* store in order of completion: leases are interchangeable until machines get them */
        s->leases[s->done - 1] = resp->lease.id;
        pump_grants(s);
}

static void pump_grants(Sim *s) {
        while (!s->error && s->next < s->total && s->inflight < arg_inflight) {
                int r = etcd_lease_grant(s->client, arg_lease_ttl, 0, grant_done, s, NULL);

                if (r < 0)
                        return sim_fail(s, r, "lease grant");
                s->next++;
                s->inflight++;
        }
}

static void pump_machines(Sim *s);

static void machines_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Sim *s = userdata;

        s->inflight--;
        if (error < 0)
                return sim_fail(s, error, "machine records txn");
        pump_machines(s);
}

static void pump_machines(Sim *s) {
        while (!s->error && s->next < s->total && s->inflight < arg_inflight) {
                size_t n = MIN((size_t) MAX_OPS, s->total - s->next);
                EtcdOp ops[MAX_OPS] = {};
                char *keys[MAX_OPS] = {}, *vals[MAX_OPS] = {};
                int r = 0;

                for (size_t k = 0; r >= 0 && k < n; k++) {
                        size_t i = s->next + k;
                        char id[33], ip[32];
                        RegistryMachine m = {
                                .id = id, .public_ip = ip, .version = (char *) "bench"};

                        machine_id(i, id);
                        (void) snprintf(ip, sizeof(ip), "10.%zu.%zu.%zu", (i >> 16) & 255,
                                        (i >> 8) & 255, i & 255);
                        r = registry_key_machine(s->prefix, id, &keys[k]);
                        if (r >= 0)
                                r = registry_machine_to_json(&m, &vals[k]);
                        ops[k] = (EtcdOp){
                                .type = ETCD_OP_PUT,
                                .put = {.key = keys[k], .value = vals[k], .lease = s->leases[i]}};
                }
                if (r >= 0) {
                        EtcdTxnRequest t = {.success = ops, .n_success = n};

                        r = etcd_txn(s->client, &t, machines_done, s, NULL);
                }
                for (size_t k = 0; k < n; k++) {
                        free(keys[k]);
                        free(vals[k]);
                }
                if (r < 0)
                        return sim_fail(s, r, "machine records txn");
                s->next += n;
                s->done += n;
                s->inflight++;
        }
}

/* Keep every live lease alive (TTL/3), pipelined like everything else; errors only logged. */
static size_t ka_next;
static size_t ka_inflight;

static void pump_keepalives(Sim *s);

static void keepalive_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Sim *s = userdata;

        ka_inflight--;
        if (error < 0 && error != -ENOENT)
                fprintf(stderr, "bench-scale: keepalive failed: %s\n", strerror(-error));
        pump_keepalives(s);
}

static void pump_keepalives(Sim *s) {
        while (ka_next < s->n_machines && ka_inflight < 8) {
                size_t i = ka_next++;

                if (s->dead[i])
                        continue;
                if (etcd_lease_keepalive(s->client, s->leases[i], keepalive_done, s, NULL) >= 0)
                        ka_inflight++;
        }
}

static int keepalive_fired(sd_event_source *src, uint64_t usec, void *userdata) {
        Sim *s = userdata;

        ka_next = 0;
        pump_keepalives(s);
        return sd_event_source_set_time(src, usec + (usec_t) arg_lease_ttl * SEC / 3);
}

/* ---- acknowledgements (state records), fed by the schedule watch --------------------------- */

static void pump_acks(Sim *s);

static void acks_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Sim *s = userdata;
        s->ack_inflight--;
        if (error < 0)
                return sim_fail(s, error, "state records txn");
        pump_acks(s);
}

static size_t acks_sent;     /* state records written */
static size_t acks_resolved; /* ... plus those skipped: their machine is dead */

static void pump_acks(Sim *s) {
        while (!s->error && s->ackq_len > 0 && s->ack_inflight < arg_inflight) {
                size_t n = MIN((size_t) MAX_OPS, s->ackq_len);
                EtcdOp ops[MAX_OPS] = {};
                char *keys[MAX_OPS] = {}, *vals[MAX_OPS] = {};
                int r = 0;

                size_t taken = 0, k = 0;

                /* take up to n queued acks, skipping machines that are dead (no agent) */
                for (; r >= 0 && k < n && taken < s->ackq_len; taken++) {
                        const Ack *a = &s->ackq[(s->ackq_head + taken) % s->ackq_cap];
                        char id[33], name[40];
                        RegistryUnitState st = {
                                .name = name,
                                .machine_id = id,
                                .load_state = (char *) "loaded",
                                .active_state = (char *) "active",
                                .sub_state = (char *) "running",
                                .fleet_state = JOB_STATE_LAUNCHED,
                        };

                        if (s->dead[a->machine]) {
                                acks_resolved++;
                                continue;
                        }
                        machine_id(a->machine, id);
                        unit_name(a->unit, name);
                        memcpy(st.unit_hash, a->hash, sizeof(st.unit_hash));
                        r = registry_key_state(s->prefix, name, id, &keys[k]);
                        if (r >= 0)
                                r = registry_unit_state_to_json(&st, &vals[k]);
                        ops[k] = (EtcdOp){.type = ETCD_OP_PUT,
                                          .put = {.key = keys[k],
                                                  .value = vals[k],
                                                  .lease = s->leases[a->machine]}};
                        k++;
                }
                n = k;
                if (r >= 0 && n > 0) {
                        EtcdTxnRequest t = {.success = ops, .n_success = n};

                        r = etcd_txn(s->client, &t, acks_done, s, NULL);
                }
                for (size_t j = 0; j < MAX_OPS; j++) {
                        free(keys[j]);
                        free(vals[j]);
                }
                if (r < 0)
                        return sim_fail(s, r, "state records txn");
                s->ackq_head = (s->ackq_head + taken) % s->ackq_cap;
                s->ackq_len -= taken;
                if (n > 0)
                        s->ack_inflight++;
                acks_sent += n;
                acks_resolved += n;
        }
}

static int ack_push(Sim *s, uint32_t unit, uint32_t machine, const char *hash) {
        Ack *a;

        if (s->ackq_len == s->ackq_cap) {
                size_t cap = s->ackq_cap ? s->ackq_cap * 2 : 4096;
                Ack *q = malloc(cap * sizeof(*q));

                if (!q)
                        return -ENOMEM;
                for (size_t k = 0; k < s->ackq_len; k++)
                        q[k] = s->ackq[(s->ackq_head + k) % s->ackq_cap];
                free(s->ackq);
                s->ackq = q;
                s->ackq_head = 0;
                s->ackq_cap = cap;
        }
        a = &s->ackq[(s->ackq_head + s->ackq_len) % s->ackq_cap];
        a->unit = unit;
        a->machine = machine;
        memcpy(a->hash, hash, sizeof(a->hash));
        s->ackq_len++;
        return 0;
}

/* Parse "<P>schedule/<machine>/<name>" into indexes. */
static int parse_schedule_key(Sim *s, const char *key, int *ret_machine, int *ret_unit) {
        const char *p, *slash;

        if (!strneq(key, s->sched_dir, s->sched_dir_len))
                return -EINVAL;
        p = key + s->sched_dir_len;
        slash = strchr(p, '/');
        if (!slash)
                return -EINVAL;
        *ret_machine = machine_index(p, (size_t) (slash - p));
        *ret_unit = unit_index(slash + 1, strlen(slash + 1));
        if (*ret_machine < 0 || (size_t) *ret_machine >= s->n_machines || *ret_unit < 0 ||
            (size_t) *ret_unit >= s->n_total)
                return -EINVAL;
        return 0;
}

static void on_schedule(EtcdWatch *w, int error, const EtcdWatchMessage *msg, void *userdata) {
        Sim *s = userdata;
        usec_t now = now_usec();

        if (error < 0)
                return sim_fail(s, error, "schedule watch");
        if (msg->created)
                s->watch_created = true;
        for (size_t i = 0; i < msg->n_events; i++) {
                const EtcdEvent *ev = &msg->events[i];
                int m, u;

                if (parse_schedule_key(s, ev->kv.key, &m, &u) < 0) {
                        fprintf(stderr, "bench-scale: unexpected key %s\n", ev->kv.key);
                        continue;
                }
                s->dirty = true;
                if (ev->type == ETCD_EVENT_DELETE) {
                        s->unscheduled++;
                        if (s->placed_on[u] == (uint32_t) m + 1)
                                s->placed_on[u] = 0;
                        continue;
                }
                if (ev->kv.create_revision != ev->kv.mod_revision)
                        continue; /* an update of an existing entry */
                s->scheduled++;
                if (s->first_sched_at == 0)
                        s->first_sched_at = now;
                if (s->sched_at[u] == 0)
                        s->sched_at[u] = now;
                else
                        s->moved++;
                s->placed_on[u] = (uint32_t) m + 1;
                if (arg_ack) {
                        RegistryTarget t = {};
                        int r = registry_target_from_json(ev->kv.value, ev->kv.value_size, &t);

                        if (r < 0)
                                return sim_fail(s, r, "decoding a schedule entry");
                        r = ack_push(s, (uint32_t) u, (uint32_t) m, t.hash);
                        if (r < 0)
                                return sim_fail(s, r, "queueing an acknowledgement");
                }
        }
        if (arg_ack)
                pump_acks(s);
}

/* ---- phase 2 and 5: jobs ----------------------------------------------------------------- */

static void pump_jobs(Sim *s);

static void job_done(Registry *r, int error, int64_t revision, void *userdata) {
        Sim *s = userdata;

        s->inflight--;
        s->done++;
        if (error < 0)
                return sim_fail(s, error, "registry_create_job");
        pump_jobs(s);
}

static void pump_jobs(Sim *s) {
        while (!s->error && s->next < s->total && s->inflight < arg_inflight) {
                size_t i = s->next;
                _cleanup_free_ char *text = NULL;
                char name[40];
                RegistryJob job = {.name = name, .desired_state = JOB_STATE_LAUNCHED};
                int r;

                unit_name(i, name);
                r = unit_text(i, &text, job.hash);
                if (r < 0)
                        return sim_fail(s, r, "building a unit file");
                s->submit_at[i] = now_usec();
                r = registry_create_job(s->registry, &job, text, job_done, s, NULL);
                if (r < 0)
                        return sim_fail(s, r, "registry_create_job");
                s->next++;
                s->inflight++;
        }
}

/*
 * Bulk load (jobs beyond --api-jobs): the same keys registry_create_job() writes (unit/<hash>
 * and job/<name>), 64 jobs per txn, without the "job absent" compare. Not the API's path: it
 * only fills a large registry within the time budget.
 */
#define BULK_JOBS (MAX_OPS / 2)

static void pump_bulk(Sim *s);

static void bulk_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Sim *s = userdata;

        s->inflight--;
        if (error < 0)
                return sim_fail(s, error, "bulk job txn");
        pump_bulk(s);
}

static void pump_bulk(Sim *s) {
        while (!s->error && s->next < s->total && s->inflight < arg_inflight) {
                size_t n = MIN((size_t) BULK_JOBS, s->total - s->next);
                EtcdOp ops[MAX_OPS] = {};
                char *keys[MAX_OPS] = {}, *vals[MAX_OPS] = {};
                int r = 0;

                for (size_t k = 0; r >= 0 && k < n; k++) {
                        size_t i = s->next + k;
                        char name[40];
                        RegistryJob job = {.name = name, .desired_state = JOB_STATE_LAUNCHED};

                        unit_name(i, name);
                        r = unit_text(i, &vals[2 * k], job.hash);
                        if (r >= 0)
                                r = registry_key_unit(s->prefix, job.hash, &keys[2 * k]);
                        if (r >= 0)
                                r = registry_key_job(s->prefix, name, &keys[2 * k + 1]);
                        if (r >= 0)
                                r = registry_job_to_json(&job, &vals[2 * k + 1]);
                        ops[2 * k] = (EtcdOp){.type = ETCD_OP_PUT,
                                              .put = {.key = keys[2 * k], .value = vals[2 * k]}};
                        ops[2 * k + 1] =
                                (EtcdOp){.type = ETCD_OP_PUT,
                                         .put = {.key = keys[2 * k + 1], .value = vals[2 * k + 1]}};
                }
                if (r >= 0) {
                        EtcdTxnRequest t = {.success = ops, .n_success = 2 * n};

                        r = etcd_txn(s->client, &t, bulk_done, s, NULL);
                }
                for (size_t j = 0; j < MAX_OPS; j++) {
                        free(keys[j]);
                        free(vals[j]);
                }
                if (r < 0)
                        return sim_fail(s, r, "bulk job txn");
                s->next += n;
                s->done += n;
                s->inflight++;
        }
}

/* ---- etcd's own ceiling for the engine's kind of write ------------------------------------ */

/*
 * Txns shaped like the engine's schedule batches (a compare on a "leader" key's
 * create_revision, then up to 128 puts of schedule-sized values), under a scratch prefix,
 * `depth` in flight: what etcd itself sustains for such writes on this host, with no engine,
 * no watchers of those keys, and no other load.
 */
#define CEILING_PREFIX "/bench-ceiling/"

static int64_t ceiling_fence;
static size_t ceiling_depth;

static void pump_ceiling(Sim *s);

static void ceiling_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Sim *s = userdata;

        s->inflight--;
        if (error < 0)
                return sim_fail(s, error, "ceiling txn");
        if (!resp->txn.succeeded)
                return sim_fail(s, -ESTALE, "ceiling txn compare");
        pump_ceiling(s);
}

static void pump_ceiling(Sim *s) {
        while (!s->error && s->next < s->total && s->inflight < ceiling_depth) {
                size_t n = MIN((size_t) MAX_OPS, s->total - s->next);
                EtcdOp ops[MAX_OPS] = {};
                char *keys[MAX_OPS] = {}, *vals[MAX_OPS] = {};
                EtcdCompare cmp = {.key = CEILING_PREFIX "fence",
                                   .target = ETCD_COMPARE_CREATE,
                                   .result = ETCD_CMP_EQUAL,
                                   .number = ceiling_fence};
                int r = 0;

                for (size_t k = 0; r >= 0 && k < n; k++) {
                        size_t i = s->next + k;
                        RegistryTarget t = {.desired_state = JOB_STATE_LAUNCHED};
                        char id[33], name[40];

                        machine_id(i % s->n_machines, id);
                        unit_name(i, name);
                        memset(t.hash, 'a', REGISTRY_HASH_LEN);
                        if (asprintf(&keys[k], CEILING_PREFIX "%s/%s", id, name) < 0)
                                r = -ENOMEM;
                        if (r >= 0)
                                r = registry_target_to_json(&t, &vals[k]);
                        ops[k] = (EtcdOp){.type = ETCD_OP_PUT,
                                          .put = {.key = keys[k], .value = vals[k]}};
                }
                if (r >= 0) {
                        EtcdTxnRequest t = {
                                .compare = &cmp, .n_compare = 1, .success = ops, .n_success = n};

                        r = etcd_txn(s->client, &t, ceiling_done, s, NULL);
                }
                for (size_t j = 0; j < MAX_OPS; j++) {
                        free(keys[j]);
                        free(vals[j]);
                }
                if (r < 0)
                        return sim_fail(s, r, "ceiling txn");
                s->next += n;
                s->done += n;
                s->inflight++;
        }
}

static size_t ceiling_events;
static bool ceiling_watch_created;

static void on_ceiling_watch(EtcdWatch *w, int error, const EtcdWatchMessage *msg, void *userdata) {
        if (error < 0)
                return sim_fail(userdata, error, "ceiling watch");
        if (msg->created)
                ceiling_watch_created = true;
        ceiling_events += msg->n_events;
}

static size_t ceiling_events_wanted;

static bool ceiling_watch_ready(Sim *s) {
        return ceiling_watch_created;
}

static bool ceiling_events_seen(Sim *s) {
        return ceiling_events >= ceiling_events_wanted;
}

/* ops/s with depth txns in flight over n puts (watched: a client watches the prefix and the
 * time runs until it has seen every event); 0 on failure. */
static double measure_ceiling(Sim *s, size_t n, size_t depth, bool watched, usec_t deadline) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        _cleanup_(etcd_watch_freep) EtcdWatch *w = NULL;
        EtcdPutRequest put = {.key = CEILING_PREFIX "fence", .value = "x"};
        EtcdDeleteRequest del = {.key = CEILING_PREFIX, .prefix = true};
        EtcdWatchRequest wr = {.key = CEILING_PREFIX "b", .prefix = true};
        usec_t t0, t1;

        if (etcd_delete_sync(s->client, &del, NULL) < 0 ||
            etcd_put_sync(s->client, &put, &resp) < 0)
                return 0;
        if (watched) {
                ceiling_events = 0;
                ceiling_events_wanted = n;
                ceiling_watch_created = false;
                if (etcd_watch_new(s->client, &wr, NULL, on_ceiling_watch, s, &w) < 0 ||
                    run_until(s, ceiling_watch_ready, deadline, 0) < 0)
                        return 0;
        }
        ceiling_fence = resp->revision;
        ceiling_depth = depth;
        t0 = now_usec();
        s->next = 0;
        s->total = n;
        s->done = 0;
        s->inflight = 0;
        pump_ceiling(s);
        if (run_until(s, phase_done, deadline, 0) < 0)
                return 0;
        if (watched && run_until(s, ceiling_events_seen, deadline, 0) < 0)
                return 0;
        t1 = now_usec();
        if (etcd_delete_sync(s->client, &del, NULL) < 0)
                return 0;
        return (double) n / secs(t1 - t0);
}

static void phase_start(Sim *s, size_t first, size_t total) {
        s->next = first;
        s->total = total;
        s->done = first;
        s->inflight = 0;
}

/* ---- conditions ----------------------------------------------------------------------------- */

static size_t placed_target;

static bool all_placed(Sim *s) {
        return s->scheduled >= placed_target;
}

static bool all_acked(Sim *s) {
        return s->ackq_len == 0 && s->ack_inflight == 0 && acks_resolved >= s->scheduled;
}

/* Every unit submitted is scheduled on a live machine. */
static bool all_live(Sim *s) {
        static bool last;

        if (!s->dirty)
                return last;
        s->dirty = false;
        last = false;
        for (size_t u = 0; u < s->n_units; u++)
                if (s->placed_on[u] == 0 || s->dead[s->placed_on[u] - 1])
                        return false;
        last = true;
        return true;
}

static size_t revokes_pending;

static void revoke_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Sim *s = userdata;

        revokes_pending--;
        if (error < 0)
                sim_fail(s, error, "lease revoke");
}

static bool revoked(Sim *s) {
        return revokes_pending == 0;
}

static bool watch_ready(Sim *s) {
        return s->watch_created;
}

static int count_keys(Sim *s, RegistryKeyKind kind, int64_t *ret) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        EtcdRangeRequest rr = {.prefix = true, .count_only = true};
        int r;

        r = registry_key_dir(s->prefix, kind, NULL, &dir);
        if (r < 0)
                return r;
        rr.key = dir;
        r = etcd_range_sync(s->client, &rr, &resp);
        if (r < 0)
                return r;
        *ret = resp->kv.count;
        return 0;
}

static int cmp_usec(const void *a, const void *b) {
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;

        return x < y ? -1 : x > y;
}

static double pct_ms(const usec_t *sorted, size_t n, double p) {
        size_t k;

        if (n == 0)
                return 0;
        k = (size_t) (p / 100.0 * (double) n + 0.999999);
        k = k == 0 ? 0 : k - 1;
        return (double) sorted[MIN(k, n - 1)] / 1000.0;
}

/* ---- main ---------------------------------------------------------------------------------- */

static void help(void) {
        printf("Usage: bench-scale [-m MACHINES] [-u UNITS] [options]\n"
               "  -m, --machines N       simulated machines (100)\n"
               "  -u, --units N          units placed by the engine's first pass (1000)\n"
               "  -s, --stream N         units then submitted while the engine leads (U/10, <= "
               "2000)\n"
               "  -a, --api-jobs N       jobs written one txn each as the API does (10000); the\n"
               "                         rest 64 per txn (bulk load)\n"
               "  -j, --inflight N       requests in flight per pipeline (32)\n"
               "      --no-ack           do not write state records\n"
               "      --no-failover      skip the failover phase\n"
               "      --lease-ttl SEC    TTL of the simulated machines' leases (900)\n"
               "      --engine-timeout S the engine's etcd request timeout (1.0, fleet's default)\n"
               "      --deadline SEC     give up (exit 1) after this long (600)\n"
               "      --data-dir DIR     parent of etcd's data directory (/dev/shm)\n"
               "      --etcd URL         use a running etcd (its keyspace must be empty)\n"
               "      --engine-log FILE  keep the engine's log (info level, as fleetd's)\n");
}

static int parse_args(int argc, char **argv) {
        enum {
                OPT_NO_ACK = 256,
                OPT_NO_FAILOVER,
                OPT_TTL,
                OPT_ETIMEOUT,
                OPT_DEADLINE,
                OPT_DATA,
                OPT_ETCD,
                OPT_ENGINE_LOG
        };
        static const struct option options[] = {
                {"machines", required_argument, NULL, 'm'},
                {"units", required_argument, NULL, 'u'},
                {"stream", required_argument, NULL, 's'},
                {"api-jobs", required_argument, NULL, 'a'},
                {"inflight", required_argument, NULL, 'j'},
                {"no-ack", no_argument, NULL, OPT_NO_ACK},
                {"no-failover", no_argument, NULL, OPT_NO_FAILOVER},
                {"lease-ttl", required_argument, NULL, OPT_TTL},
                {"engine-timeout", required_argument, NULL, OPT_ETIMEOUT},
                {"deadline", required_argument, NULL, OPT_DEADLINE},
                {"data-dir", required_argument, NULL, OPT_DATA},
                {"etcd", required_argument, NULL, OPT_ETCD},
                {"engine-log", required_argument, NULL, OPT_ENGINE_LOG},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "m:u:s:a:j:h", options, NULL)) >= 0) {
                switch (c) {
                case 'm':
                        arg_machines = strtoul(optarg, NULL, 10);
                        break;
                case 'u':
                        arg_units = strtoul(optarg, NULL, 10);
                        break;
                case 's':
                        arg_stream_units = strtoul(optarg, NULL, 10);
                        break;
                case 'j':
                        arg_inflight = strtoul(optarg, NULL, 10);
                        break;
                case 'a':
                        arg_api_jobs = strtoul(optarg, NULL, 10);
                        break;
                case OPT_NO_ACK:
                        arg_ack = false;
                        break;
                case OPT_NO_FAILOVER:
                        arg_failover = false;
                        break;
                case OPT_TTL:
                        arg_lease_ttl = strtol(optarg, NULL, 10);
                        break;
                case OPT_ETIMEOUT:
                        arg_engine_timeout = (usec_t) (strtod(optarg, NULL) * (double) SEC);
                        break;
                case OPT_DEADLINE:
                        arg_deadline = (usec_t) strtoul(optarg, NULL, 10) * SEC;
                        break;
                case OPT_DATA:
                        arg_data_dir = optarg;
                        break;
                case OPT_ETCD:
                        arg_etcd = optarg;
                        break;
                case OPT_ENGINE_LOG:
                        arg_engine_log = optarg;
                        break;
                case 'h':
                        help();
                        exit(0);
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc || arg_machines == 0 || arg_machines > 1000000 || arg_units > 5000000 ||
            arg_inflight == 0 || arg_inflight > 1024 || arg_lease_ttl < 5 ||
            arg_engine_timeout == 0) {
                help();
                return -EINVAL;
        }
        if (arg_stream_units == (size_t) -1)
                arg_stream_units = MIN(arg_units / 10, (size_t) 2000);
        if (arg_failover && arg_machines < 2)
                arg_failover = false;
        return 0;
}

/* seconds from a to b, 0 unless both happened */
static double span(usec_t a, usec_t b) {
        return a > 0 && b > a ? secs(b - a) : 0.0;
}

static double per(size_t n, usec_t a, usec_t b) {
        return span(a, b) > 0 ? (double) n / span(a, b) : 0.0;
}

static double place_commit_rate(const Sim *s, usec_t t_placed) {
        if (arg_units < 2 || t_placed <= s->first_sched_at)
                return 0;
        return (double) (arg_units - 1) / secs(t_placed - s->first_sched_at);
}

typedef struct Cpu {
        usec_t self, engine, etcd, wall;
} Cpu;

static void cpu_sample(Cpu *c, pid_t engine, pid_t etcd) {
        c->self = proc_cpu_usec(0);
        c->engine = engine > 0 ? proc_cpu_usec(engine) : 0;
        c->etcd = etcd > 0 ? proc_cpu_usec(etcd) : 0;
        c->wall = now_usec();
}

static void cpu_print(const char *what, const Cpu *a, const Cpu *b) {
        printf("  cpu during %s: engine %.2f s, etcd %.2f s, simulator %.2f s in %.2f s wall "
               "(%ld cpus)\n",
               what, secs(b->engine - a->engine), secs(b->etcd - a->etcd), secs(b->self - a->self),
               secs(b->wall - a->wall), sysconf(_SC_NPROCESSORS_ONLN));
}

/* Whether path lives on a tmpfs, where etcd's fsync costs nothing. */
static bool on_tmpfs(const char *path) {
        struct statfs sfs;

        return statfs(path, &sfs) == 0 && sfs.f_type == 0x01021994; /* TMPFS_MAGIC */
}

int main(int argc, char **argv) {
        _cleanup_(etcd_launcher_freep) EtcdLauncher *etcd = NULL;
        _cleanup_free_ char *engine_log = NULL;
        const char *endpoint;
        char *extra[] = {(char *) "--quota-backend-bytes=8589934592", (char *) "--log-level=warn",
                         NULL};
        EtcdLauncherOptions lo = {.extra_args = extra};
        int go_pipe[2] = {-1, -1}, report_pipe[2] = {-1, -1};
        pid_t engine_pid = -1, etcd_pid = 0;
        Sim sim = {.prefix = REGISTRY_DEFAULT_PREFIX}, *s = &sim;
        Cpu c_start = {}, c_reg = {}, c_sub = {}, c_place = {}, c_stream0 = {}, c_stream1 = {},
            c_fo0 = {}, c_fo1 = {};
        usec_t deadline, t_reg0 = 0, t_reg1 = 0, t_sub0 = 0, t_sub1 = 0, t_go = 0, t_leader = 0,
                         t_placed = 0, t_acked = 0;
        const char *phase = "setup";
        usec_t t_stream0 = 0, t_stream1 = 0, t_fo0 = 0, t_fo1 = 0;
        _cleanup_free_ usec_t *lat = NULL;
        size_t n_lat = 0, n_dead = 0, fo_units = 0, moves0 = 0, n_api = 0;
        double ceiling1 = 0, ceiling4 = 0, ceiling1w = 0;
        int64_t n_sched_keys = -1, n_state_keys = -1, n_job_keys = -1;
        char report[1024] = "";
        int r, rc = 1;

        log_open();
        log_set_program("bench-scale");
        log_set_max_level(LOG_WARNING);
        /* progress is visible when stdout is a file; ^C or a SIGTERM still removes etcd's
         * data directory (the engine child and etcd die with us) */
        setvbuf(stdout, NULL, _IOLBF, 0);
        {
                struct sigaction sa = {.sa_handler = on_interrupt};

                sigemptyset(&sa.sa_mask);
                (void) sigaction(SIGINT, &sa, NULL);
                (void) sigaction(SIGTERM, &sa, NULL);
                (void) sigaction(SIGHUP, &sa, NULL);
        }
        if (parse_args(argc, argv) < 0)
                return 2;
        deadline = now_usec() + arg_deadline;

        printf("bench-scale: %zu machines, %zu units (+%zu streamed), %zu requests in flight, "
               "acks %s, engine etcd timeout %.1f s\n",
               arg_machines, arg_units, arg_stream_units, arg_inflight, arg_ack ? "on" : "off",
               secs(arg_engine_timeout));

        /* etcd first (no event loop exists yet, so forking the engine below is clean) */
        if (arg_etcd)
                endpoint = arg_etcd;
        else {
                struct stat st;

                if (!arg_data_dir && stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode))
                        arg_data_dir = "/dev/shm";
                lo.base_dir = arg_data_dir;
                r = etcd_launcher_start(&lo, &etcd);
                if (r < 0) {
                        fprintf(stderr, "bench-scale: cannot start etcd: %s\n", strerror(-r));
                        return 1;
                }
                endpoint = etcd_launcher_endpoint(etcd, 0);
                etcd_pid = etcd_launcher_pid(etcd, 0);
                printf("  etcd %s, data in %s (%s), pid %d\n", endpoint, etcd_launcher_dir(etcd),
                       on_tmpfs(etcd_launcher_dir(etcd)) ? "tmpfs: fsync costs nothing"
                                                         : "on disk: fsync is real",
                       (int) etcd_pid);
        }
        if (arg_engine_log)
                engine_log = strdup(arg_engine_log);
        else if (asprintf(&engine_log, "%s/engine.log",
                          etcd ? etcd_launcher_dir(etcd) : (getenv("TMPDIR") ?: "/tmp")) < 0)
                engine_log = NULL;
        if (!engine_log)
                return 1;

        /* the engine child, waiting for its go */
        if (pipe2(go_pipe, O_CLOEXEC) < 0 || pipe2(report_pipe, O_CLOEXEC) < 0)
                return 1;
        fflush(stdout);
        engine_pid = fork();
        if (engine_pid < 0)
                return 1;
        if (engine_pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                (void) signal(SIGINT, SIG_DFL);
                (void) signal(SIGHUP, SIG_DFL);
                (void) close(go_pipe[1]);
                (void) close(report_pipe[0]);
                engine_child(endpoint, go_pipe[0], report_pipe[1], engine_log);
        }
        (void) close(go_pipe[0]);
        (void) close(report_pipe[1]);

        /* the simulator */
        {
                char *const eps[] = {(char *) endpoint, NULL};
                EtcdClientConfig cc = {.endpoints = eps, .request_timeout_usec = 60 * SEC};

                if (sd_event_new(&s->event) < 0 || etcd_client_new(&s->client, s->event, &cc) < 0 ||
                    registry_new(&s->registry, s->client, s->prefix) < 0) {
                        fprintf(stderr, "bench-scale: setup failed\n");
                        goto finish;
                }
        }
        s->n_machines = arg_machines;
        s->n_total = arg_units + arg_stream_units;
        s->leases = calloc(s->n_machines, sizeof(*s->leases));
        s->dead = calloc(s->n_machines, sizeof(*s->dead));
        s->placed_on = calloc(s->n_total + 1, sizeof(*s->placed_on));
        s->submit_at = calloc(s->n_total + 1, sizeof(*s->submit_at));
        s->sched_at = calloc(s->n_total + 1, sizeof(*s->sched_at));
        if (!s->leases || !s->dead || !s->placed_on || !s->submit_at || !s->sched_at)
                goto finish;
        (void) snprintf(s->sched_dir, sizeof(s->sched_dir), "%sschedule/", s->prefix);
        s->sched_dir_len = strlen(s->sched_dir);
        cpu_sample(&c_start, engine_pid, etcd_pid);

        /* 1. register */
        phase = "register";
        t_reg0 = now_usec();
        phase_start(s, 0, s->n_machines);
        pump_grants(s);
        r = run_until(s, phase_done, deadline, engine_pid);
        if (r < 0)
                goto finish;
        phase_start(s, 0, s->n_machines);
        pump_machines(s);
        r = run_until(s, phase_done, deadline, engine_pid);
        if (r < 0)
                goto finish;
        t_reg1 = now_usec();
        cpu_sample(&c_reg, engine_pid, etcd_pid);
        printf("register: %zu leases + machine records in %.3f s (%.0f machines/s)\n",
               s->n_machines, secs(t_reg1 - t_reg0),
               (double) s->n_machines / secs(t_reg1 - t_reg0));
        if (sd_event_add_time_relative(s->event, &s->keepalive_timer, CLOCK_MONOTONIC,
                                       (usec_t) arg_lease_ttl * SEC / 3, 0, keepalive_fired, s) < 0)
                goto finish;

        /* the schedule watch, from now on */
        {
                EtcdWatchRequest wr = {.key = s->sched_dir, .prefix = true};
                EtcdWatchOptions wo = {.auto_resume = true};

                if (etcd_watch_new(s->client, &wr, &wo, on_schedule, s, &s->watch) < 0)
                        goto finish;
                r = run_until(s, watch_ready, deadline, engine_pid);
                if (r < 0)
                        goto finish;
        }

        /* etcd's ceiling for schedule-shaped txns (before any job exists) */
        phase = "etcd-ceiling";
        {
                size_t n = MIN(MAX(arg_units, (size_t) 1280), (size_t) 20000);
                Cpu c0, c1;

                cpu_sample(&c0, 0, etcd_pid);
                ceiling1 = measure_ceiling(s, n, 1, false, deadline);
                cpu_sample(&c1, 0, etcd_pid);
                ceiling4 = measure_ceiling(s, n, 4, false, deadline);
                ceiling1w = measure_ceiling(s, n, 1, true, deadline);
                if (ceiling1 <= 0 || ceiling4 <= 0 || ceiling1w <= 0)
                        goto finish;
                printf("etcd ceiling: %zu puts in fenced txns of %d: %.0f puts/s with 1 txn in "
                       "flight (etcd cpu %.2f s in %.2f s), %.0f puts/s with 4, %.0f puts/s with "
                       "1 and a client watching them\n",
                       n, MAX_OPS, ceiling1, secs(c1.etcd - c0.etcd), secs(c1.wall - c0.wall),
                       ceiling4, ceiling1w);
        }

        /* 2. submit: the first api_jobs as the API writes them, the rest in bulk */
        phase = "submit";
        n_api = MIN(arg_units, arg_api_jobs);
        t_sub0 = now_usec();
        phase_start(s, 0, n_api);
        pump_jobs(s);
        r = run_until(s, phase_done, deadline, engine_pid);
        if (r < 0)
                goto finish;
        t_sub1 = now_usec();
        cpu_sample(&c_sub, engine_pid, etcd_pid);
        printf("submit: %zu jobs (registry_create_job, 1 txn each) in %.3f s (%.0f jobs/s)\n",
               n_api, secs(t_sub1 - t_sub0), (double) n_api / secs(t_sub1 - t_sub0));
        cpu_print("submit", &c_reg, &c_sub);
        if (arg_units > n_api) {
                usec_t t_bulk0 = now_usec();

                phase_start(s, n_api, arg_units);
                pump_bulk(s);
                r = run_until(s, phase_done, deadline, engine_pid);
                if (r < 0)
                        goto finish;
                printf("bulk load: %zu more jobs, %d per txn, in %.3f s (%.0f jobs/s)\n",
                       arg_units - n_api, BULK_JOBS, secs(now_usec() - t_bulk0),
                       (double) (arg_units - n_api) / secs(now_usec() - t_bulk0));
                cpu_sample(&c_sub, engine_pid, etcd_pid);
        }
        s->n_units = arg_units;

        /* 3. placement: start the engine */
        phase = "placement";
        placed_target = arg_units;
        t_go = now_usec();
        if (write(go_pipe[1], "g", 1) != 1)
                goto finish;
        while (t_leader == 0 && !deadline_passed(deadline)) {
                _cleanup_free_ char *key = NULL, *val = NULL;

                (void) registry_key_engine_leader(s->prefix, &key);
                if (key && etcd_get_sync(s->client, key, &val, NULL) == 0)
                        t_leader = now_usec();
                else
                        (void) sd_event_run(s->event, 5 * MSEC);
        }
        r = run_until(s, all_placed, deadline, engine_pid);
        if (r < 0)
                goto finish;
        t_placed = now_usec();
        cpu_sample(&c_place, engine_pid, etcd_pid);
        printf("placement: engine started, leader after %.3f s, first schedule entry after "
               "%.3f s, all %zu units scheduled %.3f s after start: %.0f units/s (%.0f units/s "
               "from the first entry to the last)\n",
               secs(t_leader - t_go), secs(s->first_sched_at - t_go), arg_units,
               secs(t_placed - t_go), (double) arg_units / secs(t_placed - t_go),
               place_commit_rate(s, t_placed));
        cpu_print("placement", &c_sub, &c_place);

        /* 4. acks */
        phase = "ack";
        if (arg_ack) {
                r = run_until(s, all_acked, deadline, engine_pid);
                if (r < 0)
                        goto finish;
                t_acked = now_usec();
                printf("ack: all %zu state records written %.3f s after the last placement\n",
                       arg_units, secs(t_acked - t_placed));
        }

        /* 5. stream */
        phase = "stream";
        if (arg_stream_units > 0) {
                placed_target = s->n_total;
                cpu_sample(&c_stream0, engine_pid, etcd_pid);
                t_stream0 = now_usec();
                phase_start(s, arg_units, s->n_total);
                pump_jobs(s);
                r = run_until(s, phase_done, deadline, engine_pid);
                if (r >= 0)
                        r = run_until(s, all_placed, deadline, engine_pid);
                if (r >= 0 && arg_ack)
                        r = run_until(s, all_acked, deadline, engine_pid);
                if (r < 0)
                        goto finish;
                s->n_units = s->n_total;
                t_stream1 = now_usec();
                cpu_sample(&c_stream1, engine_pid, etcd_pid);
                lat = calloc(arg_stream_units, sizeof(*lat));
                if (!lat)
                        goto finish;
                for (size_t i = arg_units; i < s->n_total; i++)
                        if (s->sched_at[i] >= s->submit_at[i] && s->submit_at[i] > 0)
                                lat[n_lat++] = s->sched_at[i] - s->submit_at[i];
                qsort(lat, n_lat, sizeof(*lat), cmp_usec);
                printf("stream: %zu more jobs submitted while the engine leads, all scheduled%s "
                       "in %.3f s (%.0f units/s); submit->scheduled p50 %.1f ms, p90 %.1f ms, "
                       "p99 %.1f ms\n",
                       arg_stream_units, arg_ack ? " and acknowledged" : "",
                       secs(t_stream1 - t_stream0),
                       (double) arg_stream_units / secs(t_stream1 - t_stream0),
                       pct_ms(lat, n_lat, 50), pct_ms(lat, n_lat, 90), pct_ms(lat, n_lat, 99));
                cpu_print("stream", &c_stream0, &c_stream1);
        }

        /* 6. failover: revoke 1% of the leases */
        phase = "failover";
        if (arg_failover) {
                size_t units = 0;

                n_dead = MAX((size_t) 1, s->n_machines / 100);
                for (size_t u = 0; u < s->n_total; u++)
                        if (s->placed_on[u] > 0 && s->placed_on[u] <= n_dead)
                                units++;
                fo_units = units;
                moves0 = s->moved;
                cpu_sample(&c_fo0, engine_pid, etcd_pid);
                t_fo0 = now_usec();
                /* all at once, as if they crashed together */
                for (size_t i = 0; i < n_dead; i++) {
                        s->dead[i] = true;
                        r = etcd_lease_revoke(s->client, s->leases[i], revoke_done, s, NULL);
                        if (r < 0) {
                                sim_fail(s, r, "lease revoke");
                                goto finish;
                        }
                        revokes_pending++;
                }
                s->dirty = true;
                r = run_until(s, revoked, deadline, engine_pid);
                if (r >= 0)
                        r = run_until(s, all_live, deadline, engine_pid);
                if (r >= 0 && arg_ack)
                        r = run_until(s, all_acked, deadline, engine_pid);
                if (r < 0)
                        goto finish;
                t_fo1 = now_usec();
                cpu_sample(&c_fo1, engine_pid, etcd_pid);
                printf("failover: %zu machines' leases revoked, their %zu units scheduled "
                       "elsewhere%s in %.3f s (%zu placements)\n",
                       n_dead, units, arg_ack ? " and acknowledged" : "", secs(t_fo1 - t_fo0),
                       s->moved - moves0);
                cpu_print("failover", &c_fo0, &c_fo1);
        }

        /* check the end state in etcd itself */
        phase = "end-state";
        if (count_keys(s, REGISTRY_KEY_JOB, &n_job_keys) < 0 ||
            count_keys(s, REGISTRY_KEY_SCHEDULE, &n_sched_keys) < 0 ||
            count_keys(s, REGISTRY_KEY_STATE, &n_state_keys) < 0)
                goto finish;
        if ((size_t) n_job_keys != s->n_total || (size_t) n_sched_keys != s->n_total ||
            (arg_ack && (size_t) n_state_keys != s->n_total)) {
                fprintf(stderr,
                        "bench-scale: end state wrong: %" PRIi64 " jobs, %" PRIi64
                        " schedule entries, %" PRIi64 " states; want %zu each\n",
                        n_job_keys, n_sched_keys, n_state_keys, s->n_total);
                goto finish;
        }
        printf("end state: %" PRIi64 " jobs, %" PRIi64 " schedule entries, %" PRIi64
               " states in etcd (%zu unschedules seen)\n",
               n_job_keys, n_sched_keys, n_state_keys, s->unscheduled);
        rc = 0;

finish:
        if (rc != 0 && s->error == 0)
                fprintf(stderr,
                        "bench-scale: failed or timed out (scheduled %zu/%zu, moved %zu, "
                        "acked %zu)\n",
                        s->scheduled, placed_target, s->moved, acks_sent);
        /* stop the engine and collect its report */
        if (engine_pid > 0) {
                ssize_t n;

                (void) close(go_pipe[1]);
                (void) kill(engine_pid, SIGTERM);
                n = read(report_pipe[0], report, sizeof(report) - 1);
                report[n > 0 ? n : 0] = 0;
                if (n > 0 && report[n - 1] == '\n')
                        report[n - 1] = 0;
                (void) waitpid(engine_pid, NULL, 0);
        }
        /* figures of every phase that completed (0 for the others); ok=0 says it failed */
        printf("engine: %s\n", report[0] ? report : "(no report)");
        printf("RESULT ok=%d failed_phase=%s machines=%zu units=%zu stream_units=%zu inflight=%zu"
               " register_s=%.3f submit_jobs=%zu submit_s=%.3f submit_per_s=%.0f"
               " leader_s=%.3f first_sched_s=%.3f place_s=%.3f place_per_s=%.0f"
               " place_commit_per_s=%.0f"
               " place_cpu_engine_s=%.3f place_cpu_etcd_s=%.3f place_cpu_sim_s=%.3f"
               " ack_s=%.3f stream_s=%.3f stream_per_s=%.0f"
               " stream_p50_ms=%.1f stream_p90_ms=%.1f stream_p99_ms=%.1f"
               " failover_machines=%zu failover_units=%zu failover_s=%.3f"
               " total_cpu_etcd_s=%.3f total_cpu_sim_s=%.3f"
               " etcd_ceiling1_per_s=%.0f etcd_ceiling4_per_s=%.0f"
               " etcd_ceiling1w_per_s=%.0f %s\n",
               rc == 0, rc == 0 ? "none" : phase, arg_machines, arg_units, arg_stream_units,
               arg_inflight, span(t_reg0, t_reg1), n_api, span(t_sub0, t_sub1),
               per(n_api, t_sub0, t_sub1), span(t_go, t_leader), span(t_go, s->first_sched_at),
               span(t_go, t_placed), per(arg_units, t_go, t_placed),
               t_placed ? place_commit_rate(s, t_placed) : 0.0,
               t_placed ? secs(c_place.engine - c_sub.engine) : 0.0,
               t_placed ? secs(c_place.etcd - c_sub.etcd) : 0.0,
               t_placed ? secs(c_place.self - c_sub.self) : 0.0, span(t_placed, t_acked),
               span(t_stream0, t_stream1), per(arg_stream_units, t_stream0, t_stream1),
               pct_ms(lat, n_lat, 50), pct_ms(lat, n_lat, 90), pct_ms(lat, n_lat, 99), n_dead,
               fo_units, span(t_fo0, t_fo1), secs(proc_cpu_usec(etcd_pid) - c_start.etcd),
               secs(proc_cpu_usec(0) - c_start.self), ceiling1, ceiling4, ceiling1w, report);
        s->watch = etcd_watch_free(s->watch);
        s->keepalive_timer = sd_event_source_unref(s->keepalive_timer);
        s->registry = registry_free(s->registry);
        s->client = etcd_client_free(s->client);
        s->event = sd_event_unref(s->event);
        free(s->leases);
        free(s->dead);
        free(s->placed_on);
        free(s->submit_at);
        free(s->sched_at);
        free(s->ackq);
        if (report_pipe[0] >= 0)
                (void) close(report_pipe[0]);
        return rc;
}
