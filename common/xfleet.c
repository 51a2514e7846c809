/* SPDX-License-Identifier: MIT */
/*
 * The [X-Fleet] section as fleet v1.0.0 reads it (reference section 6): unit.mapOptions's
 * multi-value splitting, job.requirements()'s specifiers, the accessors Peers, Conflicts,
 * Replaces, RequiredTarget, RequiredTargetMetadata, IsGlobal, and api.ValidateOptions.
 * Values are taken in file order across a key and its deprecated aliases (fleet groups them
 * by key, and iterates its sets in random order where that order could show).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errmsg.h"
#include "glob.h"
#include "strv.h"
#include "unit-name.h"
#include "xfleet.h"

#define XFLEET_SECTION "X-Fleet"

typedef enum XFleetKey {
        KEY_MACHINE_ID,
        KEY_X_MACHINE_ID,
        KEY_X_MACHINE_BOOT_ID,
        KEY_MACHINE_OF,
        KEY_CONFLICTS,
        KEY_REPLACES,
        KEY_METADATA,
        KEY_GLOBAL,
        KEY_UNKNOWN,
} XFleetKey;

static const struct {
        const char *name;
        XFleetKey key;
} xfleet_keys[] = {
        {"MachineID", KEY_MACHINE_ID},
        {"X-ConditionMachineID", KEY_X_MACHINE_ID},
        {"X-ConditionMachineBootID", KEY_X_MACHINE_BOOT_ID},
        {"MachineOf", KEY_MACHINE_OF},
        {"X-ConditionMachineOf", KEY_MACHINE_OF},
        {"Conflicts", KEY_CONFLICTS},
        {"X-Conflicts", KEY_CONFLICTS},
        {"Replaces", KEY_REPLACES},
        {"MachineMetadata", KEY_METADATA},
        {"X-ConditionMachineMetadata", KEY_METADATA},
        {"Global", KEY_GLOBAL},
};

static XFleetKey key_from_name(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(xfleet_keys); i++)
                if (streq(xfleet_keys[i].name, name))
                        return xfleet_keys[i].key;
        return KEY_UNKNOWN;
}

/* Parse state: the first value of each machine-ID key, for the precedence in RequiredTarget. */
typedef struct XFleetParse {
        XFleet *x;
        char *machine_ids[3]; /* KEY_MACHINE_ID, KEY_X_MACHINE_ID, KEY_X_MACHINE_BOOT_ID */
        const UnitNameInfo *name_info;
} XFleetParse;

/* ---- value processing ------------------------------------------------------------------- */

/* unit.parseMultivalueLine: split only a value that starts and ends with '"'. */
static int parse_multivalue(const char *v, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *cur = NULL;
        size_t len = strlen(v), n = 0;
        bool quoted = false;
        int r;

        if (len == 0 || v[0] != '"' || v[len - 1] != '"')
                return strv_extend(ret, v);
        cur = malloc(len + 1);
        if (!cur)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                if (v[i] == '"')
                        quoted = !quoted;
                else if (v[i] == ' ' && !quoted) {
                        r = strv_consume(&l, strndup(cur, n));
                        if (r < 0)
                                return r;
                        n = 0;
                } else
                        cur[n++] = v[i];
        }
        r = strv_consume(&l, strndup(cur, n));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

/* strings.Replace(s, from, to, -1); consumes s. */
static char *replace_all(char *s, const char *from, const char *to) {
        size_t nf = strlen(from), nt = strlen(to), count = 0;
        const char *p;
        char *out, *o;

        if (!s)
                return NULL;
        for (p = strstr(s, from); p; p = strstr(p + nf, from))
                count++;
        if (count == 0)
                return s;
        out = malloc(strlen(s) + count * nt - count * nf + 1);
        if (!out) {
                free(s);
                return NULL;
        }
        o = out;
        for (const char *q = s;; q = p + nf) {
                p = strstr(q, from);
                if (!p) {
                        strcpy(o, q);
                        break;
                }
                o = mempcpy(o, q, (size_t) (p - q));
                o = mempcpy(o, to, nt);
        }
        free(s);
        return out;
}

/* job.unitPrintf: plain replacement of %n, %N, %p, %i, in that order. */
static char *expand_specifiers(const char *v, const UnitNameInfo *ni) {
        char *s = strdup(v);

        if (!ni)
                return s;
        s = replace_all(s, "%n", ni->full_name);
        s = replace_all(s, "%N", ni->name);
        s = replace_all(s, "%p", ni->prefix);
        return replace_all(s, "%i", ni->instance);
}

/* strings.Fields (Go's unicode spaces); appends the fields of v to *l. */
static int split_fields(const char *v, char ***l) {
        size_t len = strlen(v), start = 0, i = 0;
        int r;

        while (i <= len) {
                uint32_t c = 0;
                size_t n = i < len ? unit_utf8_decode(v + i, len - i, &c) : 1;

                if (i == len || unit_is_space(c)) {
                        if (i > start) {
                                r = strv_consume(l, strndup(v + start, i - start));
                                if (r < 0)
                                        return r;
                        }
                        start = i + n;
                }
                i += n;
        }
        return 0;
}

/* Case-insensitive: true yes 1 on t (job.isTruthyValue). */
static bool is_truthy(const char *v) {
        static const char *const truthy[] = {"true", "yes", "1", "on", "t"};

        for (size_t i = 0; i < ELEMENTSOF(truthy); i++)
                if (strcasecmp(v, truthy[i]) == 0)
                        return true;
        return false;
}

/* ---- MachineMetadata -------------------------------------------------------------------- */

static MetadataReq *metadata_get(XFleet *x, const char *key, size_t klen) {
        MetadataReq *m;

        for (size_t i = 0; i < x->n_metadata; i++)
                if (strlen(x->metadata[i].key) == klen && strneq(x->metadata[i].key, key, klen))
                        return &x->metadata[i];
        m = reallocarray(x->metadata, x->n_metadata + 1, sizeof(MetadataReq));
        if (!m)
                return NULL;
        x->metadata = m;
        m = &x->metadata[x->n_metadata];
        *m = (MetadataReq){.key = strndup(key, klen)};
        if (!m->key)
                return NULL;
        x->n_metadata++;
        return m;
}

/*
 * job.RequiredTargetMetadata: "k=v" split on every '=', exactly two non-empty parts, else the
 * value is ignored. fleet-c: a key ending in '!' ("region!=us") forbids the value instead.
 */
static int metadata_add_value(XFleet *x, const char *v) {
        const char *eq = strchr(v, '=');
        size_t klen = eq ? (size_t) (eq - v) : 0;
        bool forbid;
        MetadataReq *m;
        char ***l;

        if (!eq || strchr(eq + 1, '=') || klen == 0 || eq[1] == 0)
                return 0;
        forbid = v[klen - 1] == '!';
        if (forbid && --klen == 0)
                return 0;
        m = metadata_get(x, v, klen);
        if (!m)
                return -ENOMEM;
        l = forbid ? &m->forbidden : &m->allowed;
        if (strv_contains(*l, eq + 1))
                return 0;
        return strv_extend(l, eq + 1);
}

static int cmp_metadata(const void *a, const void *b) {
        return strcmp(((const MetadataReq *) a)->key, ((const MetadataReq *) b)->key);
}

/* ---- parsing ---------------------------------------------------------------------------- */

static int add_value(XFleetParse *p, XFleetKey key, const char *v) {
        XFleet *x = p->x;

        switch (key) {
        case KEY_MACHINE_ID:
        case KEY_X_MACHINE_ID:
        case KEY_X_MACHINE_BOOT_ID:
                if (p->machine_ids[key])
                        return 0;
                p->machine_ids[key] = strdup(v);
                return p->machine_ids[key] ? 0 : -ENOMEM;
        case KEY_MACHINE_OF:
                return strv_extend(&x->peers, v);
        case KEY_CONFLICTS:
                return split_fields(v, &x->conflicts);
        case KEY_REPLACES:
                return strv_extend(&x->replaces, v);
        case KEY_METADATA:
                return metadata_add_value(x, v);
        case KEY_GLOBAL:
                x->global = is_truthy(v); /* the last value wins */
                return 0;
        case KEY_UNKNOWN:
                break;
        }
        return 0;
}

static int add_option(XFleetParse *p, const UnitOption *o) {
        _cleanup_strv_free_ char **values = NULL;
        XFleetKey key = key_from_name(o->name);
        int r;

        if (key == KEY_UNKNOWN) {
                if (strv_contains(p->x->unknown, o->name))
                        return 0;
                return strv_extend(&p->x->unknown, o->name);
        }
        r = parse_multivalue(o->value, &values);
        if (r < 0)
                return r;
        STRV_FOREACH(v, values) {
                _cleanup_free_ char *e = expand_specifiers(*v, p->name_info);

                if (!e)
                        return -ENOMEM;
                r = add_value(p, key, e);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void xfleet_parse_done(XFleetParse *p) {
        for (size_t i = 0; i < ELEMENTSOF(p->machine_ids); i++)
                free(p->machine_ids[i]);
        xfleet_free(p->x);
}

static int xfleet_parse_options(XFleetParse *p, const UnitFile *u) {
        int r;

        for (size_t i = 0; i < u->n_options; i++) {
                if (!streq(u->options[i].section, XFLEET_SECTION))
                        continue;
                r = add_option(p, &u->options[i]);
                if (r < 0)
                        return r;
        }
        /* RequiredTarget: MachineID, then X-ConditionMachineID, then X-ConditionMachineBootID. */
        for (size_t i = 0; i < ELEMENTSOF(p->machine_ids) && !p->x->machine_id; i++)
                p->x->machine_id = TAKE_PTR(p->machine_ids[i]);
        if (p->x->n_metadata > 1)
                qsort_safe(p->x->metadata, p->x->n_metadata, sizeof(MetadataReq), cmp_metadata);
        return 0;
}

int xfleet_parse(const UnitFile *u, const char *unit_name, XFleet **ret) {
        _cleanup_(unit_name_info_done) UnitNameInfo ni = {};
        _cleanup_(xfleet_parse_done) XFleetParse p = {};
        int r;

        assert(u && ret);
        /* unit.NewUnitNameInfo fails without a '.', and then nothing is substituted. */
        if (unit_name && strchr(unit_name, '.')) {
                r = unit_name_info(unit_name, &ni);
                if (r < 0)
                        return r;
                p.name_info = &ni;
        }
        p.x = calloc(1, sizeof(XFleet));
        if (!p.x)
                return -ENOMEM;
        r = xfleet_parse_options(&p, u);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p.x);
        return 0;
}

XFleet *xfleet_free(XFleet *x) {
        if (!x)
                return NULL;
        free(x->machine_id);
        strv_free(x->peers);
        strv_free(x->conflicts);
        strv_free(x->replaces);
        for (size_t i = 0; i < x->n_metadata; i++) {
                free(x->metadata[i].key);
                strv_free(x->metadata[i].allowed);
                strv_free(x->metadata[i].forbidden);
        }
        free(x->metadata);
        strv_free(x->unknown);
        free(x);
        return NULL;
}

/* ---- validation ------------------------------------------------------------------------- */

/* "unresolvable requirements: peer %q matches <what> %q" */
static int fail_peer(char **reterr_message, const char *peer, const char *what,
                     const char *pattern) {
        _cleanup_free_ char *qp = NULL, *qc = NULL;

        if (unit_go_quote(peer, &qp) < 0 || unit_go_quote(pattern, &qc) < 0)
                return -ENOMEM;
        return errmsg_set(reterr_message, -EINVAL,
                          "unresolvable requirements: peer %s matches %s %s", qp, what, qc);
}

static int check_peers(const XFleet *x, char **reterr_message) {
        STRV_FOREACH(peer, x->peers) {
                STRV_FOREACH(c, x->conflicts)
                        if (glob_match(*c, *peer))
                                return fail_peer(reterr_message, *peer, "conflict", *c);
                STRV_FOREACH(rp, x->replaces)
                        if (glob_match(*rp, *peer))
                                return fail_peer(reterr_message, *peer, "replace", *rp);
        }
        return 0;
}

int xfleet_validate(const XFleet *x, char **reterr_message) {
        bool target, peers, conflicts, replaces;
        const char *msg = NULL;
        int r;

        assert(x);
        r = check_peers(x, reterr_message);
        if (r < 0)
                return r;
        target = x->machine_id != NULL;
        peers = strv_length(x->peers) > 0;
        conflicts = strv_length(x->conflicts) > 0;
        replaces = strv_length(x->replaces) > 0;
        if (target && peers)
                msg = "MachineID cannot be used with Peers";
        else if (target && conflicts)
                msg = "MachineID cannot be used with Conflicts";
        else if (target && x->global)
                msg = "MachineID cannot be used with Global";
        else if (target && replaces)
                msg = "MachineID cannot be used with Replaces";
        else if (x->global && peers)
                msg = "Global cannot be used with Peers";
        else if (x->global && replaces)
                msg = "Global cannot be used with Replaces";
        else if (conflicts && replaces)
                msg = "Conflicts cannot be used with Replaces";
        return msg ? errmsg_set(reterr_message, -EINVAL, "%s", msg) : 0;
}

/* ---- relations -------------------------------------------------------------------------- */

bool xfleet_metadata_match(const XFleet *x, MetadataLookup lookup, void *userdata) {
        assert(x && lookup);
        for (size_t i = 0; i < x->n_metadata; i++) {
                const MetadataReq *m = &x->metadata[i];
                const char *v = lookup(m->key, userdata);

                if (strv_length(m->allowed) > 0 && (!v || !strv_contains(m->allowed, v)))
                        return false;
                if (v && strv_contains(m->forbidden, v))
                        return false;
        }
        return true;
}

static bool any_matches(char *const *patterns, const char *name) {
        STRV_FOREACH(p, patterns)
                if (glob_match(*p, name))
                        return true;
        return false;
}

bool xfleet_conflicts(const char *a_name, const XFleet *a, const char *b_name, const XFleet *b) {
        if (!a_name || !b_name || streq(a_name, b_name))
                return false;
        return (a && any_matches(a->conflicts, b_name)) || (b && any_matches(b->conflicts, a_name));
}

int xfleet_replaces(const char *a_name, const XFleet *a, const char *b_name, const XFleet *b) {
        bool ab, ba;

        if (!a_name || !b_name || streq(a_name, b_name))
                return 0;
        ab = a && any_matches(a->replaces, b_name);
        ba = b && any_matches(b->replaces, a_name);
        return ab == ba ? 0 : ab ? 1 : -1;
}

/* ---- fleetd's metadata option ----------------------------------------------------------- */

static char *strndup_trimmed(const char *s, size_t len) {
        size_t start, n;

        unit_trim_space(s, len, &start, &n);
        return strndup(s + start, n);
}

/* Sets key to value in an alternating key/value strv (consumes both). */
static int kv_set(char ***l, char *key, char *value) {
        int r;

        if (!key || !value) {
                free(key);
                free(value);
                return -ENOMEM;
        }
        for (char **i = *l; i && *i; i += 2)
                if (streq(i[0], key)) {
                        free(key);
                        free(i[1]);
                        i[1] = value;
                        return 0;
                }
        r = strv_consume(l, key);
        if (r < 0) {
                free(value);
                return r;
        }
        return strv_consume(l, value);
}

static int cmp_pair(const void *a, const void *b) {
        return strcmp(((char *const *) a)[0], ((char *const *) b)[0]);
}

/* config.Metadata(): split on ',', each piece on its first '=', both halves trimmed. */
int metadata_parse_config(const char *s, char ***ret) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        const char *piece = strempty(s);
        int r;

        assert(ret);
        if (!l)
                return -ENOMEM;
        for (;;) {
                const char *end = strchrnul(piece, ',');
                const char *eq = memchr(piece, '=', (size_t) (end - piece));

                if (eq) {
                        r = kv_set(&l, strndup_trimmed(piece, (size_t) (eq - piece)),
                                   strndup_trimmed(eq + 1, (size_t) (end - eq - 1)));
                        if (r < 0)
                                return r;
                }
                if (*end == 0)
                        break;
                piece = end + 1;
        }
        qsort_safe(l, strv_length(l) / 2, 2 * sizeof(char *), cmp_pair);
        *ret = TAKE_PTR(l);
        return 0;
}
