/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Checks of the unit-file model, unit names, [X-Fleet] and glob matching. Included by
 * fuzz-checks.h (FUZZ_CHECK and the helpers come from there).
 */

#include <errno.h>

#include "api-json.h"
#include "api-validate.h"
#include "glob.h"
#include "registry-json.h"
#include "strv.h"
#include "unit-file.h"
#include "unit-name.h"
#include "xfleet.h"

/* ---- unit files ------------------------------------------------------------------------- */

/* The structure every successful parse has. */
static inline void fuzz_check_unit_structure(const UnitFile *u) {
        FUZZ_CHECK(u->n_options == 0 || u->options);
        for (size_t i = 0; i < u->n_options; i++) {
                const UnitOption *o = &u->options[i];
                size_t start, len, vlen;
                const char **values = NULL;
                bool found = false;
                int n;

                FUZZ_CHECK(o->section && o->name && o->value);
                /* A section ends at the first ']'; a name at '=' and never spans lines. */
                FUZZ_CHECK(!strchr(o->section, ']'));
                FUZZ_CHECK(!strpbrk(o->name, "=\n\r"));
                unit_trim_space(o->name, strlen(o->name), &start, &len);
                FUZZ_CHECK(start == 0 && len == strlen(o->name));
                /* Values are trimmed, except that one ending in a continuation keeps "\n". */
                vlen = strlen(o->value);
                if (vlen > 0 && o->value[vlen - 1] == '\n') {
                        FUZZ_CHECK(vlen >= 2 && o->value[vlen - 2] == '\\');
                        vlen--;
                }
                unit_trim_space(o->value, vlen, &start, &len);
                FUZZ_CHECK(start == 0 && len == vlen);
                FUZZ_CHECK(unit_file_has_section(u, o->section));
                n = unit_file_get_values(u, o->section, o->name, &values);
                if (n == -ENOMEM)
                        continue;
                FUZZ_CHECK(n >= 1 && values && !values[n]);
                for (int k = 0; k < n; k++)
                        found = found || values[k] == o->value;
                FUZZ_CHECK(found);
                free(values);
        }
}

/* Whether some value ends in a backslash that is not followed by "\n": serialized as
 * "Name=value\\" + "\n", it reads back as a continuation (known issue unit-file-1). */
static inline bool fuzz_unit_has_trailing_backslash(const UnitFile *u) {
        for (size_t i = 0; i < u->n_options; i++) {
                size_t n = strlen(u->options[i].value);

                if (n > 0 && u->options[i].value[n - 1] == '\\')
                        return true;
        }
        return false;
}

/* A re-parse may fail only through the line guard, whose outcome depends on where a long line
 * sits in the 4096-byte reader buffer (reference 5.3); fleet has the same quirk. */
static inline void fuzz_check_reparse_error(int r, const char *err) {
        FUZZ_CHECK(r == -EINVAL || r == -ENOMEM);
        if (r == -EINVAL)
                FUZZ_CHECK(err && streq(err, "line too long (max 2048 bytes)"));
}

/* Serialization, hash and re-parse of a parsed file: the round-trip invariant. */
static inline void fuzz_check_unit_roundtrip(const UnitFile *u) {
        _cleanup_free_ char *s1 = NULL, *s2 = NULL, *s3 = NULL, *err = NULL, *verr = NULL;
        _cleanup_(unit_file_freep) UnitFile *u2 = NULL, *u3 = NULL;
        char h1[UNIT_HASH_HEX_LEN + 1], h2[UNIT_HASH_HEX_LEN + 1], hb[UNIT_HASH_HEX_LEN + 1];
        int r, v;

        if (unit_file_serialize(u, &s1) < 0 || unit_file_hash(u, h1) < 0 ||
            unit_file_hash(u, h2) < 0)
                return;
        FUZZ_CHECK(unit_hash_is_valid(h1) && streq(h1, h2));
        unit_hash_bytes(s1, strlen(s1), hb);
        FUZZ_CHECK(streq(h1, hb));
        FUZZ_CHECK((u->n_options == 0) == (s1[0] == 0));

        r = unit_file_parse(s1, strlen(s1), &u2, &err);
        v = unit_file_validate(u, &verr);
        if (r == -ENOMEM || v == -ENOMEM)
                return;
        /* unit_file_validate() is exactly "serialize and parse". */
        FUZZ_CHECK(r == v && fuzz_streq_null(err, verr));
        if (r < 0) {
                fuzz_check_reparse_error(r, err);
                return;
        }
        fuzz_check_unit_structure(u2);
        if (unit_file_serialize(u2, &s2) < 0)
                return;
        if (streq(s1, s2))
                return;
        FUZZ_CHECK(FUZZ_TOLERATE_KNOWN_ISSUE("unit-file-1") && fuzz_unit_has_trailing_backslash(u));
        /* Then one more round is a fixed point. */
        free(err);
        err = NULL;
        r = unit_file_parse(s2, strlen(s2), &u3, &err);
        if (r < 0) {
                fuzz_check_reparse_error(r, err);
                return;
        }
        if (unit_file_serialize(u3, &s3) < 0)
                return;
        FUZZ_CHECK(streq(s2, s3));
}

/* Whether s is valid UTF-8 (Go's JSON encoder, and api_unit_format(), replace invalid bytes). */
static inline bool fuzz_is_utf8(const char *s) {
        size_t n = strlen(s);

        for (size_t i = 0; i < n;) {
                uint32_t rune;
                size_t k = unit_utf8_decode(s + i, n - i, &rune);

                if (rune == UNIT_RUNE_ERROR && k == 1)
                        return false;
                i += k;
        }
        return true;
}

/* What fleetctl submits: the parsed options as a PUT /units body. The server must derive the
 * very text (and so the hash) that the file normalizes to. */
static inline void fuzz_check_unit_via_api(const UnitFile *u) {
        _cleanup_(api_unit_content_done) ApiUnitContent c = {};
        _cleanup_free_ char *body = NULL, *text = NULL, *err = NULL;
        ApiUnit a = {
                .name = (char *) "a.service", .options = u->options, .n_options = u->n_options};
        ApiUnit d;
        JobState desired;
        int r;

        for (size_t i = 0; i < u->n_options; i++)
                if (!fuzz_is_utf8(u->options[i].section) || !fuzz_is_utf8(u->options[i].name) ||
                    !fuzz_is_utf8(u->options[i].value))
                        return;
        if (api_unit_format(&a, &body) < 0 || unit_file_serialize(u, &text) < 0)
                return;
        r = api_unit_body_decode(body, strlen(body), "a.service", &d, &desired, &err);
        FUZZ_CHECK(r == 0 || r == -ENOMEM);
        if (r < 0)
                return;
        FUZZ_CHECK(d.n_options == u->n_options && desired == _JOB_STATE_INVALID);
        if (api_unit_content_new(d.options, d.n_options, &c) == 0)
                FUZZ_CHECK(streq(c.text, text));
        api_unit_done(&d);
}

static inline void fuzz_check_unit_file(const uint8_t *data, size_t size) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        _cleanup_free_ char *err = NULL;
        UnitFile *poison;
        int r;

        fuzz_poison(&poison, sizeof(poison));
        u = poison;
        r = unit_file_parse((const char *) data, size, &u, &err);
        if (r < 0) {
                FUZZ_CHECK(r == -EINVAL || r == -EFBIG || r == -ENOMEM);
                FUZZ_CHECK(u == poison);
                u = NULL;
                FUZZ_CHECK(r == -ENOMEM || (err && *err));
                return;
        }
        FUZZ_CHECK(r == 0 && u && u != poison && !err);
        fuzz_check_unit_structure(u);
        fuzz_check_unit_roundtrip(u);
        fuzz_check_unit_via_api(u);
}

/* ---- unit names ------------------------------------------------------------------------- */

/* Go's %q output is printable ASCII or valid UTF-8, quoted. */
static inline void fuzz_check_go_quote(const char *s) {
        _cleanup_free_ char *q = NULL;
        size_t n;

        if (unit_go_quote(s, &q) < 0)
                return;
        n = strlen(q);
        FUZZ_CHECK(n >= 2 && q[0] == '"' && q[n - 1] == '"');
        FUZZ_CHECK(n <= 4 * strlen(s) + 2);
        for (size_t i = 0; i < n;) {
                uint32_t rune;
                size_t k = unit_utf8_decode(q + i, n - i, &rune);

                FUZZ_CHECK(!(rune == UNIT_RUNE_ERROR && k == 1));
                FUZZ_CHECK(rune >= 0x20 && rune != 0x7f);
                i += k;
        }
}

static inline void fuzz_check_unit_name(const char *name) {
        _cleanup_(unit_name_info_done) UnitNameInfo ni = {};
        _cleanup_free_ char *err = NULL, *key = NULL, *tmpl = NULL, *joined = NULL;
        int r;

        fuzz_check_go_quote(name);
        r = unit_name_validate(name, &err);
        if (r < 0) {
                FUZZ_CHECK(r == -EINVAL || r == -ENOMEM);
                FUZZ_CHECK(r == -ENOMEM || (err && *err));
                return;
        }
        FUZZ_CHECK(!err);
        /* A valid name is a valid etcd key component (job/<name>, state/<name>/...). */
        FUZZ_CHECK(registry_component_is_valid(name));
        FUZZ_CHECK(!strchr(name, '/') && !streq(name, ".") && !streq(name, ".."));
        if (registry_key_job(REGISTRY_DEFAULT_PREFIX, name, &key) != -ENOMEM)
                FUZZ_CHECK(key);
        r = unit_name_info(name, &ni);
        if (r == -ENOMEM)
                return;
        FUZZ_CHECK(r == 0 && streq(ni.full_name, name));
        FUZZ_CHECK(asprintf(&joined, "%s.%s", ni.name, ni.suffix) >= 0);
        FUZZ_CHECK(streq(joined, name));
        FUZZ_CHECK(strneq(ni.name, ni.prefix, strlen(ni.prefix)));
        FUZZ_CHECK(!ni.template == !strchr(ni.name, '@'));
        FUZZ_CHECK(unit_name_is_template(name) == (ni.template && ni.instance[0] == 0));
        FUZZ_CHECK(unit_name_is_instance(name) == (ni.template && ni.instance[0] != 0));
        r = unit_name_template_of(name, &tmpl);
        FUZZ_CHECK((r == 0) == unit_name_is_instance(name) || r == -ENOMEM);
        if (r == 0) {
                FUZZ_CHECK(streq(tmpl, ni.template));
                FUZZ_CHECK(unit_name_is_template(tmpl));
                FUZZ_CHECK(unit_name_validate(tmpl, NULL) == 0);
        }
}

/* ---- [X-Fleet] -------------------------------------------------------------------------- */

static inline const char *fuzz_lookup_none(const char *key, void *userdata) {
        return NULL;
}

static inline void fuzz_check_xfleet_structure(const XFleet *x) {
        bool any_allowed = false;

        STRV_FOREACH(c, x->conflicts) {
                FUZZ_CHECK(**c != 0);
                for (const char *p = *c; *p;) {
                        uint32_t rune;

                        p += unit_utf8_decode(p, strlen(p), &rune);
                        FUZZ_CHECK(!unit_is_space(rune));
                }
        }
        for (size_t i = 0; i < x->n_metadata; i++) {
                const MetadataReq *m = &x->metadata[i];

                FUZZ_CHECK(m->key && *m->key && !strchr(m->key, '='));
                FUZZ_CHECK(i == 0 || strcmp(x->metadata[i - 1].key, m->key) < 0);
                FUZZ_CHECK(strv_length(m->allowed) + strv_length(m->forbidden) > 0);
                for (char **l = m->allowed; l && *l; l++)
                        FUZZ_CHECK(**l && !strchr(*l, '=') && !strv_contains(l + 1, *l));
                for (char **l = m->forbidden; l && *l; l++)
                        FUZZ_CHECK(**l && !strchr(*l, '=') && !strv_contains(l + 1, *l));
                any_allowed = any_allowed || strv_length(m->allowed) > 0;
        }
        /* A machine without any metadata satisfies exactly the purely negative requirements. */
        FUZZ_CHECK(xfleet_metadata_match(x, fuzz_lookup_none, NULL) == !any_allowed);
        for (char **l = x->unknown; l && *l; l++)
                FUZZ_CHECK(!strv_contains(l + 1, *l));
}

static inline bool fuzz_xfleet_equal(const XFleet *a, const XFleet *b) {
        if (!fuzz_streq_null(a->machine_id, b->machine_id) || a->global != b->global ||
            !strv_equal(a->peers, b->peers) || !strv_equal(a->conflicts, b->conflicts) ||
            !strv_equal(a->replaces, b->replaces) || !strv_equal(a->unknown, b->unknown) ||
            a->n_metadata != b->n_metadata)
                return false;
        for (size_t i = 0; i < a->n_metadata; i++)
                if (!streq(a->metadata[i].key, b->metadata[i].key) ||
                    !strv_equal(a->metadata[i].allowed, b->metadata[i].allowed) ||
                    !strv_equal(a->metadata[i].forbidden, b->metadata[i].forbidden))
                        return false;
        return true;
}

static inline bool fuzz_xfleet_has_specifier(const UnitFile *u) {
        for (size_t i = 0; i < u->n_options; i++)
                if (streq(u->options[i].section, "X-Fleet") && strchr(u->options[i].value, '%'))
                        return true;
        return false;
}

/* A pattern that matches a name is a well-formed pattern. */
static inline void fuzz_check_patterns(char *const *patterns, const char *name) {
        STRV_FOREACH(p, patterns)
                if (glob_match(*p, name))
                        FUZZ_CHECK(glob_validate(*p) == 0);
}

static inline void fuzz_check_xfleet_relations(const char *name, const XFleet *a, const XFleet *b) {
        const char *other = "other.service";

        FUZZ_CHECK(!xfleet_conflicts(name, a, name, b));
        FUZZ_CHECK(xfleet_replaces(name, a, name, b) == 0);
        FUZZ_CHECK(xfleet_conflicts(name, a, other, b) == xfleet_conflicts(other, b, name, a));
        FUZZ_CHECK(xfleet_replaces(name, a, other, b) == -xfleet_replaces(other, b, name, a));
        fuzz_check_patterns(a->conflicts, name);
        fuzz_check_patterns(a->replaces, name);
        fuzz_check_patterns(a->peers, name);
}

/* Input: the unit name, "\n", the unit file. */
static inline void fuzz_check_xfleet(const uint8_t *data, size_t size) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        _cleanup_(xfleet_freep) XFleet *plain = NULL, *named = NULL;
        _cleanup_free_ char *name = NULL, *err = NULL;
        _cleanup_strv_free_ char **md = NULL;
        FuzzSpan head, text;
        int r;

        fuzz_split((FuzzSpan){(const char *) data, size}, '\n', &head, &text);
        name = fuzz_strndup(head);
        fuzz_check_unit_name(name);
        if (metadata_parse_config(name, &md) == 0) {
                size_t n = strv_length(md);

                FUZZ_CHECK(md && n % 2 == 0);
                for (size_t i = 2; i < n; i += 2)
                        FUZZ_CHECK(strcmp(md[i - 2], md[i]) < 0);
        }
        if (unit_file_parse(text.p, text.len, &u, NULL) < 0)
                return;
        if (xfleet_parse(u, NULL, &plain) < 0 || xfleet_parse(u, name, &named) < 0)
                return;
        fuzz_check_xfleet_structure(plain);
        fuzz_check_xfleet_structure(named);
        if (!fuzz_xfleet_has_specifier(u) || !strchr(name, '.'))
                FUZZ_CHECK(fuzz_xfleet_equal(plain, named));
        r = xfleet_validate(plain, &err);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
        FUZZ_CHECK((r == 0) == !err || r == -ENOMEM);
        fuzz_check_xfleet_relations(name, plain, named);
        fuzz_check_xfleet_relations(name, named, plain);
}

/* ---- glob ------------------------------------------------------------------------------- */

/*
 * Reference matcher for ASCII patterns made only of literal bytes, '*' and '?' (no class, no
 * escape) against ASCII names: '*' is any run of non-'/' bytes, '?' one non-'/' byte. Dynamic
 * programming over (pattern, name) positions. Go's path.Match (and glob.c) try each chunk
 * after a star only at its first matching offset; that is exact for ASCII, but not with
 * multi-byte runes, where a later offset can split a rune into more '?' matches, hence ASCII
 * only (regressions/glob/go-first-offset-utf8).
 */
static inline bool fuzz_glob_reference(const char *p, const char *n) {
        size_t pl = strlen(p), nl = strlen(n);
        _cleanup_free_ bool *m = calloc((pl + 1) * (nl + 1), sizeof(bool));

        if (!m)
                abort();
#define M(i, j) m[(i) * (nl + 1) + (j)]
        M(pl, nl) = true;
        for (size_t i = pl; i-- > 0;)
                for (size_t j = nl + 1; j-- > 0;) {
                        if (p[i] == '*')
                                M(i, j) = M(i + 1, j) || (j < nl && n[j] != '/' && M(i, j + 1));
                        else if (p[i] == '?')
                                M(i, j) = j < nl && n[j] != '/' && M(i + 1, j + 1);
                        else
                                M(i, j) = j < nl && p[i] == n[j] && M(i + 1, j + 1);
                }
        return M(0, 0);
#undef M
}

static inline bool fuzz_is_ascii(const char *s) {
        for (; *s; s++)
                if ((uint8_t) *s >= 0x80)
                        return false;
        return true;
}

/* Input: the pattern, "\n", the name. */
static inline void fuzz_check_glob(const uint8_t *data, size_t size) {
        _cleanup_free_ char *pattern = NULL, *name = NULL, *escaped = NULL;
        FuzzSpan head, tail;
        bool match;
        size_t n;

        fuzz_split((FuzzSpan){(const char *) data, size}, '\n', &head, &tail);
        pattern = fuzz_strndup(head);
        name = fuzz_strndup(tail);
        match = glob_match(pattern, name);
        if (glob_validate(pattern) < 0)
                FUZZ_CHECK(!match);
        if (!strpbrk(pattern, "*?[\\"))
                FUZZ_CHECK(match == streq(pattern, name));
        if (!strpbrk(pattern, "[\\") && fuzz_is_ascii(pattern) && fuzz_is_ascii(name) &&
            strlen(pattern) * strlen(name) <= 1u << 20)
                FUZZ_CHECK(match == fuzz_glob_reference(pattern, name));
        FUZZ_CHECK(glob_match("*", name) == !strchr(name, '/'));
        FUZZ_CHECK(glob_match(name, name) || strpbrk(name, "*?[\\"));
        /* Every byte escaped: a literal pattern that matches exactly the name. */
        n = strlen(name);
        escaped = malloc(2 * n + 1);
        if (!escaped)
                abort();
        for (size_t i = 0; i < n; i++) {
                escaped[2 * i] = '\\';
                escaped[2 * i + 1] = name[i];
        }
        escaped[2 * n] = 0;
        FUZZ_CHECK(glob_validate(escaped) == 0);
        FUZZ_CHECK(glob_match(escaped, name));
}
