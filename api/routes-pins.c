/* SPDX-License-Identifier: MIT */
/* fleet-c's pins (api-pin.h): list, pin a machine to a global unit's content, unpin it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-internal.h"
#include "api-pin.h"

static void pins_list_done(ApiCtx *c, int error) {
        api_ctx_reply_formatted(c, error, api_pins_format);
}

void api_route_pins_list(ApiCtx *c) {
        (void) api_fetch_list(c, REGISTRY_KEY_PIN, NULL, false);
        api_fetch_wait(c, pins_list_done);
}

typedef struct PinPut {
        char *machine, *name;
        RegistryPin pin;
} PinPut;

static void pin_put_free(void *p) {
        PinPut *pp = p;

        if (!pp)
                return;
        free(pp->machine);
        free(pp->name);
        free(pp);
}

/* Slots: 0 machine/<id>, 1 job/<name>, 2 unit/<hash>. */
static void pin_checked(ApiCtx *c, int error) {
        const PinPut *p = c->data;
        const RegistryEntry *job;
        _cleanup_free_ char *msg = NULL;
        size_t n;
        int r;

        if (error < 0) {
                api_ctx_reply_registry_error(c, error, NULL);
                return;
        }
        (void) api_fetch_entries(c, 0, &n);
        if (n == 0) {
                api_ctx_reply_error(c, 404, "machine does not exist");
                return;
        }
        job = api_fetch_entries(c, 1, &n);
        if (n == 0 || !job->has_value) {
                api_ctx_reply_error(c, 404, "unit does not exist");
                return;
        }
        if (!job->job.global) {
                if (asprintf(&msg, "unit %s is not global: only global units are pinned", p->name) <
                    0) {
                        api_ctx_reply_internal(c, -ENOMEM);
                        return;
                }
                api_ctx_reply_error(c, 400, msg);
                return;
        }
        (void) api_fetch_entries(c, 2, &n);
        if (n == 0) {
                api_ctx_reply_error(c, 404, "unit content does not exist");
                return;
        }
        r = registry_put_pin(c->api->registry, p->machine, p->name, &p->pin, api_ctx_written_204, c,
                             &c->write_call);
        if (r < 0)
                api_ctx_reply_internal(c, r);
}

/* The machine ID and unit name of the request's "<machineID>/<name>"; answers (500, or 404 with
 * missing) and returns < 0 when it is not one. */
static int pin_item(ApiCtx *c, const char *missing, char **ret_machine, char **ret_name) {
        int r = api_pin_item_split(c->match.item, ret_machine, ret_name);

        if (r == -ENOMEM)
                api_ctx_reply_internal(c, r);
        else if (r < 0)
                api_ctx_reply_error(c, 404, missing);
        return r;
}

void api_route_pin_put(ApiCtx *c) {
        _cleanup_free_ char *err = NULL, *machine = NULL, *name = NULL;
        PinPut *p;
        const char *body;
        size_t len;
        int r;

        if (pin_item(c, "machine does not exist", &machine, &name) < 0)
                return;
        p = calloc(1, sizeof(*p));
        if (!p) {
                api_ctx_reply_internal(c, -ENOMEM);
                return;
        }
        c->data = p;
        c->free_data = pin_put_free;
        body = http_request_body(c->req, &len);
        r = api_pin_body_decode(body, len, p->pin.hash, &err);
        if (r < 0) {
                api_ctx_reply_error(c, 400, err);
                return;
        }
        p->machine = TAKE_PTR(machine);
        p->name = TAKE_PTR(name);
        /* Only a machine in the cluster, a global unit and a stored content can be pinned: a
         * pin to a content the agent cannot fetch would stop the unit there. */
        (void) api_fetch_get(
                c, &(RegistryKey){.kind = REGISTRY_KEY_MACHINE, .machine_id = p->machine});
        (void) api_fetch_get(c, &(RegistryKey){.kind = REGISTRY_KEY_JOB, .name = p->name});
        (void) api_fetch_get(c, &(RegistryKey){.kind = REGISTRY_KEY_UNIT, .name = p->pin.hash});
        api_fetch_wait(c, pin_checked);
}

void api_route_pin_delete(ApiCtx *c) {
        _cleanup_free_ char *machine = NULL, *name = NULL;
        RegistryKey k = {.kind = REGISTRY_KEY_PIN};
        int r;

        if (pin_item(c, "pin does not exist", &machine, &name) < 0)
                return;
        k.machine_id = machine;
        k.name = name;
        r = registry_delete(c->api->registry, &k, api_ctx_written_204, c, &c->write_call);
        if (r < 0)
                api_ctx_reply_internal(c, r);
}
