/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "registry-json.h"

/* ---- key schema ----------------------------------------------------------------------------- */

static const char *const kind_table[_REGISTRY_KEY_KIND_MAX] = {
        [REGISTRY_KEY_UNIT] = "unit",       [REGISTRY_KEY_JOB] = "job",
        [REGISTRY_KEY_GLOBAL] = "global",   [REGISTRY_KEY_SCHEDULE] = "schedule",
        [REGISTRY_KEY_MACHINE] = "machine", [REGISTRY_KEY_METADATA] = "metadata",
        [REGISTRY_KEY_STATE] = "state",     [REGISTRY_KEY_ENGINE_LEADER] = "engine",
        [REGISTRY_KEY_REASON] = "reason",   [REGISTRY_KEY_CORDON] = "cordon",
        [REGISTRY_KEY_PIN] = "pin",
};

const char *registry_key_kind_to_string(RegistryKeyKind k) {
        if ((unsigned) k >= _REGISTRY_KEY_KIND_MAX)
                return NULL;
        return kind_table[k];
}

RegistryKeyKind registry_key_kind_from_string(const char *s) {
        for (size_t i = 0; s && i < _REGISTRY_KEY_KIND_MAX; i++)
                if (streq(kind_table[i], s))
                        return (RegistryKeyKind) i;
        return _REGISTRY_KEY_KIND_INVALID;
}

void registry_key_done(RegistryKey *k) {
        if (!k)
                return;
        free(k->name);
        free(k->machine_id);
        *k = (RegistryKey){.kind = _REGISTRY_KEY_KIND_INVALID};
}

bool registry_component_is_valid(const char *s) {
        if (!s || !*s || streq(s, ".") || streq(s, ".."))
                return false;
        for (const char *p = s; *p; p++)
                if (*p == '/' || (unsigned char) *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

bool registry_hash_is_valid(const char *s) {
        if (!s || strlen(s) != REGISTRY_HASH_LEN)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

/* Which parts a kind has: name (N), machine (M), in key order. */
typedef enum Parts {
        PARTS_NAME,         /* <kind>/<name> */
        PARTS_MACHINE,      /* <kind>/<machine> */
        PARTS_MACHINE_NAME, /* <kind>/<machine>/<name> */
        PARTS_NAME_MACHINE, /* <kind>/<name>/<machine> */
        PARTS_LEADER,       /* engine/leader */
} Parts;

static Parts kind_parts(RegistryKeyKind k) {
        switch (k) {
        case REGISTRY_KEY_SCHEDULE:
        case REGISTRY_KEY_METADATA:
        case REGISTRY_KEY_PIN:
                return PARTS_MACHINE_NAME;
        case REGISTRY_KEY_STATE:
                return PARTS_NAME_MACHINE;
        case REGISTRY_KEY_MACHINE:
        case REGISTRY_KEY_CORDON:
                return PARTS_MACHINE;
        case REGISTRY_KEY_ENGINE_LEADER:
                return PARTS_LEADER;
        default:
                return PARTS_NAME;
        }
}

static bool key_parts_valid(const RegistryKey *k) {
        bool name_ok = k->kind == REGISTRY_KEY_UNIT ? registry_hash_is_valid(k->name)
                                                    : registry_component_is_valid(k->name);
        bool machine_ok = registry_component_is_valid(k->machine_id);

        switch (kind_parts(k->kind)) {
        case PARTS_NAME:
                return name_ok && !k->machine_id;
        case PARTS_MACHINE:
                return machine_ok && !k->name;
        case PARTS_MACHINE_NAME:
        case PARTS_NAME_MACHINE:
                return name_ok && machine_ok;
        case PARTS_LEADER:
                return !k->name && !k->machine_id;
        }
        return false;
}

static const char *slash_if_missing(const char *prefix) {
        size_t n = strlen(prefix);

        return n > 0 && prefix[n - 1] == '/' ? "" : "/";
}

int registry_key_build(const char *prefix, const RegistryKey *k, char **ret) {
        const char *sep, *kind;
        int n;

        if (!prefix || !k || (unsigned) k->kind >= _REGISTRY_KEY_KIND_MAX || !key_parts_valid(k))
                return -EINVAL;
        sep = slash_if_missing(prefix);
        kind = kind_table[k->kind];
        switch (kind_parts(k->kind)) {
        case PARTS_NAME:
                n = asprintf(ret, "%s%s%s/%s", prefix, sep, kind, k->name);
                break;
        case PARTS_MACHINE:
                n = asprintf(ret, "%s%s%s/%s", prefix, sep, kind, k->machine_id);
                break;
        case PARTS_MACHINE_NAME:
                n = asprintf(ret, "%s%s%s/%s/%s", prefix, sep, kind, k->machine_id, k->name);
                break;
        case PARTS_NAME_MACHINE:
                n = asprintf(ret, "%s%s%s/%s/%s", prefix, sep, kind, k->name, k->machine_id);
                break;
        default:
                n = asprintf(ret, "%s%sengine/leader", prefix, sep);
        }
        return n < 0 ? -ENOMEM : 0;
}

static int build(const char *prefix, RegistryKeyKind kind, const char *name, const char *machine_id,
                 char **ret) {
        RegistryKey k = {.kind = kind, .name = (char *) name, .machine_id = (char *) machine_id};

        return registry_key_build(prefix, &k, ret);
}

int registry_key_unit(const char *prefix, const char *hash, char **ret) {
        return build(prefix, REGISTRY_KEY_UNIT, hash, NULL, ret);
}

int registry_key_job(const char *prefix, const char *name, char **ret) {
        return build(prefix, REGISTRY_KEY_JOB, name, NULL, ret);
}

int registry_key_global(const char *prefix, const char *name, char **ret) {
        return build(prefix, REGISTRY_KEY_GLOBAL, name, NULL, ret);
}

int registry_key_schedule(const char *prefix, const char *machine_id, const char *name,
                          char **ret) {
        return build(prefix, REGISTRY_KEY_SCHEDULE, name, machine_id, ret);
}

int registry_key_machine(const char *prefix, const char *machine_id, char **ret) {
        return build(prefix, REGISTRY_KEY_MACHINE, NULL, machine_id, ret);
}

int registry_key_metadata(const char *prefix, const char *machine_id, const char *key, char **ret) {
        return build(prefix, REGISTRY_KEY_METADATA, key, machine_id, ret);
}

int registry_key_state(const char *prefix, const char *name, const char *machine_id, char **ret) {
        return build(prefix, REGISTRY_KEY_STATE, name, machine_id, ret);
}

int registry_key_engine_leader(const char *prefix, char **ret) {
        return build(prefix, REGISTRY_KEY_ENGINE_LEADER, NULL, NULL, ret);
}

int registry_key_reason(const char *prefix, const char *name, char **ret) {
        return build(prefix, REGISTRY_KEY_REASON, name, NULL, ret);
}

int registry_key_cordon(const char *prefix, const char *machine_id, char **ret) {
        return build(prefix, REGISTRY_KEY_CORDON, NULL, machine_id, ret);
}

int registry_key_pin(const char *prefix, const char *machine_id, const char *name, char **ret) {
        return build(prefix, REGISTRY_KEY_PIN, name, machine_id, ret);
}

int registry_key_dir(const char *prefix, RegistryKeyKind kind, const char *sub, char **ret) {
        const char *sep;
        int n;

        if (!prefix)
                return -EINVAL;
        sep = slash_if_missing(prefix);
        if (kind < 0)
                n = asprintf(ret, "%s%s", prefix, sep);
        else if ((unsigned) kind >= _REGISTRY_KEY_KIND_MAX)
                return -EINVAL;
        else if (!sub)
                n = asprintf(ret, "%s%s%s/", prefix, sep, kind_table[kind]);
        else if (!registry_component_is_valid(sub))
                return -EINVAL;
        else
                n = asprintf(ret, "%s%s%s/%s/", prefix, sep, kind_table[kind], sub);
        return n < 0 ? -ENOMEM : 0;
}

/* Split rest into at most 3 '/'-separated parts; returns the count, or -EINVAL for more. */
static int split(char *rest, char *parts[static 3]) {
        int n = 0;

        for (char *p = rest;; p++) {
                if (n == 3)
                        return -EINVAL;
                parts[n++] = p;
                p = strchr(p, '/');
                if (!p)
                        return n;
                *p = 0;
        }
}

static int dup_part(const char *s, char **ret) {
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int registry_key_parse(const char *prefix, const char *key, RegistryKey *ret) {
        _cleanup_free_ char *rest = NULL;
        RegistryKey k = {};
        char *parts[3];
        size_t plen;
        int n, r = 0;

        if (!prefix || !key)
                return -EINVAL;
        plen = strlen(prefix);
        if (!strneq(key, prefix, plen))
                return -EINVAL;
        key += plen;
        if (*slash_if_missing(prefix)) {
                if (*key != '/')
                        return -EINVAL;
                key++;
        }
        rest = strdup(key);
        if (!rest)
                return -ENOMEM;
        n = split(rest, parts);
        if (n < 2)
                return -EINVAL;
        k.kind = registry_key_kind_from_string(parts[0]);
        if (k.kind < 0)
                return -EINVAL;
        switch (kind_parts(k.kind)) {
        case PARTS_NAME:
                r = n == 2 ? dup_part(parts[1], &k.name) : -EINVAL;
                break;
        case PARTS_MACHINE:
                r = n == 2 ? dup_part(parts[1], &k.machine_id) : -EINVAL;
                break;
        case PARTS_MACHINE_NAME:
                r = n == 3 ? dup_part(parts[1], &k.machine_id) : -EINVAL;
                r = r < 0 ? r : dup_part(parts[2], &k.name);
                break;
        case PARTS_NAME_MACHINE:
                r = n == 3 ? dup_part(parts[1], &k.name) : -EINVAL;
                r = r < 0 ? r : dup_part(parts[2], &k.machine_id);
                break;
        case PARTS_LEADER:
                r = n == 2 && streq(parts[1], "leader") ? 0 : -EINVAL;
                break;
        }
        if (r >= 0 && !key_parts_valid(&k))
                r = -EINVAL;
        if (r < 0) {
                registry_key_done(&k);
                return r;
        }
        *ret = k;
        return 0;
}

/* ---- JSON helpers --------------------------------------------------------------------------- */

static int load(const char *text, size_t size, json_t **ret) {
        json_t *j;

        if (!text)
                return -EBADMSG;
        j = json_loadb(text, size, 0, NULL);
        if (!j)
                return -EBADMSG;
        if (!json_is_object(j)) {
                json_decref(j);
                return -EBADMSG;
        }
        *ret = j;
        return 0;
}

static int dump(json_t *o, char **ret) {
        char *s = json_dumps(o, JSON_COMPACT);

        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* Required string field, copied. */
static int get_str(json_t *o, const char *field, char **ret) {
        json_t *v = json_object_get(o, field);

        if (!json_is_string(v))
                return -EBADMSG;
        return dup_part(json_string_value(v), ret);
}

/* Optional string field: absent or null -> "". */
static int get_str_opt(json_t *o, const char *field, char **ret) {
        json_t *v = json_object_get(o, field);

        if (!v || json_is_null(v))
                return dup_part("", ret);
        return get_str(o, field, ret);
}

static int get_hash(json_t *o, const char *field, char ret[static REGISTRY_HASH_LEN + 1]) {
        const char *s = json_string_value(json_object_get(o, field));

        if (!registry_hash_is_valid(s))
                return -EBADMSG;
        memcpy(ret, s, REGISTRY_HASH_LEN + 1);
        return 0;
}

static int get_state(json_t *o, const char *field, JobState *ret) {
        JobState s = job_state_from_string(json_string_value(json_object_get(o, field)));

        if (s < 0)
                return -EBADMSG;
        *ret = s;
        return 0;
}

static int set_str(json_t *o, const char *field, const char *value) {
        json_t *v = json_string(strempty(value));

        if (!v || json_object_set_new(o, field, v) < 0)
                return -ENOMEM;
        return 0;
}

static int set_new(json_t *o, const char *field, json_t *v) {
        if (!v || json_object_set_new(o, field, v) < 0)
                return -ENOMEM;
        return 0;
}

static int set_state(json_t *o, const char *field, JobState s) {
        const char *str = job_state_to_string(s);

        return str ? set_str(o, field, str) : -EINVAL;
}

/* ---- job and target ------------------------------------------------------------------------- */

void registry_job_done(RegistryJob *j) {
        if (!j)
                return;
        free(j->name);
        *j = (RegistryJob){};
}

int registry_job_copy(const RegistryJob *src, RegistryJob *ret) {
        RegistryJob j = *src;

        j.name = strdup(strempty(src->name));
        if (!j.name)
                return -ENOMEM;
        *ret = j;
        return 0;
}

int registry_job_to_json(const RegistryJob *j, char **ret) {
        json_auto_t *o = json_object();
        int r;

        if (!o)
                return -ENOMEM;
        if (!registry_component_is_valid(j->name) || !registry_hash_is_valid(j->hash))
                return -EINVAL;
        r = set_str(o, "name", j->name);
        r = r < 0 ? r : set_str(o, "hash", j->hash);
        r = r < 0 ? r : set_state(o, "desiredState", j->desired_state);
        r = r < 0 ? r : set_new(o, "global", json_boolean(j->global));
        return r < 0 ? r : dump(o, ret);
}

int registry_job_from_json(const char *text, size_t size, RegistryJob *ret) {
        json_auto_t *o = NULL;
        RegistryJob j = {};
        json_t *g;
        int r;

        r = load(text, size, &o);
        if (r < 0)
                return r;
        g = json_object_get(o, "global");
        if (g && !json_is_boolean(g) && !json_is_null(g))
                return -EBADMSG;
        j.global = json_is_true(g);
        r = get_hash(o, "hash", j.hash);
        r = r < 0 ? r : get_state(o, "desiredState", &j.desired_state);
        r = r < 0 ? r : get_str(o, "name", &j.name);
        if (r >= 0 && !registry_component_is_valid(j.name))
                r = -EBADMSG;
        if (r < 0) {
                registry_job_done(&j);
                return r;
        }
        *ret = j;
        return 0;
}

int registry_target_to_json(const RegistryTarget *t, char **ret) {
        json_auto_t *o = json_object();
        int r;

        if (!o)
                return -ENOMEM;
        if (!registry_hash_is_valid(t->hash))
                return -EINVAL;
        r = set_str(o, "hash", t->hash);
        r = r < 0 ? r : set_state(o, "desiredState", t->desired_state);
        return r < 0 ? r : dump(o, ret);
}

int registry_target_from_json(const char *text, size_t size, RegistryTarget *ret) {
        json_auto_t *o = NULL;
        RegistryTarget t = {};
        int r;

        r = load(text, size, &o);
        if (r < 0)
                return r;
        r = get_hash(o, "hash", t.hash);
        r = r < 0 ? r : get_state(o, "desiredState", &t.desired_state);
        if (r < 0)
                return r;
        *ret = t;
        return 0;
}

/* ---- machine -------------------------------------------------------------------------------- */

static void metadata_free_array(RegistryMetadata *m, size_t n) {
        for (size_t i = 0; m && i < n; i++) {
                free(m[i].key);
                free(m[i].value);
        }
        free(m);
}

static void capabilities_free_array(RegistryCapability *c, size_t n) {
        for (size_t i = 0; c && i < n; i++)
                free(c[i].name);
        free(c);
}

void registry_machine_done(RegistryMachine *m) {
        if (!m)
                return;
        free(m->id);
        free(m->public_ip);
        metadata_free_array(m->metadata, m->n_metadata);
        capabilities_free_array(m->capabilities, m->n_capabilities);
        free(m->version);
        *m = (RegistryMachine){};
}

/* Index of key in the sorted metadata, or where it would go (*found false). */
static size_t metadata_find(const RegistryMachine *m, const char *key, bool *found) {
        size_t i = 0;

        while (i < m->n_metadata && strcmp(m->metadata[i].key, key) < 0)
                i++;
        *found = i < m->n_metadata && streq(m->metadata[i].key, key);
        return i;
}

const char *registry_machine_get_metadata(const RegistryMachine *m, const char *key) {
        bool found;
        size_t i = metadata_find(m, key, &found);

        return found ? m->metadata[i].value : NULL;
}

int registry_machine_set_metadata(RegistryMachine *m, const char *key, const char *value) {
        bool found;
        size_t i = metadata_find(m, key, &found);
        RegistryMetadata *a;
        char *k, *v;

        if (!value || !*value) {
                if (!found)
                        return 0;
                free(m->metadata[i].key);
                free(m->metadata[i].value);
                memmove(m->metadata + i, m->metadata + i + 1,
                        (m->n_metadata - i - 1) * sizeof(RegistryMetadata));
                m->n_metadata--;
                return 0;
        }
        v = strdup(value);
        if (!v)
                return -ENOMEM;
        if (found) {
                free(m->metadata[i].value);
                m->metadata[i].value = v;
                return 0;
        }
        k = strdup(key);
        a = k ? realloc(m->metadata, (m->n_metadata + 1) * sizeof(RegistryMetadata)) : NULL;
        if (!a) {
                free(k);
                free(v);
                return -ENOMEM;
        }
        m->metadata = a;
        memmove(a + i + 1, a + i, (m->n_metadata - i) * sizeof(RegistryMetadata));
        a[i] = (RegistryMetadata){.key = k, .value = v};
        m->n_metadata++;
        return 0;
}

int registry_machine_merge_metadata(RegistryMachine *m, const RegistryMetadata *overlay, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int r = registry_machine_set_metadata(m, overlay[i].key, overlay[i].value);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int capability_cmp(const void *a, const void *b) {
        return strcmp(((const RegistryCapability *) a)->name,
                      ((const RegistryCapability *) b)->name);
}

static int decode_metadata(json_t *o, RegistryMachine *m) {
        json_t *md = json_object_get(o, "Metadata"), *v;
        const char *k;

        if (!md || json_is_null(md))
                return 0;
        if (!json_is_object(md))
                return -EBADMSG;
        json_object_foreach(md, k, v) {
                int r;

                if (!json_is_string(v))
                        return -EBADMSG;
                /* An empty value means "absent" (as in the dynamic overlay). */
                if (json_string_length(v) == 0)
                        continue;
                r = registry_machine_set_metadata(m, k, json_string_value(v));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int decode_capabilities(json_t *o, RegistryMachine *m) {
        json_t *caps = json_object_get(o, "Capabilities"), *v;
        const char *k;

        if (!caps || json_is_null(caps))
                return 0;
        if (!json_is_object(caps))
                return -EBADMSG;
        m->capabilities = calloc(json_object_size(caps) + 1, sizeof(RegistryCapability));
        if (!m->capabilities)
                return -ENOMEM;
        json_object_foreach(caps, k, v) {
                RegistryCapability *c = &m->capabilities[m->n_capabilities];

                if (!json_is_boolean(v))
                        return -EBADMSG;
                c->name = strdup(k);
                if (!c->name)
                        return -ENOMEM;
                c->enabled = json_is_true(v);
                m->n_capabilities++;
        }
        qsort_safe(m->capabilities, m->n_capabilities, sizeof(RegistryCapability), capability_cmp);
        return 0;
}

int registry_machine_from_json(const char *text, size_t size, RegistryMachine *ret) {
        json_auto_t *o = NULL;
        RegistryMachine m = {};
        int r;

        r = load(text, size, &o);
        if (r < 0)
                return r;
        r = get_str(o, "ID", &m.id);
        if (r >= 0 && !registry_component_is_valid(m.id))
                r = -EBADMSG;
        r = r < 0 ? r : get_str_opt(o, "PublicIP", &m.public_ip);
        r = r < 0 ? r : get_str_opt(o, "Version", &m.version);
        r = r < 0 ? r : decode_metadata(o, &m);
        r = r < 0 ? r : decode_capabilities(o, &m);
        if (r < 0) {
                registry_machine_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}

int registry_machine_to_json(const RegistryMachine *m, char **ret) {
        json_auto_t *o = json_object();
        json_t *md = json_object(), *caps = json_object();
        int r;

        if (!o || !md || !caps) {
                json_decref(md);
                json_decref(caps);
                return -ENOMEM;
        }
        r = set_new(o, "Metadata", md);
        r = r < 0 ? r : set_new(o, "Capabilities", caps);
        if (r < 0)
                return r;
        if (!registry_component_is_valid(m->id))
                return -EINVAL;
        r = set_str(o, "ID", m->id);
        r = r < 0 ? r : set_str(o, "PublicIP", m->public_ip);
        for (size_t i = 0; r >= 0 && i < m->n_metadata; i++)
                r = set_str(md, m->metadata[i].key, m->metadata[i].value);
        for (size_t i = 0; r >= 0 && i < m->n_capabilities; i++)
                r = set_new(caps, m->capabilities[i].name,
                            json_boolean(m->capabilities[i].enabled));
        r = r < 0 ? r : set_str(o, "Version", m->version);
        return r < 0 ? r : dump(o, ret);
}

int registry_machine_copy(const RegistryMachine *src, RegistryMachine *ret) {
        _cleanup_free_ char *json = NULL;
        int r;

        /* Through JSON: one code path, and the copy is normalized the same way. */
        r = registry_machine_to_json(src, &json);
        if (r < 0)
                return r;
        return registry_machine_from_json(json, strlen(json), ret);
}

/* ---- unit state ----------------------------------------------------------------------------- */

void registry_unit_state_done(RegistryUnitState *s) {
        if (!s)
                return;
        free(s->name);
        free(s->machine_id);
        free(s->load_state);
        free(s->active_state);
        free(s->sub_state);
        *s = (RegistryUnitState){};
}

static int dup_opt(const char *s, char **ret) {
        *ret = NULL;
        if (!s)
                return 0;
        return dup_part(s, ret);
}

int registry_unit_state_copy(const RegistryUnitState *src, RegistryUnitState *ret) {
        RegistryUnitState s = *src;
        int r;

        s.name = s.machine_id = s.load_state = s.active_state = s.sub_state = NULL;
        r = dup_opt(src->name, &s.name);
        r = r < 0 ? r : dup_opt(src->machine_id, &s.machine_id);
        r = r < 0 ? r : dup_opt(src->load_state, &s.load_state);
        r = r < 0 ? r : dup_opt(src->active_state, &s.active_state);
        r = r < 0 ? r : dup_opt(src->sub_state, &s.sub_state);
        if (r < 0) {
                registry_unit_state_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

int registry_unit_state_to_json(const RegistryUnitState *s, char **ret) {
        json_auto_t *o = json_object();
        int r;

        if (!o)
                return -ENOMEM;
        if (!registry_hash_is_valid(s->unit_hash))
                return -EINVAL;
        r = set_str(o, "loadState", s->load_state);
        r = r < 0 ? r : set_str(o, "activeState", s->active_state);
        r = r < 0 ? r : set_str(o, "subState", s->sub_state);
        r = r < 0 ? r : set_str(o, "unitHash", s->unit_hash);
        r = r < 0 ? r : set_state(o, "fleetState", s->fleet_state);
        return r < 0 ? r : dump(o, ret);
}

int registry_unit_state_from_json(const char *text, size_t size, RegistryUnitState *ret) {
        json_auto_t *o = NULL;
        RegistryUnitState s = {};
        int r;

        r = load(text, size, &o);
        if (r < 0)
                return r;
        r = get_hash(o, "unitHash", s.unit_hash);
        r = r < 0 ? r : get_state(o, "fleetState", &s.fleet_state);
        r = r < 0 ? r : get_str_opt(o, "loadState", &s.load_state);
        r = r < 0 ? r : get_str_opt(o, "activeState", &s.active_state);
        r = r < 0 ? r : get_str_opt(o, "subState", &s.sub_state);
        if (r < 0) {
                registry_unit_state_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

/* ---- engine leader -------------------------------------------------------------------------- */

void registry_leader_done(RegistryLeader *l) {
        if (!l)
                return;
        free(l->machine_id);
        free(l->version);
        *l = (RegistryLeader){};
}

int registry_leader_to_json(const RegistryLeader *l, char **ret) {
        json_auto_t *o = json_object();
        int r;

        if (!o)
                return -ENOMEM;
        if (!registry_component_is_valid(l->machine_id))
                return -EINVAL;
        r = set_str(o, "MachineID", l->machine_id);
        r = r < 0 ? r : set_str(o, "Version", l->version);
        return r < 0 ? r : dump(o, ret);
}

int registry_leader_from_json(const char *text, size_t size, RegistryLeader *ret) {
        json_auto_t *o = NULL;
        RegistryLeader l = {};
        json_t *v;
        int r;

        r = load(text, size, &o);
        if (r < 0)
                return r;
        v = json_object_get(o, "Version");
        if (json_is_integer(v))
                r = asprintf(&l.version, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0
                            ? -ENOMEM
                            : 0;
        else
                r = get_str_opt(o, "Version", &l.version);
        r = r < 0 ? r : get_str(o, "MachineID", &l.machine_id);
        if (r >= 0 && !registry_component_is_valid(l.machine_id))
                r = -EBADMSG;
        if (r < 0) {
                registry_leader_done(&l);
                return r;
        }
        *ret = l;
        return 0;
}

/* ---- reason (fleet-c) ----------------------------------------------------------------------- */

void registry_reason_done(RegistryReason *r) {
        if (!r)
                return;
        free(r->reason);
        *r = (RegistryReason){};
}

int registry_reason_to_json(const RegistryReason *r, char **ret) {
        json_auto_t *o = json_object();
        int e;

        if (!o)
                return -ENOMEM;
        if (!r->reason || r->job_revision <= 0)
                return -EINVAL;
        e = set_new(o, "jobRevision", json_integer(r->job_revision));
        e = e < 0 ? e : set_str(o, "reason", r->reason);
        return e < 0 ? e : dump(o, ret);
}

int registry_reason_from_json(const char *text, size_t size, RegistryReason *ret) {
        json_auto_t *o = NULL;
        RegistryReason r = {};
        json_t *v;
        int e;

        e = load(text, size, &o);
        if (e < 0)
                return e;
        v = json_object_get(o, "jobRevision");
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
                return -EBADMSG;
        r.job_revision = json_integer_value(v);
        e = get_str(o, "reason", &r.reason);
        if (e < 0)
                return e;
        *ret = r;
        return 0;
}

/* ---- cordon (fleet-c) ----------------------------------------------------------------------- */

int registry_cordon_to_json(const RegistryCordon *c, char **ret) {
        json_auto_t *o = json_object();
        int e;

        if (!o)
                return -ENOMEM;
        e = set_new(o, "draining", json_boolean(c->draining));
        return e < 0 ? e : dump(o, ret);
}

int registry_cordon_from_json(const char *text, size_t size, RegistryCordon *ret) {
        json_auto_t *o = NULL;
        json_t *d;
        int e;

        e = load(text, size, &o);
        if (e < 0)
                return e;
        d = json_object_get(o, "draining");
        if (d && !json_is_boolean(d))
                return -EBADMSG;
        *ret = (RegistryCordon){.draining = json_is_true(d)};
        return 0;
}

/* ---- pin (fleet-c) -------------------------------------------------------------------------- */

int registry_pin_to_json(const RegistryPin *p, char **ret) {
        json_auto_t *o = json_object();
        int e;

        if (!o)
                return -ENOMEM;
        if (!registry_hash_is_valid(p->hash))
                return -EINVAL;
        e = set_str(o, "hash", p->hash);
        return e < 0 ? e : dump(o, ret);
}

int registry_pin_from_json(const char *text, size_t size, RegistryPin *ret) {
        json_auto_t *o = NULL;
        RegistryPin p = {};
        const char *h;
        int e;

        e = load(text, size, &o);
        if (e < 0)
                return e;
        h = json_string_value(json_object_get(o, "hash"));
        if (!registry_hash_is_valid(h))
                return -EBADMSG;
        memcpy(p.hash, h, sizeof(p.hash));
        *ret = p;
        return 0;
}

/* ---- entries -------------------------------------------------------------------------------- */

void registry_entry_done(RegistryEntry *e) {
        if (!e)
                return;
        if (e->has_value)
                switch (e->key.kind) {
                case REGISTRY_KEY_UNIT:
                        free(e->unit_text);
                        break;
                case REGISTRY_KEY_JOB:
                        registry_job_done(&e->job);
                        break;
                case REGISTRY_KEY_MACHINE:
                        registry_machine_done(&e->machine);
                        break;
                case REGISTRY_KEY_METADATA:
                        free(e->metadata_value);
                        break;
                case REGISTRY_KEY_STATE:
                        registry_unit_state_done(&e->state);
                        break;
                case REGISTRY_KEY_ENGINE_LEADER:
                        registry_leader_done(&e->leader);
                        break;
                case REGISTRY_KEY_REASON:
                        registry_reason_done(&e->reason);
                        break;
                default:
                        break;
                }
        registry_key_done(&e->key);
        *e = (RegistryEntry){.key.kind = _REGISTRY_KEY_KIND_INVALID};
}

RegistryEntry *registry_entry_array_free(RegistryEntry *e, size_t n) {
        for (size_t i = 0; e && i < n; i++)
                registry_entry_done(&e[i]);
        free(e);
        return NULL;
}

static int decode_value(RegistryEntry *e, const EtcdKeyValue *kv) {
        const char *v = kv->value ? kv->value : "";
        size_t n = kv->value ? kv->value_size : 0;

        switch (e->key.kind) {
        case REGISTRY_KEY_UNIT:
                return dup_part(v, &e->unit_text);
        case REGISTRY_KEY_METADATA:
                return dup_part(v, &e->metadata_value);
        case REGISTRY_KEY_JOB:
                return registry_job_from_json(v, n, &e->job);
        case REGISTRY_KEY_GLOBAL:
        case REGISTRY_KEY_SCHEDULE:
                return registry_target_from_json(v, n, &e->target);
        case REGISTRY_KEY_MACHINE:
                return registry_machine_from_json(v, n, &e->machine);
        case REGISTRY_KEY_ENGINE_LEADER:
                return registry_leader_from_json(v, n, &e->leader);
        case REGISTRY_KEY_REASON:
                return registry_reason_from_json(v, n, &e->reason);
        case REGISTRY_KEY_CORDON:
                return registry_cordon_from_json(v, n, &e->cordon);
        case REGISTRY_KEY_PIN:
                return registry_pin_from_json(v, n, &e->pin);
        case REGISTRY_KEY_STATE: {
                int r = registry_unit_state_from_json(v, n, &e->state);
                r = r < 0 ? r : dup_part(e->key.name, &e->state.name);
                return r < 0 ? r : dup_part(e->key.machine_id, &e->state.machine_id);
        }
        default:
                return -EINVAL;
        }
}

int registry_entry_decode(const char *prefix, const EtcdKeyValue *kv, bool with_value,
                          RegistryEntry *ret) {
        RegistryEntry e = {};
        int r;

        r = registry_key_parse(prefix, kv->key, &e.key);
        if (r < 0)
                return r;
        e.create_revision = kv->create_revision;
        e.mod_revision = kv->mod_revision;
        e.version = kv->version;
        e.lease = kv->lease;
        if (with_value) {
                r = decode_value(&e, kv);
                /* A half-decoded STATE keeps its allocations in e.state: free them too. */
                e.has_value = true;
                if (r < 0) {
                        registry_entry_done(&e);
                        return r;
                }
        }
        *ret = e;
        return 0;
}
