/* SPDX-License-Identifier: MIT */
/* /units: list, get, create/replace/set desiredState, destroy (reference 9.6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-internal.h"
#include "api-validate.h"
#include "log.h"

/* A PUT that loses a race against a concurrent writer (the job appeared, changed or vanished
 * between our read and our txn) is decided again from a fresh read, this many times at most. */
#define PUT_ATTEMPTS_MAX 5

/* ---- GET /units ---------------------------------------------------------------------------- */

static void units_list_done(ApiCtx *c, int error) {
        _cleanup_(api_index_done) ApiIndex x = {};
        _cleanup_free_ const RegistryJob **jobs = NULL;
        char buf[API_PAGE_TOKEN_LEN + 1], key[32];
        ApiUnit *units = NULL;
        size_t n_jobs = 0, start, n = 0, i;
        uint16_t next;
        char *json = NULL;
        int r;

        if (error < 0) {
                api_ctx_reply_registry_error(c, error, NULL);
                return;
        }
        snprintf(key, sizeof(key), "units %u", (unsigned) c->page);
        if (api_ctx_reply_rendered(c, key))
                return;
        r = api_ctx_index(c, &x);
        if (r >= 0)
                r = api_index_visible_jobs(&x, &jobs, &n_jobs);
        if (r < 0) {
                api_ctx_reply_internal(c, r);
                return;
        }
        api_page_slice(n_jobs, c->api->token_limit, c->page, &start, &n, &next);
        units = calloc(MAX(n, 1u), sizeof(*units));
        if (!units) {
                api_ctx_reply_internal(c, -ENOMEM);
                return;
        }
        for (i = 0, r = 0; r >= 0 && i < n; i++)
                r = api_index_unit(&x, jobs[start + i], true, &units[i]);
        if (r >= 0)
                r = api_unit_page_format(units, n, api_ctx_page_token(c, next, buf), &json);
        api_unit_array_free(units, n);
        if (r < 0) {
                api_ctx_reply_internal(c, r);
                return;
        }
        api_ctx_reply_json_render(c, key, json);
}

void api_route_units_list(ApiCtx *c) {
        if (api_ctx_page(c, &c->page) < 0)
                return;
        /* One consistent snapshot of the whole prefix: jobs, contents, schedule, states. */
        (void) api_fetch_list(c, _REGISTRY_KEY_KIND_INVALID, NULL, false);
        api_fetch_wait(c, units_list_done);
}

/* ---- GET /units/<name> --------------------------------------------------------------------- */

/* The entry of a single-key read in slot i, or NULL if the key is absent. */
static const RegistryEntry *slot_entry(ApiCtx *c, size_t i) {
        size_t n;
        const RegistryEntry *e = api_fetch_entries(c, i, &n);

        return n > 0 ? e : NULL;
}

static void unit_get_done(ApiCtx *c, int error) {
        _cleanup_(api_index_done) ApiIndex x = {};
        _cleanup_(api_unit_done) ApiUnit u = {};
        const RegistryJob *job;
        char *json = NULL;
        int r;

        if (error < 0) {
                api_ctx_reply_registry_error(c, error, NULL);
                return;
        }
        r = api_ctx_index(c, &x);
        if (r < 0) {
                api_ctx_reply_internal(c, r);
                return;
        }
        job = api_index_job(&x, c->match.item);
        r = job ? api_index_unit(&x, job, false, &u) : -ENOENT;
        if (r == -ENOENT) {
                api_ctx_reply_error(c, 404, "unit does not exist");
                return;
        }
        if (r >= 0)
                r = api_unit_format(&u, &json);
        if (r < 0) {
                api_ctx_reply_internal(c, r);
                return;
        }
        api_ctx_reply_json(c, 200, json);
}

static void unit_get_job_done(ApiCtx *c, int error) {
        const RegistryEntry *e;
        RegistryKey k = {.kind = REGISTRY_KEY_UNIT};
        RegistryKey why = {.kind = REGISTRY_KEY_REASON, .name = c->match.item};

        if (error < 0) {
                api_ctx_reply_registry_error(c, error, NULL);
                return;
        }
        e = slot_entry(c, 0);
        if (!e) {
                api_ctx_reply_error(c, 404, "unit does not exist");
                return;
        }
        /* Its content, its schedule entry (found among all of them: the schedule is keyed by
         * machine) and its states. */
        k.name = (char *) e->job.hash;
        (void) api_fetch_get(c, &k);
        (void) api_fetch_list(c, REGISTRY_KEY_SCHEDULE, NULL, true);
        (void) api_fetch_list(c, REGISTRY_KEY_STATE, c->match.item, false);
        (void) api_fetch_get(c, &why);
        api_fetch_wait(c, unit_get_done);
}

void api_route_unit_get(ApiCtx *c) {
        RegistryKey k = {.kind = REGISTRY_KEY_JOB, .name = c->match.item};

        /* A name that cannot be a key cannot exist. */
        if (!api_key_component_is_valid(c->match.item)) {
                api_ctx_reply_error(c, 404, "unit does not exist");
                return;
        }
        (void) api_fetch_get(c, &k);
        api_fetch_wait(c, unit_get_job_done);
}

/* ---- PUT /units/<name> --------------------------------------------------------------------- */

typedef struct PutState {
        ApiUnit body;
        JobState desired; /* _JOB_STATE_INVALID: none in the body */
        ApiUnitContent content;
        bool has_content;
        unsigned attempts;
        unsigned success_status;
} PutState;

static void put_state_free(void *p) {
        PutState *s = p;

        if (!s)
                return;
        api_unit_done(&s->body);
        api_unit_content_done(&s->content);
        free(s);
}

static void put_lookup(ApiCtx *c);

static void put_written(Registry *r, int error, int64_t revision, void *userdata) {
        ApiCtx *c = userdata;
        PutState *s = c->data;

        c->write_call = NULL;
        if ((error == -EEXIST || error == -ESTALE || error == -ENOENT) &&
            ++s->attempts < PUT_ATTEMPTS_MAX) {
                log_debug("PUT %s raced with another writer, deciding again", s->body.name);
                put_lookup(c);
                return;
        }
        if (error < 0) {
                api_ctx_reply_registry_error(c, error, NULL);
                return;
        }
        api_note_write(c->api, revision);
        api_ctx_reply(c, s->success_status, NULL, NULL, 0, NULL);
}

/* Create or replace: validate the new content first (fleet-c validates replacements too). */
static void put_content(ApiCtx *c, const RegistryEntry *existing) {
        PutState *s = c->data;
        _cleanup_free_ char *err = NULL;
        RegistryJob job = {
                .name = s->body.name,
                .desired_state = s->desired < 0 ? JOB_STATE_INACTIVE : s->desired,
                .global = s->content.global,
        };
        int r;

        r = api_unit_content_validate(&s->content, &err);
        if (r >= 0)
                r = api_check_template(s->body.name, s->desired, &err);
        if (r == -EINVAL || r == -EFBIG) {
                api_ctx_reply_error(c, 400, err);
                return;
        }
        if (r < 0) {
                api_ctx_reply_internal(c, r);
                return;
        }
        memcpy(job.hash, s->content.hash, sizeof(job.hash));
        s->success_status = 201;
        if (existing)
                r = registry_update_job(c->api->registry, &job, s->content.text,
                                        existing->mod_revision, put_written, c, &c->write_call);
        else
                r = registry_create_job(c->api->registry, &job, s->content.text, put_written, c,
                                        &c->write_call);
        if (r < 0)
                api_ctx_reply_internal(c, r);
}

static void put_set_state(ApiCtx *c, const RegistryEntry *existing) {
        PutState *s = c->data;
        RegistryJob job = existing->job;
        int r;

        s->success_status = 204;
        if (existing->job.desired_state == s->desired) {
                api_ctx_reply(c, 204, NULL, NULL, 0, NULL);
                return;
        }
        job.desired_state = s->desired;
        r = registry_update_job(c->api->registry, &job, NULL, existing->mod_revision, put_written,
                                c, &c->write_call);
        if (r < 0)
                api_ctx_reply_internal(c, r);
}

static void put_lookup_done(ApiCtx *c, int error) {
        PutState *s = c->data;
        _cleanup_free_ char *msg = NULL;
        const RegistryEntry *existing;
        unsigned status = 500;
        int action;

        if (error < 0) {
                api_ctx_reply_registry_error(c, error, NULL);
                return;
        }
        existing = slot_entry(c, 0);
        action = api_put_decide(s->body.name, existing ? existing->job.hash : NULL,
                                s->has_content ? s->content.hash : NULL, s->desired, &status, &msg);
        switch (action) {
        case API_PUT_FAIL:
                api_ctx_reply_error(c, status, msg);
                break;
        case API_PUT_CREATE:
        case API_PUT_REPLACE:
                put_content(c, existing);
                break;
        case API_PUT_SET_STATE:
                put_set_state(c, existing);
                break;
        default:
                api_ctx_reply_internal(c, action);
                break;
        }
}

static void put_lookup(ApiCtx *c) {
        PutState *s = c->data;
        RegistryKey k = {.kind = REGISTRY_KEY_JOB, .name = s->body.name};

        api_fetch_reset(c);
        (void) api_fetch_get(c, &k);
        api_fetch_wait(c, put_lookup_done);
}

void api_route_unit_put(ApiCtx *c) {
        _cleanup_free_ char *err = NULL;
        const char *ct = http_request_header(c->req, "Content-Type"), *body;
        PutState *s;
        size_t len;
        int r;

        r = api_check_content_type(ct, http_request_header_count(c->req, "Content-Type"), &err);
        if (r == -EINVAL) {
                api_ctx_reply_error(c, 415, err);
                return;
        }
        s = calloc(1, sizeof(*s));
        if (r < 0 || !s) {
                free(s);
                api_ctx_reply_internal(c, -ENOMEM);
                return;
        }
        c->data = s;
        c->free_data = put_state_free;

        body = http_request_body(c->req, &len);
        r = api_unit_body_decode(body, len, c->match.item, &s->body, &s->desired, &err);
        if (r == -EINVAL) {
                api_ctx_reply_error(c, 400, err);
                return;
        }
        if (r >= 0 && s->body.n_options > 0) {
                r = api_unit_content_new(s->body.options, s->body.n_options, &s->content);
                s->has_content = r >= 0;
        }
        if (r < 0) {
                api_ctx_reply_internal(c, r);
                return;
        }
        put_lookup(c);
}

/* ---- DELETE /units/<name> ------------------------------------------------------------------ */

static void unit_deleted(Registry *r, int error, int64_t revision, void *userdata) {
        ApiCtx *c = userdata;

        c->write_call = NULL;
        if (error == -ENOENT)
                api_ctx_reply_error(c, 404, "unit does not exist");
        else if (error < 0)
                api_ctx_reply_registry_error(c, error, NULL);
        else {
                api_note_write(c->api, revision);
                api_ctx_reply(c, 204, NULL, NULL, 0, NULL);
        }
}

void api_route_unit_delete(ApiCtx *c) {
        int r;

        if (!api_key_component_is_valid(c->match.item)) {
                api_ctx_reply_error(c, 404, "unit does not exist");
                return;
        }
        r = registry_destroy_job(c->api->registry, c->match.item, unit_deleted, c, &c->write_call);
        if (r < 0)
                api_ctx_reply_internal(c, r);
}
