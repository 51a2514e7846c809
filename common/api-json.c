/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "api-json.h"
#include "errmsg.h"
#include "strv.h"

/* ---- memory ------------------------------------------------------------------------------- */

static void options_free(UnitOption *o, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(o[i].section);
                free(o[i].name);
                free(o[i].value);
        }
        free(o);
}

void api_unit_done(ApiUnit *u) {
        if (!u)
                return;
        free(u->name);
        options_free(u->options, u->n_options);
        free(u->desired_state);
        free(u->current_state);
        free(u->machine_id);
        free(u->reason);
        *u = (ApiUnit){};
}

void api_unit_state_done(ApiUnitState *s) {
        if (!s)
                return;
        free(s->name);
        free(s->hash);
        free(s->machine_id);
        free(s->systemd_load_state);
        free(s->systemd_active_state);
        free(s->systemd_sub_state);
        *s = (ApiUnitState){};
}

void api_machine_done(ApiMachine *m) {
        if (!m)
                return;
        free(m->id);
        free(m->primary_ip);
        strv_free(m->metadata);
        *m = (ApiMachine){};
}

void api_metadata_op_done(ApiMetadataOp *o) {
        if (!o)
                return;
        free(o->op);
        free(o->path);
        free(o->value);
        *o = (ApiMetadataOp){};
}

#define DEFINE_ARRAY_FREE(func, type, done)                                                        \
        type *func(type *a, size_t n) {                                                            \
                if (!a)                                                                            \
                        return NULL;                                                               \
                for (size_t i = 0; i < n; i++)                                                     \
                        done(&a[i]);                                                               \
                free(a);                                                                           \
                return NULL;                                                                       \
        }

DEFINE_ARRAY_FREE(api_unit_array_free, ApiUnit, api_unit_done)
DEFINE_ARRAY_FREE(api_unit_state_array_free, ApiUnitState, api_unit_state_done)
DEFINE_ARRAY_FREE(api_machine_array_free, ApiMachine, api_machine_done)
DEFINE_ARRAY_FREE(api_metadata_op_array_free, ApiMetadataOp, api_metadata_op_done)

static int strdup_opt(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int api_unit_add_option(ApiUnit *u, const char *section, const char *name, const char *value) {
        UnitOption *o;
        UnitOption n = {};

        assert(u);
        if (strdup_opt(strempty(section), &n.section) < 0 ||
            strdup_opt(strempty(name), &n.name) < 0 || strdup_opt(strempty(value), &n.value) < 0)
                goto fail;
        o = realloc(u->options, sizeof(UnitOption) * (u->n_options + 1));
        if (!o)
                goto fail;
        o[u->n_options++] = n;
        u->options = o;
        return 0;
fail:
        free(n.section);
        free(n.name);
        free(n.value);
        return -ENOMEM;
}

int api_unit_copy(const ApiUnit *u, ApiUnit *ret) {
        ApiUnit c = {};

        assert(u);
        assert(ret);
        if (strdup_opt(u->name, &c.name) < 0 ||
            strdup_opt(u->desired_state, &c.desired_state) < 0 ||
            strdup_opt(u->current_state, &c.current_state) < 0 ||
            strdup_opt(u->machine_id, &c.machine_id) < 0 || strdup_opt(u->reason, &c.reason) < 0)
                goto fail;
        for (size_t i = 0; i < u->n_options; i++)
                if (api_unit_add_option(&c, u->options[i].section, u->options[i].name,
                                        u->options[i].value) < 0)
                        goto fail;
        *ret = c;
        return 0;
fail:
        api_unit_done(&c);
        return -ENOMEM;
}

const char *api_machine_metadata_get(const ApiMachine *m, const char *key) {
        for (char **p = m->metadata; p && p[0] && p[1]; p += 2)
                if (streq(p[0], key))
                        return p[1];
        return NULL;
}

/* ---- encoding: a tiny writer that reproduces Go's encoding/json --------------------------- */

typedef struct Buf {
        char *data;
        size_t len, cap;
        bool oom;
} Buf;

static void buf_put(Buf *b, const char *s, size_t n) {
        if (b->oom)
                return;
        if (b->len + n + 1 > b->cap) {
                size_t cap = MAX(b->cap * 2, b->len + n + 64);
                char *d = realloc(b->data, cap);
                if (!d) {
                        b->oom = true;
                        return;
                }
                b->data = d;
                b->cap = cap;
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

static void buf_puts(Buf *b, const char *s) {
        buf_put(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
static size_t utf8_valid_len(const unsigned char *s, size_t n, uint32_t *ret_cp) {
        uint32_t cp;
        size_t len;

        if (s[0] < 0x80) {
                *ret_cp = s[0];
                return 1;
        }
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *ret_cp = cp;
        return len;
}

/* Go's encodeState.string with HTML escaping on (json.Marshal's default). */
static void buf_put_json_string(Buf *b, const char *str) {
        static const char hex[] = "0123456789abcdef";
        const unsigned char *s = (const unsigned char *) str;
        size_t n = strlen(str);

        buf_put(b, "\"", 1);
        for (size_t i = 0; i < n;) {
                uint32_t cp;
                size_t l = utf8_valid_len(s + i, n - i, &cp);
                char esc[7];

                if (l == 0) {
                        buf_puts(b, "\\ufffd");
                        i++;
                        continue;
                }
                if (cp == '"' || cp == '\\') {
                        esc[0] = '\\';
                        esc[1] = (char) cp;
                        buf_put(b, esc, 2);
                } else if (cp == '\n')
                        buf_puts(b, "\\n");
                else if (cp == '\r')
                        buf_puts(b, "\\r");
                else if (cp == '\t')
                        buf_puts(b, "\\t");
                else if (cp < 0x20 || cp == '<' || cp == '>' || cp == '&') {
                        snprintf(esc, sizeof(esc), "\\u00%c%c", hex[cp >> 4], hex[cp & 0xf]);
                        buf_put(b, esc, 6);
                } else if (cp == 0x2028 || cp == 0x2029)
                        buf_puts(b, cp == 0x2028 ? "\\u2028" : "\\u2029");
                else
                        buf_put(b, (const char *) s + i, l);
                i += l;
        }
        buf_put(b, "\"", 1);
}

/* Object writer: tracks whether a comma is needed. */
typedef struct Obj {
        Buf *b;
        bool first;
} Obj;

static Obj obj_begin(Buf *b) {
        buf_put(b, "{", 1);
        return (Obj){.b = b, .first = true};
}

static void obj_key(Obj *o, const char *key) {
        if (!o->first)
                buf_put(o->b, ",", 1);
        o->first = false;
        buf_put_json_string(o->b, key);
        buf_put(o->b, ":", 1);
}

/* omitempty string */
static void obj_str(Obj *o, const char *key, const char *value) {
        if (!value || !*value)
                return;
        obj_key(o, key);
        buf_put_json_string(o->b, value);
}

static void obj_end(Obj *o) {
        buf_put(o->b, "}", 1);
}

static int buf_finish(Buf *b, char **ret) {
        if (b->oom || !b->data) {
                free(b->data);
                return -ENOMEM;
        }
        *ret = b->data;
        return 0;
}

static void put_unit(Buf *b, const ApiUnit *u) {
        Obj o = obj_begin(b);

        obj_str(&o, "currentState", u->current_state);
        obj_str(&o, "desiredState", u->desired_state);
        obj_str(&o, "machineID", u->machine_id);
        obj_str(&o, "name", u->name);
        if (u->n_options > 0) {
                obj_key(&o, "options");
                buf_put(b, "[", 1);
                for (size_t i = 0; i < u->n_options; i++) {
                        Obj oo;

                        if (i > 0)
                                buf_put(b, ",", 1);
                        oo = obj_begin(b);
                        obj_str(&oo, "name", u->options[i].name);
                        obj_str(&oo, "section", u->options[i].section);
                        obj_str(&oo, "value", u->options[i].value);
                        obj_end(&oo);
                }
                buf_put(b, "]", 1);
        }
        obj_str(&o, "reason", u->reason);
        obj_end(&o);
}

static void put_unit_state(Buf *b, const ApiUnitState *s) {
        Obj o = obj_begin(b);

        obj_str(&o, "hash", s->hash);
        obj_str(&o, "machineID", s->machine_id);
        obj_str(&o, "name", s->name);
        obj_str(&o, "systemdActiveState", s->systemd_active_state);
        obj_str(&o, "systemdLoadState", s->systemd_load_state);
        obj_str(&o, "systemdSubState", s->systemd_sub_state);
        obj_end(&o);
}

static int cmp_metadata_key(const void *a, const void *b) {
        return strcmp(**(char *const *const *) a, **(char *const *const *) b);
}

static void put_machine(Buf *b, const ApiMachine *m) {
        Obj o = obj_begin(b);
        size_t n = strv_length(m->metadata) / 2;

        obj_str(&o, "id", m->id);
        if (n > 0) {
                /* Go sorts map keys; sort pointers to the key slots without touching m. */
                char ***keys = malloc(sizeof(char **) * n);
                Obj mo;

                if (!keys) {
                        b->oom = true;
                        return;
                }
                for (size_t i = 0; i < n; i++)
                        keys[i] = &m->metadata[2 * i];
                qsort_safe(keys, n, sizeof(keys[0]), cmp_metadata_key);
                obj_key(&o, "metadata");
                mo = obj_begin(b);
                for (size_t i = 0; i < n; i++) {
                        obj_key(&mo, keys[i][0]);
                        buf_put_json_string(b, keys[i][1]);
                }
                obj_end(&mo);
                free(keys);
        }
        obj_str(&o, "primaryIP", m->primary_ip);
        obj_end(&o);
}

int api_unit_format(const ApiUnit *u, char **ret) {
        Buf b = {};

        put_unit(&b, u);
        return buf_finish(&b, ret);
}

int api_unit_state_format(const ApiUnitState *s, char **ret) {
        Buf b = {};

        put_unit_state(&b, s);
        return buf_finish(&b, ret);
}

int api_machine_format(const ApiMachine *m, char **ret) {
        Buf b = {};

        put_machine(&b, m);
        return buf_finish(&b, ret);
}

/* Pages: the list key sorts before or after nextPageToken depending on its name. */
typedef void (*PutItem)(Buf *b, const void *items, size_t i);

static void put_list(Obj *o, const char *key, const void *items, size_t n, PutItem put) {
        if (n == 0)
                return;
        obj_key(o, key);
        buf_put(o->b, "[", 1);
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        buf_put(o->b, ",", 1);
                put(o->b, items, i);
        }
        buf_put(o->b, "]", 1);
}

static void put_unit_item(Buf *b, const void *items, size_t i) {
        put_unit(b, &((const ApiUnit *) items)[i]);
}

static void put_unit_state_item(Buf *b, const void *items, size_t i) {
        put_unit_state(b, &((const ApiUnitState *) items)[i]);
}

static void put_machine_item(Buf *b, const void *items, size_t i) {
        put_machine(b, &((const ApiMachine *) items)[i]);
}

static int page_format(const char *key, const void *items, size_t n, PutItem put, const char *token,
                       char **ret) {
        Buf b = {};
        Obj o = obj_begin(&b);

        if (strcmp(key, "nextPageToken") < 0)
                put_list(&o, key, items, n, put);
        obj_str(&o, "nextPageToken", token);
        if (strcmp(key, "nextPageToken") > 0)
                put_list(&o, key, items, n, put);
        obj_end(&o);
        return buf_finish(&b, ret);
}

int api_unit_page_format(const ApiUnit *units, size_t n, const char *next_page_token, char **ret) {
        return page_format("units", units, n, put_unit_item, next_page_token, ret);
}

int api_unit_state_page_format(const ApiUnitState *states, size_t n, const char *next_page_token,
                               char **ret) {
        return page_format("states", states, n, put_unit_state_item, next_page_token, ret);
}

int api_machine_page_format(const ApiMachine *machines, size_t n, const char *next_page_token,
                            char **ret) {
        return page_format("machines", machines, n, put_machine_item, next_page_token, ret);
}

int api_error_format(int code, const char *message, char **ret) {
        Buf b = {};
        char num[32];

        buf_puts(&b, "{\"error\":{\"code\":");
        snprintf(num, sizeof(num), "%d", code);
        buf_puts(&b, num);
        buf_puts(&b, ",\"message\":");
        buf_put_json_string(&b, strempty(message));
        buf_puts(&b, "}}");
        return buf_finish(&b, ret);
}

/* ---- decoding ----------------------------------------------------------------------------- */

static const char *go_type_name(const json_t *v) {
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "object";
        case JSON_ARRAY:
                return "array";
        case JSON_STRING:
                return "string";
        case JSON_INTEGER:
        case JSON_REAL:
                return "number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "bool";
        default:
                return "null";
        }
}

static int type_error(char **reterr, const json_t *v, const char *go_type) {
        return errmsg_set(reterr, -EINVAL, "json: cannot unmarshal %s into Go value of type %s",
                          go_type_name(v), go_type);
}

static int load(const char *text, size_t len, json_t **ret, char **reterr) {
        json_error_t e;
        json_t *j;

        j = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        if (!j) {
                if (json_error_code(&e) == json_error_out_of_memory)
                        return -ENOMEM;
                return errmsg_set(reterr, -EINVAL, "%s", e.text);
        }
        *ret = j;
        return 0;
}

/* A string field: null leaves it alone, a string replaces it, anything else is an error. */
static int decode_string(const json_t *v, char **field, char **reterr) {
        char *s;

        if (json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return type_error(reterr, v, "string");
        s = strndup(json_string_value(v), json_string_length(v));
        if (!s)
                return -ENOMEM;
        free(*field);
        *field = s;
        return 0;
}

typedef struct Field {
        const char *name;
        size_t offset; /* of a char * member */
} Field;

/* Walk an object in key order (so the last duplicate wins) and fill string fields whose name
 * matches case-insensitively. Keys not in fields are handed to other() if given. */
typedef int (*OtherKey)(const char *key, const json_t *v, void *obj, char **reterr);

static int decode_object(const json_t *j, const Field *fields, size_t n_fields, void *obj,
                         OtherKey other, const char *go_type, char **reterr) {
        const char *key;
        json_t *v;

        if (json_is_null(j))
                return 0;
        if (!json_is_object(j))
                return type_error(reterr, j, go_type);
        json_object_foreach((json_t *) j, key, v) {
                bool done = false;
                int r;

                for (size_t i = 0; i < n_fields; i++)
                        if (strcasecmp(key, fields[i].name) == 0) {
                                r = decode_string(v, (char **) ((char *) obj + fields[i].offset),
                                                  reterr);
                                if (r < 0)
                                        return r;
                                done = true;
                                break;
                        }
                if (!done && other) {
                        r = other(key, v, obj, reterr);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static const Field option_fields[] = {
        {"section", offsetof(UnitOption, section)},
        {"name", offsetof(UnitOption, name)},
        {"value", offsetof(UnitOption, value)},
};

static int decode_options(const json_t *v, ApiUnit *u, char **reterr) {
        size_t i;
        json_t *e;

        options_free(u->options, u->n_options);
        u->options = NULL;
        u->n_options = 0;
        if (json_is_null(v))
                return 0;
        if (!json_is_array(v))
                return type_error(reterr, v, "[]*schema.UnitOption");
        if (json_array_size(v) == 0)
                return 0;
        u->options = calloc(json_array_size(v), sizeof(UnitOption));
        if (!u->options)
                return -ENOMEM;
        json_array_foreach(v, i, e) {
                int r;

                u->n_options++;
                r = decode_object(e, option_fields, ELEMENTSOF(option_fields), &u->options[i], NULL,
                                  "schema.UnitOption", reterr);
                if (r < 0)
                        return r;
        }
        /* Decoded options always carry strings, never NULL. */
        for (i = 0; i < u->n_options; i++) {
                UnitOption *o = &u->options[i];
                if ((!o->section && !(o->section = strdup(""))) ||
                    (!o->name && !(o->name = strdup(""))) ||
                    (!o->value && !(o->value = strdup(""))))
                        return -ENOMEM;
        }
        return 0;
}

static int unit_other_key(const char *key, const json_t *v, void *obj, char **reterr) {
        if (strcasecmp(key, "options") == 0)
                return decode_options(v, obj, reterr);
        return 0;
}

static const Field unit_fields[] = {
        {"name", offsetof(ApiUnit, name)},
        {"desiredState", offsetof(ApiUnit, desired_state)},
        {"currentState", offsetof(ApiUnit, current_state)},
        {"machineID", offsetof(ApiUnit, machine_id)},
        {"reason", offsetof(ApiUnit, reason)},
};

static const Field unit_state_fields[] = {
        {"name", offsetof(ApiUnitState, name)},
        {"hash", offsetof(ApiUnitState, hash)},
        {"machineID", offsetof(ApiUnitState, machine_id)},
        {"systemdLoadState", offsetof(ApiUnitState, systemd_load_state)},
        {"systemdActiveState", offsetof(ApiUnitState, systemd_active_state)},
        {"systemdSubState", offsetof(ApiUnitState, systemd_sub_state)},
};

static const Field machine_fields[] = {
        {"id", offsetof(ApiMachine, id)},
        {"primaryIP", offsetof(ApiMachine, primary_ip)},
};

static int decode_metadata(const json_t *v, ApiMachine *m, char **reterr) {
        _cleanup_strv_free_ char **l = NULL;
        const char *key;
        json_t *e;

        if (json_is_null(v))
                return 0;
        if (!json_is_object(v))
                return type_error(reterr, v, "map[string]string");
        json_object_foreach((json_t *) v, key, e) {
                char *s = NULL;
                int r = decode_string(e, &s, reterr);

                if (r < 0)
                        return r;
                if (strv_extend(&l, key) < 0 || strv_consume(&l, s ? s : strdup("")) < 0)
                        return -ENOMEM;
        }
        /* Keep the invariant "sorted by key" (jansson keeps insertion order). */
        for (size_t i = 2; l && l[i]; i += 2)
                for (size_t j = i; j >= 2 && strcmp(l[j - 2], l[j]) > 0; j -= 2) {
                        char *k = l[j - 2], *val = l[j - 1];
                        l[j - 2] = l[j];
                        l[j - 1] = l[j + 1];
                        l[j] = k;
                        l[j + 1] = val;
                }
        strv_free(m->metadata);
        m->metadata = TAKE_PTR(l);
        return 0;
}

static int machine_other_key(const char *key, const json_t *v, void *obj, char **reterr) {
        if (strcasecmp(key, "metadata") == 0)
                return decode_metadata(v, obj, reterr);
        return 0;
}

static int unit_from_json(const json_t *j, ApiUnit *ret, char **reterr) {
        ApiUnit u = {};
        int r;

        r = decode_object(j, unit_fields, ELEMENTSOF(unit_fields), &u, unit_other_key,
                          "schema.Unit", reterr);
        if (r < 0) {
                api_unit_done(&u);
                return r;
        }
        *ret = u;
        return 0;
}

static int unit_state_from_json(const json_t *j, ApiUnitState *ret, char **reterr) {
        ApiUnitState s = {};
        int r;

        r = decode_object(j, unit_state_fields, ELEMENTSOF(unit_state_fields), &s, NULL,
                          "schema.UnitState", reterr);
        if (r < 0) {
                api_unit_state_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

static int machine_from_json(const json_t *j, ApiMachine *ret, char **reterr) {
        ApiMachine m = {};
        int r;

        r = decode_object(j, machine_fields, ELEMENTSOF(machine_fields), &m, machine_other_key,
                          "schema.Machine", reterr);
        if (r < 0) {
                api_machine_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}

int api_unit_parse(const char *text, size_t len, ApiUnit *ret, char **reterr_message) {
        json_auto_t *j = NULL;
        int r = load(text, len, &j, reterr_message);

        return r < 0 ? r : unit_from_json(j, ret, reterr_message);
}

int api_unit_state_parse(const char *text, size_t len, ApiUnitState *ret, char **reterr_message) {
        json_auto_t *j = NULL;
        int r = load(text, len, &j, reterr_message);

        return r < 0 ? r : unit_state_from_json(j, ret, reterr_message);
}

int api_machine_parse(const char *text, size_t len, ApiMachine *ret, char **reterr_message) {
        json_auto_t *j = NULL;
        int r = load(text, len, &j, reterr_message);

        return r < 0 ? r : machine_from_json(j, ret, reterr_message);
}

/* Generic page decoding: items are elem_size-byte structs decoded by from_json and released by
 * done. */
typedef int (*FromJson)(const json_t *j, void *ret, char **reterr);
typedef void (*Done)(void *obj);

static int page_parse(const char *text, size_t len, const char *list_key, const char *go_type,
                      const char *item_go_type, size_t elem_size, FromJson from_json, Done done,
                      void **ret_items, size_t *ret_n, char **ret_token, char **reterr) {
        json_auto_t *j = NULL;
        _cleanup_free_ char *token = NULL;
        json_t *list = NULL, *v;
        const char *key;
        char *items = NULL;
        size_t n = 0;
        int r;

        r = load(text, len, &j, reterr);
        if (r < 0)
                return r;
        if (!json_is_object(j) && !json_is_null(j))
                return type_error(reterr, j, go_type);
        json_object_foreach(j, key, v) {
                if (strcasecmp(key, "nextPageToken") == 0) {
                        r = decode_string(v, &token, reterr);
                        if (r < 0)
                                return r;
                } else if (strcasecmp(key, list_key) == 0)
                        list = v;
        }
        if (list && !json_is_null(list)) {
                size_t i;

                if (!json_is_array(list))
                        return errmsg_set(reterr, -EINVAL,
                                          "json: cannot unmarshal %s into Go value of type []*%s",
                                          go_type_name(list), item_go_type);
                items = calloc(MAX(json_array_size(list), 1u), elem_size);
                if (!items)
                        return -ENOMEM;
                json_array_foreach(list, i, v) {
                        r = from_json(v, items + n * elem_size, reterr);
                        if (r < 0)
                                break;
                        n++;
                }
                if (r < 0) {
                        for (i = 0; i < n; i++)
                                done(items + i * elem_size);
                        free(items);
                        return r;
                }
        }
        *ret_items = items;
        *ret_n = n;
        if (ret_token)
                *ret_token = TAKE_PTR(token);
        return 0;
}

static int unit_from_json_v(const json_t *j, void *ret, char **reterr) {
        return unit_from_json(j, ret, reterr);
}
static int unit_state_from_json_v(const json_t *j, void *ret, char **reterr) {
        return unit_state_from_json(j, ret, reterr);
}
static int machine_from_json_v(const json_t *j, void *ret, char **reterr) {
        return machine_from_json(j, ret, reterr);
}
static void unit_done_v(void *p) {
        api_unit_done(p);
}
static void unit_state_done_v(void *p) {
        api_unit_state_done(p);
}
static void machine_done_v(void *p) {
        api_machine_done(p);
}

int api_unit_page_parse(const char *text, size_t len, ApiUnit **ret_units, size_t *ret_n,
                        char **ret_next_page_token, char **reterr_message) {
        return page_parse(text, len, "units", "schema.UnitPage", "schema.Unit", sizeof(ApiUnit),
                          unit_from_json_v, unit_done_v, (void **) ret_units, ret_n,
                          ret_next_page_token, reterr_message);
}

int api_unit_state_page_parse(const char *text, size_t len, ApiUnitState **ret_states,
                              size_t *ret_n, char **ret_next_page_token, char **reterr_message) {
        return page_parse(text, len, "states", "schema.UnitStatePage", "schema.UnitState",
                          sizeof(ApiUnitState), unit_state_from_json_v, unit_state_done_v,
                          (void **) ret_states, ret_n, ret_next_page_token, reterr_message);
}

int api_machine_page_parse(const char *text, size_t len, ApiMachine **ret_machines, size_t *ret_n,
                           char **ret_next_page_token, char **reterr_message) {
        return page_parse(text, len, "machines", "schema.MachinePage", "schema.Machine",
                          sizeof(ApiMachine), machine_from_json_v, machine_done_v,
                          (void **) ret_machines, ret_n, ret_next_page_token, reterr_message);
}

/* {"op":..,"path":..,"value":{"value":..}} */
static int op_other_key(const char *key, const json_t *v, void *obj, char **reterr) {
        ApiMetadataOp *o = obj;
        static const Field inner[] = {{"value", 0}};

        if (strcasecmp(key, "value") != 0)
                return 0;
        return decode_object(v, inner, ELEMENTSOF(inner), &o->value, NULL,
                             "struct { Value string }", reterr);
}

static const Field op_fields[] = {
        {"op", offsetof(ApiMetadataOp, op)},
        {"path", offsetof(ApiMetadataOp, path)},
};

int api_metadata_ops_parse(const char *text, size_t len, ApiMetadataOp **ret_ops, size_t *ret_n,
                           char **reterr_message) {
        json_auto_t *j = NULL;
        ApiMetadataOp *ops = NULL;
        size_t i, n = 0;
        json_t *v;
        int r;

        r = load(text, len, &j, reterr_message);
        if (r < 0)
                return r;
        if (!json_is_array(j) && !json_is_null(j))
                return type_error(reterr_message, j, "[]machineMetadataOp");
        ops = calloc(MAX(json_array_size(j), 1u), sizeof(ApiMetadataOp));
        if (!ops)
                return -ENOMEM;
        json_array_foreach(j, i, v) {
                r = decode_object(v, op_fields, ELEMENTSOF(op_fields), &ops[i], op_other_key,
                                  "machineMetadataOp", reterr_message);
                n++;
                if (r < 0) {
                        api_metadata_op_array_free(ops, n);
                        return r;
                }
        }
        *ret_ops = ops;
        *ret_n = n;
        return 0;
}

int api_error_parse(const char *text, size_t len, int *ret_code, char **ret_message) {
        json_auto_t *j = NULL;
        json_t *e, *code, *msg;
        char *m;
        int r;

        r = load(text, len, &j, NULL);
        if (r < 0)
                return r;
        e = json_object_get(j, "error");
        code = json_object_get(e, "code");
        msg = json_object_get(e, "message");
        if (!json_is_object(e) || !json_is_integer(code) || (msg && !json_is_string(msg)))
                return -EINVAL;
        m = strdup(msg ? json_string_value(msg) : "");
        if (!m)
                return -ENOMEM;
        *ret_code = (int) json_integer_value(code);
        *ret_message = m;
        return 0;
}

/* ---- page tokens -------------------------------------------------------------------------- */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void api_page_token_format(uint16_t limit, uint16_t page, char ret[static API_PAGE_TOKEN_LEN + 1]) {
        uint8_t b[4] = {limit & 0xff, limit >> 8, page & 0xff, page >> 8};
        uint32_t v = (uint32_t) b[0] << 16 | (uint32_t) b[1] << 8 | b[2];

        ret[0] = b64url[(v >> 18) & 63];
        ret[1] = b64url[(v >> 12) & 63];
        ret[2] = b64url[(v >> 6) & 63];
        ret[3] = b64url[v & 63];
        v = (uint32_t) b[3] << 16;
        ret[4] = b64url[(v >> 18) & 63];
        ret[5] = b64url[(v >> 12) & 63];
        ret[6] = '=';
        ret[7] = '=';
        ret[8] = '\0';
}

static int b64url_value(char c) {
        const char *p = c ? strchr(b64url, c) : NULL;
        return p ? (int) (p - b64url) : -1;
}

/* Go's base64.URLEncoding.DecodeString (padding required), then binary.Read of two uint16. */
int api_page_token_parse(const char *token, uint16_t *ret_limit, uint16_t *ret_page,
                         char **reterr_message) {
        uint8_t out[4];
        size_t n = strlen(token), got = 0;

        for (size_t i = 0; i < n; i += 4) {
                uint32_t q = 0;
                size_t k, pad = 0;

                for (k = 0; k < 4; k++) {
                        int v;

                        if (i + k >= n) /* a partial quantum: Go reports where it starts */
                                return errmsg_set(reterr_message, -EINVAL,
                                                  "illegal base64 data at input byte %zu", i);
                        if (token[i + k] == '=' && k >= 2) {
                                /* "x=" must be followed by "=" and end the input */
                                if ((k == 2 && (i + 3 >= n || token[i + 3] != '=')) || i + 4 != n)
                                        return errmsg_set(reterr_message, -EINVAL,
                                                          "illegal base64 data at input byte %zu",
                                                          i + k);
                                pad = 4 - k;
                                break;
                        }
                        v = b64url_value(token[i + k]);
                        if (v < 0)
                                return errmsg_set(reterr_message, -EINVAL,
                                                  "illegal base64 data at input byte %zu", i + k);
                        q |= (uint32_t) v << (18 - 6 * k);
                }
                for (k = 0; k < 3 - pad; k++, got++)
                        if (got < sizeof(out))
                                out[got] = (q >> (16 - 8 * k)) & 0xff;
        }
        if (got == 0)
                return errmsg_set(reterr_message, -EINVAL, "EOF");
        if (got < 4)
                return errmsg_set(reterr_message, -EINVAL, "unexpected EOF");
        *ret_limit = (uint16_t) (out[0] | out[1] << 8);
        *ret_page = (uint16_t) (out[2] | out[3] << 8);
        return 0;
}
