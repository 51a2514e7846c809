/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Checks of the etcd v3 gateway JSON decoders (every response type and the watch stream),
 * base64 and the request encoders. Included by fuzz-checks.h.
 */

#include <errno.h>
#include <jansson.h>

#include "etcd-json.h"

/* The errnos a decoder may return: -EBADMSG, -ENOMEM, and the mapped gRPC codes. */
static inline bool fuzz_etcd_errno_ok(int r) {
        switch (r) {
        case -EBADMSG:
        case -ENOMEM:
        case -EINVAL:
        case -ETIMEDOUT:
        case -ENOENT:
        case -EPERM:
        case -ENOSPC:
        case -ESTALE:
        case -ERANGE:
        case -EAGAIN:
        case -EACCES:
        case -EIO:
                return true;
        default:
                return false;
        }
}

static inline void fuzz_check_kv(const EtcdKeyValue *kv) {
        EtcdKeyValue copy;

        FUZZ_CHECK(kv->key && kv->value);
        FUZZ_CHECK(kv->value[kv->value_size] == 0);
        if (etcd_key_value_copy(kv, &copy) < 0)
                return;
        FUZZ_CHECK(streq(copy.key, kv->key) && copy.value_size == kv->value_size);
        FUZZ_CHECK(memcmp(copy.value, kv->value, kv->value_size + 1) == 0);
        FUZZ_CHECK(copy.mod_revision == kv->mod_revision && copy.lease == kv->lease);
        etcd_key_value_done(&copy);
}

static inline void fuzz_check_result(const EtcdResult *res, EtcdOpType type) {
        FUZZ_CHECK(res->type == type);
        FUZZ_CHECK(res->n_kvs == 0 || res->kvs);
        if (type == ETCD_OP_PUT)
                FUZZ_CHECK(res->n_kvs <= 1);
        for (size_t i = 0; i < res->n_kvs; i++)
                fuzz_check_kv(&res->kvs[i]);
}

/*
 * The contract shared by every decoder: a text that etcd_json_decode_error() classifies as an
 * error object (or as no object at all) fails with that errno; a failure writes nothing.
 */
static inline void fuzz_check_decoder_result(int r, int expect_error, const void *ret,
                                             size_t ret_size) {
        FUZZ_CHECK(r <= 0);
        if (expect_error < 0 && expect_error != -ENOMEM && r != -ENOMEM)
                FUZZ_CHECK(r == expect_error);
        if (r < 0) {
                FUZZ_CHECK(fuzz_etcd_errno_ok(r));
                FUZZ_CHECK(fuzz_is_poisoned(ret, ret_size));
        }
}

static inline void fuzz_check_etcd_unary(unsigned which, const char *text, size_t size,
                                         int expect) {
        static const EtcdOpType types[] = {ETCD_OP_RANGE, ETCD_OP_PUT, ETCD_OP_DELETE};
        union {
                EtcdResult res;
                EtcdTxnResult txn;
                EtcdLeaseInfo lease;
                int64_t rev;
                char *token;
        } u;
        int r;

        fuzz_poison(&u, sizeof(u));
        switch (which) {
        case 0:
        case 1:
        case 2:
                r = which == 0   ? etcd_json_decode_range(text, size, &u.res)
                    : which == 1 ? etcd_json_decode_put(text, size, &u.res)
                                 : etcd_json_decode_delete(text, size, &u.res);
                fuzz_check_decoder_result(r, expect, &u.res, sizeof(u.res));
                if (r < 0)
                        return;
                fuzz_check_result(&u.res, types[which]);
                etcd_result_done(&u.res);
                return;
        case 3:
                r = etcd_json_decode_txn(text, size, &u.txn);
                fuzz_check_decoder_result(r, expect, &u.txn, sizeof(u.txn));
                if (r < 0)
                        return;
                FUZZ_CHECK(u.txn.n_results == 0 || u.txn.results);
                for (size_t i = 0; i < u.txn.n_results; i++)
                        fuzz_check_result(&u.txn.results[i], u.txn.results[i].type);
                etcd_txn_result_done(&u.txn);
                return;
        case 4:
        case 5:
        case 6:
                r = which == 4   ? etcd_json_decode_lease_grant(text, size, &u.lease)
                    : which == 5 ? etcd_json_decode_lease_keepalive(text, size, &u.lease)
                                 : etcd_json_decode_lease_timetolive(text, size, &u.lease);
                fuzz_check_decoder_result(r, expect, &u.lease, sizeof(u.lease));
                if (r < 0)
                        return;
                FUZZ_CHECK(which == 6 ? u.lease.ttl >= 0 : u.lease.ttl > 0);
                if (which == 4)
                        FUZZ_CHECK(u.lease.id != 0);
                etcd_lease_info_done(&u.lease);
                return;
        case 7:
                r = etcd_json_decode_header_only(text, size, &u.rev);
                fuzz_check_decoder_result(r, expect, &u.rev, sizeof(u.rev));
                return;
        default:
                r = etcd_json_decode_authenticate(text, size, &u.token);
                fuzz_check_decoder_result(r, expect, &u.token, sizeof(u.token));
                if (r < 0)
                        return;
                FUZZ_CHECK(u.token && *u.token);
                free(u.token);
                return;
        }
}

static inline void fuzz_check_watch_message(const char *text, size_t size) {
        EtcdWatchMessage m;
        int expect = etcd_json_decode_error(text, size, NULL), r;

        fuzz_poison(&m, sizeof(m));
        r = etcd_json_decode_watch_message(text, size, &m);
        fuzz_check_decoder_result(r, expect, &m, sizeof(m));
        if (r < 0)
                return;
        FUZZ_CHECK(m.n_events == 0 || m.events);
        for (size_t i = 0; i < m.n_events; i++) {
                FUZZ_CHECK(m.events[i].type == ETCD_EVENT_PUT ||
                           m.events[i].type == ETCD_EVENT_DELETE);
                fuzz_check_kv(&m.events[i].kv);
                if (m.events[i].prev_kv)
                        fuzz_check_kv(m.events[i].prev_kv);
        }
        etcd_watch_message_done(&m);
}

/* The watch stream as etcd-watch.c cuts it: newline-delimited messages, trailing '\r' and
 * ' ' dropped, empty lines skipped, a last line without newline decoded at the end. */
static inline void fuzz_check_watch_stream(FuzzSpan s) {
        while (s.len > 0) {
                FuzzSpan line, rest;

                fuzz_split(s, '\n', &line, &rest);
                while (line.len > 0 &&
                       (line.p[line.len - 1] == '\r' || line.p[line.len - 1] == ' '))
                        line.len--;
                if (line.len > 0)
                        fuzz_check_watch_message(line.p, line.len);
                s = rest;
        }
}

static inline void fuzz_check_base64(FuzzSpan s) {
        _cleanup_free_ char *dec = NULL, *enc = NULL, *dec2 = NULL;
        size_t n, n2;
        int r;

        r = etcd_base64_decode(s.p, s.len, &dec, &n);
        FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r == 0) {
                FUZZ_CHECK(dec[n] == 0 && n <= s.len);
                if (etcd_base64_encode(dec, n, &enc) == 0 &&
                    etcd_base64_decode(enc, strlen(enc), &dec2, &n2) == 0)
                        FUZZ_CHECK(n2 == n && memcmp(dec, dec2, n) == 0);
        }
        free(enc);
        free(dec2);
        enc = dec2 = NULL;
        /* Encoding arbitrary bytes round-trips. */
        if (etcd_base64_encode(s.p, s.len, &enc) < 0)
                return;
        FUZZ_CHECK(strlen(enc) == (s.len + 2) / 3 * 4);
        if (etcd_base64_decode(enc, strlen(enc), &dec2, &n2) == 0)
                FUZZ_CHECK(n2 == s.len && (s.len == 0 || memcmp(dec2, s.p, s.len) == 0));
}

/* The "key" field of an encoded request (or of its create_request) decodes back to key. */
static inline void fuzz_check_encoded_key(int r, char *body, const char *key) {
        _cleanup_free_ char *dec = NULL, *owned = body;
        json_auto_t *j = NULL;
        json_t *obj, *k;
        size_t n;

        FUZZ_CHECK(r == 0 || r == -ENOMEM);
        if (r < 0)
                return;
        j = json_loads(owned, 0, NULL);
        FUZZ_CHECK(j && json_is_object(j));
        obj = json_object_get(j, "create_request") ?: j;
        k = json_object_get(obj, "key");
        FUZZ_CHECK(json_is_string(k));
        r = etcd_base64_decode(json_string_value(k), json_string_length(k), &dec, &n);
        FUZZ_CHECK(r == 0 || r == -ENOMEM);
        if (r == 0)
                FUZZ_CHECK(n == strlen(key) && streq(dec, key));
}

static inline void fuzz_check_etcd_encoders(FuzzSpan s) {
        _cleanup_free_ char *key = fuzz_strndup(s), *end = NULL;
        EtcdRangeRequest range = {.key = key, .prefix = s.len % 2, .limit = (int64_t) s.len};
        EtcdPutRequest put = {.key = key, .value = key, .prev_kv = true};
        EtcdDeleteRequest del = {.key = key, .prefix = true};
        EtcdWatchRequest watch = {.key = key, .prefix = true, .start_revision = 7};
        char *body = NULL;
        size_t n;
        int r;

        /* The range end of a prefix: its last byte below 0xff incremented, the 0xff bytes after
         * it dropped; "\0" when there is none. */
        if (etcd_prefix_range_end(key, &end, &n) == 0) {
                size_t kl = strlen(key), i = kl;

                FUZZ_CHECK(n >= 1 && end[n] == 0);
                while (i > 0 && (uint8_t) key[i - 1] == 0xff)
                        i--;
                if (i == 0)
                        FUZZ_CHECK(n == 1 && end[0] == 0);
                else
                        FUZZ_CHECK(n == i && memcmp(key, end, n - 1) == 0 &&
                                   (uint8_t) end[n - 1] == (uint8_t) key[n - 1] + 1);
        }
        r = etcd_json_encode_range(&range, &body);
        fuzz_check_encoded_key(r, TAKE_PTR(body), key);
        r = etcd_json_encode_put(&put, &body);
        fuzz_check_encoded_key(r, TAKE_PTR(body), key);
        r = etcd_json_encode_delete(&del, &body);
        fuzz_check_encoded_key(r, TAKE_PTR(body), key);
        r = etcd_json_encode_watch_create(&watch, &body);
        fuzz_check_encoded_key(r, TAKE_PTR(body), key);
}

/* Input: a selector byte, then the text for the decoder it selects. */
static inline void fuzz_check_etcd_json(const uint8_t *data, size_t size) {
        FuzzSpan s;
        unsigned which;
        int expect;

        if (size == 0)
                return;
        which = data[0] % 13;
        s = (FuzzSpan){(const char *) data + 1, size - 1};
        switch (which) {
        case 9:
                fuzz_check_watch_message(s.p, s.len);
                return;
        case 10:
                fuzz_check_watch_stream(s);
                return;
        case 11:
                fuzz_check_base64(s);
                return;
        case 12:
                fuzz_check_etcd_encoders(s);
                return;
        default:
                expect = etcd_json_decode_error(s.p, s.len, NULL);
                FUZZ_CHECK(expect <= 0 && fuzz_etcd_errno_ok(expect ? expect : -EIO));
                fuzz_check_etcd_unary(which, s.p, s.len, expect);
                return;
        }
}
