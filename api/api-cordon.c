/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "api-cordon.h"
#include "errmsg.h"

int api_cordon_body_decode(const char *body, size_t len, bool *ret_draining,
                           char **reterr_message) {
        json_auto_t *j = NULL;
        json_t *d;

        if (!body || len == 0) {
                *ret_draining = false;
                return 0;
        }
        j = json_loadb(body, len, 0, NULL);
        if (!j || !json_is_object(j))
                return errmsg_set(reterr_message, -EINVAL, "%s",
                                  "invalid request body: expected a JSON object");
        d = json_object_get(j, "draining");
        if (d && !json_is_boolean(d))
                return errmsg_set(reterr_message, -EINVAL, "%s",
                                  "invalid request body: draining must be true or false");
        *ret_draining = json_is_true(d);
        return 0;
}

static int cmp_machine(const void *a, const void *b) {
        const RegistryEntry *x = *(const RegistryEntry *const *) a;
        const RegistryEntry *y = *(const RegistryEntry *const *) b;

        return strcmp(x->key.machine_id, y->key.machine_id);
}

int api_cordons_format(const RegistryEntry *const *entries, size_t n, char **ret) {
        _cleanup_free_ const RegistryEntry **sorted = calloc(MAX(n, (size_t) 1), sizeof(*sorted));
        json_auto_t *o = json_object();
        json_t *list = json_array();
        size_t k = 0;
        char *s;

        if (!sorted || !o || !list || json_object_set_new(o, "cordons", list) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (entries[i]->has_value && entries[i]->key.kind == REGISTRY_KEY_CORDON)
                        sorted[k++] = entries[i];
        if (k > 1)
                qsort(sorted, k, sizeof(*sorted), cmp_machine);
        for (size_t i = 0; i < k; i++) {
                json_t *c = json_pack("{s:s, s:s}", "machineID", sorted[i]->key.machine_id, "state",
                                      sorted[i]->cordon.draining ? "draining" : "cordoned");

                if (!c || json_array_append_new(list, c) < 0)
                        return -ENOMEM;
        }
        s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
