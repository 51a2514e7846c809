/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleetctl-wait.h"
#include "macro.h"
#include "time-util.h"

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

/* Append "<legend>" of id to *s. */
static int append_machine(char **s, const char *id, bool full, MachineLookup lookup,
                          void *userdata) {
        const ApiMachine *m = lookup ? lookup(id, userdata) : NULL;
        _cleanup_free_ char *legend = NULL;
        char *n = NULL;

        if (fleetctl_machine_legend(id, m ? m->primary_ip : NULL, full, true, &legend) < 0)
                return -ENOMEM;
        if (asprintf(&n, "%s%s", *s, legend) < 0)
                return -ENOMEM;
        free(*s);
        *s = n;
        return 0;
}

/* Append "loaded active running" of a state to *s. */
static int append_systemd(char **s, const ApiUnitState *st) {
        char *n = NULL;

        if (asprintf(&n, "%s%s %s %s", *s, st->systemd_load_state ?: "-",
                     st->systemd_active_state ?: "-", st->systemd_sub_state ?: "-") < 0)
                return -ENOMEM;
        free(*s);
        *s = n;
        return 0;
}

static int append(char **s, const char *text) {
        char *n = NULL;

        if (asprintf(&n, "%s%s", *s, text) < 0)
                return -ENOMEM;
        free(*s);
        *s = n;
        return 0;
}

static int why_global(const ApiUnit *u, const ApiUnitState *states, size_t n, bool full,
                      MachineLookup lookup, void *userdata, char **s) {
        size_t shown = 0;
        int r = 0;

        r = append(s, "global unit, ");
        r = r < 0 ? r : append(s, strempty(u->desired_state));
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (!streq(strempty(states[i].name), u->name) || !states[i].machine_id)
                        continue;
                r = append(s, shown++ == 0 ? "; on " : ", on ");
                r = r < 0 ? r : append_machine(s, states[i].machine_id, full, lookup, userdata);
                r = r < 0 ? r : append(s, ": ");
                r = r < 0 ? r : append_systemd(s, &states[i]);
        }
        if (r >= 0 && shown == 0)
                r = append(s, "; no machine reports it");
        return r;
}

static int why_scheduled(const ApiUnit *u, const ApiUnitState *states, size_t n, bool full,
                         MachineLookup lookup, void *userdata, char **s) {
        const ApiUnitState *st = NULL;
        const char *cur = strempty(u->current_state);
        int r;

        for (size_t i = 0; i < n; i++)
                if (streq(strempty(states[i].name), u->name) &&
                    streq(strempty(states[i].machine_id), u->machine_id))
                        st = &states[i];
        r = append(s, streq(cur, "inactive") || !*cur ? "scheduled" : cur);
        r = r < 0 ? r : append(s, " on ");
        r = r < 0 ? r : append_machine(s, u->machine_id, full, lookup, userdata);
        if (r >= 0 && !streq(cur, strempty(u->desired_state)))
                r = append(s, streq(strempty(u->desired_state), "launched") ? " (starting)"
                                                                            : " (changing)");
        r = r < 0 ? r : append(s, "; systemd: ");
        if (r >= 0 && st)
                r = append_systemd(s, st);
        else if (r >= 0)
                r = append(s, "not reported yet");
        return r;
}

int fleetctl_why_line(const ApiUnit *u, bool global, const ApiUnitState *states, size_t n,
                      bool full, MachineLookup lookup, void *userdata, char **ret) {
        _cleanup_free_ char *s = NULL;
        int r;

        if (asprintf(&s, "%s: ", strempty(u->name)) < 0)
                return -ENOMEM;
        if (global)
                r = why_global(u, states, n, full, lookup, userdata, &s);
        else if (u->machine_id && *u->machine_id)
                r = why_scheduled(u, states, n, full, lookup, userdata, &s);
        else if (streq(strempty(u->desired_state), "inactive"))
                r = append(&s, "not scheduled: desired state inactive");
        else if (u->reason && *u->reason) {
                r = append(&s, "not scheduled: ");
                r = r < 0 ? r : append(&s, u->reason);
        } else
                r = append(&s, "not scheduled yet: waiting for the engine");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

uint64_t fleetctl_poll_delay(unsigned n) {
        uint64_t d = WAIT_POLL_FAST_USEC * 2;

        if (n < WAIT_POLL_FAST_N)
                return WAIT_POLL_FAST_USEC;
        for (unsigned i = WAIT_POLL_FAST_N; i < n && d < WAIT_POLL_USEC; i++)
                d *= 2;
        return MIN(d, (uint64_t) WAIT_POLL_USEC);
}

bool fleetctl_failed_counts(bool seen_other, uint64_t waited_usec) {
        return seen_other || waited_usec >= FLEETCTL_FAILED_SETTLE_USEC;
}

void fleetctl_sleep_usec(uint64_t usec) {
        struct timespec ts = {.tv_sec = (time_t) (usec / 1000000u),
                              .tv_nsec = (long) (usec % 1000000u) * 1000};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}
