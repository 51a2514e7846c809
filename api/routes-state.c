/* SPDX-License-Identifier: MIT */
/* /state: unit states reported by the agents (reference 9.7). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-internal.h"
#include "api-validate.h"

static void states_list_done(ApiCtx *c, int error) {
        _cleanup_(api_index_done) ApiIndex x = {};
        _cleanup_free_ char *key = NULL;
        char buf[API_PAGE_TOKEN_LEN + 1];
        const char *machine_id = http_request_query(c->req, "machineID"),
                   *name = http_request_query(c->req, "unitName");
        ApiUnitState *states = NULL;
        size_t n = 0, start, count;
        uint16_t next;
        char *json = NULL;
        int r;

        if (error < 0) {
                api_ctx_reply_registry_error(c, error, NULL);
                return;
        }
        /* the filters with their lengths: no two requests that differ share a key (NULL = "") */
        if (asprintf(&key, "state %u %zu:%s %zu:%s", (unsigned) c->page,
                     strlen(strempty(machine_id)), strempty(machine_id), strlen(strempty(name)),
                     strempty(name)) < 0)
                key = NULL; /* not kept then */
        if (api_ctx_reply_rendered(c, key))
                return;
        /* Filters are exact and apply before paging; the first value of each counts. */
        r = api_ctx_index(c, &x);
        if (r >= 0)
                r = api_index_unit_states(&x, machine_id, name, &states, &n);
        if (r >= 0) {
                api_page_slice(n, c->api->token_limit, c->page, &start, &count, &next);
                r = api_unit_state_page_format(states + start, count,
                                               api_ctx_page_token(c, next, buf), &json);
        }
        api_unit_state_array_free(states, n);
        if (r < 0) {
                api_ctx_reply_internal(c, r);
                return;
        }
        api_ctx_reply_json_render(c, key, json);
}

void api_route_states_list(ApiCtx *c) {
        if (api_ctx_page(c, &c->page) < 0)
                return;
        (void) api_fetch_list(c, REGISTRY_KEY_STATE, NULL, false);
        api_fetch_wait(c, states_list_done);
}

static void state_get_done(ApiCtx *c, int error) {
        _cleanup_(api_index_done) ApiIndex x = {};
        ApiUnitState *states = NULL;
        size_t n = 0;
        char *json = NULL;
        int r;

        if (error < 0) {
                api_ctx_reply_registry_error(c, error, NULL);
                return;
        }
        r = api_ctx_index(c, &x);
        if (r >= 0)
                r = api_index_unit_states(&x, NULL, c->match.item, &states, &n);
        /* fleet answers with the first state found for the name, on any machine */
        if (r >= 0 && n > 0)
                r = api_unit_state_format(&states[0], &json);
        api_unit_state_array_free(states, n);
        if (r < 0)
                api_ctx_reply_internal(c, r);
        else if (n == 0)
                api_ctx_reply_error(c, 404, "unit state does not exist");
        else
                api_ctx_reply_json(c, 200, json);
}

void api_route_state_get(ApiCtx *c) {
        if (!api_key_component_is_valid(c->match.item)) {
                api_ctx_reply_error(c, 404, "unit state does not exist");
                return;
        }
        (void) api_fetch_list(c, REGISTRY_KEY_STATE, c->match.item, false);
        api_fetch_wait(c, state_get_done);
}
