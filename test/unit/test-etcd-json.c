/* SPDX-License-Identifier: MIT */
/* etcd gateway JSON: responses captured from a real etcd 3.4 (test/fixtures/etcd/, see
 * capture.sh there), hand-made edge cases, truncations, and the request encoders. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "etcd-json.h"
#include "strv.h"
#include "test-util.h"

#define FIXTURES "test/fixtures/etcd/"

static char *fixture(const char *name, size_t *ret_size) {
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char *buf;
        long n;

        ck_assert_int_ge(asprintf(&path, FIXTURES "%s", name), 0);
        f = fopen(path, "re");
        ck_assert_msg(f != NULL, "cannot open %s (run from the source root)", path);
        ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        rewind(f);
        buf = malloc((size_t) n + 1);
        ck_assert_ptr_nonnull(buf);
        ck_assert_uint_eq(fread(buf, 1, (size_t) n, f), (size_t) n);
        buf[n] = 0;
        *ret_size = (size_t) n;
        return buf;
}

/* Line number `line` (0-based) of a newline-delimited stream fixture. */
static char *fixture_line(const char *name, unsigned line, size_t *ret_size) {
        size_t n;
        _cleanup_free_ char *all = fixture(name, &n);
        char *p = all, *nl;

        for (unsigned i = 0; i < line; i++) {
                p = strchr(p, '\n');
                ck_assert_ptr_nonnull(p);
                p++;
        }
        nl = strchr(p, '\n');
        *ret_size = nl ? (size_t) (nl - p) : strlen(p);
        return strndup(p, *ret_size);
}

/* ---- base64 --------------------------------------------------------------------------------- */

START_TEST(test_base64_vectors) {
        static const struct {
                const char *plain, *b64;
        } v[] = {
                {"", ""},
                {"f", "Zg=="},
                {"fo", "Zm8="},
                {"foo", "Zm9v"},
                {"foob", "Zm9vYg=="},
                {"fooba", "Zm9vYmE="},
                {"foobar", "Zm9vYmFy"},
                {"/p/a", "L3AvYQ=="},
        };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                _cleanup_free_ char *e = NULL, *d = NULL;
                size_t n;

                ck_assert_int_eq(etcd_base64_encode(v[i].plain, strlen(v[i].plain), &e), 0);
                ck_assert_str_eq(e, v[i].b64);
                ck_assert_int_eq(etcd_base64_decode(v[i].b64, strlen(v[i].b64), &d, &n), 0);
                ck_assert_uint_eq(n, strlen(v[i].plain));
                ck_assert_str_eq(d, v[i].plain);
        }
}
END_TEST

START_TEST(test_base64_round_trip) {
        uint8_t data[300];

        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t) (i * 37 + 11);
        for (size_t len = 0; len <= sizeof(data); len += (len < 20 ? 1 : 17)) {
                _cleanup_free_ char *e = NULL, *d = NULL;
                size_t n;

                ck_assert_int_eq(etcd_base64_encode(data, len, &e), 0);
                ck_assert_uint_eq(strlen(e), (len + 2) / 3 * 4);
                ck_assert_int_eq(etcd_base64_decode(e, strlen(e), &d, &n), 0);
                ck_assert_uint_eq(n, len);
                ck_assert(memcmp(d, data, len) == 0);
                ck_assert_int_eq(d[n], 0);
        }
}
END_TEST

START_TEST(test_base64_invalid) {
        char *d = NULL;
        size_t n = 0;

        ck_assert_int_eq(etcd_base64_decode("Zm9v!", 5, &d, &n), -EBADMSG);
        ck_assert_int_eq(etcd_base64_decode("Z", 1, &d, &n), -EBADMSG);
        ck_assert_int_eq(etcd_base64_decode("Zm9v\n", 5, &d, &n), -EBADMSG);
        ck_assert_int_eq(etcd_base64_decode("Zg===", 5, &d, &n), -EBADMSG);
        ck_assert_ptr_null(d);
        ck_assert_uint_eq(n, 0);
        /* Missing padding is tolerated; an embedded NUL is kept. */
        ck_assert_int_eq(etcd_base64_decode("Zm8", 3, &d, &n), 0);
        ck_assert_str_eq(d, "fo");
        free(d);
        ck_assert_int_eq(etcd_base64_decode("AGE=", 4, &d, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert(d[0] == 0 && d[1] == 'a');
        free(d);
}
END_TEST

START_TEST(test_prefix_range_end) {
        static const struct {
                const char *prefix, *end;
                size_t size;
        } v[] = {
                {"/p/", "/p0", 3},     {"a\xff", "b", 1},
                {"a\xff\xff", "b", 1}, {"", "", 1},
                {"\xff\xff", "", 1},   {"/_coreos.com/fleet/", "/_coreos.com/fleet0", 19},
        };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                _cleanup_free_ char *end = NULL;
                size_t n;

                ck_assert_int_eq(etcd_prefix_range_end(v[i].prefix, &end, &n), 0);
                ck_assert_uint_eq(n, v[i].size);
                ck_assert(memcmp(end, v[i].end, n) == 0);
        }
}
END_TEST

/* ---- errors --------------------------------------------------------------------------------- */

START_TEST(test_grpc_codes) {
        ck_assert_int_eq(etcd_json_grpc_code_to_errno(5), -ENOENT);
        ck_assert_int_eq(etcd_json_grpc_code_to_errno(9), -ESTALE);
        ck_assert_int_eq(etcd_json_grpc_code_to_errno(11), -ERANGE);
        ck_assert_int_eq(etcd_json_grpc_code_to_errno(3), -EINVAL);
        ck_assert_int_eq(etcd_json_grpc_code_to_errno(14), -EAGAIN);
        ck_assert_int_eq(etcd_json_grpc_code_to_errno(16), -EACCES);
        ck_assert_int_eq(etcd_json_grpc_code_to_errno(2), -EIO);
        ck_assert_int_eq(etcd_json_grpc_code_to_errno(999), -EIO);
}
END_TEST

START_TEST(test_error_objects) {
        static const struct {
                const char *file;
                int error;
        } v[] = {
                {"range-future.json", -ERANGE},
                {"range-compacted.json", -ERANGE},
                {"lease-revoke-missing.json", -ENOENT},
                {"txn-duplicate-key.json", -EINVAL},
                {"range-bad-json.json", -EINVAL},
                {"auth-invalid-token.json", -EACCES},
                {"auth-bad-password.json", -EINVAL},
                {"auth-no-user.json", -EINVAL},
                {"range-prefix.json", 0},
        };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                size_t n;
                _cleanup_free_ char *t = fixture(v[i].file, &n);
                _cleanup_free_ char *msg = NULL;
                EtcdResult r = {};

                ck_assert_int_eq(etcd_json_decode_error(t, n, &msg), v[i].error);
                if (v[i].error < 0) {
                        ck_assert_ptr_nonnull(msg);
                        ck_assert(strstr(msg, "etcdserver") || strstr(msg, "invalid"));
                        /* Every decoder reports the error object as its errno. */
                        ck_assert_int_eq(etcd_json_decode_range(t, n, &r), v[i].error);
                        ck_assert_int_eq(etcd_json_decode_txn(t, n, &(EtcdTxnResult){}),
                                         v[i].error);
                        ck_assert_int_eq(etcd_json_decode_header_only(t, n, NULL), v[i].error);
                }
        }
        /* The stream form of an error. */
        const char *stream = "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":"
                             "\"etcdserver: no leader\",\"http_status\":\"Service Unavailable\"}}";
        _cleanup_free_ char *m = NULL;
        ck_assert_int_eq(etcd_json_decode_error(stream, strlen(stream), &m), -EAGAIN);
        ck_assert_str_eq(m, "etcdserver: no leader");
        ck_assert_int_eq(
                etcd_json_decode_watch_message(stream, strlen(stream), &(EtcdWatchMessage){}),
                -EAGAIN);
        ck_assert_int_eq(etcd_json_decode_error("[1]", 3, NULL), -EBADMSG);
        ck_assert_int_eq(etcd_json_decode_error("nope", 4, NULL), -EBADMSG);
        ck_assert_int_eq(etcd_json_decode_error("{\"error\":\"x\"}", 13, NULL), -EIO);
        ck_assert_int_eq(etcd_json_decode_error("{\"error\":\"\"}", 12, NULL), 0);
}
END_TEST

/* ---- unary responses ------------------------------------------------------------------------ */

START_TEST(test_decode_range) {
        size_t n;
        _cleanup_free_ char *t = fixture("range-prefix.json", &n);
        EtcdResult r = {};

        ck_assert_int_eq(etcd_json_decode_range(t, n, &r), 0);
        ck_assert_int_eq(r.type, ETCD_OP_RANGE);
        ck_assert_int_eq(r.revision, 5);
        ck_assert_uint_eq(r.n_kvs, 3);
        ck_assert_int_eq(r.count, 3);
        ck_assert(!r.more);
        ck_assert_str_eq(r.kvs[0].key, "/p/a");
        ck_assert_str_eq(r.kvs[0].value, "hello");
        ck_assert_uint_eq(r.kvs[0].value_size, 5);
        ck_assert_int_eq(r.kvs[0].create_revision, 2);
        ck_assert_int_eq(r.kvs[1].mod_revision, 4);
        ck_assert_int_eq(r.kvs[1].version, 2);
        ck_assert_str_eq(r.kvs[1].value, "world2");
        /* An empty value is omitted by the gateway: decoded as "". */
        ck_assert_str_eq(r.kvs[2].key, "/p/e");
        ck_assert_str_eq(r.kvs[2].value, "");
        ck_assert_uint_eq(r.kvs[2].value_size, 0);
        ck_assert_int_eq(r.kvs[2].lease, 0);
        etcd_result_done(&r);
        ck_assert_ptr_null(r.kvs);
}
END_TEST

START_TEST(test_decode_range_variants) {
        size_t n;
        EtcdResult r = {};
        char *t;

        t = fixture("range-limit.json", &n);
        ck_assert_int_eq(etcd_json_decode_range(t, n, &r), 0);
        ck_assert_uint_eq(r.n_kvs, 1);
        ck_assert(r.more);
        ck_assert_int_eq(r.count, 3);
        etcd_result_done(&r);
        free(t);

        t = fixture("range-keys-only.json", &n);
        ck_assert_int_eq(etcd_json_decode_range(t, n, &r), 0);
        ck_assert_uint_eq(r.n_kvs, 3);
        ck_assert_str_eq(r.kvs[1].key, "/p/b");
        ck_assert_str_eq(r.kvs[1].value, "");
        etcd_result_done(&r);
        free(t);

        t = fixture("range-count-only.json", &n);
        ck_assert_int_eq(etcd_json_decode_range(t, n, &r), 0);
        ck_assert_uint_eq(r.n_kvs, 0);
        ck_assert_ptr_null(r.kvs);
        ck_assert_int_eq(r.count, 3);
        etcd_result_done(&r);
        free(t);

        t = fixture("range-missing.json", &n);
        ck_assert_int_eq(etcd_json_decode_range(t, n, &r), 0);
        ck_assert_uint_eq(r.n_kvs, 0);
        ck_assert_int_eq(r.count, 0);
        ck_assert_int_eq(r.revision, 5);
        etcd_result_done(&r);
        free(t);
}
END_TEST

START_TEST(test_decode_put_delete) {
        size_t n;
        EtcdResult r = {};
        char *t;

        t = fixture("put-plain.json", &n);
        ck_assert_int_eq(etcd_json_decode_put(t, n, &r), 0);
        ck_assert_int_eq(r.type, ETCD_OP_PUT);
        ck_assert_int_eq(r.revision, 2);
        ck_assert_uint_eq(r.n_kvs, 0);
        etcd_result_done(&r);
        free(t);

        t = fixture("put-prev.json", &n);
        ck_assert_int_eq(etcd_json_decode_put(t, n, &r), 0);
        ck_assert_uint_eq(r.n_kvs, 1);
        ck_assert_str_eq(r.kvs[0].key, "/p/b");
        ck_assert_str_eq(r.kvs[0].value, "world");
        ck_assert_int_eq(r.kvs[0].mod_revision, 3);
        etcd_result_done(&r);
        free(t);

        t = fixture("delete-one.json", &n);
        ck_assert_int_eq(etcd_json_decode_delete(t, n, &r), 0);
        ck_assert_int_eq(r.type, ETCD_OP_DELETE);
        ck_assert_int_eq(r.count, 1);
        ck_assert_int_eq(r.revision, 9);
        etcd_result_done(&r);
        free(t);

        t = fixture("delete-none.json", &n);
        ck_assert_int_eq(etcd_json_decode_delete(t, n, &r), 0);
        ck_assert_int_eq(r.count, 0);
        etcd_result_done(&r);
        free(t);

        int64_t rev = 0;
        t = fixture("compact.json", &n);
        ck_assert_int_eq(etcd_json_decode_header_only(t, n, &rev), 0);
        ck_assert_int_eq(rev, 12);
        free(t);
}
END_TEST

START_TEST(test_decode_txn) {
        size_t n;
        EtcdTxnResult x = {};
        char *t;

        t = fixture("txn-succeeded.json", &n);
        ck_assert_int_eq(etcd_json_decode_txn(t, n, &x), 0);
        ck_assert(x.succeeded);
        ck_assert_int_eq(x.revision, 8);
        ck_assert_uint_eq(x.n_results, 3);
        ck_assert_int_eq(x.results[0].type, ETCD_OP_PUT);
        ck_assert_int_eq(x.results[0].revision, 8);
        ck_assert_int_eq(x.results[1].type, ETCD_OP_DELETE);
        ck_assert_int_eq(x.results[1].count, 1);
        ck_assert_uint_eq(x.results[1].n_kvs, 1);
        ck_assert_str_eq(x.results[1].kvs[0].key, "/p/e");
        ck_assert_int_eq(x.results[2].type, ETCD_OP_RANGE);
        ck_assert_str_eq(x.results[2].kvs[0].value, "new");
        etcd_txn_result_done(&x);
        free(t);

        t = fixture("txn-failed.json", &n);
        ck_assert_int_eq(etcd_json_decode_txn(t, n, &x), 0);
        ck_assert(!x.succeeded);
        ck_assert_uint_eq(x.n_results, 1);
        ck_assert_int_eq(x.results[0].type, ETCD_OP_RANGE);
        ck_assert_str_eq(x.results[0].kvs[0].value, "hello");
        ck_assert_int_eq(x.results[0].count, 1);
        etcd_txn_result_done(&x);
        free(t);

        t = fixture("txn-failed-delete-none.json", &n);
        ck_assert_int_eq(etcd_json_decode_txn(t, n, &x), 0);
        ck_assert(!x.succeeded);
        ck_assert_uint_eq(x.n_results, 1);
        ck_assert_int_eq(x.results[0].type, ETCD_OP_DELETE);
        ck_assert_int_eq(x.results[0].count, 0);
        etcd_txn_result_done(&x);
        free(t);

        /* No responses at all (empty branches). */
        const char *empty = "{\"header\":{\"revision\":\"3\"},\"succeeded\":true}";
        ck_assert_int_eq(etcd_json_decode_txn(empty, strlen(empty), &x), 0);
        ck_assert(x.succeeded);
        ck_assert_uint_eq(x.n_results, 0);
        etcd_txn_result_done(&x);
        const char *nested = "{\"header\":{},\"responses\":[{\"response_txn\":{}}]}";
        ck_assert_int_eq(etcd_json_decode_txn(nested, strlen(nested), &x), -EBADMSG);
}
END_TEST

START_TEST(test_decode_leases) {
        size_t n;
        EtcdLeaseInfo l = {};
        char *t;

        t = fixture("lease-grant.json", &n);
        ck_assert_int_eq(etcd_json_decode_lease_grant(t, n, &l), 0);
        ck_assert_int_eq(l.id, 4111120269225689872LL);
        ck_assert_int_eq(l.ttl, 30);
        ck_assert_int_eq(l.revision, 5);
        etcd_lease_info_done(&l);
        free(t);

        t = fixture("lease-keepalive.json", &n);
        ck_assert_int_eq(etcd_json_decode_lease_keepalive(t, n, &l), 0);
        ck_assert_int_eq(l.id, 4111120269225689872LL);
        ck_assert_int_eq(l.ttl, 30);
        etcd_lease_info_done(&l);
        free(t);

        t = fixture("lease-keepalive-missing.json", &n);
        ck_assert_int_eq(etcd_json_decode_lease_keepalive(t, n, &l), -ENOENT);
        free(t);

        t = fixture("lease-timetolive.json", &n);
        ck_assert_int_eq(etcd_json_decode_lease_timetolive(t, n, &l), 0);
        ck_assert_int_eq(l.ttl, 29);
        ck_assert_int_eq(l.granted_ttl, 30);
        ck_assert_uint_eq(strv_length(l.keys), 1);
        ck_assert_str_eq(l.keys[0], "/p/l");
        etcd_lease_info_done(&l);
        free(t);

        t = fixture("lease-timetolive-missing.json", &n);
        ck_assert_int_eq(etcd_json_decode_lease_timetolive(t, n, &l), -ENOENT);
        free(t);

        t = fixture("lease-revoke.json", &n);
        ck_assert_int_eq(etcd_json_decode_header_only(t, n, NULL), 0);
        free(t);

        t = fixture("lease-revoke-missing.json", &n);
        ck_assert_int_eq(etcd_json_decode_header_only(t, n, NULL), -ENOENT);
        free(t);

        /* The grant's own "error" field. */
        const char *e = "{\"header\":{\"revision\":\"1\"},\"ID\":\"5\",\"TTL\":\"5\","
                        "\"error\":\"lease already exists\"}";
        ck_assert_int_eq(etcd_json_decode_lease_grant(e, strlen(e), &l), -EIO);
        const char *zero = "{\"header\":{\"revision\":\"1\"}}";
        ck_assert_int_eq(etcd_json_decode_lease_grant(zero, strlen(zero), &l), -EBADMSG);
        ck_assert_int_eq(etcd_json_decode_lease_keepalive(zero, strlen(zero), &l), -ENOENT);
}
END_TEST

START_TEST(test_decode_authenticate) {
        size_t n;
        _cleanup_free_ char *t = fixture("auth-token.json", &n);
        _cleanup_free_ char *token = NULL;

        ck_assert_int_eq(etcd_json_decode_authenticate(t, n, &token), 0);
        ck_assert_str_eq(token, "HsuicqAwbGCwvcxL.26");
        ck_assert_int_eq(etcd_json_decode_authenticate("{\"header\":{}}", 13, &token), -EBADMSG);
}
END_TEST

/* ---- watch stream -----------------------------------------------------------------------------
 */

START_TEST(test_decode_watch_stream) {
        EtcdWatchMessage m = {};
        size_t n;
        char *t;

        t = fixture_line("watch-stream.json", 0, &n);
        ck_assert_int_eq(etcd_json_decode_watch_message(t, n, &m), 0);
        ck_assert(m.created);
        ck_assert(!m.canceled);
        ck_assert_int_eq(m.revision, 9);
        ck_assert_uint_eq(m.n_events, 0);
        etcd_watch_message_done(&m);
        free(t);

        t = fixture_line("watch-stream.json", 1, &n);
        ck_assert_int_eq(etcd_json_decode_watch_message(t, n, &m), 0);
        ck_assert(!m.created);
        ck_assert_uint_eq(m.n_events, 1);
        ck_assert_int_eq(m.events[0].type, ETCD_EVENT_PUT);
        ck_assert_str_eq(m.events[0].kv.key, "/w/a");
        ck_assert_str_eq(m.events[0].kv.value, "1");
        ck_assert_ptr_null(m.events[0].prev_kv);
        etcd_watch_message_done(&m);
        free(t);

        t = fixture_line("watch-stream.json", 2, &n);
        ck_assert_int_eq(etcd_json_decode_watch_message(t, n, &m), 0);
        ck_assert_ptr_nonnull(m.events[0].prev_kv);
        ck_assert_str_eq(m.events[0].prev_kv->value, "1");
        ck_assert_str_eq(m.events[0].kv.value, "2");
        etcd_watch_message_done(&m);
        free(t);

        t = fixture_line("watch-stream.json", 3, &n);
        ck_assert_int_eq(etcd_json_decode_watch_message(t, n, &m), 0);
        ck_assert_uint_eq(m.n_events, 2);
        ck_assert_int_eq(m.events[0].type, ETCD_EVENT_PUT);
        ck_assert_int_eq(m.events[1].type, ETCD_EVENT_DELETE);
        ck_assert_str_eq(m.events[1].kv.key, "/w/a");
        ck_assert_int_eq(m.events[1].kv.mod_revision, 12);
        ck_assert_int_eq(m.events[1].kv.version, 0);
        ck_assert_str_eq(m.events[1].kv.value, "");
        ck_assert_str_eq(m.events[1].prev_kv->value, "2");
        etcd_watch_message_done(&m);
        free(t);
}
END_TEST

START_TEST(test_decode_watch_cancel) {
        EtcdWatchMessage m = {};
        size_t n;
        char *t;

        t = fixture_line("watch-compacted.json", 1, &n);
        ck_assert_int_eq(etcd_json_decode_watch_message(t, n, &m), 0);
        ck_assert(m.canceled);
        ck_assert_int_eq(m.compact_revision, 12);
        ck_assert_int_eq(m.revision, 0); /* no revision in this header */
        etcd_watch_message_done(&m);
        free(t);

        t = fixture_line("watch-invalid-token.json", 0, &n);
        ck_assert_int_eq(etcd_json_decode_watch_message(t, n, &m), 0);
        ck_assert(m.created);
        ck_assert(m.canceled);
        ck_assert_int_eq(m.watch_id, -1);
        ck_assert_ptr_nonnull(strstr(m.cancel_reason, "invalid auth token"));
        etcd_watch_message_done(&m);
        free(t);

        /* Progress notification: only a header. */
        const char *p = "{\"result\":{\"header\":{\"revision\":\"42\"}}}";
        ck_assert_int_eq(etcd_json_decode_watch_message(p, strlen(p), &m), 0);
        ck_assert(!m.created && !m.canceled);
        ck_assert_uint_eq(m.n_events, 0);
        ck_assert_int_eq(m.revision, 42);
        etcd_watch_message_done(&m);

        /* A numeric event type (proto enum as number) is accepted. */
        const char *num = "{\"result\":{\"events\":[{\"type\":1,\"kv\":{\"key\":\"YQ==\"}}]}}";
        ck_assert_int_eq(etcd_json_decode_watch_message(num, strlen(num), &m), 0);
        ck_assert_int_eq(m.events[0].type, ETCD_EVENT_DELETE);
        etcd_watch_message_done(&m);
}
END_TEST

/* ---- malformed and truncated ---------------------------------------------------------------- */

START_TEST(test_malformed) {
        static const char *const bad[] = {
                "",
                "{",
                "null",
                "[]",
                "\"str\"",
                "{\"header\":{\"revision\":true}}",
                "{\"header\":{\"revision\":\"12x\"}}",
                "{\"header\":{\"revision\":\"\"}}",
                "{\"header\":[]}",
                "{\"header\":{},\"kvs\":{}}",
                "{\"header\":{},\"kvs\":[1]}",
                "{\"header\":{},\"kvs\":[{\"key\":\"!!\"}]}",
                "{\"header\":{},\"kvs\":[{\"key\":5}]}",
                "{\"header\":{},\"count\":\"3.5\"}",
                "{\"header\":{},\"more\":\"yes\"}",
                "{\"kvs\":[]}", /* no header at all */
        };
        EtcdResult r = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(etcd_json_decode_range(bad[i], strlen(bad[i]), &r) == -EBADMSG,
                              "case %zu", i);
        ck_assert_ptr_null(r.kvs);
        ck_assert_int_eq(etcd_json_decode_range(NULL, 0, &r), -EBADMSG);

        static const char *const bad_watch[] = {
                "{\"result\":5}",
                "{}",
                "{\"result\":{\"events\":[{\"type\":\"MOVE\",\"kv\":{}}]}}",
                "{\"result\":{\"events\":[{\"kv\":null}]}}",
                "{\"result\":{\"events\":[{\"kv\":{},\"prev_kv\":7}]}}",
                "{\"result\":{\"events\":{}}}",
                "{\"result\":{\"cancel_reason\":3}}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad_watch); i++)
                ck_assert_msg(etcd_json_decode_watch_message(bad_watch[i], strlen(bad_watch[i]),
                                                             &(EtcdWatchMessage){}) == -EBADMSG,
                              "watch case %zu", i);
}
END_TEST

typedef int (*decoder_t)(const char *t, size_t n);

static int d_range(const char *t, size_t n) {
        EtcdResult r = {};
        int k = etcd_json_decode_range(t, n, &r);
        etcd_result_done(&r);
        return k;
}
static int d_put(const char *t, size_t n) {
        EtcdResult r = {};
        int k = etcd_json_decode_put(t, n, &r);
        etcd_result_done(&r);
        return k;
}
static int d_delete(const char *t, size_t n) {
        EtcdResult r = {};
        int k = etcd_json_decode_delete(t, n, &r);
        etcd_result_done(&r);
        return k;
}
static int d_txn(const char *t, size_t n) {
        EtcdTxnResult r = {};
        int k = etcd_json_decode_txn(t, n, &r);
        etcd_txn_result_done(&r);
        return k;
}
static int d_grant(const char *t, size_t n) {
        EtcdLeaseInfo l = {};
        int k = etcd_json_decode_lease_grant(t, n, &l);
        etcd_lease_info_done(&l);
        return k;
}
static int d_keepalive(const char *t, size_t n) {
        EtcdLeaseInfo l = {};
        int k = etcd_json_decode_lease_keepalive(t, n, &l);
        etcd_lease_info_done(&l);
        return k;
}
static int d_ttl(const char *t, size_t n) {
        EtcdLeaseInfo l = {};
        int k = etcd_json_decode_lease_timetolive(t, n, &l);
        etcd_lease_info_done(&l);
        return k;
}
static int d_watch(const char *t, size_t n) {
        EtcdWatchMessage m = {};
        int k = etcd_json_decode_watch_message(t, n, &m);
        etcd_watch_message_done(&m);
        return k;
}
static int d_auth(const char *t, size_t n) {
        _cleanup_free_ char *token = NULL;
        return etcd_json_decode_authenticate(t, n, &token);
}

/* Every strict prefix of a valid response is an error (never a crash), and so is every
 * single-byte corruption that breaks it; the sanitizers and valgrind watch for the rest. */
START_TEST(test_truncated_and_corrupted) {
        static const struct {
                const char *file;
                decoder_t decode;
        } v[] = {
                {"range-prefix.json", d_range},   {"range-limit.json", d_range},
                {"put-prev.json", d_put},         {"delete-one.json", d_delete},
                {"txn-succeeded.json", d_txn},    {"txn-failed.json", d_txn},
                {"lease-grant.json", d_grant},    {"lease-keepalive.json", d_keepalive},
                {"lease-timetolive.json", d_ttl}, {"auth-token.json", d_auth},
        };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                size_t n;
                _cleanup_free_ char *t = fixture(v[i].file, &n);

                while (n > 0 && t[n - 1] == '\n')
                        n--;
                ck_assert_int_eq(v[i].decode(t, n), 0);
                for (size_t len = 0; len < n; len++) {
                        _cleanup_free_ char *copy = strndup(t, len);
                        ck_assert_msg(v[i].decode(copy, len) < 0, "%s truncated to %zu", v[i].file,
                                      len);
                }
                for (size_t pos = 0; pos < n; pos++) {
                        char saved = t[pos];

                        t[pos] = '#';
                        (void) v[i].decode(t, n);
                        t[pos] = '"';
                        (void) v[i].decode(t, n);
                        t[pos] = saved;
                }
        }
        for (unsigned line = 0; line < 4; line++) {
                size_t n;
                _cleanup_free_ char *t = fixture_line("watch-stream.json", line, &n);

                for (size_t len = 0; len < n; len++)
                        ck_assert_int_lt(d_watch(t, len), 0);
        }
}
END_TEST

/* ---- encoders ---------------------------------------------------------------------------------
 */

static json_t *parse(const char *s) {
        json_t *j = json_loads(s, 0, NULL);

        ck_assert_ptr_nonnull(j);
        return j;
}

static const char *jstr(json_t *o, const char *path1, const char *path2) {
        json_t *v = json_object_get(o, path1);

        if (path2)
                v = json_object_get(v, path2);
        return json_string_value(v);
}

START_TEST(test_encode_range_put_delete) {
        _cleanup_free_ char *s = NULL;
        json_t *j;

        EtcdRangeRequest r = {
                .key = "/p/", .prefix = true, .limit = 10, .revision = 7, .keys_only = true};
        ck_assert_int_eq(etcd_json_encode_range(&r, &s), 0);
        j = parse(s);
        ck_assert_str_eq(jstr(j, "key", NULL), "L3Av");
        ck_assert_str_eq(jstr(j, "range_end", NULL), "L3Aw");
        ck_assert_str_eq(jstr(j, "limit", NULL), "10");
        ck_assert_str_eq(jstr(j, "revision", NULL), "7");
        ck_assert(json_is_true(json_object_get(j, "keys_only")));
        /* Defaults are omitted. */
        ck_assert_ptr_null(json_object_get(j, "count_only"));
        ck_assert_ptr_null(json_object_get(j, "serializable"));
        json_decref(j);
        free(s);

        r = (EtcdRangeRequest){.key = "", .prefix = true};
        ck_assert_int_eq(etcd_json_encode_range(&r, &s), 0);
        j = parse(s);
        ck_assert_str_eq(jstr(j, "key", NULL), "");
        ck_assert_str_eq(jstr(j, "range_end", NULL), "AA==");
        json_decref(j);
        free(s);

        r = (EtcdRangeRequest){.key = "a", .range_end = "b"};
        ck_assert_int_eq(etcd_json_encode_range(&r, &s), 0);
        ck_assert_str_eq(s, "{\"key\":\"YQ==\",\"range_end\":\"Yg==\"}");
        free(s);
        s = NULL;

        r = (EtcdRangeRequest){};
        ck_assert_int_eq(etcd_json_encode_range(&r, &s), -EINVAL);
        ck_assert_ptr_null(s);

        EtcdPutRequest p = {
                .key = "k", .value = "v", .lease = 4111120269225689872LL, .prev_kv = true};
        ck_assert_int_eq(etcd_json_encode_put(&p, &s), 0);
        j = parse(s);
        ck_assert_str_eq(jstr(j, "key", NULL), "aw==");
        ck_assert_str_eq(jstr(j, "value", NULL), "dg==");
        ck_assert_str_eq(jstr(j, "lease", NULL), "4111120269225689872");
        ck_assert(json_is_true(json_object_get(j, "prev_kv")));
        json_decref(j);
        free(s);

        p = (EtcdPutRequest){.key = "k"};
        ck_assert_int_eq(etcd_json_encode_put(&p, &s), 0);
        ck_assert_str_eq(s, "{\"key\":\"aw==\",\"value\":\"\"}");
        free(s);

        EtcdDeleteRequest d = {.key = "/x/", .prefix = true, .prev_kv = true};
        ck_assert_int_eq(etcd_json_encode_delete(&d, &s), 0);
        j = parse(s);
        ck_assert_str_eq(jstr(j, "range_end", NULL), "L3gw");
        json_decref(j);
}
END_TEST

START_TEST(test_encode_txn) {
        _cleanup_free_ char *s = NULL;
        EtcdCompare cmp[] = {
                {.key = "a", .target = ETCD_COMPARE_CREATE, .result = ETCD_CMP_EQUAL},
                {.key = "b",
                 .target = ETCD_COMPARE_VALUE,
                 .result = ETCD_CMP_NOT_EQUAL,
                 .value = "x"},
                {.key = "c", .target = ETCD_COMPARE_MOD, .result = ETCD_CMP_LESS, .number = 9},
                {.key = "d",
                 .target = ETCD_COMPARE_VERSION,
                 .result = ETCD_CMP_GREATER,
                 .number = 1},
                {.key = "e", .target = ETCD_COMPARE_LEASE, .number = 5},
        };
        EtcdOp ok[] = {
                {.type = ETCD_OP_PUT, .put = {.key = "a", .value = "1"}},
                {.type = ETCD_OP_DELETE, .delete = {.key = "b"}},
        };
        EtcdOp ko[] = {{.type = ETCD_OP_RANGE, .range = {.key = "a"}}};
        EtcdTxnRequest t = {.compare = cmp,
                            .n_compare = ELEMENTSOF(cmp),
                            .success = ok,
                            .n_success = 2,
                            .failure = ko,
                            .n_failure = 1};
        json_t *j, *c;

        ck_assert_int_eq(etcd_json_encode_txn(&t, &s), 0);
        j = parse(s);
        c = json_object_get(j, "compare");
        ck_assert_uint_eq(json_array_size(c), 5);
        ck_assert_str_eq(jstr(json_array_get(c, 0), "target", NULL), "CREATE");
        ck_assert_str_eq(jstr(json_array_get(c, 0), "result", NULL), "EQUAL");
        ck_assert_str_eq(jstr(json_array_get(c, 0), "create_revision", NULL), "0");
        ck_assert_str_eq(jstr(json_array_get(c, 1), "value", NULL), "eA==");
        ck_assert_str_eq(jstr(json_array_get(c, 1), "result", NULL), "NOT_EQUAL");
        ck_assert_str_eq(jstr(json_array_get(c, 2), "mod_revision", NULL), "9");
        ck_assert_str_eq(jstr(json_array_get(c, 2), "result", NULL), "LESS");
        ck_assert_str_eq(jstr(json_array_get(c, 3), "version", NULL), "1");
        ck_assert_str_eq(jstr(json_array_get(c, 4), "lease", NULL), "5");
        ck_assert_str_eq(
                jstr(json_array_get(json_object_get(j, "success"), 0), "request_put", "key"),
                "YQ==");
        ck_assert_ptr_nonnull(json_object_get(json_array_get(json_object_get(j, "success"), 1),
                                              "request_delete_range"));
        ck_assert_ptr_nonnull(
                json_object_get(json_array_get(json_object_get(j, "failure"), 0), "request_range"));
        json_decref(j);
        free(s);
        s = NULL;

        EtcdCompare bad = {.key = "a", .target = _ETCD_COMPARE_TARGET_MAX};
        t = (EtcdTxnRequest){.compare = &bad, .n_compare = 1};
        ck_assert_int_eq(etcd_json_encode_txn(&t, &s), -EINVAL);
        EtcdOp badop = {.type = _ETCD_OP_TYPE_MAX};
        t = (EtcdTxnRequest){.success = &badop, .n_success = 1};
        ck_assert_int_eq(etcd_json_encode_txn(&t, &s), -EINVAL);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_encode_misc) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL;
        EtcdWatchRequest w = {.key = "/w/",
                              .prefix = true,
                              .start_revision = 12,
                              .prev_kv = true,
                              .progress_notify = true};
        json_t *j;

        ck_assert_int_eq(etcd_json_encode_lease_grant(30, 0, &a), 0);
        ck_assert_str_eq(a, "{\"TTL\":\"30\"}");
        ck_assert_int_eq(etcd_json_encode_lease_id(42, &b), 0);
        ck_assert_str_eq(b, "{\"ID\":\"42\"}");
        ck_assert_int_eq(etcd_json_encode_lease_timetolive(42, true, &c), 0);
        ck_assert_str_eq(c, "{\"ID\":\"42\",\"keys\":true}");
        ck_assert_int_eq(etcd_json_encode_compact(100, true, &d), 0);
        ck_assert_str_eq(d, "{\"revision\":\"100\",\"physical\":true}");
        ck_assert_int_eq(etcd_json_encode_authenticate("root", "pw\"x", &e), 0);
        ck_assert_str_eq(e, "{\"name\":\"root\",\"password\":\"pw\\\"x\"}");
        ck_assert_int_eq(etcd_json_encode_watch_create(&w, &f), 0);
        j = parse(f);
        ck_assert_str_eq(jstr(j, "create_request", "key"), "L3cv");
        ck_assert_str_eq(jstr(j, "create_request", "range_end"), "L3cw");
        ck_assert_str_eq(jstr(j, "create_request", "start_revision"), "12");
        ck_assert(json_is_true(
                json_object_get(json_object_get(j, "create_request"), "progress_notify")));
        json_decref(j);
        ck_assert_int_eq(etcd_json_encode_lease_grant(0, 0, &a), -EINVAL);
}
END_TEST

START_TEST(test_key_value_copy) {
        EtcdKeyValue src = {
                .key = (char *) "k", .value = (char *) "v\0w", .value_size = 3, .mod_revision = 7};
        EtcdKeyValue dst = {};

        ck_assert_int_eq(etcd_key_value_copy(&src, &dst), 0);
        ck_assert_str_eq(dst.key, "k");
        ck_assert_uint_eq(dst.value_size, 3);
        ck_assert(memcmp(dst.value, "v\0w", 4) == 0);
        ck_assert_int_eq(dst.mod_revision, 7);
        etcd_key_value_done(&dst);
        ck_assert_ptr_null(dst.key);
        ck_assert_ptr_null(etcd_key_value_array_free(NULL, 0));
}
END_TEST

static Suite *etcd_json_suite(void) {
        Suite *s = suite_create("etcd-json");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_base64_vectors);
        tcase_add_test(tc, test_base64_round_trip);
        tcase_add_test(tc, test_base64_invalid);
        tcase_add_test(tc, test_prefix_range_end);
        tcase_add_test(tc, test_grpc_codes);
        tcase_add_test(tc, test_error_objects);
        tcase_add_test(tc, test_decode_range);
        tcase_add_test(tc, test_decode_range_variants);
        tcase_add_test(tc, test_decode_put_delete);
        tcase_add_test(tc, test_decode_txn);
        tcase_add_test(tc, test_decode_leases);
        tcase_add_test(tc, test_decode_authenticate);
        tcase_add_test(tc, test_decode_watch_stream);
        tcase_add_test(tc, test_decode_watch_cancel);
        tcase_add_test(tc, test_malformed);
        tcase_add_test(tc, test_truncated_and_corrupted);
        tcase_add_test(tc, test_encode_range_put_delete);
        tcase_add_test(tc, test_encode_txn);
        tcase_add_test(tc, test_encode_misc);
        tcase_add_test(tc, test_key_value_copy);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(etcd_json_suite)
