/* SPDX-License-Identifier: MIT */
/*
 * The HTTP API's read path without a cluster: a throwaway etcd, the real Api (api.h) on a
 * loopback port in this thread's event loop, and a registry filled as a running cluster fills
 * it (MACHINES machines, UNITS units each with a job, its content, a schedule entry and a
 * state). A second thread is the client: ONE libcurl easy handle, so one keep-alive
 * connection, REQUESTS requests back to back per path, every answer checked to be 200. The
 * client costs a few microseconds per request, so the figure is the server's rate.
 *
 * Prints one line per path: "path requests seconds req/s bytes/answer". The first GET starts
 * the API's in-memory copy; the measured requests start once the copy answers (the
 * fleet_api_registry_reads_total{source="memory"} counter moves). Figures only, never a verdict.
 *
 * Usage: bench-api [UNITS [REQUESTS [MACHINES]]]     (defaults 1000 2000 3)
 * Profile with: perf record -g build/bench/bench-api
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "api.h"
#include "etcd-launcher.h"
#include "registry.h"
#include "test-net.h"
#include "time-util.h"
#include "unit-file.h"

#define PREFIX "/bench-api/"
#define METRIC "fleet_api_registry_reads_total{source=\"memory\"} "

static char base_url[64];
static unsigned n_requests = 2000;
static int done_fd = -1;
static int failed;

static const char *const paths[] = {
        "/fleet/v1/units",
        "/fleet/v1/state",
        "/fleet/v1/machines",
};

static double now_s(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void die(const char *what, int r) {
        fprintf(stderr, "bench-api: %s: %s\n", what, strerror(r < 0 ? -r : r));
        exit(1);
}

/* ---- filling the registry ------------------------------------------------------------------ */

static void fill(Registry *reg, unsigned units, unsigned machines) {
        RegistryLeader leader = {.machine_id = (char *) "m0", .version = (char *) "1"};
        RegistryScheduleOp *ops = calloc(units, sizeof(*ops));
        RegistryTarget *targets = calloc(units, sizeof(*targets));
        char **names = calloc(units, sizeof(*names));
        int64_t term;
        int r;

        if (!ops || !targets || !names)
                die("calloc", -ENOMEM);
        for (unsigned i = 0; i < machines; i++) {
                char id[64], ip[32];
                RegistryMachine m = {.id = id, .public_ip = ip, .version = (char *) "1"};

                snprintf(id, sizeof(id), "m%u", i);
                snprintf(ip, sizeof(ip), "10.0.0.%u", i + 1);
                r = registry_put_machine_sync(reg, &m, 0, NULL);
                if (r < 0)
                        die("put machine", r);
        }
        r = registry_campaign_sync(reg, &leader, 0, &term);
        if (r < 0)
                die("campaign", r);
        for (unsigned i = 0; i < units; i++) {
                _cleanup_(unit_file_freep) UnitFile *uf = NULL;
                _cleanup_free_ char *text = NULL;
                char src[256], machine[64];
                RegistryJob job = {.desired_state = JOB_STATE_LAUNCHED};
                RegistryUnitState st = {.machine_id = machine,
                                        .load_state = (char *) "loaded",
                                        .active_state = (char *) "active",
                                        .sub_state = (char *) "running",
                                        .fleet_state = JOB_STATE_LAUNCHED};

                snprintf(src, sizeof(src),
                         "[Unit]\nDescription=bench api %04u\n\n"
                         "[Service]\nExecStart=/bin/sleep infinity\n",
                         i);
                if (asprintf(&names[i], "bench-api-%04u.service", i) < 0)
                        die("asprintf", -ENOMEM);
                snprintf(machine, sizeof(machine), "m%u", i % machines);
                r = unit_file_parse(src, strlen(src), &uf, NULL);
                if (r >= 0)
                        r = unit_file_serialize(uf, &text);
                if (r >= 0)
                        r = unit_file_hash(uf, job.hash);
                if (r < 0)
                        die("unit file", r);
                job.name = names[i];
                r = registry_create_job_sync(reg, &job, text, NULL);
                if (r < 0)
                        die("create job", r);
                st.name = names[i];
                memcpy(st.unit_hash, job.hash, sizeof(st.unit_hash));
                r = registry_put_state_sync(reg, &st, 0, NULL);
                if (r < 0)
                        die("put state", r);
                memcpy(targets[i].hash, job.hash, sizeof(targets[i].hash));
                targets[i].desired_state = JOB_STATE_LAUNCHED;
                ops[i] = (RegistryScheduleOp){
                        .machine_id = strdup(machine), .name = names[i], .target = &targets[i]};
        }
        for (unsigned i = 0; i < units; i += REGISTRY_MAX_TXN_OPS) {
                r = registry_apply_schedule_sync(
                        reg, term, ops + i, MIN(units - i, (unsigned) REGISTRY_MAX_TXN_OPS), NULL);
                if (r < 0)
                        die("schedule", r);
        }
        for (unsigned i = 0; i < units; i++) {
                free((char *) ops[i].machine_id);
                free(names[i]);
        }
        free(ops);
        free(targets);
        free(names);
}

/* ---- the client thread --------------------------------------------------------------------- */

typedef struct Sink {
        size_t bytes;
        char *text; /* kept when keep is set */
        size_t len;
        bool keep;
} Sink;

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
        Sink *s = ud;

        s->bytes += sz * n;
        if (s->keep) {
                char *t = realloc(s->text, s->len + sz * n + 1);

                if (!t)
                        return 0;
                memcpy(t + s->len, p, sz * n);
                s->len += sz * n;
                t[s->len] = '\0';
                s->text = t;
        }
        return sz * n;
}

static int get(CURL *h, const char *path, Sink *s) {
        char url[256];
        long status = 0;

        snprintf(url, sizeof(url), "%s%s", base_url, path);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
        if (curl_easy_perform(h) != CURLE_OK)
                return -EIO;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        return status == 200 ? 0 : -EPROTO;
}

/* fleet_api_registry_reads_total{source="memory"} from /metrics, or -1 */
static long cached_reads(CURL *h) {
        Sink s = {.keep = true};
        const char *p;
        long v = -1;

        if (get(h, "/metrics", &s) >= 0 && (p = strstr(s.text, METRIC)))
                v = strtol(p + strlen(METRIC), NULL, 10);
        free(s.text);
        return v;
}

static void *client(void *userdata) {
        CURL *h = curl_easy_init();
        long before;

        (void) userdata;
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
        /* warm up: the first reads start the copy; wait until reads come from it */
        before = cached_reads(h);
        for (int i = 0; i < 200; i++) {
                Sink s = {};

                if (get(h, paths[0], &s) < 0) {
                        failed = 1;
                        goto out;
                }
                if (cached_reads(h) > before)
                        break;
                usleep(50000);
        }
        for (size_t k = 0; k < ELEMENTSOF(paths); k++) {
                Sink s = {};
                double t0 = now_s(), t;

                for (unsigned i = 0; i < n_requests; i++)
                        if (get(h, paths[k], &s) < 0) {
                                fprintf(stderr, "bench-api: GET %s failed\n", paths[k]);
                                failed = 1;
                                goto out;
                        }
                t = now_s() - t0;
                printf("%-20s %6u requests %7.3f s %8.0f req/s %7zu bytes/answer\n", paths[k],
                       n_requests, t, n_requests / t, s.bytes / n_requests);
                fflush(stdout);
        }
out:
        curl_easy_cleanup(h);
        (void) !write(done_fd, &(uint64_t){1}, sizeof(uint64_t));
        return NULL;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int main(int argc, char **argv) {
        unsigned units = argc > 1 ? (unsigned) atoi(argv[1]) : 1000;
        unsigned machines = argc > 3 ? (unsigned) atoi(argv[3]) : 3;
        _cleanup_free_ char *scratch = NULL;
        EtcdLauncherOptions o = {};
        EtcdLauncher *etcd = NULL;
        sd_event *event = NULL;
        EtcdClient *ec = NULL;
        Registry *reg = NULL;
        Api *api = NULL;
        pthread_t t;
        int port = 0, r;

        if (argc > 2)
                n_requests = (unsigned) atoi(argv[2]);
        if (units == 0 || machines == 0 || n_requests == 0) {
                fprintf(stderr, "usage: bench-api [UNITS [REQUESTS [MACHINES]]] (all > 0)\n");
                return 2;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        r = etcd_launcher_mkdtemp(&scratch);
        if (r < 0)
                die("mkdtemp", r);
        o.base_dir = scratch;
        r = etcd_launcher_start(&o, &etcd);
        if (r < 0)
                die("etcd", r);
        EtcdClientConfig cc = {.endpoints = etcd_launcher_endpoints(etcd),
                               .request_timeout_usec = 5 * USEC_PER_SEC};
        ApiConfig ac = {};

        r = sd_event_new(&event);
        if (r >= 0)
                r = etcd_client_new(&ec, event, &cc);
        if (r >= 0)
                r = registry_new(&reg, ec, PREFIX);
        if (r < 0)
                die("setup", r);
        fill(reg, units, machines);
        r = api_new(&api, event, reg, &ac);
        if (r >= 0)
                r = api_listen_fd(api, test_listen_loopback(&port));
        if (r < 0)
                die("api", r);
        snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", port);
        done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (done_fd < 0 || sd_event_add_io(event, NULL, done_fd, EPOLLIN, on_done, NULL) < 0)
                die("eventfd", -errno);
        printf("bench-api: %u units, %u machines, %u requests per path, one keep-alive "
               "connection\n",
               units, machines, n_requests);
        fflush(stdout);
        if (pthread_create(&t, NULL, client, NULL) != 0)
                die("pthread_create", -EAGAIN);
        r = sd_event_loop(event);
        pthread_join(t, NULL);
        api_free(api);
        registry_free(reg);
        etcd_client_free(ec);
        sd_event_unref(event);
        etcd_launcher_free(etcd);
        (void) etcd_launcher_rm_rf(scratch);
        curl_global_cleanup();
        return r < 0 || failed ? 1 : 0;
}
