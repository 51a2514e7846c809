/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "strv.h"

/* Make room for one more element in *array (n used, capacity *allocated). 0 or -ENOMEM. */
static int grow(void **array, size_t *allocated, size_t n, size_t size) {
        size_t a;
        void *p;

        if (n < *allocated)
                return 0;
        a = MAX(*allocated * 2, (size_t) 16);
        p = reallocarray(*array, a, size);
        if (!p)
                return -ENOMEM;
        *array = p;
        *allocated = a;
        return 0;
}

int snapshot_new(ClusterSnapshot **ret) {
        ClusterSnapshot *s;

        assert(ret);
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static void metadata_free_array(SnapshotMetadata *md, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(md[i].key);
                free(md[i].value);
        }
        free(md);
}

ClusterSnapshot *snapshot_free(ClusterSnapshot *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_machines; i++) {
                free(s->machines[i].id);
                metadata_free_array(s->machines[i].metadata, s->machines[i].n_metadata);
        }
        for (size_t i = 0; i < s->n_jobs; i++) {
                free(s->jobs[i].name);
                free(s->jobs[i].hash);
                xfleet_free(s->jobs[i].xfleet);
        }
        for (size_t i = 0; i < s->n_schedule; i++) {
                free(s->schedule[i].job);
                free(s->schedule[i].machine);
                free(s->schedule[i].hash);
        }
        for (size_t i = 0; i < s->n_running; i++) {
                free(s->running[i].job);
                free(s->running[i].machine);
        }
        free(s->machines);
        free(s->jobs);
        free(s->schedule);
        free(s->running);
        free(s);
        return NULL;
}

typedef struct TaggedPair {
        const char *key;
        const char *value;
        size_t index;
} TaggedPair;

static int tagged_pair_cmp(const void *a, const void *b) {
        const TaggedPair *x = a, *y = b;
        int c = strcmp(x->key, y->key);

        if (c != 0)
                return c;
        return x->index < y->index ? -1 : x->index > y->index;
}

/* Copy pairs (an even-length strv) into an array sorted by key; of a repeated key the later
 * value wins. 0, -EINVAL, -ENOMEM. */
static int metadata_copy(char *const *pairs, SnapshotMetadata **ret, size_t *ret_n) {
        size_t n = strv_length(pairs) / 2, k = 0;
        _cleanup_free_ TaggedPair *t = NULL;
        SnapshotMetadata *md;

        if (strv_length(pairs) % 2 != 0)
                return -EINVAL;
        if (n == 0) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        t = calloc(n, sizeof(*t));
        md = calloc(n, sizeof(*md));
        if (!t || !md) {
                free(md);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                t[i] = (TaggedPair){pairs[2 * i], pairs[2 * i + 1], i};
        qsort_safe(t, n, sizeof(*t), tagged_pair_cmp);
        for (size_t i = 0; i < n; i++) {
                if (i + 1 < n && streq(t[i].key, t[i + 1].key))
                        continue; /* a later value for this key follows */
                md[k].key = strdup(t[i].key);
                md[k].value = strdup(t[i].value);
                k++;
                if (!md[k - 1].key || !md[k - 1].value) {
                        metadata_free_array(md, k);
                        return -ENOMEM;
                }
        }
        *ret = md;
        *ret_n = k;
        return 0;
}

int snapshot_add_machine(ClusterSnapshot *s, const char *id, char *const *metadata) {
        SnapshotMachine m = {};
        int r;

        assert(s);
        assert(id);
        r = grow((void **) &s->machines, &s->machines_allocated, s->n_machines,
                 sizeof(*s->machines));
        if (r < 0)
                return r;
        r = metadata_copy(metadata, &m.metadata, &m.n_metadata);
        if (r < 0)
                return r;
        m.id = strdup(id);
        if (!m.id) {
                metadata_free_array(m.metadata, m.n_metadata);
                return -ENOMEM;
        }
        s->machines[s->n_machines++] = m;
        return 0;
}

int snapshot_add_job(ClusterSnapshot *s, const char *name, const char *hash, JobState state,
                     XFleet *xfleet) {
        SnapshotJob j = {.state = state, .xfleet = xfleet};
        int r;

        assert(s);
        assert(name);
        if (state < 0 || state >= _JOB_STATE_MAX) {
                xfleet_free(xfleet);
                return -EINVAL;
        }
        r = grow((void **) &s->jobs, &s->jobs_allocated, s->n_jobs, sizeof(*s->jobs));
        if (r < 0) {
                xfleet_free(xfleet);
                return r;
        }
        j.name = strdup(name);
        j.hash = hash ? strdup(hash) : NULL;
        if (!j.name || (hash && !j.hash)) {
                free(j.name);
                free(j.hash);
                xfleet_free(xfleet);
                return -ENOMEM;
        }
        s->jobs[s->n_jobs++] = j;
        return 0;
}

int snapshot_add_schedule(ClusterSnapshot *s, const char *job, const char *machine, JobState state,
                          const char *hash) {
        SnapshotSchedule e = {.state = state};
        int r;

        assert(s);
        assert(job);
        assert(machine);
        if (state < 0 || state >= _JOB_STATE_MAX)
                return -EINVAL;
        r = grow((void **) &s->schedule, &s->schedule_allocated, s->n_schedule,
                 sizeof(*s->schedule));
        if (r < 0)
                return r;
        e.job = strdup(job);
        e.machine = strdup(machine);
        e.hash = hash ? strdup(hash) : NULL;
        if (!e.job || !e.machine || (hash && !e.hash)) {
                free(e.job);
                free(e.machine);
                free(e.hash);
                return -ENOMEM;
        }
        s->schedule[s->n_schedule++] = e;
        return 0;
}

int snapshot_cordon_machine(ClusterSnapshot *s, const char *id, SnapshotCordon cordon) {
        assert(s);
        if (!id || cordon < 0 || cordon >= _SNAPSHOT_CORDON_MAX)
                return -EINVAL;
        for (size_t i = 0; i < s->n_machines; i++)
                if (streq(s->machines[i].id, id)) {
                        s->machines[i].cordon = cordon;
                        return 0;
                }
        return -ENOENT;
}

int snapshot_add_running(ClusterSnapshot *s, const char *job, const char *machine) {
        SnapshotRunning e;
        int r;

        assert(s);
        if (!job || !machine)
                return -EINVAL;
        r = grow((void **) &s->running, &s->running_allocated, s->n_running, sizeof(*s->running));
        if (r < 0)
                return r;
        e.job = strdup(job);
        e.machine = strdup(machine);
        if (!e.job || !e.machine) {
                free(e.job);
                free(e.machine);
                return -ENOMEM;
        }
        s->running[s->n_running++] = e;
        return 0;
}

bool snapshot_job_is_global(const SnapshotJob *j) {
        assert(j);
        return j->xfleet && j->xfleet->global;
}

const char *snapshot_machine_get_metadata(const SnapshotMachine *m, const char *key) {
        size_t lo = 0, hi;

        assert(m);
        assert(key);
        hi = m->n_metadata;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(key, m->metadata[mid].key);

                if (c == 0)
                        return m->metadata[mid].value;
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}
