/* SPDX-License-Identifier: MIT */
/*
 * Concurrent PUTs of one unit against a real etcd and the real server: the Api runs in this
 * thread's sd-event loop on a loopback port, N libcurl clients in threads fire their PUTs at
 * once (a barrier). fleet's semantics decide each request from a read of the job and write
 * with a txn conditioned on that read; a PUT that loses the race decides again from a fresh
 * read (api/routes-units.c, at most PUT_ATTEMPTS_MAX = 5 tries):
 *   - same new content, no desiredState: exactly one 201 (the create), the others 409
 *     ("must provide DesiredState to update existing unit");
 *   - same new content, desiredState launched: exactly one 201, the others 204;
 *   - different contents: a create or a replace each, all 201 (a request loses at most
 *     N - 1 < 5 times: every other writer commits once); etcd ends consistent: the job's hash
 *     is one of the contents, whose unit/<hash> key holds exactly that text, and GET returns
 *     that content.
 * (Paging with a unit count that is an exact multiple of the page size is in test-api.c.)
 */
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "api.h"
#include "etcd-launcher.h"
#include "registry.h"
#include "test-net.h"
#include "test-util.h"
#include "unit-file.h"

#define SEC 1000000ULL
#define N_CLIENTS 5 /* < PUT_ATTEMPTS_MAX + 1: no request can lose more than 4 races */
#define ROUNDS 10

static char *scratch;
static EtcdLauncher *etcd;
static sd_event *event;
static EtcdClient *client;
static Registry *registry;
static Api *api;
static char prefix[128];
static char base_url[64];

static void shared_setup(void) {
        EtcdLauncherOptions o = {};

        ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
        ck_assert_int_eq(etcd_launcher_mkdtemp(&scratch), 0);
        o.base_dir = scratch;
        ck_assert_int_eq(etcd_launcher_start(&o, &etcd), 0);
}

static void shared_teardown(void) {
        etcd = etcd_launcher_free(etcd);
        (void) etcd_launcher_rm_rf(scratch);
        free(scratch);
        scratch = NULL;
        curl_global_cleanup();
}

static void setup(void) {
        EtcdClientConfig cc = {.endpoints = etcd_launcher_endpoints(etcd),
                               .request_timeout_usec = 5 * SEC};
        ApiConfig ac = {.version = "9.8.7-test", .token_limit = 2};
        static unsigned counter;
        int port;

        ck_assert_int_eq(sd_event_new(&event), 0);
        ck_assert_int_eq(etcd_client_new(&client, event, &cc), 0);
        snprintf(prefix, sizeof(prefix), "/t-api-races-%d-%u/", (int) getpid(), counter++);
        ck_assert_int_eq(registry_new(&registry, client, prefix), 0);
        ck_assert_int_eq(api_new(&api, event, registry, &ac), 0);
        ck_assert_int_eq(api_listen_fd(api, test_listen_loopback(&port)), 0);
        snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", port);
}

static void teardown(void) {
        api = api_free(api);
        registry = registry_free(registry);
        client = etcd_client_free(client);
        event = sd_event_unref(event);
}

/* ---- N clients at once --------------------------------------------------------------------- */

typedef struct Put {
        const char *method; /* NULL: PUT */
        const char *path;
        char body[512];
        long status;
        char *resp;
        size_t len;
} Put;

static pthread_barrier_t barrier;
static atomic_uint n_done;
static int done_pipe[2]; /* a client writes a byte once done: wakes this thread's loop */

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
        Put *q = ud;
        char *b = realloc(q->resp, q->len + sz * n + 1);

        if (!b)
                return 0;
        memcpy(b + q->len, p, sz * n);
        q->len += sz * n;
        b[q->len] = '\0';
        q->resp = b;
        return sz * n;
}

static void *put_thread(void *p) {
        Put *q = p;
        CURL *h = curl_easy_init();
        struct curl_slist *hdrs = NULL;
        char url[512];

        snprintf(url, sizeof(url), "%s%s", base_url, q->path);
        curl_easy_setopt(h, CURLOPT_URL, url);
        if (!q->method) {
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long) strlen(q->body));
        }
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, q);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        (void) pthread_barrier_wait(&barrier);
        if (curl_easy_perform(h) == CURLE_OK)
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &q->status);
        else
                q->status = -1;
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        atomic_fetch_add(&n_done, 1);
        (void) !write(done_pipe[1], "x", 1);
        return NULL;
}

static int on_done(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        char buf[64];

        (void) !read(fd, buf, sizeof(buf));
        return 0;
}

static bool all_done(void *userdata) {
        return atomic_load(&n_done) == (unsigned) (uintptr_t) userdata;
}

/* Run the n requests at once while the API runs in this thread's loop. */
static void run_puts(Put *puts, unsigned n) {
        pthread_t t[N_CLIENTS];
        sd_event_source *src = NULL;

        ck_assert_uint_le(n, N_CLIENTS);
        atomic_store(&n_done, 0);
        ck_assert_int_eq(pipe2(done_pipe, O_CLOEXEC | O_NONBLOCK), 0);
        ck_assert_int_ge(sd_event_add_io(event, &src, done_pipe[0], EPOLLIN, on_done, NULL), 0);
        ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, n), 0);
        for (unsigned i = 0; i < n; i++)
                ck_assert_int_eq(pthread_create(&t[i], NULL, put_thread, &puts[i]), 0);
        ck_assert_int_eq(etcd_launcher_run_until(event, all_done, (void *) (uintptr_t) n, 30 * SEC),
                         0);
        for (unsigned i = 0; i < n; i++)
                pthread_join(t[i], NULL);
        pthread_barrier_destroy(&barrier);
        sd_event_source_disable_unref(src);
        close(done_pipe[0]);
        close(done_pipe[1]);
}

static void puts_done(Put *puts, unsigned n) {
        for (unsigned i = 0; i < n; i++) {
                free(puts[i].resp);
                puts[i].resp = NULL;
                puts[i].len = 0;
        }
}

static char *get_key(const char *rel) {
        _cleanup_free_ char *key = NULL;
        char *v = NULL;
        int r;

        ck_assert_int_ge(asprintf(&key, "%s%s", prefix, rel), 0);
        r = etcd_get_sync(client, key, &v, NULL);
        if (r == -ENOENT)
                return NULL;
        ck_assert_int_eq(r, 0);
        return v;
}

static unsigned count_status(const Put *puts, unsigned n, long status) {
        unsigned c = 0;

        for (unsigned i = 0; i < n; i++)
                c += puts[i].status == status;
        return c;
}

static void dump_statuses(const Put *puts, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                fprintf(stderr, "  client %u: %ld %s\n", i, puts[i].status, strempty(puts[i].resp));
}

#define OPTIONS(cmd) "[{\"section\":\"Service\",\"name\":\"ExecStart\",\"value\":\"" cmd "\"}]"

/* Same content, same body from every client: one create, the rest find the unit there. */
START_TEST(test_same_content) {
        static const char *const desired[] = {NULL, "launched"};
        const char *ds = desired[_i];
        const long others = ds ? 204 : 409;

        for (unsigned round = 0; round < ROUNDS; round++) {
                Put puts[N_CLIENTS] = {};
                char path[64], hash[UNIT_HASH_HEX_LEN + 1], content_key[128];
                const char *text = "[Service]\nExecStart=/bin/sleep 1\n";
                _cleanup_free_ char *job_key = NULL, *job = NULL, *content = NULL;

                snprintf(path, sizeof(path), "/fleet/v1/units/same%u.service", round);
                for (unsigned i = 0; i < N_CLIENTS; i++) {
                        puts[i].path = path;
                        snprintf(puts[i].body, sizeof(puts[i].body),
                                 "{\"options\":" OPTIONS("/bin/sleep 1") "%s%s%s}",
                                 ds ? ",\"desiredState\":\"" : "", ds ? ds : "", ds ? "\"" : "");
                }
                run_puts(puts, N_CLIENTS);
                if (count_status(puts, N_CLIENTS, 201) != 1 ||
                    count_status(puts, N_CLIENTS, others) != N_CLIENTS - 1)
                        dump_statuses(puts, N_CLIENTS);
                ck_assert_uint_eq(count_status(puts, N_CLIENTS, 201), 1);
                ck_assert_uint_eq(count_status(puts, N_CLIENTS, others), N_CLIENTS - 1);
                for (unsigned i = 0; i < N_CLIENTS && others == 409; i++)
                        if (puts[i].status == 409)
                                ck_assert_str_eq(
                                        puts[i].resp,
                                        "{\"error\":{\"code\":409,\"message\":\"must provide "
                                        "DesiredState to update existing unit\"}}");
                puts_done(puts, N_CLIENTS);

                unit_hash_bytes(text, strlen(text), hash);
                ck_assert_int_ge(asprintf(&job_key, "job/same%u.service", round), 0);
                job = get_key(job_key);
                ck_assert_ptr_nonnull(job);
                ck_assert_ptr_nonnull(strstr(job, hash));
                ck_assert_ptr_nonnull(strstr(job, ds ? "\"desiredState\":\"launched\""
                                                     : "\"desiredState\":\"inactive\""));
                snprintf(content_key, sizeof(content_key), "unit/%s", hash);
                content = get_key(content_key);
                ck_assert_ptr_nonnull(content);
                ck_assert_str_eq(content, text);
        }
}
END_TEST

/* Different contents: each PUT creates or replaces (201); the last writer wins, whole. */
START_TEST(test_different_content) {
        for (unsigned round = 0; round < ROUNDS; round++) {
                Put puts[N_CLIENTS] = {};
                char path[64], texts[N_CLIENTS][64], hashes[N_CLIENTS][UNIT_HASH_HEX_LEN + 1];
                char content_key[128];
                _cleanup_free_ char *job_key = NULL, *job = NULL, *content = NULL;
                int winner = -1;

                snprintf(path, sizeof(path), "/fleet/v1/units/diff%u.service", round);
                for (unsigned i = 0; i < N_CLIENTS; i++) {
                        puts[i].path = path;
                        snprintf(puts[i].body, sizeof(puts[i].body),
                                 "{\"options\":[{\"section\":\"Service\",\"name\":\"ExecStart\","
                                 "\"value\":\"/bin/sleep %u\"}]}",
                                 100 + i);
                        snprintf(texts[i], sizeof(texts[i]), "[Service]\nExecStart=/bin/sleep %u\n",
                                 100 + i);
                        unit_hash_bytes(texts[i], strlen(texts[i]), hashes[i]);
                }
                run_puts(puts, N_CLIENTS);
                if (count_status(puts, N_CLIENTS, 201) != N_CLIENTS)
                        dump_statuses(puts, N_CLIENTS);
                ck_assert_uint_eq(count_status(puts, N_CLIENTS, 201), N_CLIENTS);
                puts_done(puts, N_CLIENTS);

                ck_assert_int_ge(asprintf(&job_key, "job/diff%u.service", round), 0);
                job = get_key(job_key);
                ck_assert_ptr_nonnull(job);
                for (unsigned i = 0; i < N_CLIENTS; i++)
                        if (strstr(job, hashes[i])) {
                                ck_assert_msg(winner < 0, "job %s has two hashes", job);
                                winner = (int) i;
                        }
                ck_assert_msg(winner >= 0, "job %s has none of the contents' hashes", job);
                ck_assert_ptr_nonnull(strstr(job, "\"desiredState\":\"inactive\""));
                snprintf(content_key, sizeof(content_key), "unit/%s", hashes[winner]);
                content = get_key(content_key);
                ck_assert_ptr_nonnull(content);
                ck_assert_str_eq(content, texts[winner]);

                /* the API serves the winner's content */
                {
                        Put get = {.method = "GET", .path = path};
                        char want[64];

                        run_puts(&get, 1);
                        ck_assert_int_eq(get.status, 200);
                        snprintf(want, sizeof(want), "\"value\":\"/bin/sleep %d\"", 100 + winner);
                        ck_assert_msg(get.resp && strstr(get.resp, want), "GET: %s, want %s",
                                      strempty(get.resp), want);
                        puts_done(&get, 1);
                }
        }
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("api-races");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, shared_setup, shared_teardown);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_loop_test(tc, test_same_content, 0, 2);
        tcase_add_test(tc, test_different_content);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(suite)
