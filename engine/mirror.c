/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirror.h"
#include "strmap.h"
#include "strv.h"
#include "unit-file.h"
#include "xfleet.h"

typedef struct MirrorJob {
        char *name;
        char hash[REGISTRY_HASH_LEN + 1];
        JobState state;
        bool global;
        /* [X-Fleet] options parsed with the job's name from the content xfleet_hash names;
         * xfleet_hash "" = not parsed yet. xfleet NULL with a hash = no options. */
        XFleet *xfleet;
        char xfleet_hash[REGISTRY_HASH_LEN + 1];
        bool held;
        int64_t mod_revision; /* of job/<name>: the version a stored reason describes */
} MirrorJob;

typedef struct MirrorCordon {
        char *id;
        bool draining;
} MirrorCordon;

typedef struct MirrorPin {
        char *key; /* "<machine>/<name>" */
        char hash[REGISTRY_HASH_LEN + 1];
} MirrorPin;

typedef struct MirrorReason {
        char *name;
        char *reason;
        int64_t job_revision;
} MirrorReason;

typedef struct MirrorUnit {
        char hash[REGISTRY_HASH_LEN + 1];
        int64_t mod_revision;
        UnitFile *xsection; /* the [X-Fleet] options only; NULL if the content is unreadable */
} MirrorUnit;

typedef struct MirrorMachine {
        char *id;
        bool live;
        char **metadata; /* from machine/<id>: alternating key, value */
        char **overlay;  /* from metadata/<id>/<key>: alternating key, value; unique keys */
} MirrorMachine;

/* How many schedule entries name a machine (live or not). */
typedef struct MirrorOwner {
        size_t n;
        char id[]; /* the map's key */
} MirrorOwner;

/* One allocation per entry (100,000 of them): the strings live in buf. */
typedef struct MirrorEntry {
        const char *machine; /* in buf */
        const char *job;     /* in buf */
        RegistryTarget target;
        char key[]; /* "<machine>/<job>" (both are key components, so without '/'), then
                     * "<machine>" NUL */
} MirrorEntry;

struct Mirror {
        StrMap jobs;     /* name -> MirrorJob */
        StrMap units;    /* hash -> MirrorUnit */
        StrMap machines; /* id -> MirrorMachine (live, or with overlays) */
        StrMap schedule; /* "<machine>/<job>" -> MirrorEntry */
        StrMap reasons;  /* name -> MirrorReason (stored reason/<name>) */
        StrMap cordons;  /* machine ID -> MirrorCordon (cordon/<id>) */
        StrMap states;   /* "<machine>/<job>" -> the same string: a state/<job>/<machine> exists */
        StrMap pins;     /* "<machine>/<job>" -> MirrorPin (pin/<machine>/<job>, fleet-c) */
        StrMap owners;   /* machine ID -> MirrorOwner: machines named by schedule entries */
        /* Garbage collection looks only at contents that may have lost their last reference
         * since the last view (hashes, owned keys), or at all of them after a resync. */
        StrMap suspects;
        bool suspect_all;
        size_t n_live;
        size_t n_held;        /* at the last view */
        char **held_machines; /* mirror_set_held_machines() */
};

static MirrorJob *job_free(MirrorJob *j) {
        if (!j)
                return NULL;
        free(j->name);
        xfleet_free(j->xfleet);
        free(j);
        return NULL;
}

static MirrorUnit *unit_free(MirrorUnit *u) {
        if (!u)
                return NULL;
        unit_file_free(u->xsection);
        free(u);
        return NULL;
}

static MirrorMachine *machine_free(MirrorMachine *m) {
        if (!m)
                return NULL;
        free(m->id);
        strv_free(m->metadata);
        strv_free(m->overlay);
        free(m);
        return NULL;
}

static MirrorEntry *entry_free(MirrorEntry *e) {
        free(e);
        return NULL;
}

static MirrorPin *pin_free(MirrorPin *p) {
        if (!p)
                return NULL;
        free(p->key);
        free(p);
        return NULL;
}

static MirrorEntry *entry_new(const char *machine, const char *job, const RegistryTarget *t) {
        size_t lm = strlen(machine), lj = strlen(job);
        MirrorEntry *e = malloc(sizeof(*e) + lm + 1 + lj + 1 + lm + 1);

        if (!e)
                return NULL;
        memcpy(e->key, machine, lm);
        e->key[lm] = '/';
        memcpy(e->key + lm + 1, job, lj + 1);
        memcpy(e->key + lm + 1 + lj + 1, machine, lm + 1);
        e->job = e->key + lm + 1;
        e->machine = e->key + lm + 1 + lj + 1;
        e->target = *t;
        return e;
}

static MirrorCordon *cordon_free(MirrorCordon *c) {
        if (!c)
                return NULL;
        free(c->id);
        free(c);
        return NULL;
}

static MirrorReason *reason_free(MirrorReason *r) {
        if (!r)
                return NULL;
        free(r->name);
        free(r->reason);
        free(r);
        return NULL;
}

DEFINE_CLEANUP(MirrorJob *, job_free);
DEFINE_CLEANUP(MirrorReason *, reason_free);
DEFINE_CLEANUP(MirrorUnit *, unit_free);
DEFINE_CLEANUP(MirrorMachine *, machine_free);
DEFINE_CLEANUP(MirrorEntry *, entry_free);

int mirror_new(Mirror **ret) {
        Mirror *m;

        assert(ret);
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->suspects.own_keys = true;
        m->suspect_all = true;
        *ret = m;
        return 0;
}

#define CLEAR_MAP(map, free_fn)                                                                    \
        do {                                                                                       \
                StrMapIter _i_ = {};                                                               \
                void *_v_;                                                                         \
                while (strmap_next(&(map), &_i_, NULL, &_v_))                                      \
                        (void) free_fn(_v_);                                                       \
                strmap_done(&(map));                                                               \
        } while (0)

void mirror_clear(Mirror *m) {
        assert(m);
        CLEAR_MAP(m->jobs, job_free);
        CLEAR_MAP(m->units, unit_free);
        CLEAR_MAP(m->machines, machine_free);
        CLEAR_MAP(m->schedule, entry_free);
        CLEAR_MAP(m->reasons, reason_free);
        CLEAR_MAP(m->cordons, cordon_free);
        CLEAR_MAP(m->states, free);
        CLEAR_MAP(m->pins, pin_free);
        CLEAR_MAP(m->owners, free);
        strmap_done(&m->suspects);
        m->suspect_all = true;
        m->n_live = 0;
}

Mirror *mirror_free(Mirror *m) {
        if (!m)
                return NULL;
        mirror_clear(m);
        strv_free(m->held_machines);
        free(m);
        return NULL;
}

/* ---- updates ----------------------------------------------------------------------------- */

void mirror_gc_suspect_all(Mirror *m) {
        assert(m);
        strmap_done(&m->suspects);
        m->suspect_all = true;
}

void mirror_gc_suspect(Mirror *m, const char *hash) {
        assert(m);
        if (m->suspect_all || !hash || !hash[0] || strmap_get(&m->suspects, hash))
                return;
        /* Without memory for the set, look at every content next time. */
        if (strmap_put(&m->suspects, hash, m, NULL) < 0)
                m->suspect_all = true;
}

static int put_job(Mirror *m, const char *name, const RegistryJob *rj, int64_t mod_revision) {
        _cleanup_(job_freep) MirrorJob *j = NULL;
        MirrorJob *old = strmap_get(&m->jobs, name);
        void *prev;
        int r;

        if (old) {
                old->mod_revision = mod_revision;
                old->state = rj->desired_state;
                old->global = rj->global;
                if (!streq(old->hash, rj->hash)) {
                        mirror_gc_suspect(m, old->hash);
                        memcpy(old->hash, rj->hash, sizeof(old->hash));
                        old->xfleet = xfleet_free(old->xfleet);
                        old->xfleet_hash[0] = '\0';
                }
                return 1;
        }
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->name = strdup(name);
        if (!j->name)
                return -ENOMEM;
        memcpy(j->hash, rj->hash, sizeof(j->hash));
        j->state = rj->desired_state;
        j->global = rj->global;
        j->mod_revision = mod_revision;
        r = strmap_put(&m->jobs, j->name, j, &prev);
        if (r < 0)
                return r;
        TAKE_PTR(j);
        return 1;
}

/* Keep only the [X-Fleet] options of a content: that is all the engine reads of it. */
static int parse_xsection(const char *text, UnitFile **ret) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL, *x = NULL;
        int r;

        r = unit_file_parse(text, strlen(text), &u, NULL);
        if (r < 0)
                return r;
        r = unit_file_new(&x);
        if (r < 0)
                return r;
        for (size_t i = 0; i < u->n_options; i++) {
                const UnitOption *o = &u->options[i];

                if (!streq(o->section, "X-Fleet"))
                        continue;
                r = unit_file_add(x, o->section, o->name, o->value);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(x);
        return 0;
}

static int put_unit(Mirror *m, const char *hash, const RegistryEntry *e) {
        _cleanup_(unit_freep) MirrorUnit *u = NULL;
        MirrorUnit *old;
        void *prev;
        int r;

        if (strlen(hash) != REGISTRY_HASH_LEN)
                return 0;
        old = strmap_get(&m->units, hash);
        if (old) {
                /* Same hash, same content (a job creation puts it again). */
                old->mod_revision = e->mod_revision;
                return 0;
        }
        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        memcpy(u->hash, hash, sizeof(u->hash));
        u->mod_revision = e->mod_revision;
        r = parse_xsection(strempty(e->unit_text), &u->xsection);
        if (r == -ENOMEM)
                return r; /* any other error: unreadable, jobs on it are held */
        r = strmap_put(&m->units, u->hash, u, &prev);
        if (r < 0)
                return r;
        mirror_gc_suspect(m, TAKE_PTR(u)->hash); /* perhaps no job names it (yet) */
        /* New content matters only to jobs that were held waiting for it. */
        return m->n_held > 0;
}

static int get_machine(Mirror *m, const char *id, MirrorMachine **ret) {
        _cleanup_(machine_freep) MirrorMachine *mm = NULL;
        MirrorMachine *old = strmap_get(&m->machines, id);
        void *prev;
        int r;

        if (old) {
                *ret = old;
                return 0;
        }
        mm = calloc(1, sizeof(*mm));
        if (!mm)
                return -ENOMEM;
        mm->id = strdup(id);
        if (!mm->id)
                return -ENOMEM;
        r = strmap_put(&m->machines, mm->id, mm, &prev);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(mm);
        return 0;
}

/* Drop the record of a machine that is neither live nor has overlays. */
static void machine_gc(Mirror *m, MirrorMachine *mm) {
        if (mm->live || strv_length(mm->overlay) > 0)
                return;
        (void) strmap_remove(&m->machines, mm->id);
        machine_free(mm);
}

static int put_machine(Mirror *m, const char *id, const RegistryMachine *rm) {
        _cleanup_strv_free_ char **md = NULL;
        MirrorMachine *mm;
        int r;

        for (size_t i = 0; i < rm->n_metadata; i++) {
                r = strv_extend(&md, rm->metadata[i].key);
                if (r >= 0)
                        r = strv_extend(&md, strempty(rm->metadata[i].value));
                if (r < 0)
                        return r;
        }
        r = get_machine(m, id, &mm);
        if (r < 0)
                return r;
        if (!mm->live)
                m->n_live++;
        mm->live = true;
        strv_free(mm->metadata);
        mm->metadata = TAKE_PTR(md);
        return 1;
}

static int delete_machine(Mirror *m, const char *id) {
        MirrorMachine *mm = strmap_get(&m->machines, id);

        if (!mm || !mm->live)
                return 0;
        mm->live = false;
        m->n_live--;
        mm->metadata = strv_free(mm->metadata);
        machine_gc(m, mm);
        return 1;
}

/* Index of key in an alternating key, value strv, or -1. */
static ssize_t pairs_find(char *const *pairs, const char *key) {
        for (size_t i = 0; pairs && pairs[i] && pairs[i + 1]; i += 2)
                if (streq(pairs[i], key))
                        return (ssize_t) i;
        return -1;
}

static int put_overlay(Mirror *m, const char *id, const char *key, const char *value) {
        _cleanup_free_ char *v = strdup(strempty(value));
        MirrorMachine *mm;
        ssize_t i;
        int r;

        if (!v)
                return -ENOMEM;
        r = get_machine(m, id, &mm);
        if (r < 0)
                return r;
        i = pairs_find(mm->overlay, key);
        if (i >= 0) {
                free(mm->overlay[i + 1]);
                mm->overlay[i + 1] = TAKE_PTR(v);
        } else {
                r = strv_extend(&mm->overlay, key);
                if (r >= 0)
                        r = strv_consume(&mm->overlay, TAKE_PTR(v));
                if (r < 0) {
                        /* keep the vector of pairs even: drop a dangling key */
                        size_t n = strv_length(mm->overlay);

                        if (n % 2 != 0) {
                                free(mm->overlay[n - 1]);
                                mm->overlay[n - 1] = NULL;
                        }
                        machine_gc(m, mm);
                        return r;
                }
        }
        return mm->live;
}

static int delete_overlay(Mirror *m, const char *id, const char *key) {
        MirrorMachine *mm = strmap_get(&m->machines, id);
        bool live;
        size_t n;
        ssize_t i;

        if (!mm)
                return 0;
        i = pairs_find(mm->overlay, key);
        if (i < 0)
                return 0;
        free(mm->overlay[i]);
        free(mm->overlay[i + 1]);
        n = strv_length(mm->overlay);
        memmove(mm->overlay + i, mm->overlay + i + 2, (n - (size_t) i - 2 + 1) * sizeof(char *));
        live = mm->live;
        machine_gc(m, mm);
        return live;
}

static char *entry_key(const char *machine, const char *job) {
        char *k;

        if (asprintf(&k, "%s/%s", machine, job) < 0)
                return NULL;
        return k;
}

/* One more schedule entry names machine. 0, -ENOMEM. */
static int owner_add(Mirror *m, const char *machine) {
        MirrorOwner *o = strmap_get(&m->owners, machine);
        size_t len;
        void *prev;
        int r;

        if (o) {
                o->n++;
                return 0;
        }
        len = strlen(machine);
        o = malloc(sizeof(*o) + len + 1);
        if (!o)
                return -ENOMEM;
        o->n = 1;
        memcpy(o->id, machine, len + 1);
        r = strmap_put(&m->owners, o->id, o, &prev);
        if (r < 0)
                free(o);
        return r;
}

static void owner_drop(Mirror *m, const char *machine) {
        MirrorOwner *o = strmap_get(&m->owners, machine);

        if (o && --o->n == 0)
                free(strmap_remove(&m->owners, machine));
}

static int put_entry(Mirror *m, const char *machine, const char *job, const RegistryTarget *t) {
        _cleanup_(entry_freep) MirrorEntry *e = NULL;
        _cleanup_free_ char *key = entry_key(machine, job);
        MirrorEntry *old;
        void *prev;
        int r;

        if (!key)
                return -ENOMEM;
        old = strmap_get(&m->schedule, key);
        if (old) {
                if (!streq(old->target.hash, t->hash))
                        mirror_gc_suspect(m, old->target.hash);
                old->target = *t;
                return 1;
        }
        e = entry_new(machine, job, t);
        if (!e)
                return -ENOMEM;
        r = owner_add(m, machine);
        if (r < 0)
                return r;
        r = strmap_put(&m->schedule, e->key, e, &prev);
        if (r < 0) {
                owner_drop(m, machine);
                return r;
        }
        TAKE_PTR(e);
        return 1;
}

static int delete_entry(Mirror *m, const char *machine, const char *job) {
        _cleanup_free_ char *key = entry_key(machine, job);

        MirrorEntry *e;

        if (!key)
                return -ENOMEM;
        e = strmap_remove(&m->schedule, key);
        if (!e)
                return 0;
        owner_drop(m, e->machine);
        mirror_gc_suspect(m, e->target.hash);
        entry_free(e);
        return 1;
}

/* Reasons are the engine's own output: they never change what a pass decides (0). */
static int put_reason(Mirror *m, const char *name, const RegistryReason *rr) {
        _cleanup_(reason_freep) MirrorReason *n = calloc(1, sizeof(*n));
        void *prev = NULL;
        int r;

        if (!n)
                return -ENOMEM;
        n->name = strdup(name);
        n->reason = strdup(rr->reason);
        if (!n->name || !n->reason)
                return -ENOMEM;
        n->job_revision = rr->job_revision;
        r = strmap_put(&m->reasons, n->name, n, &prev);
        if (r < 0)
                return r;
        TAKE_PTR(n);
        reason_free(prev);
        return 0;
}

static bool is_draining(const Mirror *m, const char *id) {
        const MirrorCordon *c = strmap_get(&m->cordons, id);

        return c && c->draining;
}

/* 1 if the cordon changed, 0 if not, -ENOMEM. */
static int put_cordon(Mirror *m, const char *id, const RegistryCordon *rc) {
        MirrorCordon *c = strmap_get(&m->cordons, id);
        void *prev = NULL;
        int r;

        if (c) {
                if (c->draining == rc->draining)
                        return 0;
                c->draining = rc->draining;
                return 1;
        }
        c = calloc(1, sizeof(*c));
        if (!c || !(c->id = strdup(id))) {
                free(c);
                return -ENOMEM;
        }
        c->draining = rc->draining;
        r = strmap_put(&m->cordons, c->id, c, &prev);
        if (r < 0) {
                cordon_free(c);
                return r;
        }
        return 1;
}

static int delete_cordon(Mirror *m, const char *id) {
        MirrorCordon *c = strmap_remove(&m->cordons, id);

        if (!c)
                return 0;
        cordon_free(c);
        return 1;
}

/* A unit state exists (put) or not: it matters to a pass only on a draining machine, where
 * it holds the unit back from starting elsewhere. */
static int put_state(Mirror *m, const char *machine, const char *job) {
        _cleanup_free_ char *key = entry_key(machine, job);
        void *prev = NULL;
        int r;

        if (!key)
                return -ENOMEM;
        if (strmap_get(&m->states, key))
                return 0;
        r = strmap_put(&m->states, key, key, &prev);
        if (r < 0)
                return r;
        TAKE_PTR(key);
        return is_draining(m, machine);
}

static int delete_state(Mirror *m, const char *machine, const char *job) {
        _cleanup_free_ char *key = entry_key(machine, job);
        char *old;

        if (!key)
                return -ENOMEM;
        old = strmap_remove(&m->states, key);
        if (!old)
                return 0;
        free(old);
        return is_draining(m, machine);
}

static int delete_job(Mirror *m, const char *name) {
        MirrorJob *j = strmap_remove(&m->jobs, name);

        if (!j)
                return 0;
        mirror_gc_suspect(m, j->hash);
        job_free(j);
        return 1;
}

/* A pin only keeps a content from the garbage collector: no pass needed (0). */
static int put_pin(Mirror *m, const char *machine, const char *job, const RegistryPin *rp) {
        MirrorPin *p;
        void *prev = NULL;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p || !(p->key = entry_key(machine, job))) {
                free(p);
                return -ENOMEM;
        }
        memcpy(p->hash, rp->hash, sizeof(p->hash));
        r = strmap_put(&m->pins, p->key, p, &prev);
        if (r < 0) {
                pin_free(p);
                return r;
        }
        if (prev)
                mirror_gc_suspect(m, ((MirrorPin *) prev)->hash); /* it kept another content */
        pin_free(prev);
        return 0;
}

/* A pin gone may leave its content unused: 1, so that a pass collects it. */
static int delete_pin(Mirror *m, const char *machine, const char *job) {
        _cleanup_free_ char *key = entry_key(machine, job);
        MirrorPin *p;

        if (!key)
                return -ENOMEM;
        p = strmap_remove(&m->pins, key);
        if (!p)
                return 0;
        mirror_gc_suspect(m, p->hash);
        pin_free(p);
        return 1;
}

int mirror_put(Mirror *m, const RegistryEntry *e) {
        const RegistryKey *k;

        assert(m);
        assert(e);
        if (!e->has_value)
                return mirror_delete(m, &e->key);
        k = &e->key;
        switch (k->kind) {
        case REGISTRY_KEY_JOB:
                return put_job(m, k->name, &e->job, e->mod_revision);
        case REGISTRY_KEY_UNIT:
                return put_unit(m, k->name, e);
        case REGISTRY_KEY_MACHINE:
                return put_machine(m, k->machine_id, &e->machine);
        case REGISTRY_KEY_METADATA:
                return put_overlay(m, k->machine_id, k->name, e->metadata_value);
        case REGISTRY_KEY_SCHEDULE:
                return put_entry(m, k->machine_id, k->name, &e->target);
        case REGISTRY_KEY_REASON:
                return put_reason(m, k->name, &e->reason);
        case REGISTRY_KEY_CORDON:
                return put_cordon(m, k->machine_id, &e->cordon);
        case REGISTRY_KEY_STATE:
                return put_state(m, k->machine_id, k->name);
        case REGISTRY_KEY_PIN:
                return put_pin(m, k->machine_id, k->name, &e->pin);
        default:
                return 0;
        }
}

int mirror_delete(Mirror *m, const RegistryKey *k) {
        assert(m);
        assert(k);
        switch (k->kind) {
        case REGISTRY_KEY_JOB:
                return delete_job(m, k->name);
        case REGISTRY_KEY_UNIT:
                (void) unit_free(strmap_remove(&m->units, k->name));
                return 0;
        case REGISTRY_KEY_MACHINE:
                return delete_machine(m, k->machine_id);
        case REGISTRY_KEY_METADATA:
                return delete_overlay(m, k->machine_id, k->name);
        case REGISTRY_KEY_SCHEDULE:
                return delete_entry(m, k->machine_id, k->name);
        case REGISTRY_KEY_REASON:
                (void) reason_free(strmap_remove(&m->reasons, k->name));
                return 0;
        case REGISTRY_KEY_CORDON:
                return delete_cordon(m, k->machine_id);
        case REGISTRY_KEY_STATE:
                return delete_state(m, k->machine_id, k->name);
        case REGISTRY_KEY_PIN:
                return delete_pin(m, k->machine_id, k->name);
        default:
                return 0;
        }
}

/* ---- views ------------------------------------------------------------------------------- */

/* A deep copy of x (the snapshot takes ownership of its XFleet objects, the mirror keeps its
 * own). NULL on OOM. */
static XFleet *xfleet_dup(const XFleet *x) {
        _cleanup_(xfleet_freep) XFleet *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        c->global = x->global;
        if (x->machine_id && !(c->machine_id = strdup(x->machine_id)))
                return NULL;
        if ((x->peers && !(c->peers = strv_copy(x->peers))) ||
            (x->conflicts && !(c->conflicts = strv_copy(x->conflicts))) ||
            (x->replaces && !(c->replaces = strv_copy(x->replaces))) ||
            (x->unknown && !(c->unknown = strv_copy(x->unknown))))
                return NULL;
        if (x->n_metadata > 0) {
                c->metadata = calloc(x->n_metadata, sizeof(*c->metadata));
                if (!c->metadata)
                        return NULL;
                for (size_t i = 0; i < x->n_metadata; i++) {
                        const MetadataReq *q = &x->metadata[i];
                        MetadataReq *d = &c->metadata[i];

                        c->n_metadata = i + 1;
                        d->key = strdup(q->key);
                        if (!d->key || (q->allowed && !(d->allowed = strv_copy(q->allowed))) ||
                            (q->forbidden && !(d->forbidden = strv_copy(q->forbidden))))
                                return NULL;
                }
        }
        return TAKE_PTR(c);
}

/* Make sure j's options are parsed from its current content. 1 if usable, 0 if the job must
 * be held (content missing or unreadable), -ENOMEM. */
static int job_resolve(Mirror *m, MirrorJob *j) {
        MirrorUnit *u;
        int r;

        if (j->xfleet_hash[0] && streq(j->xfleet_hash, j->hash))
                return 1;
        u = strmap_get(&m->units, j->hash);
        if (!u || !u->xsection)
                return 0;
        j->xfleet = xfleet_free(j->xfleet);
        if (u->xsection->n_options > 0) {
                r = xfleet_parse(u->xsection, j->name, &j->xfleet);
                if (r < 0)
                        return r;
        }
        memcpy(j->xfleet_hash, j->hash, sizeof(j->xfleet_hash));
        return 1;
}

/* Merge a machine's configured metadata with its overlays: a non-empty overlay value sets or
 * overrides, an empty one removes the key (fleet's merge). */
static int machine_merged(const MirrorMachine *mm, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        for (size_t i = 0; mm->metadata && mm->metadata[i] && mm->metadata[i + 1]; i += 2) {
                if (pairs_find(mm->overlay, mm->metadata[i]) >= 0)
                        continue;
                r = strv_extend(&l, mm->metadata[i]);
                if (r >= 0)
                        r = strv_extend(&l, mm->metadata[i + 1]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; mm->overlay && mm->overlay[i] && mm->overlay[i + 1]; i += 2) {
                if (mm->overlay[i + 1][0] == '\0')
                        continue;
                r = strv_extend(&l, mm->overlay[i]);
                if (r >= 0)
                        r = strv_extend(&l, mm->overlay[i + 1]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int view_add_machines(Mirror *m, MirrorView *v) {
        MirrorMachine *mm;
        StrMapIter i = {};
        int r;

        while (strmap_next(&m->machines, &i, NULL, (void **) &mm)) {
                _cleanup_strv_free_ char **md = NULL;

                if (!mm->live)
                        continue;
                r = machine_merged(mm, &md);
                if (r < 0)
                        return r;
                r = snapshot_add_machine(v->snapshot, mm->id, md);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int view_add_held(MirrorView *v, const MirrorJob *j) {
        ReconcileHeldJob *h = &v->held[v->n_held];

        h->name = strdup(j->name);
        h->hash = strdup(j->hash);
        if (!h->name || !h->hash) {
                free((char *) h->name);
                free((char *) h->hash);
                return -ENOMEM;
        }
        v->n_held++;
        return 0;
}

/* Names of the jobs scheduled on a held machine (strv, NULL if none). */
static int jobs_on_held_machines(Mirror *m, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        MirrorEntry *e;
        StrMapIter i = {};

        if (m->held_machines)
                while (strmap_next(&m->schedule, &i, NULL, (void **) &e))
                        if (strv_contains(m->held_machines, e->machine) &&
                            strv_extend(&l, e->job) < 0)
                                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

static int view_add_jobs(Mirror *m, MirrorView *v) {
        _cleanup_strv_free_ char **on_held = NULL;
        MirrorJob *j;
        StrMapIter i = {};
        int r;

        r = jobs_on_held_machines(m, &on_held);
        if (r < 0)
                return r;

        v->held = calloc(MAX(strmap_size(&m->jobs), (size_t) 1), sizeof(*v->held));
        if (!v->held)
                return -ENOMEM;
        while (strmap_next(&m->jobs, &i, NULL, (void **) &j)) {
                XFleet *x = NULL;

                r = job_resolve(m, j);
                if (r < 0)
                        return r;
                j->held = r == 0;
                if (j->held || strv_contains(on_held, j->name)) {
                        r = view_add_held(v, j);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (j->xfleet) {
                        x = xfleet_dup(j->xfleet);
                        if (!x)
                                return -ENOMEM;
                }
                r = snapshot_add_job(v->snapshot, j->name, j->hash, j->state, x);
                if (r < 0)
                        return r;
        }
        m->n_held = v->n_held;
        return 0;
}

static int view_add_schedule(Mirror *m, MirrorView *v) {
        MirrorEntry *e;
        StrMapIter i = {};
        int r;

        while (strmap_next(&m->schedule, &i, NULL, (void **) &e)) {
                const RegistryTarget *t = &e->target;

                r = snapshot_add_schedule(v->snapshot, e->job, e->machine, t->desired_state,
                                          t->hash[0] ? t->hash : NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void view_add_unit(MirrorView *v, const MirrorUnit *u) {
        memcpy(v->unit_hashes[v->n_units], u->hash, sizeof(u->hash));
        v->units[v->n_units] = (ReconcileUnit){v->unit_hashes[v->n_units], u->mod_revision};
        v->n_units++;
}

/* The contents garbage collection looks at: the suspects, or all after a resync. */
static int view_add_units(Mirror *m, MirrorView *v) {
        size_t n = m->suspect_all ? strmap_size(&m->units) : strmap_size(&m->suspects);
        StrMapIter i = {};
        const char *hash;
        MirrorUnit *u;

        v->units = calloc(MAX(n, (size_t) 1), sizeof(*v->units));
        v->unit_hashes = calloc(MAX(n, (size_t) 1), sizeof(*v->unit_hashes));
        if (!v->units || !v->unit_hashes)
                return -ENOMEM;
        if (m->suspect_all)
                while (strmap_next(&m->units, &i, NULL, (void **) &u))
                        view_add_unit(v, u);
        else
                while (strmap_next(&m->suspects, &i, &hash, NULL))
                        if ((u = strmap_get(&m->units, hash)))
                                view_add_unit(v, u);
        strmap_done(&m->suspects);
        m->suspect_all = false;
        return 0;
}

/* Cordons of live machines, and the units still on draining ones. */
static int view_add_cordons(Mirror *m, MirrorView *v) {
        MirrorCordon *c;
        const char *key;
        StrMapIter i = {};
        bool draining = false;
        int r;

        while (strmap_next(&m->cordons, &i, NULL, (void **) &c)) {
                r = snapshot_cordon_machine(v->snapshot, c->id,
                                            c->draining ? SNAPSHOT_CORDON_DRAINING
                                                        : SNAPSHOT_CORDON_CORDONED);
                if (r < 0 && r != -ENOENT)
                        return r;
                draining = draining || c->draining;
        }
        if (!draining)
                return 0; /* the states matter only on draining machines: skip 100,000 */
        i = (StrMapIter){};
        while (strmap_next(&m->states, &i, (const char **) &key, NULL)) {
                _cleanup_free_ char *machine = NULL;
                const char *slash = strchr(key, '/');

                if (!slash || !(machine = strndup(key, slash - key)))
                        return slash ? -ENOMEM : -EINVAL;
                if (!is_draining(m, machine))
                        continue;
                r = snapshot_add_running(v->snapshot, slash + 1, machine);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int view_add_pins(Mirror *m, MirrorView *v) {
        size_t n = strmap_size(&m->pins);
        StrMapIter i = {};
        MirrorPin *p;

        v->pinned = calloc(MAX(n, (size_t) 1), sizeof(*v->pinned));
        v->pinned_hashes = calloc(MAX(n, (size_t) 1), sizeof(*v->pinned_hashes));
        if (!v->pinned || !v->pinned_hashes)
                return -ENOMEM;
        while (strmap_next(&m->pins, &i, NULL, (void **) &p)) {
                memcpy(v->pinned_hashes[v->n_pinned], p->hash, sizeof(p->hash));
                v->pinned[v->n_pinned] = v->pinned_hashes[v->n_pinned];
                v->n_pinned++;
        }
        return 0;
}

static int view_add_reasons(Mirror *m, MirrorView *v) {
        size_t n = strmap_size(&m->reasons), nj = strmap_size(&m->jobs);
        StrMapIter i = {};
        MirrorReason *mr;
        MirrorJob *j;

        v->reasons = calloc(MAX(n, (size_t) 1), sizeof(*v->reasons));
        v->job_revisions = calloc(MAX(nj, (size_t) 1), sizeof(*v->job_revisions));
        if (!v->reasons || !v->job_revisions)
                return -ENOMEM;
        while (strmap_next(&m->reasons, &i, NULL, (void **) &mr)) {
                ReconcileReason *r = &v->reasons[v->n_reasons];

                r->name = strdup(mr->name);
                r->reason = strdup(mr->reason);
                r->job_revision = mr->job_revision;
                v->n_reasons++;
                if (!r->name || !r->reason)
                        return -ENOMEM;
        }
        i = (StrMapIter){};
        while (strmap_next(&m->jobs, &i, NULL, (void **) &j)) {
                ReconcileReason *r = &v->job_revisions[v->n_job_revisions];

                r->name = strdup(j->name);
                r->job_revision = j->mod_revision;
                v->n_job_revisions++;
                if (!r->name)
                        return -ENOMEM;
        }
        return 0;
}

int mirror_build_view(Mirror *m, MirrorView **ret) {
        _cleanup_(mirror_view_freep) MirrorView *v = NULL;
        int r;

        assert(m);
        assert(ret);
        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        r = snapshot_new(&v->snapshot);
        if (r < 0)
                return r;
        r = view_add_machines(m, v);
        if (r >= 0)
                r = view_add_jobs(m, v);
        if (r >= 0)
                r = view_add_schedule(m, v);
        if (r >= 0)
                r = view_add_units(m, v);
        if (r >= 0)
                r = view_add_reasons(m, v);
        if (r >= 0)
                r = view_add_cordons(m, v);
        if (r >= 0)
                r = view_add_pins(m, v);
        if (r < 0) {
                mirror_gc_suspect_all(m); /* the suspects may be gone with the view */
                return r;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

MirrorView *mirror_view_free(MirrorView *v) {
        if (!v)
                return NULL;
        snapshot_free(v->snapshot);
        for (size_t i = 0; i < v->n_held; i++) {
                free((char *) v->held[i].name);
                free((char *) v->held[i].hash);
        }
        free(v->held);
        free(v->units);
        free(v->unit_hashes);
        free(v->pinned);
        free(v->pinned_hashes);
        for (size_t i = 0; i < v->n_reasons; i++) {
                free((char *) v->reasons[i].name);
                free((char *) v->reasons[i].reason);
        }
        free(v->reasons);
        for (size_t i = 0; i < v->n_job_revisions; i++)
                free((char *) v->job_revisions[i].name);
        free(v->job_revisions);
        free(v);
        return NULL;
}

/* ---- queries ----------------------------------------------------------------------------- */

size_t mirror_n_jobs(const Mirror *m) {
        return m ? strmap_size(&m->jobs) : 0;
}

size_t mirror_n_machines(const Mirror *m) {
        return m ? m->n_live : 0;
}

size_t mirror_n_schedule(const Mirror *m) {
        return m ? strmap_size(&m->schedule) : 0;
}

size_t mirror_n_units(const Mirror *m) {
        return m ? strmap_size(&m->units) : 0;
}

int mirror_get_job(const Mirror *m, const char *name, MirrorJobInfo *ret) {
        const MirrorJob *j;

        assert(m);
        assert(name);
        j = strmap_get(&m->jobs, name);
        if (!j)
                return -ENOENT;
        if (ret)
                *ret = (MirrorJobInfo){
                        .name = j->name,
                        .hash = j->hash,
                        .state = j->state,
                        .global = j->xfleet_hash[0] ? (j->xfleet && j->xfleet->global) : j->global,
                        .held = j->held,
                };
        return 0;
}

int mirror_get_job_machines(const Mirror *m, const char *job, char ***ret) {
        _cleanup_strv_free_ char **l = strv_copy(NULL);
        const MirrorEntry *e;
        StrMapIter i = {};
        int r;

        assert(m);
        assert(job);
        assert(ret);
        if (!l)
                return -ENOMEM;
        while (strmap_next(&m->schedule, &i, NULL, (void **) &e)) {
                if (!streq(e->job, job))
                        continue;
                r = strv_extend(&l, e->machine);
                if (r < 0)
                        return r;
        }
        strv_sort(l);
        *ret = TAKE_PTR(l);
        return 0;
}

bool mirror_has_machine(const Mirror *m, const char *id) {
        const MirrorMachine *mm;

        assert(m);
        assert(id);
        mm = strmap_get(&m->machines, id);
        return mm && mm->live;
}

int mirror_set_held_machines(Mirror *m, char *const *ids) {
        char **l = NULL;

        if (ids) {
                l = strv_copy(ids);
                if (!l)
                        return -ENOMEM;
        }
        strv_free(m->held_machines);
        m->held_machines = l;
        return 0;
}

int mirror_draining_ids(const Mirror *m, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        MirrorCordon *c;
        StrMapIter i = {};

        while (strmap_next(&m->cordons, &i, NULL, (void **) &c))
                if (c->draining && strv_extend(&l, c->id) < 0)
                        return -ENOMEM;
        strv_sort(l);
        *ret = TAKE_PTR(l);
        return 0;
}

/* A strv of at most n strings, copies of the keys of map whose value passes keep (NULL:
 * all). NULL on OOM. */
static char **map_keys(const StrMap *map, size_t n, bool (*keep)(const void *value)) {
        _cleanup_strv_free_ char **l = calloc(n + 1, sizeof(char *));
        StrMapIter i = {};
        const char *key;
        void *value;
        size_t k = 0;

        if (!l)
                return NULL;
        while (k < n && strmap_next(map, &i, &key, &value)) {
                if (keep && !keep(value))
                        continue;
                l[k] = strdup(key);
                if (!l[k++])
                        return NULL;
        }
        return TAKE_PTR(l);
}

static bool machine_is_live(const void *value) {
        return ((const MirrorMachine *) value)->live;
}

int mirror_machine_ids(const Mirror *m, char ***ret_live, char ***ret_scheduled) {
        _cleanup_strv_free_ char **live = NULL, **scheduled = NULL;

        /* O(machines): a pass asks this every time. */
        live = map_keys(&m->machines, m->n_live, machine_is_live);
        scheduled = map_keys(&m->owners, strmap_size(&m->owners), NULL);
        if (!live || !scheduled)
                return -ENOMEM;
        *ret_live = TAKE_PTR(live);
        *ret_scheduled = TAKE_PTR(scheduled);
        return 0;
}
