/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-validate.h"
#include "errmsg.h"
#include "unit-name.h"
#include "xfleet.h"

/* Go's %q of s, for messages. NULL on OOM. */
static char *quote(const char *s) {
        char *q = NULL;

        return unit_go_quote(s, &q) < 0 ? NULL : q;
}

static bool is_json_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_blank(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (!is_json_space(s[i]))
                        return false;
        return true;
}

bool api_error_is_unavailable(int error) {
        switch (error) {
        case -ECONNREFUSED:
        case -EHOSTUNREACH:
        case -ENETUNREACH:
        case -ETIMEDOUT:
        case -ECONNRESET:
        case -EAGAIN:
                return true;
        default:
                return false;
        }
}

int api_check_content_type(const char *value, unsigned count, char **reterr_message) {
        size_t start, len;

        if (count != 1 || !value)
                return errmsg_set(reterr_message, -EINVAL, "expected 1 Content-Type, got %u",
                                  value ? count : 0);
        /* strings.SplitN(v, ";", 2)[0], then strings.TrimSpace */
        unit_trim_space(value, strcspn(value, ";"), &start, &len);
        if (len != strlen("application/json") || !strneq(value + start, "application/json", len))
                return errmsg_set(reterr_message, -EINVAL,
                                  "only acceptable Content-Type is application/json");
        return 0;
}

int api_page_from_query(const char *value, unsigned count, uint16_t limit, uint16_t *ret_page,
                        char **reterr_message) {
        uint16_t tok_limit, tok_page;
        int r;

        if (count > 1)
                return errmsg_set(reterr_message, -EINVAL, "too many values for page token");
        if (count == 0 || !value) {
                *ret_page = 1;
                return 0;
        }
        r = api_page_token_parse(value, &tok_limit, &tok_page, reterr_message);
        if (r < 0)
                return r;
        if (tok_limit != limit)
                return errmsg_set(reterr_message, -EINVAL, "token limit must be %u",
                                  (unsigned) limit);
        if (tok_page == 0)
                return errmsg_set(reterr_message, -EINVAL, "token page must be greater than zero");
        *ret_page = tok_page;
        return 0;
}

void api_page_slice(size_t total, uint16_t limit, uint16_t page, size_t *ret_start, size_t *ret_n,
                    uint16_t *ret_next) {
        /* fleet computes in uint16 and wraps; sizes here never overflow instead. */
        size_t start = (size_t) (page - 1) * limit, stop = (size_t) page * limit;

        *ret_start = 0;
        *ret_n = 0;
        *ret_next = 0;
        if (page == 0 || start >= total)
                return;
        if (stop > total)
                stop = total;
        else if (page < UINT16_MAX)
                *ret_next = page + 1;
        *ret_start = start;
        *ret_n = stop - start;
}

bool api_json_has_nul(const char *text, size_t len) {
        /* Outside strings a backslash is a syntax error, so every backslash that parses starts
         * an escape: skip each escape's selector character and look for \u0000. */
        for (size_t i = 0; i + 1 < len; i++) {
                if (text[i] != '\\')
                        continue;
                if (text[i + 1] == 'u' && i + 5 < len && strneq(text + i + 2, "0000", 4))
                        return true;
                i++;
        }
        return false;
}

static int decode_json_error(char **reterr, const char *prefix, const char *body, size_t len) {
        if (is_blank(body, len))
                return errmsg_set(reterr, -EINVAL, "%sEOF", prefix);
        if (api_json_has_nul(body, len))
                return errmsg_set(reterr, -EINVAL, "%sNUL character in JSON string", prefix);
        return 0;
}

static int check_desired(const ApiUnit *u, JobState *ret, char **reterr) {
        _cleanup_free_ char *q = NULL;

        if (!u->desired_state || u->desired_state[0] == '\0') {
                *ret = _JOB_STATE_INVALID;
                return 0;
        }
        *ret = job_state_from_string(u->desired_state);
        if (*ret >= 0)
                return 0;
        q = quote(u->desired_state);
        if (!q)
                return -ENOMEM;
        return errmsg_set(reterr, -EINVAL,
                          "invalid desiredState %s: must be inactive, loaded or launched", q);
}

/* Steps 3 and 4 and the desiredState check on a decoded body. */
static int check_unit_body(ApiUnit *u, const char *url_name, JobState *ret_desired, char **reterr) {
        _cleanup_free_ char *qa = NULL, *qb = NULL;
        int r;

        if (!u->name || u->name[0] == '\0') {
                free(u->name);
                u->name = strdup(url_name);
                if (!u->name)
                        return -ENOMEM;
        }
        if (!streq(u->name, url_name)) {
                qa = quote(url_name);
                qb = quote(u->name);
                if (!qa || !qb)
                        return -ENOMEM;
                return errmsg_set(reterr, -EINVAL,
                                  "name in URL %s differs from unit name in request body %s", qa,
                                  qb);
        }
        r = unit_name_validate(u->name, reterr);
        if (r < 0)
                return r;
        return check_desired(u, ret_desired, reterr);
}

int api_unit_body_decode(const char *body, size_t len, const char *url_name, ApiUnit *ret,
                         JobState *ret_desired, char **reterr_message) {
        _cleanup_free_ char *err = NULL;
        ApiUnit u = {};
        JobState desired = _JOB_STATE_INVALID;
        int r;

        r = decode_json_error(reterr_message, "unable to decode body: ", body, len);
        if (r < 0)
                return r;
        r = api_unit_parse(body, len, &u, &err);
        if (r == -EINVAL)
                return errmsg_set(reterr_message, -EINVAL, "unable to decode body: %s",
                                  strempty(err));
        if (r < 0)
                return r;
        r = check_unit_body(&u, url_name, &desired, reterr_message);
        if (r < 0) {
                api_unit_done(&u);
                return r;
        }
        *ret = u;
        *ret_desired = desired;
        return 0;
}

void api_unit_content_done(ApiUnitContent *c) {
        if (!c)
                return;
        unit_file_free(c->file);
        free(c->text);
        *c = (ApiUnitContent){};
}

int api_unit_content_new(const UnitOption *options, size_t n, ApiUnitContent *ret) {
        _cleanup_(xfleet_freep) XFleet *x = NULL;
        ApiUnitContent c = {};
        int r;

        r = unit_file_new(&c.file);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = unit_file_add(c.file, options[i].section, options[i].name, options[i].value);
        if (r >= 0)
                r = unit_file_serialize(c.file, &c.text);
        if (r >= 0) {
                /* What is stored is the text, and the agents and the engine read it back: judge
                 * (global, validation) what it parses to, not the options as sent, which can
                 * differ (a value ending in '\', a section name with a newline; found by
                 * fuzzing). A text that does not parse is refused by validation. */
                UnitFile *parsed = NULL;

                if (unit_file_parse(c.text, strlen(c.text), &parsed, NULL) >= 0) {
                        unit_file_free(c.file);
                        c.file = parsed;
                }
                r = xfleet_parse(c.file, NULL, &x);
        }
        if (r < 0) {
                api_unit_content_done(&c);
                return r;
        }
        unit_hash_bytes(c.text, strlen(c.text), c.hash);
        c.global = x->global;
        *ret = c;
        return 0;
}

int api_unit_content_validate(const ApiUnitContent *c, char **reterr_message) {
        _cleanup_(xfleet_freep) XFleet *x = NULL;
        int r;

        r = unit_file_validate(c->file, reterr_message);
        if (r < 0)
                return r;
        r = xfleet_parse(c->file, NULL, &x);
        if (r < 0)
                return r;
        return xfleet_validate(x, reterr_message);
}

int api_check_template(const char *name, JobState desired, char **reterr_message) {
        _cleanup_free_ char *q = NULL;

        if (desired < 0 || desired == JOB_STATE_INACTIVE || !unit_name_is_template(name))
                return 0;
        q = quote(name);
        if (!q)
                return -ENOMEM;
        return errmsg_set(reterr_message, -EINVAL, "cannot activate template %s", q);
}

int api_put_decide(const char *name, const char *existing_hash, const char *new_hash,
                   JobState desired, unsigned *ret_status, char **ret_message) {
        int r;

        if (!existing_hash) {
                if (new_hash)
                        return API_PUT_CREATE;
                *ret_status = 409;
                r = errmsg_set(ret_message, -EINVAL, "unit does not exist and options field empty");
                return r == -EINVAL ? API_PUT_FAIL : r;
        }
        if (new_hash && !streq(new_hash, existing_hash))
                return API_PUT_REPLACE;
        if (desired < 0) {
                *ret_status = 409;
                r = errmsg_set(ret_message, -EINVAL,
                               "must provide DesiredState to update existing unit");
                return r == -EINVAL ? API_PUT_FAIL : r;
        }
        r = api_check_template(name, desired, ret_message);
        if (r == -EINVAL) {
                *ret_status = 400;
                return API_PUT_FAIL;
        }
        return r < 0 ? r : API_PUT_SET_STATE;
}

bool api_key_component_is_valid(const char *s) {
        if (!s || s[0] == '\0' || streq(s, ".") || streq(s, ".."))
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p == '/' || *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

/* ^/([^/]+)/metadata/([A-Za-z0-9_.-]+)$ -> malloc'd machine ID and key. 0, -EINVAL, -ENOMEM. */
static int parse_metadata_path(const char *path, char **ret_machine, char **ret_key) {
        _cleanup_free_ char *m = NULL, *k = NULL;
        const char *id, *key;
        size_t id_len;

        if (!path || path[0] != '/')
                return -EINVAL;
        id = path + 1;
        id_len = strcspn(id, "/");
        if (id_len == 0 || !strneq(id + id_len, "/metadata/", strlen("/metadata/")))
                return -EINVAL;
        key = id + id_len + strlen("/metadata/");
        if (key[0] == '\0' ||
            strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") !=
                    strlen(key))
                return -EINVAL;
        m = strndup(id, id_len);
        k = strdup(key);
        if (!m || !k)
                return -ENOMEM;
        if (!api_key_component_is_valid(m) || !api_key_component_is_valid(k))
                return -EINVAL;
        *ret_machine = TAKE_PTR(m);
        *ret_key = TAKE_PTR(k);
        return 0;
}

ApiMetadataPatch *api_metadata_patch_array_free(ApiMetadataPatch *p, size_t n) {
        for (size_t i = 0; p && i < n; i++) {
                free(p[i].machine_id);
                for (size_t j = 0; j < p[i].n_changes; j++) {
                        free(p[i].changes[j].key);
                        free(p[i].changes[j].value);
                }
                free(p[i].changes);
        }
        free(p);
        return NULL;
}

/* Record machine/key = value (all three consumed, also on failure) in the grouped list. */
static int patch_add(ApiMetadataPatch **patches, size_t *n, char *machine_consumed,
                     char *key_consumed, char *value_consumed) {
        _cleanup_free_ char *machine = machine_consumed, *key = key_consumed,
                            *value = value_consumed;
        ApiMetadataPatch *p = NULL, *np;
        RegistryMetadata *c;

        for (size_t i = 0; i < *n; i++)
                if (streq((*patches)[i].machine_id, machine)) {
                        p = &(*patches)[i];
                        break;
                }
        if (!p) {
                np = realloc(*patches, (*n + 1) * sizeof(**patches));
                if (!np)
                        return -ENOMEM;
                *patches = np;
                p = &np[(*n)++];
                *p = (ApiMetadataPatch){.machine_id = TAKE_PTR(machine)};
        }
        for (size_t j = 0; j < p->n_changes; j++)
                if (streq(p->changes[j].key, key)) {
                        /* the later operation on a key wins (etcd refuses duplicate keys
                         * in one txn) */
                        free(p->changes[j].value);
                        p->changes[j].value = TAKE_PTR(value);
                        return 0;
                }
        c = realloc(p->changes, (p->n_changes + 1) * sizeof(*c));
        if (!c)
                return -ENOMEM;
        p->changes = c;
        c[p->n_changes++] = (RegistryMetadata){.key = TAKE_PTR(key), .value = TAKE_PTR(value)};
        return 0;
}

static int validate_op(const ApiMetadataOp *o, char **reterr) {
        _cleanup_free_ char *machine = NULL, *key = NULL;
        int r;

        if (!o->op || (!streq(o->op, "add") && !streq(o->op, "remove") && !streq(o->op, "replace")))
                return errmsg_set(reterr, -EINVAL, "invalid op: expect add, remove, or replace");
        r = parse_metadata_path(o->path, &machine, &key);
        if (r == -EINVAL)
                return errmsg_set(reterr, -EINVAL, "machine metadata path invalid");
        if (r < 0)
                return r;
        if (!streq(o->op, "remove") && (!o->value || o->value[0] == '\0'))
                return errmsg_set(reterr, -EINVAL,
                                  "invalid value: add and replace require a value");
        return 0;
}

int api_metadata_patch_decode(const char *body, size_t len, ApiMetadataPatch **ret, size_t *ret_n,
                              char **reterr_message) {
        ApiMetadataOp *ops = NULL;
        ApiMetadataPatch *patches = NULL;
        size_t n_ops = 0, n = 0;
        int r;

        r = decode_json_error(reterr_message, "", body, len);
        if (r < 0)
                return r;
        r = api_metadata_ops_parse(body, len, &ops, &n_ops, reterr_message);
        if (r < 0)
                return r;
        /* Every operation is validated before any is applied. */
        for (size_t i = 0; r >= 0 && i < n_ops; i++)
                r = validate_op(&ops[i], reterr_message);
        for (size_t i = 0; r >= 0 && i < n_ops; i++) {
                char *machine = NULL, *key = NULL, *value;

                r = parse_metadata_path(ops[i].path, &machine, &key);
                if (r < 0)
                        break;
                value = strdup(streq(ops[i].op, "remove") ? "" : ops[i].value);
                if (!value) {
                        free(machine);
                        free(key);
                        r = -ENOMEM;
                        break;
                }
                r = patch_add(&patches, &n, machine, key, value);
        }
        api_metadata_op_array_free(ops, n_ops);
        if (r < 0) {
                api_metadata_patch_array_free(patches, n);
                return r;
        }
        *ret = patches;
        *ret_n = n;
        return 0;
}
