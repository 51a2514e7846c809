/* SPDX-License-Identifier: MIT */
/* The web view's state, its recent events, and server-sent events framing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api-model.h"
#include "ui-model.h"

static const char *const event_type_table[_UI_EVENT_TYPE_MAX] = {
        [UI_EVENT_PLACED] = "placed",
        [UI_EVENT_MOVED] = "moved",
        [UI_EVENT_UNSCHEDULED] = "unscheduled",
        [UI_EVENT_FAILED] = "failed",
        [UI_EVENT_MACHINE_JOINED] = "machine-joined",
        [UI_EVENT_MACHINE_LEFT] = "machine-left",
};

static bool streq_ptr(const char *a, const char *b) {
        return a && b ? streq(a, b) : a == b;
}

const char *ui_event_type_to_string(UiEventType t) {
        return t >= 0 && t < _UI_EVENT_TYPE_MAX ? event_type_table[t] : NULL;
}

/* ---- tracker ------------------------------------------------------------------------------- */

/* A sorted set of (a, b) string pairs: unit -> machine, (unit, machine) failed, machine. */
typedef struct Pair {
        char *a, *b;
} Pair;

typedef struct PairSet {
        Pair *p;
        size_t n;
} PairSet;

struct UiTracker {
        bool seen;
        PairSet targets;  /* unit -> its machine */
        PairSet failed;   /* (unit, machine) where systemd says failed */
        PairSet machines; /* machine ID, b NULL */
        PairSet lost;     /* unit -> the machine it lost (to report a later placement as a move) */
        UiEvent events[UI_EVENTS_MAX];
        size_t first, n_events; /* ring */
};

static void pairs_done(PairSet *s) {
        for (size_t i = 0; i < s->n; i++) {
                free(s->p[i].a);
                free(s->p[i].b);
        }
        free(s->p);
        *s = (PairSet){};
}

static int str_cmp(const char *a, const char *b) {
        return strcmp(a ?: "", b ?: "");
}

static int pair_cmp(const void *x, const void *y) {
        const Pair *p = x, *q = y;
        int r = str_cmp(p->a, q->a);

        return r != 0 ? r : str_cmp(p->b, q->b);
}

static int pairs_add(PairSet *s, const char *a, const char *b) {
        Pair *p = reallocarray(s->p, s->n + 1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        s->p = p;
        p[s->n] = (Pair){.a = strdup(a), .b = b ? strdup(b) : NULL};
        if (!p[s->n].a || (b && !p[s->n].b)) {
                free(p[s->n].a);
                free(p[s->n].b);
                return -ENOMEM;
        }
        s->n++;
        return 0;
}

/* The pair whose a is key (the first one), or NULL. s must be sorted. */
static const Pair *pairs_find(const PairSet *s, const char *a, const char *b, bool match_b) {
        size_t lo = 0, hi = s->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int r = str_cmp(s->p[mid].a, a);

                if (r == 0 && match_b)
                        r = str_cmp(s->p[mid].b, b);
                if (r == 0 && !match_b) {
                        while (mid > 0 && str_cmp(s->p[mid - 1].a, a) == 0)
                                mid--;
                        return &s->p[mid];
                }
                if (r == 0)
                        return &s->p[mid];
                if (r < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

static void pairs_sort(PairSet *s) {
        if (s->n > 1)
                qsort(s->p, s->n, sizeof(*s->p), pair_cmp);
}

/* What the cache shows now. */
static int collect(const RegistryCache *c, PairSet *targets, PairSet *failed, PairSet *machines) {
        const RegistryEntry *e;
        size_t n;
        int r;

        e = registry_cache_list(c, REGISTRY_KEY_SCHEDULE, &n);
        for (size_t i = 0; i < n; i++) {
                /* sorted by (unit, machine): the first machine of a unit is its target */
                if (i > 0 && streq(e[i].key.name, e[i - 1].key.name))
                        continue;
                r = pairs_add(targets, e[i].key.name, e[i].key.machine_id);
                if (r < 0)
                        return r;
        }
        e = registry_cache_list(c, REGISTRY_KEY_STATE, &n);
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(e[i].state.active_state, "failed")) {
                        r = pairs_add(failed, e[i].key.name, e[i].key.machine_id);
                        if (r < 0)
                                return r;
                }
        e = registry_cache_list(c, REGISTRY_KEY_MACHINE, &n);
        for (size_t i = 0; i < n; i++) {
                r = pairs_add(machines, e[i].key.machine_id, NULL);
                if (r < 0)
                        return r;
        }
        pairs_sort(targets);
        pairs_sort(failed);
        pairs_sort(machines);
        return 0;
}

static void event_done(UiEvent *e) {
        free(e->unit);
        free(e->machine);
        free(e->from);
        *e = (UiEvent){};
}

/* Events found by one observation, before they enter the ring. */
typedef struct EventList {
        UiEvent *e;
        size_t n;
} EventList;

static void event_list_done(EventList *l) {
        for (size_t i = 0; i < l->n; i++)
                event_done(&l->e[i]);
        free(l->e);
        *l = (EventList){};
}

static int event_add(EventList *l, uint64_t now, UiEventType type, const char *unit,
                     const char *machine, const char *from) {
        UiEvent *e = reallocarray(l->e, l->n + 1, sizeof(*e));
        UiEvent x = {.time_usec = now, .type = type};

        if (!e)
                return -ENOMEM;
        l->e = e;
        x.unit = unit ? strdup(unit) : NULL;
        x.machine = machine ? strdup(machine) : NULL;
        x.from = from ? strdup(from) : NULL;
        if ((unit && !x.unit) || (machine && !x.machine) || (from && !x.from)) {
                event_done(&x);
                return -ENOMEM;
        }
        l->e[l->n++] = x;
        return 0;
}

/* Placements: moved, placed, unscheduled; and the new "lost" set. */
static int diff_targets(const UiTracker *t, const PairSet *now, uint64_t at, EventList *out,
                        PairSet *lost) {
        int r = 0;

        for (size_t i = 0; r >= 0 && i < now->n; i++) {
                const Pair *old = pairs_find(&t->targets, now->p[i].a, NULL, false);
                const Pair *was = pairs_find(&t->lost, now->p[i].a, NULL, false);
                const char *from = old ? old->b : was ? was->b : NULL;

                if (old && streq(old->b, now->p[i].b))
                        continue;
                if (from && !streq(from, now->p[i].b))
                        r = event_add(out, at, UI_EVENT_MOVED, now->p[i].a, now->p[i].b, from);
                else
                        r = event_add(out, at, UI_EVENT_PLACED, now->p[i].a, now->p[i].b, NULL);
        }
        for (size_t i = 0; r >= 0 && i < t->targets.n; i++)
                if (!pairs_find(now, t->targets.p[i].a, NULL, false)) {
                        r = event_add(out, at, UI_EVENT_UNSCHEDULED, t->targets.p[i].a,
                                      t->targets.p[i].b, NULL);
                        if (r >= 0)
                                r = pairs_add(lost, t->targets.p[i].a, t->targets.p[i].b);
                }
        /* still unscheduled: keep remembering where they were */
        for (size_t i = 0; r >= 0 && i < t->lost.n; i++)
                if (!pairs_find(now, t->lost.p[i].a, NULL, false) &&
                    !pairs_find(lost, t->lost.p[i].a, NULL, false))
                        r = pairs_add(lost, t->lost.p[i].a, t->lost.p[i].b);
        pairs_sort(lost);
        return r;
}

static int diff_sets(const PairSet *old, const PairSet *now, uint64_t at, UiEventType added,
                     UiEventType removed, EventList *out, bool machines) {
        int r = 0;

        for (size_t i = 0; r >= 0 && i < now->n; i++)
                if (!pairs_find(old, now->p[i].a, now->p[i].b, true))
                        r = machines ? event_add(out, at, added, NULL, now->p[i].a, NULL)
                                     : event_add(out, at, added, now->p[i].a, now->p[i].b, NULL);
        for (size_t i = 0; r >= 0 && (int) removed >= 0 && i < old->n; i++)
                if (!pairs_find(now, old->p[i].a, old->p[i].b, true))
                        r = event_add(out, at, removed, NULL, old->p[i].a, NULL);
        return r;
}

static void ring_push(UiTracker *t, UiEvent *e) {
        size_t i;

        if (t->n_events == UI_EVENTS_MAX) {
                event_done(&t->events[t->first]);
                i = t->first;
                t->first = (t->first + 1) % UI_EVENTS_MAX;
        } else
                i = (t->first + t->n_events++) % UI_EVENTS_MAX;
        t->events[i] = *e;
        *e = (UiEvent){};
}

int ui_tracker_observe(UiTracker *t, const RegistryCache *c, uint64_t now_usec) {
        PairSet targets = {}, failed = {}, machines = {}, lost = {};
        EventList ev = {};
        int r, n;

        r = collect(c, &targets, &failed, &machines);
        if (r >= 0 && t->seen) {
                /* machines first: a machine leaving explains the moves that follow */
                r = diff_sets(&t->machines, &machines, now_usec, UI_EVENT_MACHINE_JOINED,
                              UI_EVENT_MACHINE_LEFT, &ev, true);
                if (r >= 0)
                        r = diff_targets(t, &targets, now_usec, &ev, &lost);
                if (r >= 0)
                        r = diff_sets(&t->failed, &failed, now_usec, UI_EVENT_FAILED,
                                      _UI_EVENT_TYPE_INVALID, &ev, false);
        }
        if (r < 0) {
                pairs_done(&targets);
                pairs_done(&failed);
                pairs_done(&machines);
                pairs_done(&lost);
                event_list_done(&ev);
                return r;
        }
        pairs_done(&t->targets);
        pairs_done(&t->failed);
        pairs_done(&t->machines);
        pairs_done(&t->lost);
        t->targets = targets;
        t->failed = failed;
        t->machines = machines;
        t->lost = lost;
        t->seen = true;
        n = (int) ev.n;
        for (size_t i = 0; i < ev.n; i++)
                ring_push(t, &ev.e[i]);
        event_list_done(&ev);
        return n;
}

void ui_tracker_forget(UiTracker *t) {
        pairs_done(&t->targets);
        pairs_done(&t->failed);
        pairs_done(&t->machines);
        pairs_done(&t->lost);
        t->seen = false;
}

const UiEvent *ui_tracker_events(const UiTracker *t, size_t *ret_n) {
        *ret_n = t->n_events;
        return t->events;
}

int ui_tracker_new(UiTracker **ret) {
        UiTracker *t = calloc(1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        *ret = t;
        return 0;
}

UiTracker *ui_tracker_free(UiTracker *t) {
        if (!t)
                return NULL;
        ui_tracker_forget(t);
        for (size_t i = 0; i < t->n_events; i++)
                event_done(&t->events[(t->first + i) % UI_EVENTS_MAX]);
        free(t);
        return NULL;
}

/* ---- snapshot ------------------------------------------------------------------------------ */

static json_t *str_or_null(const char *s) {
        return s ? json_string(s) : json_null();
}

/* json_object_set_new that reports failure (a NULL value included). */
static int set(json_t *o, const char *key, json_t *v) {
        if (!v)
                return -ENOMEM;
        return json_object_set_new(o, key, v) < 0 ? -ENOMEM : 0;
}

static int append(json_t *a, json_t *v) {
        if (!v)
                return -ENOMEM;
        return json_array_append_new(a, v) < 0 ? -ENOMEM : 0;
}

static int cmp_strp(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* How many schedule entries name machine, in the sorted array of their machine IDs. */
static size_t units_on(const char **sorted, size_t n, const char *machine) {
        size_t lo = 0, hi = n, first;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (strcmp(sorted[mid], machine) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        first = lo;
        while (lo < n && streq(sorted[lo], machine))
                lo++;
        return lo - first;
}

static json_t *machine_json(const char **scheduled, size_t n_scheduled, const ApiMachine *m,
                            const RegistryCache *c, const char *leader) {
        const RegistryEntry *e = registry_cache_get(c, REGISTRY_KEY_MACHINE, NULL, m->id);
        json_t *o = json_object(), *md = json_object();
        int r = o && md ? 0 : -ENOMEM;

        for (char **kv = m->metadata; r >= 0 && kv && kv[0] && kv[1]; kv += 2)
                r = set(md, kv[0], json_string(kv[1]));
        if (r >= 0)
                r = set(o, "metadata", TAKE_PTR(md));
        if (r >= 0)
                r = set(o, "id", json_string(m->id));
        if (r >= 0)
                r = set(o, "ip", json_string(m->primary_ip ?: ""));
        if (r >= 0)
                r = set(o, "version",
                        json_string(e && e->machine.version ? e->machine.version : ""));
        if (r >= 0)
                r = set(o, "leader", json_boolean(streq_ptr(leader, m->id)));
        if (r >= 0) {
                const RegistryEntry *cd = registry_cache_get(c, REGISTRY_KEY_CORDON, NULL, m->id);

                r = set(o, "cordoned",
                        cd ? json_string(cd->cordon.draining ? "draining" : "cordoned")
                           : json_null());
        }
        if (r >= 0)
                r = set(o, "units",
                        json_integer((json_int_t) units_on(scheduled, n_scheduled, m->id)));
        json_decref(md);
        if (r < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

static int add_machines(json_t *root, const ApiIndex *x, const RegistryCache *c,
                        const char *leader) {
        const char **scheduled = calloc(MAX(x->n_schedule, 1u), sizeof(*scheduled));
        ApiMachine *m = NULL;
        size_t n = 0;
        json_t *a = json_array();
        int r = a && scheduled ? api_index_machines(x, &m, &n) : -ENOMEM;

        /* the machines of all schedule entries, sorted: units per machine by binary search */
        for (size_t i = 0; scheduled && i < x->n_schedule; i++)
                scheduled[i] = x->schedule[i]->key.machine_id;
        if (scheduled)
                qsort(scheduled, x->n_schedule, sizeof(*scheduled), cmp_strp);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = append(a, machine_json(scheduled, x->n_schedule, &m[i], c, leader));
        for (size_t i = 0; i < n; i++)
                api_machine_done(&m[i]);
        free(m);
        free(scheduled);
        if (r < 0) {
                json_decref(a);
                return r;
        }
        return set(root, "machines", a);
}

/* One row: a job on a machine (NULL: none), with that machine's state record if any. */
static json_t *unit_json(const RegistryJob *j, JobState current, const char *machine,
                         const RegistryUnitState *st, const char *reason) {
        json_t *o = json_object();
        int r = o ? 0 : -ENOMEM;

        if (r >= 0)
                r = set(o, "name", json_string(j->name));
        if (r >= 0)
                r = set(o, "hash", json_string(j->hash));
        if (r >= 0)
                r = set(o, "global", json_boolean(j->global));
        if (r >= 0)
                r = set(o, "desired", json_string(job_state_to_string(j->desired_state)));
        if (r >= 0)
                r = set(o, "current", json_string(job_state_to_string(current)));
        if (r >= 0)
                r = set(o, "machine", str_or_null(machine));
        if (r >= 0)
                r = set(o, "load", str_or_null(st ? st->load_state : NULL));
        if (r >= 0)
                r = set(o, "active", str_or_null(st ? st->active_state : NULL));
        if (r >= 0)
                r = set(o, "sub", str_or_null(st ? st->sub_state : NULL));
        if (r >= 0)
                r = set(o, "reason", str_or_null(reason));
        if (r < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

static int add_units(json_t *root, const ApiIndex *x, const RegistryCache *c) {
        json_t *a = json_array();
        int r = a ? 0 : -ENOMEM;

        for (size_t i = 0; r >= 0 && i < x->n_jobs; i++) {
                const RegistryJob *j = &x->jobs[i]->job;
                const RegistryEntry *st;
                const char *machine;
                JobState cur;
                size_t n_states, rows = 0;

                if (!j->global) {
                        /* the engine's reason, while it describes this version of the job */
                        const RegistryEntry *re =
                                registry_cache_get(c, REGISTRY_KEY_REASON, j->name, NULL);
                        const char *reason =
                                re && re->reason.job_revision == x->jobs[i]->mod_revision
                                        ? re->reason.reason
                                        : NULL;

                        cur = api_index_current_state(x, j->name, &machine);
                        st = machine ? registry_cache_get(c, REGISTRY_KEY_STATE, j->name, machine)
                                     : NULL;
                        r = append(a, unit_json(j, cur, machine, st ? &st->state : NULL, reason));
                        continue;
                }
                /* a global unit: one row per machine that reports it */
                st = registry_cache_list(c, REGISTRY_KEY_STATE, &n_states);
                for (size_t k = 0; r >= 0 && k < n_states; k++)
                        if (streq(st[k].key.name, j->name)) {
                                r = append(a, unit_json(j, st[k].state.fleet_state,
                                                        st[k].key.machine_id, &st[k].state, NULL));
                                rows++;
                        }
                if (r >= 0 && rows == 0)
                        r = append(a, unit_json(j, JOB_STATE_INACTIVE, NULL, NULL, NULL));
        }
        if (r < 0) {
                json_decref(a);
                return r;
        }
        return set(root, "units", a);
}

static json_t *event_json(const UiEvent *e) {
        json_t *o = json_object();
        int r = o ? 0 : -ENOMEM;

        if (r >= 0)
                r = set(o, "time", json_integer((json_int_t) (e->time_usec / 1000)));
        if (r >= 0)
                r = set(o, "type", json_string(ui_event_type_to_string(e->type)));
        if (r >= 0)
                r = set(o, "unit", str_or_null(e->unit));
        if (r >= 0)
                r = set(o, "machine", str_or_null(e->machine));
        if (r >= 0)
                r = set(o, "from", str_or_null(e->from));
        if (r < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

static int add_events(json_t *root, const UiTracker *t) {
        json_t *a = json_array();
        int r = a ? 0 : -ENOMEM;

        for (size_t i = t ? t->n_events : 0; r >= 0 && i > 0; i--)
                r = append(a, event_json(&t->events[(t->first + i - 1) % UI_EVENTS_MAX]));
        if (r < 0) {
                json_decref(a);
                return r;
        }
        return set(root, "events", a);
}

static int index_cache(const RegistryCache *c, ApiIndex *x) {
        static const RegistryKeyKind kinds[] = {
                REGISTRY_KEY_JOB,   REGISTRY_KEY_UNIT,    REGISTRY_KEY_SCHEDULE,
                REGISTRY_KEY_STATE, REGISTRY_KEY_MACHINE, REGISTRY_KEY_METADATA,
        };

        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                size_t n;
                const RegistryEntry *e = registry_cache_list(c, kinds[i], &n);
                int r = api_index_add(x, e, n);

                if (r < 0)
                        return r;
        }
        api_index_sort(x);
        return 0;
}

int ui_snapshot_json(const RegistryCache *c, const UiTracker *t, bool etcd_available, char **ret) {
        const RegistryEntry *l = registry_cache_get(c, REGISTRY_KEY_ENGINE_LEADER, NULL, NULL);
        const char *leader = l ? l->leader.machine_id : NULL;
        ApiIndex x = {};
        json_t *root = json_object();
        char *s = NULL;
        int r = root ? index_cache(c, &x) : -ENOMEM;

        if (r >= 0)
                r = set(root, "revision", json_integer(registry_cache_get_revision(c)));
        if (r >= 0)
                r = set(root, "synced", json_boolean(registry_cache_is_valid(c)));
        if (r >= 0)
                r = set(root, "etcd", json_boolean(etcd_available));
        if (r >= 0)
                r = set(root, "leader", str_or_null(leader));
        if (r >= 0)
                r = add_machines(root, &x, c, leader);
        if (r >= 0)
                r = add_units(root, &x, c);
        if (r >= 0)
                r = add_events(root, t);
        if (r >= 0) {
                s = json_dumps(root, JSON_COMPACT);
                if (!s)
                        r = -ENOMEM;
        }
        api_index_done(&x);
        json_decref(root);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

/* ---- server-sent events -------------------------------------------------------------------- */

int ui_sse_event(const char *event, const char *data, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        if (event && strpbrk(event, "\r\n"))
                return -EINVAL;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        if (event)
                fprintf(f, "event: %s\n", event);
        for (const char *p = data; p;) {
                size_t len = strcspn(p, "\r\n");

                fputs("data: ", f);
                fwrite(p, 1, len, f);
                fputc('\n', f);
                p += len;
                if (*p == '\0')
                        break;
                p += (p[0] == '\r' && p[1] == '\n') ? 2 : 1;
        }
        fputc('\n', f);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}
