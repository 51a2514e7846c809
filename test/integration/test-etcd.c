/* SPDX-License-Identifier: MIT */
/* The etcd client against a real etcd: every call, errors, races, leases, failover, auth. */
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "etcd-launcher.h"
#include "etcd.h"
#include "strv.h"
#include "test-util.h"

#define SEC 1000000ULL
#define MSEC 1000ULL

static char *scratch;
static EtcdLauncher *etcd;
static sd_event *event;
static EtcdClient *client;

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

static EtcdClient *new_client(char *const *endpoints, uint64_t timeout) {
        EtcdClientConfig cfg = {.endpoints = endpoints, .request_timeout_usec = timeout};
        EtcdClient *c = NULL;

        ck_assert_int_eq(etcd_client_new(&c, event, &cfg), 0);
        return c;
}

static void client_setup(void) {
        ck_assert_int_eq(sd_event_new(&event), 0);
        client = new_client(etcd_launcher_endpoints(etcd), 5 * SEC);
}

static void client_teardown(void) {
        client = etcd_client_free(client);
        event = sd_event_unref(event);
}

static void put(EtcdClient *c, const char *key, const char *value, int64_t lease) {
        EtcdPutRequest q = {.key = key, .value = value, .lease = lease};

        ck_assert_int_eq(etcd_put_sync(c, &q, NULL), 0);
}

static int64_t current_revision(EtcdClient *c) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        EtcdRangeRequest q = {.key = "/", .count_only = true};

        ck_assert_int_eq(etcd_range_sync(c, &q, &resp), 0);
        return resp->revision;
}

START_TEST(test_put_get) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        _cleanup_free_ char *value = NULL;
        EtcdPutRequest q = {.key = "/t/pg/a", .value = "hello", .prev_kv = true};
        int64_t rev, mod;

        ck_assert_int_eq(etcd_put_sync(client, &q, &resp), 0);
        ck_assert_int_gt(resp->revision, 1);
        ck_assert_uint_eq(resp->kv.n_kvs, 0); /* no previous value */
        rev = resp->revision;
        resp = etcd_response_free(resp);

        ck_assert_int_eq(etcd_get_sync(client, "/t/pg/a", &value, &mod), 0);
        ck_assert_str_eq(value, "hello");
        ck_assert_int_eq(mod, rev);

        q.value = "world";
        ck_assert_int_eq(etcd_put_sync(client, &q, &resp), 0);
        ck_assert_uint_eq(resp->kv.n_kvs, 1);
        ck_assert_str_eq(resp->kv.kvs[0].value, "hello");
        ck_assert_int_eq(resp->kv.kvs[0].mod_revision, rev);
        ck_assert_int_eq(resp->kv.kvs[0].version, 1);

        /* An empty value is stored and read back as empty, not as absent. */
        put(client, "/t/pg/empty", "", 0);
        free(value);
        value = NULL;
        ck_assert_int_eq(etcd_get_sync(client, "/t/pg/empty", &value, NULL), 0);
        ck_assert_str_eq(value, "");
        ck_assert_int_eq(etcd_get_sync(client, "/t/pg/missing", NULL, NULL), -ENOENT);
}
END_TEST

START_TEST(test_range_options) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        EtcdRangeRequest q = {.key = "/t/ro/", .prefix = true};
        int64_t old_rev;

        put(client, "/t/ro/a", "1", 0);
        put(client, "/t/ro/b", "2", 0);
        put(client, "/t/ro/c", "3", 0);
        put(client, "/t/ro0", "outside", 0);
        old_rev = current_revision(client);
        put(client, "/t/ro/a", "changed", 0);

        ck_assert_int_eq(etcd_range_sync(client, &q, &resp), 0);
        ck_assert_uint_eq(resp->kv.n_kvs, 3);
        ck_assert_str_eq(resp->kv.kvs[0].key, "/t/ro/a");
        ck_assert_str_eq(resp->kv.kvs[0].value, "changed");
        ck_assert_str_eq(resp->kv.kvs[2].key, "/t/ro/c");
        ck_assert_int_eq(resp->kv.count, 3);
        ck_assert(!resp->kv.more);
        resp = etcd_response_free(resp);

        q.limit = 2;
        ck_assert_int_eq(etcd_range_sync(client, &q, &resp), 0);
        ck_assert_uint_eq(resp->kv.n_kvs, 2);
        ck_assert(resp->kv.more);
        ck_assert_int_eq(resp->kv.count, 3);
        resp = etcd_response_free(resp);

        q = (EtcdRangeRequest){.key = "/t/ro/", .prefix = true, .keys_only = true};
        ck_assert_int_eq(etcd_range_sync(client, &q, &resp), 0);
        ck_assert_uint_eq(resp->kv.n_kvs, 3);
        ck_assert_str_eq(resp->kv.kvs[1].key, "/t/ro/b");
        ck_assert_str_eq(resp->kv.kvs[1].value, "");
        resp = etcd_response_free(resp);

        q = (EtcdRangeRequest){.key = "/t/ro/", .prefix = true, .count_only = true};
        ck_assert_int_eq(etcd_range_sync(client, &q, &resp), 0);
        ck_assert_uint_eq(resp->kv.n_kvs, 0);
        ck_assert_int_eq(resp->kv.count, 3);
        resp = etcd_response_free(resp);

        /* Explicit range end, and an old revision. */
        q = (EtcdRangeRequest){.key = "/t/ro/a", .range_end = "/t/ro/c", .revision = old_rev};
        ck_assert_int_eq(etcd_range_sync(client, &q, &resp), 0);
        ck_assert_uint_eq(resp->kv.n_kvs, 2);
        ck_assert_str_eq(resp->kv.kvs[0].value, "1");
        resp = etcd_response_free(resp);

        /* from_key: everything >= key. */
        q = (EtcdRangeRequest){.key = "/t/ro/c", .from_key = true, .count_only = true};
        ck_assert_int_eq(etcd_range_sync(client, &q, &resp), 0);
        ck_assert_int_ge(resp->kv.count, 2);
        resp = etcd_response_free(resp);

        q = (EtcdRangeRequest){.key = "/t/ro/a", .serializable = true};
        ck_assert_int_eq(etcd_range_sync(client, &q, &resp), 0);
        ck_assert_uint_eq(resp->kv.n_kvs, 1);
}
END_TEST

START_TEST(test_range_all_paging) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        EtcdRangeRequest q = {.key = "/t/page/", .prefix = true};
        char key[64], val[16];

        for (int i = 0; i < 25; i++) {
                (void) snprintf(key, sizeof(key), "/t/page/k%02d", i);
                (void) snprintf(val, sizeof(val), "v%d", i);
                put(client, key, val, 0);
        }
        ck_assert_int_eq(etcd_range_all_sync(client, &q, 7, &resp), 0);
        ck_assert_uint_eq(resp->kv.n_kvs, 25);
        ck_assert_int_eq(resp->kv.count, 25);
        for (int i = 0; i < 25; i++) {
                (void) snprintf(key, sizeof(key), "/t/page/k%02d", i);
                (void) snprintf(val, sizeof(val), "v%d", i);
                ck_assert_str_eq(resp->kv.kvs[i].key, key);
                ck_assert_str_eq(resp->kv.kvs[i].value, val);
        }
        ck_assert_int_eq(resp->revision, current_revision(client));
        resp = etcd_response_free(resp);

        /* Exactly one page's worth, keys only. */
        q.keys_only = true;
        ck_assert_int_eq(etcd_range_all_sync(client, &q, 25, &resp), 0);
        ck_assert_uint_eq(resp->kv.n_kvs, 25);
        ck_assert_str_eq(resp->kv.kvs[24].value, "");
        resp = etcd_response_free(resp);

        /* Nothing there. */
        q = (EtcdRangeRequest){.key = "/t/page-none/", .prefix = true};
        ck_assert_int_eq(etcd_range_all_sync(client, &q, 3, &resp), 0);
        ck_assert_uint_eq(resp->kv.n_kvs, 0);
        resp = etcd_response_free(resp);

        q.limit = 3;
        ck_assert_int_eq(etcd_range_all_sync(client, &q, 3, &resp), -EINVAL);
}
END_TEST

/* Pages are read at the first page's revision: a write in between is not seen. */
typedef struct PagingRace {
        bool done;
        int error;
        size_t n;
        int64_t revision;
} PagingRace;

static void paging_race_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        PagingRace *p = userdata;

        p->done = true;
        p->error = error;
        if (resp) {
                p->n = resp->kv.n_kvs;
                p->revision = resp->revision;
        }
}

static void write_during_paging(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        ck_assert_int_eq(error, 0);
}

static bool paging_race_finished(void *userdata) {
        return ((PagingRace *) userdata)->done;
}

START_TEST(test_range_all_snapshot) {
        EtcdRangeRequest q = {.key = "/t/snap/", .prefix = true};
        EtcdPutRequest late = {.key = "/t/snap/zz", .value = "late"};
        PagingRace p = {};
        char key[64];
        int64_t rev;

        for (int i = 0; i < 10; i++) {
                (void) snprintf(key, sizeof(key), "/t/snap/k%02d", i);
                put(client, key, "x", 0);
        }
        rev = current_revision(client);
        ck_assert_int_eq(etcd_range_all(client, &q, 2, paging_race_done, &p, NULL), 0);
        ck_assert_int_eq(etcd_put(client, &late, write_during_paging, NULL, NULL), 0);
        ck_assert_int_eq(etcd_launcher_run_until(event, paging_race_finished, &p, 20 * SEC), 0);
        ck_assert_int_eq(p.error, 0);
        /* The put may land before the first page; then it is in the snapshot. */
        if (p.revision == rev)
                ck_assert_uint_eq(p.n, 10);
        else
                ck_assert_uint_eq(p.n, 11);
}
END_TEST

START_TEST(test_delete) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        EtcdDeleteRequest d = {.key = "/t/del/a", .prev_kv = true};

        put(client, "/t/del/a", "1", 0);
        put(client, "/t/del/b", "2", 0);
        put(client, "/t/del/c", "3", 0);
        ck_assert_int_eq(etcd_delete_sync(client, &d, &resp), 0);
        ck_assert_int_eq(resp->kv.count, 1);
        ck_assert_uint_eq(resp->kv.n_kvs, 1);
        ck_assert_str_eq(resp->kv.kvs[0].value, "1");
        resp = etcd_response_free(resp);

        /* Deleting what is not there is not an error: count 0. */
        ck_assert_int_eq(etcd_delete_sync(client, &d, &resp), 0);
        ck_assert_int_eq(resp->kv.count, 0);
        resp = etcd_response_free(resp);

        d = (EtcdDeleteRequest){.key = "/t/del/", .prefix = true};
        ck_assert_int_eq(etcd_delete_sync(client, &d, &resp), 0);
        ck_assert_int_eq(resp->kv.count, 2);
        ck_assert_uint_eq(resp->kv.n_kvs, 0);
        ck_assert_int_eq(etcd_get_sync(client, "/t/del/b", NULL, NULL), -ENOENT);
}
END_TEST

START_TEST(test_txn) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        EtcdCompare absent = {.key = "/t/txn/a",
                              .target = ETCD_COMPARE_CREATE,
                              .result = ETCD_CMP_EQUAL,
                              .number = 0};
        EtcdOp ops[] = {
                {.type = ETCD_OP_PUT, .put = {.key = "/t/txn/a", .value = "1"}},
                {.type = ETCD_OP_PUT, .put = {.key = "/t/txn/b", .value = "2"}},
                {.type = ETCD_OP_DELETE, .delete = {.key = "/t/txn/c", .prev_kv = true}},
        };
        EtcdOp failure[] = {{.type = ETCD_OP_RANGE, .range = {.key = "/t/txn/a"}}};
        EtcdTxnRequest t = {.compare = &absent,
                            .n_compare = 1,
                            .success = ops,
                            .n_success = ELEMENTSOF(ops),
                            .failure = failure,
                            .n_failure = 1};
        int64_t rev;

        put(client, "/t/txn/c", "gone", 0);
        ck_assert_int_eq(etcd_txn_sync(client, &t, &resp), 0);
        ck_assert(resp->txn.succeeded);
        ck_assert_uint_eq(resp->txn.n_results, 3);
        ck_assert_int_eq(resp->txn.results[0].type, ETCD_OP_PUT);
        ck_assert_int_eq(resp->txn.results[2].type, ETCD_OP_DELETE);
        ck_assert_int_eq(resp->txn.results[2].count, 1);
        ck_assert_str_eq(resp->txn.results[2].kvs[0].value, "gone");
        rev = resp->revision;
        ck_assert_int_eq(resp->txn.results[0].revision, rev);
        resp = etcd_response_free(resp);

        /* Second time the key exists: the failure branch runs. */
        ck_assert_int_eq(etcd_txn_sync(client, &t, &resp), 0);
        ck_assert(!resp->txn.succeeded);
        ck_assert_uint_eq(resp->txn.n_results, 1);
        ck_assert_int_eq(resp->txn.results[0].type, ETCD_OP_RANGE);
        ck_assert_str_eq(resp->txn.results[0].kvs[0].value, "1");
        ck_assert_int_eq(resp->txn.results[0].kvs[0].create_revision, rev);
        resp = etcd_response_free(resp);

        /* Every target and comparison. */
        struct {
                EtcdCompare cmp;
                bool expect;
        } cases[] = {
                {{.key = "/t/txn/a", .target = ETCD_COMPARE_VALUE, .value = "1"}, true},
                {{.key = "/t/txn/a", .target = ETCD_COMPARE_VALUE, .value = "2"}, false},
                {{.key = "/t/txn/a",
                  .target = ETCD_COMPARE_VALUE,
                  .result = ETCD_CMP_NOT_EQUAL,
                  .value = "2"},
                 true},
                {{.key = "/t/txn/a",
                  .target = ETCD_COMPARE_VALUE,
                  .result = ETCD_CMP_GREATER,
                  .value = "0"},
                 true},
                {{.key = "/t/txn/a",
                  .target = ETCD_COMPARE_VALUE,
                  .result = ETCD_CMP_LESS,
                  .value = "0"},
                 false},
                {{.key = "/t/txn/a", .target = ETCD_COMPARE_CREATE, .number = rev}, true},
                {{.key = "/t/txn/a",
                  .target = ETCD_COMPARE_MOD,
                  .result = ETCD_CMP_LESS,
                  .number = rev + 1},
                 true},
                {{.key = "/t/txn/a",
                  .target = ETCD_COMPARE_MOD,
                  .result = ETCD_CMP_GREATER,
                  .number = rev},
                 false},
                {{.key = "/t/txn/a", .target = ETCD_COMPARE_VERSION, .number = 1}, true},
                {{.key = "/t/txn/a",
                  .target = ETCD_COMPARE_VERSION,
                  .result = ETCD_CMP_NOT_EQUAL,
                  .number = 1},
                 false},
                {{.key = "/t/txn/a", .target = ETCD_COMPARE_LEASE, .number = 0}, true},
                {{.key = "/t/txn/",
                  .prefix = true,
                  .target = ETCD_COMPARE_VERSION,
                  .result = ETCD_CMP_GREATER,
                  .number = 0},
                 true},
                {{.key = "/t/txn/none", .target = ETCD_COMPARE_VERSION, .number = 0}, true},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                EtcdTxnRequest only = {.compare = &cases[i].cmp, .n_compare = 1};

                ck_assert_int_eq(etcd_txn_sync(client, &only, &resp), 0);
                ck_assert_msg(resp->txn.succeeded == cases[i].expect, "case %zu", i);
                ck_assert_uint_eq(resp->txn.n_results, 0);
                resp = etcd_response_free(resp);
        }

        /* etcd rejects a txn that writes one key twice: -EINVAL, nothing sent twice. */
        EtcdOp dup[] = {
                {.type = ETCD_OP_PUT, .put = {.key = "/t/txn/d", .value = "1"}},
                {.type = ETCD_OP_PUT, .put = {.key = "/t/txn/d", .value = "2"}},
        };
        t = (EtcdTxnRequest){.success = dup, .n_success = 2};
        ck_assert_int_eq(etcd_txn_sync(client, &t, NULL), -EINVAL);

        /* An invalid enum value is refused before sending. */
        EtcdCompare bad = {.key = "/t/txn/a", .target = 42};
        t = (EtcdTxnRequest){.compare = &bad, .n_compare = 1};
        ck_assert_int_eq(etcd_txn_sync(client, &t, NULL), -EINVAL);
}
END_TEST

/* Two clients race to create the same key: exactly one wins. */
typedef struct Racer {
        int done, won, lost;
} Racer;

static void race_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Racer *r = userdata;

        ck_assert_int_eq(error, 0);
        r->done++;
        if (resp->txn.succeeded)
                r->won++;
        else
                r->lost++;
}

static bool two_done(void *userdata) {
        return ((Racer *) userdata)->done == 2;
}

START_TEST(test_txn_create_race) {
        _cleanup_(etcd_client_freep) EtcdClient *other =
                new_client(etcd_launcher_endpoints(etcd), 5 * SEC);

        for (int round = 0; round < 10; round++) {
                char key[64];
                Racer r = {};

                (void) snprintf(key, sizeof(key), "/t/race/k%d", round);
                EtcdCompare absent = {.key = key, .target = ETCD_COMPARE_CREATE};
                EtcdOp op1 = {.type = ETCD_OP_PUT, .put = {.key = key, .value = "one"}};
                EtcdOp op2 = {.type = ETCD_OP_PUT, .put = {.key = key, .value = "two"}};
                EtcdTxnRequest t1 = {
                        .compare = &absent, .n_compare = 1, .success = &op1, .n_success = 1};
                EtcdTxnRequest t2 = {
                        .compare = &absent, .n_compare = 1, .success = &op2, .n_success = 1};

                ck_assert_int_eq(etcd_txn(client, &t1, race_done, &r, NULL), 0);
                ck_assert_int_eq(etcd_txn(other, &t2, race_done, &r, NULL), 0);
                ck_assert_int_eq(etcd_launcher_run_until(event, two_done, &r, 20 * SEC), 0);
                ck_assert_int_eq(r.won, 1);
                ck_assert_int_eq(r.lost, 1);
        }
}
END_TEST

/* Two clients increment one counter with compare-and-swap on mod_revision: no lost update. */
typedef struct Incrementer {
        EtcdClient *c;
        int remaining;
        int conflicts;
        int64_t mod;
        long value;
} Incrementer;

static void inc_step(Incrementer *inc);

static void inc_read_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Incrementer *inc = userdata;

        ck_assert_int_eq(error, 0);
        ck_assert_uint_eq(resp->kv.n_kvs, 1);
        inc->mod = resp->kv.kvs[0].mod_revision;
        inc->value = strtol(resp->kv.kvs[0].value, NULL, 10);
        inc_step(inc);
}

static void inc_txn_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Incrementer *inc = userdata;
        EtcdRangeRequest q = {.key = "/t/cas/counter"};

        ck_assert_int_eq(error, 0);
        if (resp->txn.succeeded)
                inc->remaining--;
        else
                inc->conflicts++;
        if (inc->remaining > 0)
                ck_assert_int_eq(etcd_range(inc->c, &q, inc_read_done, inc, NULL), 0);
}

static void inc_step(Incrementer *inc) {
        char v[32];

        (void) snprintf(v, sizeof(v), "%ld", inc->value + 1);
        EtcdCompare cmp = {.key = "/t/cas/counter", .target = ETCD_COMPARE_MOD, .number = inc->mod};
        EtcdOp op = {.type = ETCD_OP_PUT, .put = {.key = "/t/cas/counter", .value = v}};
        EtcdTxnRequest t = {.compare = &cmp, .n_compare = 1, .success = &op, .n_success = 1};

        ck_assert_int_eq(etcd_txn(inc->c, &t, inc_txn_done, inc, NULL), 0);
}

static bool incs_done(void *userdata) {
        Incrementer *i = userdata;
        return i[0].remaining == 0 && i[1].remaining == 0;
}

START_TEST(test_txn_cas_race) {
        _cleanup_(etcd_client_freep) EtcdClient *other =
                new_client(etcd_launcher_endpoints(etcd), 5 * SEC);
        _cleanup_free_ char *value = NULL;
        Incrementer inc[2] = {{.c = client, .remaining = 20}, {.c = other, .remaining = 20}};
        EtcdRangeRequest q = {.key = "/t/cas/counter"};

        put(client, "/t/cas/counter", "0", 0);
        for (int i = 0; i < 2; i++)
                ck_assert_int_eq(etcd_range(inc[i].c, &q, inc_read_done, &inc[i], NULL), 0);
        ck_assert_int_eq(etcd_launcher_run_until(event, incs_done, inc, 60 * SEC), 0);
        ck_assert_int_eq(etcd_get_sync(client, "/t/cas/counter", &value, NULL), 0);
        ck_assert_str_eq(value, "40");
}
END_TEST

START_TEST(test_lease) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        int64_t id;

        ck_assert_int_eq(etcd_lease_grant_sync(client, 30, 0, &resp), 0);
        id = resp->lease.id;
        ck_assert_int_ne(id, 0);
        ck_assert_int_eq(resp->lease.ttl, 30);
        resp = etcd_response_free(resp);

        put(client, "/t/lease/a", "1", id);
        put(client, "/t/lease/b", "2", id);
        ck_assert_int_eq(etcd_lease_keepalive_sync(client, id, &resp), 0);
        ck_assert_int_eq(resp->lease.id, id);
        ck_assert_int_eq(resp->lease.ttl, 30);
        resp = etcd_response_free(resp);

        ck_assert_int_eq(etcd_lease_timetolive_sync(client, id, true, &resp), 0);
        ck_assert_int_eq(resp->lease.granted_ttl, 30);
        ck_assert_int_le(resp->lease.ttl, 30);
        ck_assert_int_gt(resp->lease.ttl, 0);
        ck_assert_uint_eq(strv_length(resp->lease.keys), 2);
        ck_assert(strv_contains(resp->lease.keys, "/t/lease/a"));
        ck_assert(strv_contains(resp->lease.keys, "/t/lease/b"));
        resp = etcd_response_free(resp);

        ck_assert_int_eq(etcd_get_sync(client, "/t/lease/a", NULL, NULL), 0);
        ck_assert_int_eq(etcd_lease_revoke_sync(client, id, &resp), 0);
        ck_assert_int_gt(resp->revision, 0);
        resp = etcd_response_free(resp);
        ck_assert_int_eq(etcd_get_sync(client, "/t/lease/a", NULL, NULL), -ENOENT);
        ck_assert_int_eq(etcd_get_sync(client, "/t/lease/b", NULL, NULL), -ENOENT);

        /* Gone: every lease call says so. */
        ck_assert_int_eq(etcd_lease_keepalive_sync(client, id, NULL), -ENOENT);
        ck_assert_int_eq(etcd_lease_timetolive_sync(client, id, false, NULL), -ENOENT);
        ck_assert_int_eq(etcd_lease_revoke_sync(client, id, NULL), -ENOENT);
        EtcdPutRequest q = {.key = "/t/lease/c", .value = "x", .lease = id};
        ck_assert_int_eq(etcd_put_sync(client, &q, NULL), -ENOENT);

        /* A chosen ID; granting it twice fails. */
        ck_assert_int_eq(etcd_lease_grant_sync(client, 10, 0x1234abcd, &resp), 0);
        ck_assert_int_eq(resp->lease.id, 0x1234abcd);
        ck_assert_int_lt(etcd_lease_grant_sync(client, 10, 0x1234abcd, NULL), 0);
        ck_assert_int_eq(etcd_lease_grant_sync(client, 0, 0, NULL), -EINVAL);
}
END_TEST

/* A key attached to a short lease disappears when the lease expires. */
typedef struct Expiry {
        bool deleted;
} Expiry;

static void expiry_watch(EtcdWatch *w, int error, const EtcdWatchMessage *m, void *userdata) {
        Expiry *e = userdata;

        ck_assert_int_eq(error, 0);
        for (size_t i = 0; i < m->n_events; i++)
                if (m->events[i].type == ETCD_EVENT_DELETE &&
                    streq(m->events[i].kv.key, "/t/expire/a"))
                        e->deleted = true;
}

static bool expired(void *userdata) {
        return ((Expiry *) userdata)->deleted;
}

typedef struct KeepaliveResult {
        bool done;
        int error;
        int64_t ttl;
} KeepaliveResult;

static void keepalive_result(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        KeepaliveResult *k = userdata;

        k->done = true;
        k->error = error;
        k->ttl = error >= 0 ? resp->lease.ttl : 0;
}

static bool both_done(void *userdata) {
        KeepaliveResult *k = userdata;

        return k[0].done && k[1].done;
}

static int on_resume(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) kill(etcd_launcher_pid(etcd, 0), SIGCONT);
        return 0;
}

/*
 * etcd stalls (SIGSTOP) for longer than the client's request timeout: a keepalive with the
 * client's timeout fails, one with a timeout of its own (etcd_lease_keepalive_timeout(), what
 * an own-lease engine sends with TTL/3) waits and renews the lease when etcd answers again.
 */
START_TEST(test_lease_keepalive_timeout) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        _cleanup_(sd_event_source_unrefp) sd_event_source *resume = NULL;
        EtcdClient *c = new_client(etcd_launcher_endpoints(etcd), 300 * MSEC);
        KeepaliveResult k[2] = {};
        int64_t id;
        int r;

        ck_assert_int_eq(etcd_lease_grant_sync(client, 30, 0, &resp), 0);
        id = resp->lease.id;
        /* Warm the keepalive connection: the stall below must hit the answer, not connect. */
        ck_assert_int_eq(etcd_lease_keepalive_sync(c, id, NULL), 0);
        ck_assert_int_eq(kill(etcd_launcher_pid(etcd, 0), SIGSTOP), 0);
        ck_assert_int_eq(sd_event_add_time_relative(event, &resume, CLOCK_MONOTONIC, 2 * SEC, 0,
                                                    on_resume, NULL),
                         0);
        ck_assert_int_eq(etcd_lease_keepalive(c, id, keepalive_result, &k[0], NULL), 0);
        ck_assert_int_eq(
                etcd_lease_keepalive_timeout(c, id, 10 * SEC, keepalive_result, &k[1], NULL), 0);
        r = etcd_launcher_run_until(event, both_done, k, 20 * SEC);
        (void) kill(etcd_launcher_pid(etcd, 0), SIGCONT); /* in case the timer did not run */
        ck_assert_int_eq(r, 0);
        ck_assert_msg(k[0].error < 0,
                      "a keepalive with the client's 300 ms timeout succeeded during a 2 s stall");
        ck_assert_int_eq(k[1].error, 0);
        ck_assert_int_eq(k[1].ttl, 30);
        /* After the stall, the client's own timeout serves again. */
        ck_assert_int_eq(etcd_lease_keepalive_sync(c, id, NULL), 0);
        ck_assert_int_eq(etcd_lease_revoke_sync(client, id, NULL), 0);
        etcd_client_free(c);
}
END_TEST

START_TEST(test_lease_expiry) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        _cleanup_(etcd_watch_freep) EtcdWatch *w = NULL;
        EtcdWatchRequest wq = {.key = "/t/expire/", .prefix = true};
        Expiry e = {};

        ck_assert_int_eq(etcd_lease_grant_sync(client, 2, 0, &resp), 0);
        put(client, "/t/expire/a", "1", resp->lease.id);
        wq.start_revision = current_revision(client); /* the deletion comes after this */
        ck_assert_int_eq(etcd_watch_new(client, &wq, NULL, expiry_watch, &e, &w), 0);
        ck_assert_int_eq(etcd_launcher_run_until(event, expired, &e, 30 * SEC), 0);
        ck_assert_int_eq(etcd_get_sync(client, "/t/expire/a", NULL, NULL), -ENOENT);
        ck_assert_int_eq(etcd_lease_keepalive_sync(client, resp->lease.id, NULL), -ENOENT);
}
END_TEST

START_TEST(test_errors) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        EtcdRangeRequest future = {.key = "/t/err", .revision = 1000000};
        char *ftp[] = {(char *) "ftp://127.0.0.1:1", NULL};
        EtcdClientConfig bad = {.endpoints = ftp};
        EtcdClient *c = NULL;

        ck_assert_int_eq(etcd_range_sync(client, &future, NULL), -ERANGE);
        ck_assert_int_eq(etcd_client_new(&c, event, &bad), -EINVAL);
        ck_assert_ptr_null(c);

        EtcdPutRequest nokey = {.value = "x"};
        ck_assert_int_eq(etcd_put_sync(client, &nokey, NULL), -EINVAL);

        /* Compacted history. */
        put(client, "/t/err/k", "1", 0);
        int64_t old = current_revision(client);
        put(client, "/t/err/k", "2", 0);
        ck_assert_int_eq(etcd_compact_sync(client, current_revision(client), true, &resp), 0);
        EtcdRangeRequest q = {.key = "/t/err/k", .revision = old};
        ck_assert_int_eq(etcd_range_sync(client, &q, NULL), -ERANGE);
        ck_assert_int_eq(etcd_compact_sync(client, old, false, NULL), -ERANGE);
}
END_TEST

/* A port that nothing listens on, and one that listens but never answers. */
static int closed_port(void) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &a, &len), 0);
        (void) close(fd);
        return ntohs(a.sin_port);
}

static int silent_listener(int *ret_port) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        ck_assert_int_eq(listen(fd, 16), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &a, &len), 0);
        *ret_port = ntohs(a.sin_port);
        return fd;
}

START_TEST(test_transport_errors) {
        char url[64];
        int port;

        (void) snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
        char *refused[] = {url, NULL};
        _cleanup_(etcd_client_freep) EtcdClient *c1 = new_client(refused, 1 * SEC);
        ck_assert_int_eq(etcd_get_sync(c1, "/x", NULL, NULL), -ECONNREFUSED);
        ck_assert_uint_eq(etcd_client_get_stats(c1)->ops[ETCD_REQUEST_RANGE].errors, 1);

        _cleanup_close_ int lfd = silent_listener(&port);
        (void) snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
        char *silent[] = {url, NULL};
        _cleanup_(etcd_client_freep) EtcdClient *c2 = new_client(silent, 300000);
        ck_assert_int_eq(etcd_get_sync(c2, "/x", NULL, NULL), -ETIMEDOUT);
        ck_assert_int_ge(lfd, 0); /* kept open (and silent) until here */
}
END_TEST

START_TEST(test_failover) {
        char dead[64], silent_url[64];
        int port;
        _cleanup_close_ int lfd = silent_listener(&port);

        (void) snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", closed_port());
        (void) snprintf(silent_url, sizeof(silent_url), "http://127.0.0.1:%d", port);
        char *endpoints[] = {dead, silent_url, (char *) etcd_launcher_endpoint(etcd, 0), NULL};
        _cleanup_(etcd_client_freep) EtcdClient *c = new_client(endpoints, 300000);
        const EtcdStats *st = etcd_client_get_stats(c);

        ck_assert_int_ge(lfd, 0);
        put(c, "/t/failover/a", "1", 0);
        ck_assert_str_eq(etcd_client_get_endpoint(c), etcd_launcher_endpoint(etcd, 0));
        ck_assert_uint_eq(st->failovers, 2);
        ck_assert_uint_eq(st->ops[ETCD_REQUEST_PUT].attempts, 3);
        ck_assert_uint_eq(st->ops[ETCD_REQUEST_PUT].requests, 1);
        ck_assert_uint_eq(st->ops[ETCD_REQUEST_PUT].errors, 0);

        /* The client stays on the working endpoint. */
        ck_assert_int_eq(etcd_get_sync(c, "/t/failover/a", NULL, NULL), 0);
        ck_assert_uint_eq(st->failovers, 2);
        ck_assert_uint_eq(st->ops[ETCD_REQUEST_RANGE].attempts, 1);

        /* A txn that timed out after being sent is not retried elsewhere (outcome unknown). */
        char *silent_first[] = {silent_url, (char *) etcd_launcher_endpoint(etcd, 0), NULL};
        _cleanup_(etcd_client_freep) EtcdClient *c2 = new_client(silent_first, 300000);
        EtcdOp op = {.type = ETCD_OP_PUT, .put = {.key = "/t/failover/b", .value = "1"}};
        EtcdTxnRequest t = {.success = &op, .n_success = 1};
        ck_assert_int_eq(etcd_txn_sync(c2, &t, NULL), -ETIMEDOUT);
        /* ... but the client moved on, so the next one works. */
        ck_assert_int_eq(etcd_txn_sync(c2, &t, NULL), 0);
}
END_TEST

/* Async: several requests in flight, cancellation, stats. */
typedef struct Counter {
        int done;
        int cancelled_called;
} Counter;

static void count_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        ck_assert_int_eq(error, 0);
        ((Counter *) userdata)->done++;
}

static void must_not_run(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        ((Counter *) userdata)->cancelled_called++;
}

static bool ten_done(void *userdata) {
        return ((Counter *) userdata)->done == 10;
}

static int destroyed;
static void on_destroy(void *userdata) {
        destroyed++;
}

START_TEST(test_async_many_and_cancel) {
        Counter n = {};
        EtcdCall *cancel_me = NULL;
        char key[64];
        const EtcdStats *st = etcd_client_get_stats(client);

        for (int i = 0; i < 10; i++) {
                EtcdPutRequest q = {.key = key, .value = "v"};
                EtcdCall *call = NULL;

                (void) snprintf(key, sizeof(key), "/t/async/k%d", i);
                ck_assert_int_eq(etcd_put(client, &q, count_done, &n, &call), 0);
                etcd_call_set_destroy(call, on_destroy);
        }
        EtcdRangeRequest q = {.key = "/t/async/", .prefix = true};
        ck_assert_int_eq(etcd_range(client, &q, must_not_run, &n, &cancel_me), 0);
        etcd_call_set_destroy(cancel_me, on_destroy);
        etcd_call_cancel(cancel_me);
        ck_assert_int_eq(destroyed, 1);
        ck_assert_int_eq(etcd_launcher_run_until(event, ten_done, &n, 20 * SEC), 0);
        ck_assert_int_eq(n.cancelled_called, 0);
        ck_assert_int_eq(destroyed, 11);
        ck_assert_uint_eq(st->ops[ETCD_REQUEST_PUT].requests, 10);
        ck_assert_uint_ge(st->ops[ETCD_REQUEST_PUT].latency_usec_sum,
                          st->ops[ETCD_REQUEST_PUT].latency_usec_max);
        ck_assert_str_eq(etcd_request_type_to_string(ETCD_REQUEST_LEASE_KEEPALIVE),
                         "lease_keepalive");

        /* Freeing the client with requests in flight calls no callback. */
        ck_assert_int_eq(etcd_range(client, &q, must_not_run, &n, NULL), 0);
        client = etcd_client_free(client);
        ck_assert_int_eq(n.cancelled_called, 0);
}
END_TEST

static Suite *etcd_suite(void) {
        Suite *s = suite_create("etcd");
        TCase *tc = tcase_create("client");

        tcase_add_unchecked_fixture(tc, shared_setup, shared_teardown);
        tcase_add_checked_fixture(tc, client_setup, client_teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_put_get);
        tcase_add_test(tc, test_range_options);
        tcase_add_test(tc, test_range_all_paging);
        tcase_add_test(tc, test_range_all_snapshot);
        tcase_add_test(tc, test_delete);
        tcase_add_test(tc, test_txn);
        tcase_add_test(tc, test_txn_create_race);
        tcase_add_test(tc, test_txn_cas_race);
        tcase_add_test(tc, test_lease);
        tcase_add_test(tc, test_lease_keepalive_timeout);
        tcase_add_test(tc, test_lease_expiry);
        tcase_add_test(tc, test_errors);
        tcase_add_test(tc, test_transport_errors);
        tcase_add_test(tc, test_failover);
        tcase_add_test(tc, test_async_many_and_cancel);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(etcd_suite)
