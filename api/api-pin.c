/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "api-pin.h"
#include "api-validate.h"
#include "errmsg.h"

int api_pin_body_decode(const char *body, size_t len, char ret[static REGISTRY_HASH_LEN + 1],
                        char **reterr_message) {
        json_auto_t *j = NULL;
        const char *h;

        if (!body || len == 0)
                return errmsg_set(reterr_message, -EINVAL, "%s",
                                  "invalid request body: a hash is required");
        j = json_loadb(body, len, 0, NULL);
        if (!j || !json_is_object(j))
                return errmsg_set(reterr_message, -EINVAL, "%s",
                                  "invalid request body: expected a JSON object");
        h = json_string_value(json_object_get(j, "hash"));
        if (!registry_hash_is_valid(h))
                return errmsg_set(reterr_message, -EINVAL, "%s",
                                  "invalid request body: hash must be 40 lowercase hex digits");
        memcpy(ret, h, REGISTRY_HASH_LEN + 1);
        return 0;
}

int api_pin_item_split(const char *item, char **ret_machine, char **ret_name) {
        _cleanup_free_ char *m = NULL, *n = NULL;
        const char *slash = item ? strchr(item, '/') : NULL;

        if (!slash)
                return -EINVAL;
        m = strndup(item, slash - item);
        n = strdup(slash + 1);
        if (!m || !n)
                return -ENOMEM;
        if (!api_key_component_is_valid(m) || !api_key_component_is_valid(n))
                return -EINVAL;
        *ret_machine = TAKE_PTR(m);
        *ret_name = TAKE_PTR(n);
        return 0;
}

static int cmp_pin(const void *a, const void *b) {
        const RegistryEntry *x = *(const RegistryEntry *const *) a;
        const RegistryEntry *y = *(const RegistryEntry *const *) b;
        int c = strcmp(x->key.machine_id, y->key.machine_id);

        return c != 0 ? c : strcmp(x->key.name, y->key.name);
}

int api_pins_format(const RegistryEntry *const *entries, size_t n, char **ret) {
        _cleanup_free_ const RegistryEntry **sorted = calloc(MAX(n, (size_t) 1), sizeof(*sorted));
        json_auto_t *o = json_object();
        json_t *list = json_array();
        size_t k = 0;
        char *s;

        if (!sorted || !o || !list || json_object_set_new(o, "pins", list) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (entries[i]->has_value && entries[i]->key.kind == REGISTRY_KEY_PIN)
                        sorted[k++] = entries[i];
        if (k > 1)
                qsort(sorted, k, sizeof(*sorted), cmp_pin);
        for (size_t i = 0; i < k; i++) {
                json_t *p = json_pack("{s:s, s:s, s:s}", "machineID", sorted[i]->key.machine_id,
                                      "name", sorted[i]->key.name, "hash", sorted[i]->pin.hash);

                if (!p || json_array_append_new(list, p) < 0)
                        return -ENOMEM;
        }
        s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
