/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "reconcile.h"
#include "unit-name.h"

static const char *const task_type_names[_AGENT_TASK_TYPE_MAX] = {
        [AGENT_TASK_UNLOAD] = "unload", [AGENT_TASK_LOAD] = "load",
        [AGENT_TASK_RELOAD] = "reload", [AGENT_TASK_STOP] = "stop",
        [AGENT_TASK_START] = "start",   [AGENT_TASK_RESTART] = "restart",
};

const char *agent_task_type_to_string(AgentTaskType t) {
        if (t < 0 || t >= _AGENT_TASK_TYPE_MAX)
                return NULL;
        return task_type_names[t];
}

AgentUnitActivity agent_unit_activity_from_active_state(const char *active_state) {
        static const char *const running[] = {"active", "activating", "reloading", "refreshing"};

        if (!active_state)
                return AGENT_UNIT_STOPPED;
        for (size_t i = 0; i < ELEMENTSOF(running); i++)
                if (streq(active_state, running[i]))
                        return AGENT_UNIT_RUNNING;
        if (streq(active_state, "deactivating"))
                return AGENT_UNIT_STOPPING;
        return AGENT_UNIT_STOPPED;
}

char *agent_task_to_string(const AgentTask *t) {
        const char *type = agent_task_type_to_string(t->type);
        char *s;

        if (!type)
                return NULL;
        if (!t->name)
                return strdup(type);
        if (asprintf(&s, "%s %s", type, t->name) < 0)
                return NULL;
        return s;
}

/* --- input ordering ------------------------------------------------------------------------ */

typedef struct SortContext {
        const void *base;
        size_t size;
} SortContext;

static const char *name_at(const void *base, size_t size, size_t i) {
        return *(const char *const *) ((const char *) base + i * size);
}

/* Compare two indices into an array of structs whose first member is the name. */
static int cmp_index(const void *a, const void *b, void *userdata) {
        const SortContext *ctx = userdata;

        return strcmp(name_at(ctx->base, ctx->size, *(const size_t *) a),
                      name_at(ctx->base, ctx->size, *(const size_t *) b));
}

/* Indices of base[0..n) sorted by name. -EINVAL for a NULL or duplicate name. */
static int sorted_indices(const void *base, size_t n, size_t size, size_t **ret) {
        _cleanup_free_ size_t *idx = NULL;

        if (n == 0) {
                *ret = NULL;
                return 0;
        }
        idx = malloc(n * sizeof(size_t));
        if (!idx)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (!name_at(base, size, i))
                        return -EINVAL;
                idx[i] = i;
        }
        qsort_r(idx, n, sizeof(size_t), cmp_index, &(SortContext){base, size});
        for (size_t i = 1; i < n; i++)
                if (streq(name_at(base, size, idx[i - 1]), name_at(base, size, idx[i])))
                        return -EINVAL;
        *ret = TAKE_PTR(idx);
        return 0;
}

static int check_desired(const AgentDesiredUnit *desired, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!desired[i].hash || desired[i].target < 0 ||
                    desired[i].target >= _JOB_STATE_MAX)
                        return -EINVAL;
        return 0;
}

/* --- per-unit decision ---------------------------------------------------------------------- */

typedef struct TaskSet {
        AgentTask *tasks; /* at most 2 per unit, plus the reload */
        size_t n;
        bool need_reload;
} TaskSet;

static void add(TaskSet *s, AgentTaskType type, const char *name, const char *reason) {
        s->tasks[s->n++] = (AgentTask){.type = type, .name = name, .reason = reason};
}

static void plan_unload(TaskSet *s, const AgentCurrentUnit *c) {
        if (!c)
                return;
        if (c->file_hash || c->linked || c->recorded != JOB_STATE_INACTIVE ||
            c->activity != AGENT_UNIT_STOPPED) {
                add(s, AGENT_TASK_UNLOAD, c->name, "unit loaded but not scheduled here");
                s->need_reload = true;
        }
}

/* Whether systemd may hold an older copy of the unit, which only a reload replaces. A unit it
 * has never read from our file is loaded on demand (see reconcile.h). */
static bool holds_copy(const AgentCurrentUnit *c) {
        return c && (c->file_hash || c->linked || c->systemd_loaded ||
                     c->activity != AGENT_UNIT_STOPPED || c->recorded != JOB_STATE_INACTIVE);
}

/* LOAD if the file is missing, differs, or is not linked. Returns true if the content
 * changes. */
static bool plan_load(TaskSet *s, const AgentDesiredUnit *d, const AgentCurrentUnit *c) {
        bool file_ok = c && c->file_hash && streq(c->file_hash, d->hash);
        const char *reason;

        if (file_ok && c->linked) {
                if (c->systemd_stale)
                        s->need_reload = true;
                return false;
        }
        if (!c || !c->file_hash)
                reason = "unit scheduled here but not loaded";
        else if (!file_ok)
                reason = "unit file differs from the desired content";
        else
                reason = "unit file not linked in systemd";
        add(s, AGENT_TASK_LOAD, d->name, reason);
        s->tasks[s->n - 1].hash = d->hash;
        s->tasks[s->n - 1].write_file = !file_ok;
        if (d->install || holds_copy(c))
                s->need_reload = true;
        return !file_ok;
}

static void plan_launched(TaskSet *s, const AgentDesiredUnit *d, const AgentCurrentUnit *c,
                          bool new_content) {
        AgentUnitActivity activity = c ? c->activity : AGENT_UNIT_STOPPED;
        JobState recorded = c ? c->recorded : JOB_STATE_INACTIVE;

        if (activity == AGENT_UNIT_RUNNING) {
                const char *running = c->started_hash ?: c->file_hash;
                if (!running || !streq(running, d->hash))
                        add(s, AGENT_TASK_RESTART, d->name, "unit running with other content");
                return;
        }
        if (recorded != JOB_STATE_LAUNCHED)
                add(s, AGENT_TASK_START, d->name, "unit loaded but desired state is launched");
        else if (new_content)
                add(s, AGENT_TASK_START, d->name, "unit content changed");
}

static void plan_unit(TaskSet *s, const AgentDesiredUnit *d, const AgentCurrentUnit *c) {
        bool new_content;

        if (d && d->target == JOB_STATE_INACTIVE)
                d = NULL;
        if (!d) {
                plan_unload(s, c);
                return;
        }
        new_content = plan_load(s, d, c);
        if (d->target == JOB_STATE_LAUNCHED)
                plan_launched(s, d, c, new_content);
        else if (c && c->activity == AGENT_UNIT_RUNNING)
                add(s, AGENT_TASK_STOP, d->name, "unit active but desired state is loaded");
}

/* --- assembly ------------------------------------------------------------------------------- */

/* Walk both name-sorted inputs together, one plan_unit() per distinct name. */
static void plan_all(TaskSet *s, const AgentDesiredUnit *desired, const size_t *di, size_t nd,
                     const AgentCurrentUnit *current, const size_t *ci, size_t nc) {
        size_t i = 0, j = 0;

        while (i < nd || j < nc) {
                const AgentDesiredUnit *d = i < nd ? &desired[di[i]] : NULL;
                const AgentCurrentUnit *c = j < nc ? &current[ci[j]] : NULL;
                int cmp = !d ? 1 : !c ? -1 : strcmp(d->name, c->name);

                plan_unit(s, cmp <= 0 ? d : NULL, cmp >= 0 ? c : NULL);
                i += cmp <= 0;
                j += cmp >= 0;
        }
        if (s->need_reload)
                s->tasks[s->n++] =
                        (AgentTask){.type = AGENT_TASK_RELOAD, .reason = "unit files changed"};
}

/* Order by type, keeping name order within a type (the plan is already in name order). */
static int order_by_type(const TaskSet *s, AgentTask **ret, size_t *ret_n) {
        AgentTask *out;
        size_t n = 0;

        if (s->n == 0) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        out = malloc(s->n * sizeof(AgentTask));
        if (!out)
                return -ENOMEM;
        for (int type = 0; type < _AGENT_TASK_TYPE_MAX; type++)
                for (size_t i = 0; i < s->n; i++)
                        if ((int) s->tasks[i].type == type)
                                out[n++] = s->tasks[i];
        assert(n == s->n);
        *ret = out;
        *ret_n = n;
        return 0;
}

int agent_reconcile(const AgentDesiredUnit *desired, size_t n_desired,
                    const AgentCurrentUnit *current, size_t n_current, AgentTask **ret,
                    size_t *ret_n) {
        _cleanup_free_ size_t *di = NULL, *ci = NULL;
        _cleanup_free_ AgentTask *buf = NULL;
        TaskSet s = {};
        int r;

        assert(desired || n_desired == 0);
        assert(current || n_current == 0);
        assert(ret);
        assert(ret_n);

        r = check_desired(desired, n_desired);
        if (r < 0)
                return r;
        r = sorted_indices(desired, n_desired, sizeof(AgentDesiredUnit), &di);
        if (r < 0)
                return r;
        r = sorted_indices(current, n_current, sizeof(AgentCurrentUnit), &ci);
        if (r < 0)
                return r;

        /* At most two tasks per distinct name (load + start/restart/stop, or unload), plus
         * one reload. */
        buf = malloc((2 * (n_desired + n_current) + 1) * sizeof(AgentTask));
        if (!buf)
                return -ENOMEM;
        s.tasks = buf;
        plan_all(&s, desired, di, n_desired, current, ci, n_current);
        return order_by_type(&s, ret, ret_n);
}

/* --- global units ------------------------------------------------------------------------- */

static bool global_applies(const AgentGlobalUnit *g, const AgentScheduledUnit *scheduled,
                           size_t n_scheduled, MetadataLookup lookup, void *userdata) {
        if (g->target != JOB_STATE_LOADED && g->target != JOB_STATE_LAUNCHED)
                return false;
        if (g->xfleet && !xfleet_metadata_match(g->xfleet, lookup, userdata))
                return false;
        for (size_t i = 0; i < n_scheduled; i++)
                if (streq(g->name, scheduled[i].name) ||
                    xfleet_conflicts(g->name, g->xfleet, scheduled[i].name, scheduled[i].xfleet))
                        return false;
        return true;
}

static bool conflicts_with_accepted(const AgentGlobalUnit *globals, const size_t *accepted,
                                    size_t n_accepted, const AgentGlobalUnit *g) {
        for (size_t i = 0; i < n_accepted; i++) {
                const AgentGlobalUnit *a = &globals[accepted[i]];
                if (xfleet_conflicts(a->name, a->xfleet, g->name, g->xfleet))
                        return true;
        }
        return false;
}

int agent_select_global_units(const AgentGlobalUnit *globals, size_t n_globals,
                              const AgentScheduledUnit *scheduled, size_t n_scheduled,
                              MetadataLookup lookup, void *userdata, size_t **ret, size_t *ret_n) {
        _cleanup_free_ size_t *idx = NULL;
        size_t n = 0;
        int r;

        assert(globals || n_globals == 0);
        assert(scheduled || n_scheduled == 0);
        assert(lookup);
        assert(ret);
        assert(ret_n);

        for (size_t i = 0; i < n_scheduled; i++)
                if (!scheduled[i].name)
                        return -EINVAL;
        r = sorted_indices(globals, n_globals, sizeof(AgentGlobalUnit), &idx);
        if (r < 0)
                return r;

        /* Compact the accepted indices in place: idx[0..n) are accepted, in name order. */
        for (size_t i = 0; i < n_globals; i++) {
                const AgentGlobalUnit *g = &globals[idx[i]];

                if (global_applies(g, scheduled, n_scheduled, lookup, userdata) &&
                    !conflicts_with_accepted(globals, idx, n, g))
                        idx[n++] = idx[i];
        }
        if (n == 0) {
                free(idx);
                idx = NULL;
        }
        *ret = TAKE_PTR(idx);
        *ret_n = n;
        return 0;
}

int agent_global_target(const RegistryTarget *global, const char *pin_hash, RegistryTarget *ret) {
        assert(global);
        assert(ret);
        *ret = *global;
        if (!pin_hash)
                return 0;
        if (!registry_hash_is_valid(pin_hash))
                return -EINVAL;
        memcpy(ret->hash, pin_hash, sizeof(ret->hash));
        return 1;
}

AgentStateVerdict agent_state_verdict(const char *name, bool known, bool isolated,
                                      uint64_t waiting_since, uint64_t now, uint64_t max_wait) {
        if (unit_name_validate(name, NULL) < 0)
                return AGENT_STATE_INVALID_NAME;
        if (known)
                return AGENT_STATE_READY;
        if (isolated || (waiting_since > 0 && now >= waiting_since + max_wait))
                return AGENT_STATE_NO_STATE;
        return AGENT_STATE_WAIT;
}

const char *agent_state_verdict_to_sub_state(AgentStateVerdict v) {
        switch (v) {
        case AGENT_STATE_INVALID_NAME:
                return "invalid-name";
        case AGENT_STATE_NO_STATE:
                return "no-state";
        default:
                return NULL;
        }
}
