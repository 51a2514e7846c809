/* SPDX-License-Identifier: MIT */
/* fleet-c's cordons (api-cordon.h): list, cordon or drain a machine, uncordon it. */
#include <stdlib.h>
#include <string.h>

#include "api-cordon.h"
#include "api-internal.h"
#include "api-validate.h"

static void cordons_list_done(ApiCtx *c, int error) {
        api_ctx_reply_formatted(c, error, api_cordons_format);
}

void api_route_cordons_list(ApiCtx *c) {
        (void) api_fetch_list(c, REGISTRY_KEY_CORDON, NULL, false);
        api_fetch_wait(c, cordons_list_done);
}

typedef struct CordonPut {
        bool draining;
} CordonPut;

static void cordon_machine_done(ApiCtx *c, int error) {
        const CordonPut *p = c->data;
        size_t n;
        RegistryCordon rc = {.draining = p->draining};
        int r;

        if (error < 0) {
                api_ctx_reply_registry_error(c, error, NULL);
                return;
        }
        (void) api_fetch_entries(c, 0, &n);
        if (n == 0)
                (void) api_fetch_entries(c, 1, &n);
        if (n == 0) {
                api_ctx_reply_error(c, 404, "machine does not exist");
                return;
        }
        r = registry_put_cordon(c->api->registry, c->match.item, &rc, api_ctx_written_204, c,
                                &c->write_call);
        if (r < 0)
                api_ctx_reply_internal(c, r);
}

void api_route_cordon_put(ApiCtx *c) {
        _cleanup_free_ char *err = NULL;
        RegistryKey k = {.kind = REGISTRY_KEY_MACHINE, .machine_id = c->match.item};
        CordonPut *p;
        const char *body;
        size_t len;
        bool draining;
        int r;

        if (!api_key_component_is_valid(c->match.item)) {
                api_ctx_reply_error(c, 404, "machine does not exist");
                return;
        }
        body = http_request_body(c->req, &len);
        r = api_cordon_body_decode(body, len, &draining, &err);
        if (r < 0) {
                api_ctx_reply_error(c, 400, err);
                return;
        }
        p = calloc(1, sizeof(*p));
        if (!p) {
                api_ctx_reply_internal(c, -ENOMEM);
                return;
        }
        p->draining = draining;
        c->data = p;
        c->free_data = free;
        /* Only a machine in the cluster can be cordoned, or one whose lease expired but that
         * still has units scheduled (the engine may hold them: draining it releases them). */
        (void) api_fetch_get(c, &k);
        (void) api_fetch_list(c, REGISTRY_KEY_SCHEDULE, c->match.item, true);
        api_fetch_wait(c, cordon_machine_done);
}

void api_route_cordon_delete(ApiCtx *c) {
        RegistryKey k = {.kind = REGISTRY_KEY_CORDON, .machine_id = c->match.item};
        int r;

        if (!api_key_component_is_valid(c->match.item)) {
                api_ctx_reply_error(c, 404, "machine does not exist");
                return;
        }
        r = registry_delete(c->api->registry, &k, api_ctx_written_204, c, &c->write_call);
        if (r < 0)
                api_ctx_reply_internal(c, r);
}
