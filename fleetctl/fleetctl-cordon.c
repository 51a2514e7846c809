/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "errmsg.h"
#include "fleetctl-cordon.h"
#include "strv.h"

int fleetctl_machine_resolve(const ApiMachine *ms, size_t n, const char *arg,
                             const ApiMachine **ret, char **reterr_message) {
        const ApiMachine *match = NULL;
        _cleanup_free_ char *list = NULL;
        size_t found = 0;

        if (!arg || !*arg)
                return errmsg_set(reterr_message, -EINVAL, "machine ID must not be empty");
        for (size_t i = 0; i < n; i++) {
                const char *id = strempty(ms[i].id);

                if (streq(id, arg)) {
                        *ret = &ms[i];
                        return 0;
                }
                if (!strneq(id, arg, strlen(arg)))
                        continue;
                match = &ms[i];
                found++;
        }
        if (found == 1) {
                *ret = match;
                return 0;
        }
        if (found == 0)
                return errmsg_set(reterr_message, -ENOENT, "machine %s does not exist", arg);
        for (size_t i = 0; i < n; i++) {
                char *l = NULL;

                if (!strneq(strempty(ms[i].id), arg, strlen(arg)))
                        continue;
                if (asprintf(&l, "%s%s%.8s...", list ? list : "", list ? ", " : "", ms[i].id) < 0)
                        return -ENOMEM;
                free(list);
                list = l;
        }
        if (reterr_message) {
                free(*reterr_message);
                if (asprintf(reterr_message, "machine prefix %s is ambiguous: %s", arg, list) < 0)
                        *reterr_message = NULL;
        }
        return -EEXIST;
}

int fleetctl_machines_with(const ApiMachine *ms, size_t n, char *const *ids, ApiMachine **ret,
                           size_t *ret_n) {
        ApiMachine *a = calloc(n + strv_length((char **) ids) + 1, sizeof(*a));
        size_t k = 0;

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                a[k++] = (ApiMachine){.id = ms[i].id, .primary_ip = ms[i].primary_ip};
        for (size_t i = 0; ids && ids[i]; i++) {
                bool known = false;

                for (size_t j = 0; j < k && !known; j++)
                        known = streq(strempty(a[j].id), ids[i]);
                if (!known)
                        a[k++] = (ApiMachine){.id = ids[i]};
        }
        *ret = a;
        *ret_n = k;
        return 0;
}

int fleetctl_cordons_parse(const char *text, size_t len, char ***ret, char **reterr_message) {
        _cleanup_strv_free_ char **l = NULL;
        json_auto_t *j = json_loadb(text ? text : "", len, 0, NULL);
        json_t *list, *e;
        size_t i;

        list = json_object_get(j, "cordons");
        if (!json_is_array(list))
                return errmsg_set(reterr_message, -EINVAL, "invalid cordon list from the API");
        json_array_foreach(list, i, e) {
                const char *id = json_string_value(json_object_get(e, "machineID"));
                const char *state = json_string_value(json_object_get(e, "state"));

                if (!id || !state)
                        return errmsg_set(reterr_message, -EINVAL,
                                          "invalid cordon list from the API");
                if (strv_extend(&l, id) < 0 || strv_extend(&l, state) < 0)
                        return -ENOMEM;
        }
        if (!l && !(l = strv_copy(NULL)))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

const char *fleetctl_cordon_state(char *const *cordons, const char *id) {
        for (size_t i = 0; cordons && cordons[i] && cordons[i + 1]; i += 2)
                if (streq(cordons[i], id))
                        return cordons[i + 1];
        return NULL;
}

FleetctlDrainStep fleetctl_drain_step(const ApiUnit *u, const char *machine, bool on_machine) {
        const char *desired, *current;

        if (!u)
                return FLEETCTL_DRAIN_DESTROYED;
        if (on_machine)
                return FLEETCTL_DRAIN_WAITING;
        desired = strempty(u->desired_state);
        current = strempty(u->current_state);
        if (streq(desired, "inactive"))
                return FLEETCTL_DRAIN_DEACTIVATED;
        if (u->machine_id && *u->machine_id && !streq(u->machine_id, machine) &&
            streq(current, desired))
                return FLEETCTL_DRAIN_MOVED;
        if ((!u->machine_id || !*u->machine_id) && u->reason && *u->reason &&
            !strstr(u->reason, "waiting for its copy on draining"))
                return FLEETCTL_DRAIN_UNPLACED;
        return FLEETCTL_DRAIN_WAITING;
}
