/* SPDX-License-Identifier: MIT */
/*
 * The web view's live feed against a real etcd: the Api (and its registry cache) runs in this
 * thread's sd-event loop, a libcurl client in a second thread reads /ui/events. The feed
 * starts with the current state, brings a job created afterwards on the same connection, and
 * says so when etcd becomes unavailable; /ui/state and /ui/units/<name> are served from the
 * same copy of the registry. At most UI_MAX_CLIENTS feeds are open at once: the next one gets
 * 503 with Retry-After.
 */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "api.h"
#include "ui.h"
#include "etcd-launcher.h"
#include "registry.h"
#include "test-net.h"
#include "test-util.h"

#define SEC 1000000ULL
#define HASH "0123456789abcdef0123456789abcdef01234567"
#define UNIT_TEXT "[Service]\nExecStart=/bin/sleep 1000\n"

static char *scratch;
static EtcdLauncher *etcd;
static sd_event *event;
static EtcdClient *client;
static Registry *registry;
static Api *api;
static char base_url[64];

typedef struct Feed {
        char *buf;
        size_t len;
        int phase;  /* 0: first snapshot, 1: the new job, 2: etcd unavailable */
        int signal; /* write end of the pipe to the loop */
        size_t n_events;
        long status;
        char content_type[128];
        char state[4096];
        char unit[256];
} Feed;

static Feed feed;

static const char *const phase_marks[] = {"event: snapshot\n", "\"name\":\"late.service\"",
                                          "\"etcd\":false"};

static size_t on_feed(char *p, size_t sz, size_t n, void *ud) {
        Feed *f = ud;
        size_t len = sz * n;
        char *b = realloc(f->buf, f->len + len + 1);

        ck_assert_ptr_nonnull(b);
        memcpy(b + f->len, p, len);
        f->len += len;
        b[f->len] = 0;
        f->buf = b;
        /* each phase's mark must come after what the previous one saw */
        while (f->phase < 3 && strstr(f->buf, phase_marks[f->phase])) {
                char c = (char) ('a' + f->phase);

                ck_assert_int_eq(write(f->signal, &c, 1), 1);
                f->phase++;
                /* forget what was read: the next mark must be in a later event */
                f->len = 0;
                f->buf[0] = 0;
        }
        return f->phase == 3 ? 0 : len; /* 0 aborts the transfer: done */
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
        Feed *f = ud;

        if (strncasecmp(p, "Content-Type: ", 14) == 0)
                (void) sscanf(p + 14, "%127[^\r\n]", f->content_type);
        return sz * n;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
        char *dst = ud;
        size_t have = strlen(dst), len = sz * n;

        if (have + len < 4096 - 1) {
                memcpy(dst + have, p, len);
                dst[have + len] = 0;
        }
        return len;
}

static void get(const char *path, char *body, size_t size) {
        CURL *h = curl_easy_init();
        char url[256];

        snprintf(url, sizeof(url), "%s%s", base_url, path);
        body[0] = 0;
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
        (void) curl_easy_perform(h);
        curl_easy_cleanup(h);
        (void) size;
}

static void *client_thread(void *p) {
        Feed *f = p;
        CURL *h = curl_easy_init();
        char url[128];
        char c = 'z';

        snprintf(url, sizeof(url), "%s/ui/events", base_url);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_feed);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, f);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
        (void) curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &f->status);
        curl_easy_cleanup(h);
        /* served from the same cache, while the loop still runs */
        get("/ui/state", f->state, sizeof(f->state));
        get("/ui/units/late.service", f->unit, sizeof(f->unit));
        ck_assert_int_eq(write(f->signal, &c, 1), 1);
        return NULL;
}

static void on_created(Registry *r, int error, int64_t revision, void *userdata) {
        ck_assert_int_eq(error, 0);
}

static int on_signal(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        RegistryJob job = {
                .name = (char *) "late.service", .hash = HASH, .desired_state = JOB_STATE_LAUNCHED};
        char c;

        ck_assert_int_eq(read(fd, &c, 1), 1);
        switch (c) {
        case 'a': /* the first snapshot arrived: now create a job */
                ck_assert_int_eq(
                        registry_create_job(registry, &job, UNIT_TEXT, on_created, NULL, NULL), 0);
                break;
        case 'b': /* it came on the same feed: now etcd goes away, as fleetd's agent says */
                api_set_etcd_available(api, false);
                break;
        case 'c':
                break;
        default: /* the client is done */
                return sd_event_exit(sd_event_source_get_event(s), 0);
        }
        return 0;
}

START_TEST(test_feed) {
        EtcdClientConfig cc = {.endpoints = etcd_launcher_endpoints(etcd),
                               .request_timeout_usec = 2 * SEC};
        pthread_t t;
        int pfd[2], port;

        ck_assert_int_eq(sd_event_new(&event), 0);
        ck_assert_int_eq(etcd_client_new(&client, event, &cc), 0);
        ck_assert_int_eq(registry_new(&registry, client, "/t-ui/"), 0);
        ck_assert_int_eq(api_new(&api, event, registry, NULL), 0);
        ck_assert_int_eq(api_listen_fd(api, test_listen_loopback(&port)), 0);
        snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", port);

        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        feed.signal = pfd[1];
        ck_assert_int_ge(sd_event_add_io(event, NULL, pfd[0], EPOLLIN, on_signal, NULL), 0);
        ck_assert_int_eq(pthread_create(&t, NULL, client_thread, &feed), 0);
        ck_assert_int_ge(sd_event_loop(event), 0);
        pthread_join(t, NULL);

        ck_assert_int_eq(feed.phase, 3);
        ck_assert_int_eq(feed.status, 200);
        ck_assert_str_eq(feed.content_type, "text/event-stream; charset=utf-8");
        ck_assert_ptr_nonnull(strstr(feed.state, "\"name\":\"late.service\""));
        ck_assert_ptr_nonnull(strstr(feed.state, "\"etcd\":false"));
        /* the unit text comes from the cache, etcd "unavailable" or not */
        ck_assert_str_eq(feed.unit, UNIT_TEXT);

        api = api_free(api);
        registry = registry_free(registry);
        client = etcd_client_free(client);
        event = sd_event_unref(event);
        close(pfd[0]);
        close(pfd[1]);
        free(feed.buf);
}
END_TEST

/* ---- the bound on feeds ------------------------------------------------------------------- */

typedef struct Many {
        int signal;
        size_t n_connected; /* feeds that received their first snapshot */
        long extra_status;
        char retry_after[16];
} Many;

typedef struct One {
        Many *many;
        bool connected;
        char head[32];
} One;

static size_t on_many(char *p, size_t sz, size_t n, void *ud) {
        One *o = ud;
        size_t have = strlen(o->head), len = sz * n, k = MIN(len, sizeof(o->head) - 1 - have);

        memcpy(o->head + have, p, k);
        o->head[have + k] = 0;
        if (!o->connected && strstr(o->head, "retry: 2000")) {
                o->connected = true;
                o->many->n_connected++;
        }
        return len;
}

static size_t on_extra_header(char *p, size_t sz, size_t n, void *ud) {
        Many *m = ud;

        if (strncasecmp(p, "Retry-After: ", 13) == 0)
                (void) sscanf(p + 13, "%15[^\r\n]", m->retry_after);
        return sz * n;
}

static void *many_thread(void *p) {
        Many *m = p;
        CURLM *multi = curl_multi_init();
        CURL *h[UI_MAX_CLIENTS], *extra;
        One ones[UI_MAX_CLIENTS] = {};
        char url[128], c = 'z', body[4096];
        int running = 0;

        snprintf(url, sizeof(url), "%s/ui/events", base_url);
        for (size_t i = 0; i < UI_MAX_CLIENTS; i++) {
                ones[i].many = m;
                h[i] = curl_easy_init();
                curl_easy_setopt(h[i], CURLOPT_URL, url);
                curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, on_many);
                curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &ones[i]);
                curl_multi_add_handle(multi, h[i]);
        }
        /* until every feed is open (each got its first bytes), for at most 30 s */
        for (int k = 0; k < 3000 && m->n_connected < UI_MAX_CLIENTS; k++) {
                curl_multi_perform(multi, &running);
                curl_multi_poll(multi, NULL, 0, 10, NULL);
        }
        /* one more: refused */
        extra = curl_easy_init();
        body[0] = 0;
        curl_easy_setopt(extra, CURLOPT_URL, url);
        curl_easy_setopt(extra, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(extra, CURLOPT_WRITEDATA, body);
        curl_easy_setopt(extra, CURLOPT_HEADERFUNCTION, on_extra_header);
        curl_easy_setopt(extra, CURLOPT_HEADERDATA, m);
        curl_easy_setopt(extra, CURLOPT_TIMEOUT, 10L);
        (void) curl_easy_perform(extra);
        curl_easy_getinfo(extra, CURLINFO_RESPONSE_CODE, &m->extra_status);
        curl_easy_cleanup(extra);
        for (size_t i = 0; i < UI_MAX_CLIENTS; i++) {
                curl_multi_remove_handle(multi, h[i]);
                curl_easy_cleanup(h[i]);
        }
        curl_multi_cleanup(multi);
        ck_assert_int_eq(write(m->signal, &c, 1), 1);
        return NULL;
}

static int on_many_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

START_TEST(test_client_limit) {
        EtcdClientConfig cc = {.endpoints = etcd_launcher_endpoints(etcd),
                               .request_timeout_usec = 2 * SEC};
        Many m = {};
        pthread_t t;
        int pfd[2], port;

        ck_assert_int_eq(sd_event_new(&event), 0);
        ck_assert_int_eq(etcd_client_new(&client, event, &cc), 0);
        ck_assert_int_eq(registry_new(&registry, client, "/t-ui-limit/"), 0);
        ck_assert_int_eq(api_new(&api, event, registry, NULL), 0);
        ck_assert_int_eq(api_listen_fd(api, test_listen_loopback(&port)), 0);
        snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", port);

        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        m.signal = pfd[1];
        ck_assert_int_ge(sd_event_add_io(event, NULL, pfd[0], EPOLLIN, on_many_done, NULL), 0);
        ck_assert_int_eq(pthread_create(&t, NULL, many_thread, &m), 0);
        ck_assert_int_ge(sd_event_loop(event), 0);
        pthread_join(t, NULL);

        ck_assert_uint_eq(m.n_connected, UI_MAX_CLIENTS);
        ck_assert_int_eq(m.extra_status, 503);
        ck_assert_str_eq(m.retry_after, "5");

        /* freed with feeds the server has not yet seen closed */
        api = api_free(api);
        registry = registry_free(registry);
        client = etcd_client_free(client);
        event = sd_event_unref(event);
        close(pfd[0]);
        close(pfd[1]);
}
END_TEST

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
        curl_global_cleanup();
}

static Suite *ui_suite(void) {
        Suite *s = suite_create("ui");
        TCase *tc = tcase_create("feed");

        tcase_set_timeout(tc, 60);
        tcase_add_unchecked_fixture(tc, shared_setup, shared_teardown);
        tcase_add_test(tc, test_feed);
        tcase_add_test(tc, test_client_limit);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(ui_suite)
