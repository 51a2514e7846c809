/* SPDX-License-Identifier: MIT */
/* etcd watches against real etcds: order, replay, compaction + resync, progress, failover. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "etcd-launcher.h"
#include "etcd.h"
#include "strv.h"
#include "test-util.h"

#define SEC 1000000ULL
#define MAX_EVENTS 512

static char *scratch;
static EtcdLauncher *etcd;
static sd_event *event;
static EtcdClient *client;

static void scratch_setup(void) {
        ck_assert_int_eq(etcd_launcher_mkdtemp(&scratch), 0);
}

static void scratch_teardown(void) {
        etcd = etcd_launcher_free(etcd);
        (void) etcd_launcher_rm_rf(scratch);
        free(scratch);
        scratch = NULL;
}

static void start_etcd(size_t n, char *const *extra, EtcdLauncher **ret) {
        EtcdLauncherOptions o = {.n_members = n, .base_dir = scratch, .extra_args = extra};

        ck_assert_int_eq(etcd_launcher_start(&o, ret), 0);
}

static void shared_setup(void) {
        scratch_setup();
        start_etcd(1, NULL, &etcd);
}

static EtcdClient *new_client(char *const *endpoints) {
        EtcdClientConfig cfg = {.endpoints = endpoints, .request_timeout_usec = 5 * SEC};
        EtcdClient *c = NULL;

        ck_assert_int_eq(etcd_client_new(&c, event, &cfg), 0);
        return c;
}

static void loop_setup(void) {
        ck_assert_int_eq(sd_event_new(&event), 0);
        if (etcd)
                client = new_client(etcd_launcher_endpoints(etcd));
}

static void loop_teardown(void) {
        client = etcd_client_free(client);
        event = sd_event_unref(event);
}

/* Own-etcd tests: the test's etcd goes with it. */
static void own_teardown(void) {
        loop_teardown();
        etcd = etcd_launcher_free(etcd);
}

/* ---- collecting events ---------------------------------------------------------------------- */

typedef struct Seen {
        EtcdEventType type;
        char key[64];
        char value[64];
        char prev[64]; /* "" if no prev_kv */
        int64_t mod;
} Seen;

typedef struct Collector {
        size_t n_created, n_progress, n_messages;
        Seen ev[MAX_EVENTS];
        size_t n_ev;
        int error; /* last end-of-stream error */
        size_t n_errors;
        int64_t compact_revision;
        /* optional behaviour */
        bool free_on_first_event;
        bool restart_on_first_event;
        EtcdWatch **self;
} Collector;

static void collect(EtcdWatch *w, int error, const EtcdWatchMessage *m, void *userdata) {
        Collector *c = userdata;

        if (error < 0) {
                c->error = error;
                c->n_errors++;
                c->compact_revision = etcd_watch_get_compact_revision(w);
                return;
        }
        c->n_messages++;
        if (m->created)
                c->n_created++;
        else if (m->n_events == 0)
                c->n_progress++;
        for (size_t i = 0; i < m->n_events && c->n_ev < MAX_EVENTS; i++) {
                Seen *s = &c->ev[c->n_ev++];
                const EtcdEvent *e = &m->events[i];

                s->type = e->type;
                (void) snprintf(s->key, sizeof(s->key), "%s", e->kv.key);
                (void) snprintf(s->value, sizeof(s->value), "%s", e->kv.value);
                (void) snprintf(s->prev, sizeof(s->prev), "%s",
                                e->prev_kv ? e->prev_kv->value : "");
                s->mod = e->kv.mod_revision;
        }
        if (m->n_events > 0 && c->free_on_first_event) {
                c->free_on_first_event = false;
                *c->self = etcd_watch_free(w);
        } else if (m->n_events > 0 && c->restart_on_first_event) {
                c->restart_on_first_event = false;
                /* Replays the first event: start again from its revision. */
                ck_assert_int_eq(etcd_watch_restart(w, m->events[0].kv.mod_revision), 0);
        }
}

static Collector *collector_new(void) {
        Collector *c = calloc(1, sizeof(Collector));

        ck_assert_ptr_nonnull(c);
        return c;
}

typedef struct Wait {
        Collector *c;
        size_t n_events, n_created, n_errors, n_progress;
} Wait;

static bool wait_cond(void *userdata) {
        Wait *w = userdata;

        return w->c->n_ev >= w->n_events && w->c->n_created >= w->n_created &&
               w->c->n_errors >= w->n_errors && w->c->n_progress >= w->n_progress;
}

static void wait_for(Collector *c, size_t n_events, size_t n_created, size_t n_errors) {
        Wait w = {.c = c, .n_events = n_events, .n_created = n_created, .n_errors = n_errors};

        ck_assert_int_eq(etcd_launcher_run_until(event, wait_cond, &w, 30 * SEC), 0);
}

static int64_t put(EtcdClient *c, const char *key, const char *value) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        EtcdPutRequest q = {.key = key, .value = value};

        ck_assert_int_eq(etcd_put_sync(c, &q, &resp), 0);
        return resp->revision;
}

static EtcdWatch *watch(const char *prefix, int64_t start, bool auto_resume, Collector *c) {
        EtcdWatchRequest q = {
                .key = prefix, .prefix = true, .start_revision = start, .prev_kv = true};
        EtcdWatchOptions o = {.auto_resume = auto_resume};
        EtcdWatch *w = NULL;

        ck_assert_int_eq(etcd_watch_new(client, &q, &o, collect, c, &w), 0);
        return w;
}

/* ---- tests ---------------------------------------------------------------------------------- */

START_TEST(test_watch_in_order) {
        _cleanup_free_ Collector *c = collector_new();
        _cleanup_(etcd_watch_freep) EtcdWatch *w = watch("/w/order/", 0, false, c);
        EtcdOp ops[] = {
                {.type = ETCD_OP_PUT, .put = {.key = "/w/order/b", .value = "3"}},
                {.type = ETCD_OP_DELETE, .delete = {.key = "/w/order/a"}},
        };
        EtcdTxnRequest t = {.success = ops, .n_success = 2};
        EtcdDeleteRequest d = {.key = "/w/order/", .prefix = true};
        int64_t r1, r2;

        wait_for(c, 0, 1, 0);
        ck_assert(etcd_watch_is_active(w));
        ck_assert_int_gt(etcd_watch_get_next_revision(w), 0);
        r1 = put(client, "/w/order/a", "1");
        r2 = put(client, "/w/order/a", "2");
        (void) put(client, "/w/other", "not watched");
        ck_assert_int_eq(etcd_txn_sync(client, &t, NULL), 0);
        ck_assert_int_eq(etcd_delete_sync(client, &d, NULL), 0);
        wait_for(c, 5, 1, 0);

        ck_assert_uint_eq(c->n_ev, 5);
        ck_assert_int_eq(c->ev[0].type, ETCD_EVENT_PUT);
        ck_assert_str_eq(c->ev[0].value, "1");
        ck_assert_str_eq(c->ev[0].prev, "");
        ck_assert_int_eq(c->ev[0].mod, r1);
        ck_assert_str_eq(c->ev[1].value, "2");
        ck_assert_str_eq(c->ev[1].prev, "1");
        ck_assert_int_eq(c->ev[1].mod, r2);
        /* One txn: both events at one revision, in op order. */
        ck_assert_str_eq(c->ev[2].key, "/w/order/b");
        ck_assert_int_eq(c->ev[3].type, ETCD_EVENT_DELETE);
        ck_assert_str_eq(c->ev[3].key, "/w/order/a");
        ck_assert_str_eq(c->ev[3].prev, "2");
        ck_assert_int_eq(c->ev[2].mod, c->ev[3].mod);
        ck_assert_int_eq(c->ev[4].type, ETCD_EVENT_DELETE);
        ck_assert_str_eq(c->ev[4].key, "/w/order/b");
        ck_assert_int_gt(c->ev[4].mod, c->ev[3].mod);
        ck_assert_int_eq(etcd_watch_get_next_revision(w), c->ev[4].mod + 1);
        ck_assert_uint_eq(c->n_created, 1);
        ck_assert_uint_eq(c->n_errors, 0);
        ck_assert_uint_ge(etcd_client_get_stats(client)->watch_events, 5);
        ck_assert_uint_eq(etcd_client_get_stats(client)->ops[ETCD_REQUEST_WATCH].requests, 1);
}
END_TEST

START_TEST(test_watch_from_revision) {
        _cleanup_free_ Collector *c = collector_new();
        _cleanup_(etcd_watch_freep) EtcdWatch *w = NULL;
        int64_t first = 0;
        char key[64];

        for (int i = 0; i < 5; i++) {
                (void) snprintf(key, sizeof(key), "/w/replay/k%d", i);
                int64_t r = put(client, key, "v");
                if (i == 0)
                        first = r;
        }
        w = watch("/w/replay/", first + 1, false, c);
        wait_for(c, 4, 1, 0);
        ck_assert_str_eq(c->ev[0].key, "/w/replay/k1");
        ck_assert_str_eq(c->ev[3].key, "/w/replay/k4");
        (void) put(client, "/w/replay/k5", "v");
        wait_for(c, 5, 1, 0);
        ck_assert_str_eq(c->ev[4].key, "/w/replay/k5");
        for (size_t i = 1; i < c->n_ev; i++)
                ck_assert_int_gt(c->ev[i].mod, c->ev[i - 1].mod);
}
END_TEST

START_TEST(test_watch_many) {
        Collector *c[5];
        EtcdWatch *w[5];
        char prefix[64], key[64];

        for (int i = 0; i < 5; i++) {
                c[i] = collector_new();
                (void) snprintf(prefix, sizeof(prefix), "/w/many/%d/", i);
                w[i] = watch(prefix, 0, false, c[i]);
        }
        for (int i = 0; i < 5; i++)
                wait_for(c[i], 0, 1, 0);
        for (int round = 0; round < 4; round++)
                for (int i = 0; i < 5; i++) {
                        (void) snprintf(key, sizeof(key), "/w/many/%d/r%d", i, round);
                        (void) put(client, key, "x");
                }
        for (int i = 0; i < 5; i++) {
                wait_for(c[i], 4, 1, 0);
                ck_assert_uint_eq(c[i]->n_ev, 4);
                for (int round = 0; round < 4; round++) {
                        (void) snprintf(key, sizeof(key), "/w/many/%d/r%d", i, round);
                        ck_assert_str_eq(c[i]->ev[round].key, key);
                }
                etcd_watch_free(w[i]);
                free(c[i]);
        }
}
END_TEST

START_TEST(test_watch_free_and_restart_in_handler) {
        _cleanup_free_ Collector *c1 = collector_new();
        _cleanup_free_ Collector *c2 = collector_new();
        _cleanup_(etcd_watch_freep) EtcdWatch *w2 = NULL;
        EtcdWatch *w1 = NULL;
        EtcdOp ops[] = {
                {.type = ETCD_OP_PUT, .put = {.key = "/w/inh/a", .value = "1"}},
                {.type = ETCD_OP_PUT, .put = {.key = "/w/inh/b", .value = "2"}},
        };
        EtcdTxnRequest t = {.success = ops, .n_success = 2};

        c1->free_on_first_event = true;
        c1->self = &w1;
        w1 = watch("/w/inh/", 0, false, c1);
        c2->restart_on_first_event = true;
        w2 = watch("/w/inh/", 0, false, c2);
        wait_for(c1, 0, 1, 0);
        wait_for(c2, 0, 1, 0);
        ck_assert_int_eq(etcd_txn_sync(client, &t, NULL), 0);
        (void) put(client, "/w/inh/c", "3");
        /* c2 got the txn's two events, restarted from their revision, got them again, then c. */
        wait_for(c2, 5, 1, 0);
        ck_assert_ptr_null(w1);
        ck_assert_uint_eq(c1->n_ev, 2);
        ck_assert_str_eq(c2->ev[2].key, "/w/inh/a");
        ck_assert_str_eq(c2->ev[3].key, "/w/inh/b");
        ck_assert_str_eq(c2->ev[4].key, "/w/inh/c");
        ck_assert_uint_eq(c2->n_created, 2); /* a restart is a new watch: "created" again */
}
END_TEST

static bool got_error(void *userdata) {
        return ((Collector *) userdata)->n_errors > 0;
}

/* Compaction: the watch reports -ERANGE; re-list + re-watch from the listing resumes. */
START_TEST(test_watch_compaction_resync) {
        _cleanup_free_ Collector *c = collector_new();
        _cleanup_(etcd_watch_freep) EtcdWatch *w = NULL;
        _cleanup_(etcd_response_freep) EtcdResponse *list = NULL;
        EtcdRangeRequest q = {.key = "/w/compact/", .prefix = true};
        int64_t r1, r3;

        r1 = put(client, "/w/compact/k", "1");
        (void) put(client, "/w/compact/k", "2");
        r3 = put(client, "/w/compact/k", "3");
        ck_assert_int_eq(etcd_compact_sync(client, r3, true, NULL), 0);

        /* auto_resume does not hide a compaction. */
        w = watch("/w/compact/", r1, true, c);
        ck_assert_int_eq(etcd_launcher_run_until(event, got_error, c, 30 * SEC), 0);
        ck_assert_int_eq(c->error, -ERANGE);
        ck_assert_int_eq(c->compact_revision, r3);
        ck_assert_int_eq(etcd_watch_get_compact_revision(w), r3);
        ck_assert_uint_eq(c->n_ev, 0);
        ck_assert(!etcd_watch_is_active(w));

        /* The documented recovery: list at R, watch from R + 1. */
        ck_assert_int_eq(etcd_range_all_sync(client, &q, 0, &list), 0);
        ck_assert_uint_eq(list->kv.n_kvs, 1);
        ck_assert_str_eq(list->kv.kvs[0].value, "3");
        ck_assert_int_eq(etcd_watch_restart(w, list->revision + 1), 0);
        ck_assert(etcd_watch_is_active(w));
        (void) put(client, "/w/compact/k", "4");
        wait_for(c, 1, 1, 1);
        ck_assert_uint_eq(c->n_ev, 1);
        ck_assert_str_eq(c->ev[0].value, "4");
        ck_assert_str_eq(c->ev[0].prev, "3");
        ck_assert_uint_eq(c->n_errors, 1);
}
END_TEST

START_TEST(test_watch_progress_notify) {
        char *extra[] = {(char *) "--experimental-watch-progress-notify-interval=100ms", NULL};
        _cleanup_free_ Collector *c = collector_new();
        _cleanup_(etcd_watch_freep) EtcdWatch *w = NULL;
        EtcdWatchRequest q = {.key = "/w/progress/", .prefix = true, .progress_notify = true};
        Wait wt = {.c = c, .n_progress = 1};
        int64_t rev;

        start_etcd(1, extra, &etcd);
        client = new_client(etcd_launcher_endpoints(etcd));
        ck_assert_int_eq(etcd_watch_new(client, &q, NULL, collect, c, &w), 0);
        wait_for(c, 0, 1, 0);
        rev = put(client, "/w/elsewhere", "x");
        c->n_progress = 0;
        /* A progress message after the unrelated write moves the next revision past it. */
        for (int i = 0; i < 100 && etcd_watch_get_next_revision(w) <= rev; i++) {
                wt.n_progress = c->n_progress + 1;
                ck_assert_int_eq(etcd_launcher_run_until(event, wait_cond, &wt, 30 * SEC), 0);
        }
        ck_assert_int_eq(etcd_watch_get_next_revision(w), rev + 1);
        ck_assert_uint_eq(c->n_ev, 0);
}
END_TEST

/* Without auto_resume the end of the stream (member killed) reaches the handler. */
START_TEST(test_watch_eof_reported) {
        _cleanup_free_ Collector *c = collector_new();
        _cleanup_(etcd_watch_freep) EtcdWatch *w = NULL;

        start_etcd(1, NULL, &etcd);
        client = new_client(etcd_launcher_endpoints(etcd));
        w = watch("/w/eof/", 0, false, c);
        wait_for(c, 0, 1, 0);
        ck_assert_int_eq(etcd_launcher_kill_member(etcd, 0), 0);
        ck_assert_int_eq(etcd_launcher_run_until(event, got_error, c, 30 * SEC), 0);
        ck_assert_msg(c->error == -ECONNRESET || c->error == -EPIPE, "error %d", c->error);
        ck_assert(!etcd_watch_is_active(w));
        ck_assert_uint_eq(c->n_errors, 1);
}
END_TEST

/* Writes that may hit a leader election are retried until they succeed. */
static void put_retry(EtcdClient *c, const char *key, const char *value) {
        EtcdPutRequest q = {.key = key, .value = value};

        for (int i = 0; i < 50; i++)
                if (etcd_put_sync(c, &q, NULL) >= 0)
                        return;
        ck_abort_msg("put %s never succeeded", key);
}

static bool saw_key(void *userdata) {
        Collector *c = userdata;
        return c->n_ev > 0 && streq(c->ev[c->n_ev - 1].key, "/w/fo/end");
}

/* A 3-member cluster; the member the watch is connected to dies mid-watch. */
START_TEST(test_watch_failover_cluster) {
        _cleanup_free_ Collector *c = collector_new();
        _cleanup_free_ Collector *check = collector_new();
        _cleanup_(etcd_watch_freep) EtcdWatch *w = NULL;
        _cleanup_(etcd_watch_freep) EtcdWatch *wcheck = NULL;
        _cleanup_(etcd_client_freep) EtcdClient *writer = NULL;
        char key[64];
        int64_t start;

        start_etcd(3, NULL, &etcd);
        client = new_client(etcd_launcher_endpoints(etcd));
        char *survivors[] = {(char *) etcd_launcher_endpoint(etcd, 1),
                             (char *) etcd_launcher_endpoint(etcd, 2), NULL};
        writer = new_client(survivors);

        start = put(writer, "/w/fo-start", "x") + 1;
        w = watch("/w/fo/", start, true, c);
        wait_for(c, 0, 1, 0);
        ck_assert_str_eq(etcd_client_get_endpoint(client), etcd_launcher_endpoint(etcd, 0));
        for (int i = 0; i < 10; i++) {
                (void) snprintf(key, sizeof(key), "/w/fo/k%02d", i);
                put_retry(writer, key, "before");
        }
        wait_for(c, 10, 1, 0);
        ck_assert_int_eq(etcd_launcher_kill_member(etcd, 0), 0);
        for (int i = 10; i < 20; i++) {
                (void) snprintf(key, sizeof(key), "/w/fo/k%02d", i);
                put_retry(writer, key, "after");
        }
        put_retry(writer, "/w/fo/end", "x");
        ck_assert_int_eq(etcd_launcher_run_until(event, saw_key, c, 60 * SEC), 0);
        ck_assert_uint_eq(c->n_errors, 0);
        ck_assert_uint_ge(etcd_client_get_stats(client)->failovers, 1);
        ck_assert_uint_ge(etcd_client_get_stats(client)->watch_restarts, 1);
        ck_assert_str_ne(etcd_client_get_endpoint(client), etcd_launcher_endpoint(etcd, 0));

        /* Exactly the history, in order, no gap, no duplicate: compare with a fresh replay. */
        wcheck = NULL;
        {
                EtcdWatchRequest q = {
                        .key = "/w/fo/", .prefix = true, .start_revision = start, .prev_kv = true};
                ck_assert_int_eq(etcd_watch_new(writer, &q, NULL, collect, check, &wcheck), 0);
        }
        wait_for(check, c->n_ev, 1, 0);
        ck_assert_uint_eq(check->n_ev, c->n_ev);
        for (size_t i = 0; i < c->n_ev; i++) {
                ck_assert_str_eq(c->ev[i].key, check->ev[i].key);
                ck_assert_int_eq(c->ev[i].mod, check->ev[i].mod);
        }
}
END_TEST

static Suite *watch_suite(void) {
        Suite *s = suite_create("etcd-watch");
        TCase *shared = tcase_create("shared");
        TCase *own = tcase_create("own-etcd");

        tcase_add_unchecked_fixture(shared, shared_setup, scratch_teardown);
        tcase_add_checked_fixture(shared, loop_setup, loop_teardown);
        tcase_set_timeout(shared, 120);
        tcase_add_test(shared, test_watch_in_order);
        tcase_add_test(shared, test_watch_from_revision);
        tcase_add_test(shared, test_watch_many);
        tcase_add_test(shared, test_watch_free_and_restart_in_handler);
        /* Last: it compacts the shared etcd's history. */
        tcase_add_test(shared, test_watch_compaction_resync);
        suite_add_tcase(s, shared);

        /* Each test starts its own etcd (killed with the test process if it crashes); the
         * unchecked fixture removes whatever a crashed test left in the scratch dir. */
        tcase_add_unchecked_fixture(own, scratch_setup, scratch_teardown);
        tcase_add_checked_fixture(own, loop_setup, own_teardown);
        tcase_set_timeout(own, 180);
        tcase_add_test(own, test_watch_progress_notify);
        tcase_add_test(own, test_watch_eof_reported);
        tcase_add_test(own, test_watch_failover_cluster);
        suite_add_tcase(s, own);
        return s;
}

FLEET_TEST_MAIN(watch_suite)
