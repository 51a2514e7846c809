/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "quorum.h"

char *quorum_health_json(bool reachable) {
        return strdup(reachable ? "{\"reachable\":true}" : "{\"reachable\":false}");
}

int quorum_parse_answer(long status, const char *body, size_t len, bool *ret_reachable) {
        json_t *root, *v;
        int r = 0;

        if (status != 200 || !body)
                return 0;
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
        if (!root)
                return 0;
        v = json_is_object(root) ? json_object_get(root, "reachable") : NULL;
        if (json_is_boolean(v)) {
                *ret_reachable = json_is_true(v);
                r = 1;
        }
        json_decref(root);
        return r;
}

bool quorum_etcd_down_for_majority(size_t n_known, size_t n_down) {
        return n_down <= n_known && 2 * n_down > n_known;
}
