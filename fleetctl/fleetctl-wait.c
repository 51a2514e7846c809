/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleetctl-wait.h"
#include "macro.h"

FleetctlWaitVerdict fleetctl_wait_judge(const ApiUnit *u, bool global, const char *state,
                                        bool creation) {
        const char *have;

        if (!u)
                return FLEETCTL_WAIT_DESTROYED;
        have = global ? u->desired_state : u->current_state;
        if (streq(strempty(have), state))
                return FLEETCTL_WAIT_REACHED;
        if (!streq(strempty(u->desired_state), state))
                return creation ? FLEETCTL_WAIT_REACHED : FLEETCTL_WAIT_CHANGED;
        if (!global && u->reason && *u->reason)
                return FLEETCTL_WAIT_UNPLACEABLE;
        return FLEETCTL_WAIT_PENDING;
}

int fleetctl_wait_message(const char *name, const ApiUnit *u, const char *state,
                          FleetctlWaitVerdict v, char **ret) {
        int r;

        switch (v) {
        case FLEETCTL_WAIT_DESTROYED:
                r = asprintf(ret, "Unit %s was destroyed while waiting for it to be %s", name,
                             state);
                break;
        case FLEETCTL_WAIT_CHANGED:
                r = asprintf(ret,
                             "Unit %s was set to %s by someone else while waiting for it to be %s",
                             name, strempty(u ? u->desired_state : NULL), state);
                break;
        case FLEETCTL_WAIT_UNPLACEABLE:
                r = asprintf(ret, "Unit %s cannot be placed: %s", name,
                             strempty(u ? u->reason : NULL));
                break;
        default:
                return -EINVAL;
        }
        return r < 0 ? -ENOMEM : 0;
}
