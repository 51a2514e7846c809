/* SPDX-License-Identifier: MIT */
/* /machines: list with merged metadata, and PATCH of the dynamic metadata (reference 9.8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-internal.h"
#include "api-validate.h"

static void machines_list_done(ApiCtx *c, int error) {
        _cleanup_(api_index_done) ApiIndex x = {};
        char buf[API_PAGE_TOKEN_LEN + 1], key[32];
        ApiMachine *machines = NULL;
        size_t n = 0, start, count;
        uint16_t next;
        char *json = NULL;
        int r;

        if (error < 0) {
                api_ctx_reply_registry_error(c, error, NULL);
                return;
        }
        snprintf(key, sizeof(key), "machines %u", (unsigned) c->page);
        if (api_ctx_reply_rendered(c, key))
                return;
        r = api_ctx_index(c, &x);
        if (r >= 0)
                r = api_index_machines(&x, &machines, &n);
        if (r >= 0) {
                api_page_slice(n, c->api->token_limit, c->page, &start, &count, &next);
                r = api_machine_page_format(machines + start, count,
                                            api_ctx_page_token(c, next, buf), &json);
        }
        api_machine_array_free(machines, n);
        if (r < 0) {
                api_ctx_reply_internal(c, r);
                return;
        }
        api_ctx_reply_json_render(c, key, json);
}

void api_route_machines_list(ApiCtx *c) {
        if (api_ctx_page(c, &c->page) < 0)
                return;
        (void) api_fetch_list(c, REGISTRY_KEY_MACHINE, NULL, false);
        (void) api_fetch_list(c, REGISTRY_KEY_METADATA, NULL, false);
        api_fetch_wait(c, machines_list_done);
}

typedef struct PatchState {
        ApiMetadataPatch *patches;
        size_t n_patches;
        size_t next; /* the patch to apply next */
} PatchState;

static void patch_state_free(void *p) {
        PatchState *s = p;

        if (!s)
                return;
        api_metadata_patch_array_free(s->patches, s->n_patches);
        free(s);
}

static void patch_next(ApiCtx *c);

static void patch_written(Registry *r, int error, int64_t revision, void *userdata) {
        ApiCtx *c = userdata;

        c->write_call = NULL;
        if (error < 0) {
                /* fleet reports the registry's error text here */
                api_ctx_reply_registry_error(c, error, strerror(-error));
                return;
        }
        api_note_write(c->api, revision);
        patch_next(c);
}

/* One txn per machine, in the order the operations named them. */
static void patch_next(ApiCtx *c) {
        PatchState *s = c->data;
        const ApiMetadataPatch *p;
        int r;

        if (s->next >= s->n_patches) {
                /* fleet: sendResponse(204, "") sets the JSON content type, sends no body */
                api_ctx_reply(c, 204, "application/json", NULL, 0, NULL);
                return;
        }
        p = &s->patches[s->next++];
        r = registry_patch_metadata(c->api->registry, p->machine_id, p->changes, p->n_changes,
                                    patch_written, c, &c->write_call);
        if (r < 0)
                api_ctx_reply_internal(c, r);
}

void api_route_machines_patch(ApiCtx *c) {
        _cleanup_free_ char *err = NULL;
        PatchState *s = calloc(1, sizeof(*s));
        const char *body;
        size_t len;
        int r;

        if (!s) {
                api_ctx_reply_internal(c, -ENOMEM);
                return;
        }
        c->data = s;
        c->free_data = patch_state_free;
        body = http_request_body(c->req, &len);
        r = api_metadata_patch_decode(body, len, &s->patches, &s->n_patches, &err);
        if (r == -EINVAL)
                api_ctx_reply_error(c, 400, err);
        else if (r < 0)
                api_ctx_reply_internal(c, r);
        else
                patch_next(c);
}
