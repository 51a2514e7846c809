/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Checks of the HTTP API's JSON entities (common/api-json.h) and request validation
 * (common/api-validate.h): decoding never crashes, a failure says why, and whatever decodes
 * formats to JSON that decodes and formats to the same text. Included by fuzz-checks.h.
 */

#include <errno.h>

#include "api-json.h"
#include "api-validate.h"
#include "registry-json.h"
#include "unit-file.h"
#include "unit-name.h"
#include "xfleet.h"

static inline void fuzz_check_api_error(int r, const char *err) {
        FUZZ_CHECK(r == -EINVAL || r == -ENOMEM);
        if (r == -EINVAL)
                FUZZ_CHECK(err && *err);
}

/*
 * Decode, format, decode the formatted text, format again: the second decode must succeed and
 * both formats be equal. type/parse/format/done name one entity.
 */
#define FUZZ_API_ROUNDTRIP(type, parse, format, done, text, size)                                  \
        do {                                                                                       \
                _cleanup_free_ char *_err = NULL, *_f1 = NULL, *_f2 = NULL;                        \
                type _a, _b;                                                                       \
                int _r;                                                                            \
                                                                                                   \
                fuzz_poison(&_a, sizeof(_a));                                                      \
                _r = parse(text, size, &_a, &_err);                                                \
                if (_r < 0) {                                                                      \
                        fuzz_check_api_error(_r, _err);                                            \
                        FUZZ_CHECK(fuzz_is_poisoned(&_a, sizeof(_a)));                             \
                        break;                                                                     \
                }                                                                                  \
                FUZZ_CHECK(!_err);                                                                 \
                if (format(&_a, &_f1) == 0) {                                                      \
                        _r = parse(_f1, strlen(_f1), &_b, &_err);                                  \
                        FUZZ_CHECK(_r == 0 || _r == -ENOMEM);                                      \
                        if (_r == 0) {                                                             \
                                if (format(&_b, &_f2) == 0)                                        \
                                        FUZZ_CHECK(streq(_f1, _f2));                               \
                                done(&_b);                                                         \
                        }                                                                          \
                }                                                                                  \
                done(&_a);                                                                         \
        } while (0)

/* The same for pages. */
#define FUZZ_API_PAGE_ROUNDTRIP(type, parse, format, array_free, text, size)                       \
        do {                                                                                       \
                _cleanup_free_ char *_err = NULL, *_f1 = NULL, *_f2 = NULL, *_t1 = NULL,           \
                                    *_t2 = NULL;                                                   \
                type *_a = NULL, *_b = NULL;                                                       \
                size_t _na = 0, _nb = 0;                                                           \
                int _r;                                                                            \
                                                                                                   \
                _r = parse(text, size, &_a, &_na, &_t1, &_err);                                    \
                if (_r < 0) {                                                                      \
                        fuzz_check_api_error(_r, _err);                                            \
                        FUZZ_CHECK(!_a && !_t1);                                                   \
                        break;                                                                     \
                }                                                                                  \
                FUZZ_CHECK(!_err && (_na == 0 || _a));                                             \
                if (format(_a, _na, _t1, &_f1) == 0) {                                             \
                        _r = parse(_f1, strlen(_f1), &_b, &_nb, &_t2, &_err);                      \
                        FUZZ_CHECK(_r == 0 || _r == -ENOMEM);                                      \
                        if (_r == 0) {                                                             \
                                FUZZ_CHECK(_nb == _na);                                            \
                                if (format(_b, _nb, _t2, &_f2) == 0)                               \
                                        FUZZ_CHECK(streq(_f1, _f2));                               \
                                array_free(_b, _nb);                                               \
                        }                                                                          \
                }                                                                                  \
                array_free(_a, _na);                                                               \
        } while (0)

static inline void fuzz_check_api_unit_copy(const char *text, size_t size) {
        _cleanup_free_ char *f1 = NULL, *f2 = NULL;
        ApiUnit u, c;

        if (api_unit_parse(text, size, &u, NULL) < 0)
                return;
        for (size_t i = 0; i < u.n_options; i++)
                FUZZ_CHECK(u.options[i].section && u.options[i].name && u.options[i].value);
        if (api_unit_copy(&u, &c) == 0) {
                if (api_unit_format(&u, &f1) == 0 && api_unit_format(&c, &f2) == 0)
                        FUZZ_CHECK(streq(f1, f2));
                api_unit_done(&c);
        }
        api_unit_done(&u);
}

static inline void fuzz_check_api_machine(const char *text, size_t size) {
        ApiMachine m;
        size_t n;

        if (api_machine_parse(text, size, &m, NULL) < 0)
                return;
        n = strv_length(m.metadata);
        FUZZ_CHECK(n % 2 == 0);
        for (size_t i = 2; i < n; i += 2)
                FUZZ_CHECK(strcmp(m.metadata[i - 2], m.metadata[i]) < 0);
        for (size_t i = 0; i < n; i += 2)
                FUZZ_CHECK(api_machine_metadata_get(&m, m.metadata[i]) == m.metadata[i + 1]);
        api_machine_done(&m);
}

static inline void fuzz_check_api_error_body(const char *text, size_t size) {
        _cleanup_free_ char *msg = NULL, *f = NULL, *msg2 = NULL;
        int code, code2, r;

        r = api_error_parse(text, size, &code, &msg);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
        if (r < 0)
                return;
        if (api_error_format(code, msg, &f) < 0)
                return;
        r = api_error_parse(f, strlen(f), &code2, &msg2);
        FUZZ_CHECK(r == 0 || r == -ENOMEM);
        if (r == 0)
                FUZZ_CHECK(code == code2 && streq(msg, msg2));
}

static inline void fuzz_check_page_token(const char *text, size_t size) {
        _cleanup_free_ char *token = NULL, *err = NULL;
        char formatted[API_PAGE_TOKEN_LEN + 1];
        uint16_t limit, page, limit2, page2;
        int r;

        token = fuzz_strndup((FuzzSpan){text, size});
        r = api_page_token_parse(token, &limit, &page, &err);
        if (r < 0) {
                fuzz_check_api_error(r, err);
                return;
        }
        api_page_token_format(limit, page, formatted);
        FUZZ_CHECK(api_page_token_parse(formatted, &limit2, &page2, NULL) == 0);
        FUZZ_CHECK(limit == limit2 && page == page2);
}

/*
 * The content the server derives from submitted options: text and hash agree, and (known
 * issue api-validate-1) the options validated are the options stored, i.e. the stored text
 * parses to the same [X-Fleet] semantics.
 */
static inline void fuzz_check_api_content(const ApiUnit *u) {
        _cleanup_(api_unit_content_done) ApiUnitContent c = {};
        _cleanup_(unit_file_freep) UnitFile *stored = NULL;
        _cleanup_(xfleet_freep) XFleet *x = NULL;
        _cleanup_free_ char *err = NULL;
        char hash[UNIT_HASH_HEX_LEN + 1];
        int r;

        if (api_unit_content_new(u->options, u->n_options, &c) < 0)
                return;
        FUZZ_CHECK(c.file && c.text && unit_hash_is_valid(c.hash));
        /* The hash is over the stored text; c.file is what that text parses to (or the
         * options as sent when it does not parse, which validation then refuses). */
        unit_hash_bytes(c.text, strlen(c.text), hash);
        FUZZ_CHECK(streq(hash, c.hash));
        r = api_unit_content_validate(&c, &err);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -EFBIG || r == -ENOMEM);
        if (r < 0) {
                FUZZ_CHECK(r == -ENOMEM || (err && *err));
                return;
        }
        r = unit_file_parse(c.text, strlen(c.text), &stored, NULL);
        FUZZ_CHECK(r == 0 || r == -ENOMEM);
        if (r < 0 || xfleet_parse(stored, NULL, &x) < 0)
                return;
        if (FUZZ_TOLERATE_KNOWN_ISSUE("api-validate-1"))
                return;
        FUZZ_CHECK(x->global == c.global);
        FUZZ_CHECK(xfleet_validate(x, NULL) == 0);
}

/* Input: the URL's unit name, "\n", the PUT body. */
static inline void fuzz_check_api_put(FuzzSpan s) {
        _cleanup_free_ char *url_name = NULL, *err = NULL;
        FuzzSpan head, body;
        ApiUnit u;
        JobState desired;
        int r;

        fuzz_split(s, '\n', &head, &body);
        url_name = fuzz_strndup(head);
        fuzz_poison(&u, sizeof(u));
        r = api_unit_body_decode(body.p, body.len, url_name, &u, &desired, &err);
        if (r < 0) {
                fuzz_check_api_error(r, err);
                FUZZ_CHECK(fuzz_is_poisoned(&u, sizeof(u)));
                return;
        }
        FUZZ_CHECK(!api_json_has_nul(body.p, body.len));
        FUZZ_CHECK(u.name && streq(u.name, url_name) && unit_name_validate(u.name, NULL) == 0);
        FUZZ_CHECK(desired == _JOB_STATE_INVALID || job_state_to_string(desired));
        r = api_check_template(u.name, desired, NULL);
        FUZZ_CHECK(r == 0 || r == -EINVAL);
        FUZZ_CHECK((r < 0) == (unit_name_is_template(u.name) && desired > JOB_STATE_INACTIVE));
        fuzz_check_api_content(&u);
        api_unit_done(&u);
}

static inline void fuzz_check_api_patch(FuzzSpan s) {
        _cleanup_free_ char *err = NULL;
        ApiMetadataPatch *p = NULL;
        size_t n = 0;
        int r;

        r = api_metadata_patch_decode(s.p, s.len, &p, &n, &err);
        if (r < 0) {
                fuzz_check_api_error(r, err);
                return;
        }
        FUZZ_CHECK(n == 0 || p);
        for (size_t i = 0; i < n; i++) {
                FUZZ_CHECK(api_key_component_is_valid(p[i].machine_id));
                for (size_t k = 0; k < i; k++)
                        FUZZ_CHECK(!streq(p[k].machine_id, p[i].machine_id));
                for (size_t j = 0; j < p[i].n_changes; j++) {
                        _cleanup_free_ char *key = NULL;

                        FUZZ_CHECK(p[i].changes[j].key && p[i].changes[j].value);
                        for (size_t k = 0; k < j; k++)
                                FUZZ_CHECK(!streq(p[i].changes[k].key, p[i].changes[j].key));
                        /* Every change names a registry key. */
                        r = registry_key_metadata(REGISTRY_DEFAULT_PREFIX, p[i].machine_id,
                                                  p[i].changes[j].key, &key);
                        FUZZ_CHECK(r == 0 || r == -ENOMEM);
                }
        }
        api_metadata_patch_array_free(p, n);
}

static inline void fuzz_check_api_query(FuzzSpan s) {
        _cleanup_free_ char *v = fuzz_strndup(s), *err = NULL;
        uint16_t page = 0;
        size_t start, n;
        uint16_t next;
        int r;

        r = api_check_content_type(v, 1, NULL);
        FUZZ_CHECK(r == 0 || r == -EINVAL);
        r = api_page_from_query(v, 1, API_DEFAULT_TOKEN_LIMIT, &page, &err);
        if (r < 0) {
                fuzz_check_api_error(r, err);
                return;
        }
        FUZZ_CHECK(page >= 1);
        api_page_slice(s.len, API_DEFAULT_TOKEN_LIMIT, page, &start, &n, &next);
        FUZZ_CHECK(n <= API_DEFAULT_TOKEN_LIMIT && (n == 0 || start + n <= s.len));
        FUZZ_CHECK(next == 0 || next == page + 1);
}

/* Input: a selector byte, then the text for the decoder it selects. */
static inline void fuzz_check_api_json(const uint8_t *data, size_t size) {
        FuzzSpan s;
        const char *t;

        if (size == 0)
                return;
        s = (FuzzSpan){(const char *) data + 1, size - 1};
        t = s.p;
        switch (data[0] % 12) {
        case 0:
                FUZZ_API_ROUNDTRIP(ApiUnit, api_unit_parse, api_unit_format, api_unit_done, t,
                                   s.len);
                fuzz_check_api_unit_copy(t, s.len);
                return;
        case 1:
                FUZZ_API_ROUNDTRIP(ApiUnitState, api_unit_state_parse, api_unit_state_format,
                                   api_unit_state_done, t, s.len);
                return;
        case 2:
                FUZZ_API_ROUNDTRIP(ApiMachine, api_machine_parse, api_machine_format,
                                   api_machine_done, t, s.len);
                fuzz_check_api_machine(t, s.len);
                return;
        case 3:
                FUZZ_API_PAGE_ROUNDTRIP(ApiUnit, api_unit_page_parse, api_unit_page_format,
                                        api_unit_array_free, t, s.len);
                return;
        case 4:
                FUZZ_API_PAGE_ROUNDTRIP(ApiUnitState, api_unit_state_page_parse,
                                        api_unit_state_page_format, api_unit_state_array_free, t,
                                        s.len);
                return;
        case 5:
                FUZZ_API_PAGE_ROUNDTRIP(ApiMachine, api_machine_page_parse, api_machine_page_format,
                                        api_machine_array_free, t, s.len);
                return;
        case 6:
                fuzz_check_api_patch(s);
                return;
        case 7:
                fuzz_check_api_error_body(t, s.len);
                return;
        case 8:
                fuzz_check_page_token(t, s.len);
                return;
        case 9:
                fuzz_check_api_put(s);
                return;
        case 10:
                fuzz_check_api_query(s);
                return;
        default: {
                ApiMetadataOp *ops = NULL;
                _cleanup_free_ char *err = NULL;
                size_t n = 0;
                int r = api_metadata_ops_parse(t, s.len, &ops, &n, &err);

                if (r < 0)
                        fuzz_check_api_error(r, err);
                else
                        api_metadata_op_array_free(ops, n);
                return;
        }
        }
}
