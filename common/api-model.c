/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "api-model.h"
#include "strv.h"
#include "unit-file.h"

void api_index_done(ApiIndex *x) {
        if (!x)
                return;
        free(x->jobs);
        free(x->units);
        free(x->schedule);
        free(x->states);
        free(x->machines);
        free(x->metadata);
        free(x->reasons);
        *x = (ApiIndex){};
}

static bool indexed(const RegistryEntry *e) {
        /* jobs, states and metadata are used for their values; unit contents, schedule
         * entries and machines may come from keys-only listings */
        return e->has_value ||
               (e->key.kind != REGISTRY_KEY_JOB && e->key.kind != REGISTRY_KEY_STATE &&
                e->key.kind != REGISTRY_KEY_METADATA && e->key.kind != REGISTRY_KEY_REASON);
}

/* The array and count of kind, or NULL for kinds the index does not keep. */
static const RegistryEntry ***array_of(ApiIndex *x, RegistryKeyKind kind, size_t **ret_n) {
        switch (kind) {
        case REGISTRY_KEY_JOB:
                *ret_n = &x->n_jobs;
                return &x->jobs;
        case REGISTRY_KEY_UNIT:
                *ret_n = &x->n_units;
                return &x->units;
        case REGISTRY_KEY_SCHEDULE:
                *ret_n = &x->n_schedule;
                return &x->schedule;
        case REGISTRY_KEY_STATE:
                *ret_n = &x->n_states;
                return &x->states;
        case REGISTRY_KEY_MACHINE:
                *ret_n = &x->n_machines;
                return &x->machines;
        case REGISTRY_KEY_METADATA:
                *ret_n = &x->n_metadata;
                return &x->metadata;
        case REGISTRY_KEY_REASON:
                *ret_n = &x->n_reasons;
                return &x->reasons;
        default:
                return NULL;
        }
}

int api_index_add(ApiIndex *x, const RegistryEntry *entries, size_t n) {
        size_t grow[_REGISTRY_KEY_KIND_MAX] = {};

        /* one allocation per kind: count first (a listing of the registry copy is one kind,
         * but any mix is accepted) */
        for (size_t i = 0; i < n; i++)
                if (indexed(&entries[i]) && entries[i].key.kind >= 0 &&
                    entries[i].key.kind < _REGISTRY_KEY_KIND_MAX)
                        grow[entries[i].key.kind]++;
        for (RegistryKeyKind k = 0; k < _REGISTRY_KEY_KIND_MAX; k++) {
                size_t *count;
                const RegistryEntry ***a = array_of(x, k, &count);
                const RegistryEntry **na;

                if (!a || grow[k] == 0)
                        continue;
                na = realloc(*a, (*count + grow[k]) * sizeof(**a));
                if (!na)
                        return -ENOMEM;
                *a = na;
        }
        for (size_t i = 0; i < n; i++) {
                const RegistryEntry *e = &entries[i];
                size_t *count;
                const RegistryEntry ***a;

                if (!indexed(e) || e->key.kind < 0 || e->key.kind >= _REGISTRY_KEY_KIND_MAX)
                        continue;
                a = array_of(x, e->key.kind, &count);
                if (a)
                        (*a)[(*count)++] = e;
        }
        return 0;
}

/* Keys: name (job, unit hash) or (a, b) pairs of the key's parts. */
static int cmp_name(const void *a, const void *b) {
        const RegistryEntry *x = *(const RegistryEntry *const *) a;
        const RegistryEntry *y = *(const RegistryEntry *const *) b;

        return strcmp(x->key.name, y->key.name);
}

static int cmp_name_machine(const void *a, const void *b) {
        const RegistryEntry *x = *(const RegistryEntry *const *) a;
        const RegistryEntry *y = *(const RegistryEntry *const *) b;
        int c = strcmp(x->key.name, y->key.name);

        return c != 0 ? c : strcmp(x->key.machine_id, y->key.machine_id);
}

static int cmp_machine_name(const void *a, const void *b) {
        const RegistryEntry *x = *(const RegistryEntry *const *) a;
        const RegistryEntry *y = *(const RegistryEntry *const *) b;
        int c = strcmp(x->key.machine_id, y->key.machine_id);

        return c != 0 ? c : strcmp(x->key.name, y->key.name);
}

static int cmp_machine(const void *a, const void *b) {
        const RegistryEntry *x = *(const RegistryEntry *const *) a;
        const RegistryEntry *y = *(const RegistryEntry *const *) b;

        return strcmp(x->key.machine_id, y->key.machine_id);
}

static void sort(const RegistryEntry **a, size_t n, int (*cmp)(const void *, const void *)) {
        if (n > 1)
                qsort_safe(a, n, sizeof(*a), cmp);
}

void api_index_sort(ApiIndex *x) {
        sort(x->jobs, x->n_jobs, cmp_name);
        sort(x->units, x->n_units, cmp_name);
        sort(x->schedule, x->n_schedule, cmp_name_machine);
        sort(x->states, x->n_states, cmp_name_machine);
        sort(x->machines, x->n_machines, cmp_machine);
        sort(x->metadata, x->n_metadata, cmp_machine_name);
        sort(x->reasons, x->n_reasons, cmp_name);
}

/* First index in a (sorted by name, then machine) whose name is >= name. */
static size_t lower_bound_name(const RegistryEntry *const *a, size_t n, const char *name) {
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (strcmp(a[mid]->key.name, name) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static const RegistryEntry *find_name(const RegistryEntry *const *a, size_t n, const char *name) {
        size_t i = lower_bound_name(a, n, name);

        return i < n && streq(a[i]->key.name, name) ? a[i] : NULL;
}

const RegistryJob *api_index_job(const ApiIndex *x, const char *name) {
        const RegistryEntry *e = find_name(x->jobs, x->n_jobs, name);

        return e ? &e->job : NULL;
}

const char *api_index_unit_text(const ApiIndex *x, const char *hash) {
        const RegistryEntry *e = find_name(x->units, x->n_units, hash);

        return e && e->has_value ? e->unit_text : NULL;
}

bool api_index_has_unit(const ApiIndex *x, const char *hash) {
        return find_name(x->units, x->n_units, hash);
}

const char *api_index_target(const ApiIndex *x, const char *name) {
        const RegistryEntry *e = find_name(x->schedule, x->n_schedule, name);

        return e ? e->key.machine_id : NULL;
}

JobState api_index_current_state(const ApiIndex *x, const char *name, const char **ret_machine) {
        const char *target = api_index_target(x, name);
        size_t i;

        if (ret_machine)
                *ret_machine = target;
        if (!target)
                return JOB_STATE_INACTIVE;
        for (i = lower_bound_name(x->states, x->n_states, name);
             i < x->n_states && streq(x->states[i]->key.name, name); i++)
                if (streq(x->states[i]->key.machine_id, target))
                        return x->states[i]->state.fleet_state;
        return JOB_STATE_INACTIVE;
}

int api_index_visible_jobs(const ApiIndex *x, const RegistryJob ***ret, size_t *ret_n) {
        const RegistryJob **a = calloc(MAX(x->n_jobs, 1u), sizeof(*a));
        size_t n = 0;

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < x->n_jobs; i++)
                if (api_index_has_unit(x, x->jobs[i]->job.hash))
                        a[n++] = &x->jobs[i]->job;
        *ret = a;
        *ret_n = n;
        return 0;
}

static int set_str(char **field, const char *s) {
        if (!s)
                return 0;
        *field = strdup(s);
        return *field ? 0 : -ENOMEM;
}

const char *api_index_reason(const ApiIndex *x, const char *name) {
        const RegistryEntry *j = find_name(x->jobs, x->n_jobs, name);
        const RegistryEntry *r = find_name(x->reasons, x->n_reasons, name);

        if (!j || !r || r->reason.job_revision != j->mod_revision)
                return NULL;
        return r->reason.reason;
}

int api_index_unit(const ApiIndex *x, const RegistryJob *job, bool in_list, ApiUnit *ret) {
        _cleanup_(unit_file_freep) UnitFile *uf = NULL;
        const char *text = api_index_unit_text(x, job->hash), *machine = NULL, *current = NULL;
        ApiUnit u = {};
        int r;

        if (!text)
                return -ENOENT;
        r = unit_file_parse(text, strlen(text), &uf, NULL);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;

        if (!job->global)
                current = job_state_to_string(api_index_current_state(x, job->name, &machine));
        else if (in_list)
                current = job_state_to_string(JOB_STATE_INACTIVE);

        r = set_str(&u.name, job->name);
        for (size_t i = 0; r >= 0 && i < uf->n_options; i++)
                r = api_unit_add_option(&u, uf->options[i].section, uf->options[i].name,
                                        uf->options[i].value);
        if (r >= 0)
                r = set_str(&u.desired_state, job_state_to_string(job->desired_state));
        if (r >= 0)
                r = set_str(&u.current_state, current);
        if (r >= 0)
                r = set_str(&u.machine_id, machine);
        if (r >= 0)
                r = set_str(&u.reason, api_index_reason(x, job->name));
        if (r < 0) {
                api_unit_done(&u);
                return r;
        }
        *ret = u;
        return 0;
}

static int unit_state_from_entry(const RegistryUnitState *s, ApiUnitState *ret) {
        ApiUnitState u = {};
        int r;

        r = set_str(&u.name, s->name);
        if (r >= 0 && s->unit_hash[0])
                r = set_str(&u.hash, s->unit_hash);
        if (r >= 0)
                r = set_str(&u.machine_id, s->machine_id);
        if (r >= 0)
                r = set_str(&u.systemd_load_state, s->load_state);
        if (r >= 0)
                r = set_str(&u.systemd_active_state, s->active_state);
        if (r >= 0)
                r = set_str(&u.systemd_sub_state, s->sub_state);
        if (r < 0) {
                api_unit_state_done(&u);
                return r;
        }
        *ret = u;
        return 0;
}

int api_index_unit_states(const ApiIndex *x, const char *machine_id, const char *name,
                          ApiUnitState **ret, size_t *ret_n) {
        ApiUnitState *a = NULL;
        size_t n = 0;

        if (x->n_states > 0) {
                a = calloc(x->n_states, sizeof(*a));
                if (!a)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < x->n_states; i++) {
                const RegistryEntry *e = x->states[i];
                int r;

                if (machine_id && machine_id[0] && !streq(machine_id, e->key.machine_id))
                        continue;
                if (name && name[0] && !streq(name, e->key.name))
                        continue;
                r = unit_state_from_entry(&e->state, &a[n]);
                if (r < 0) {
                        api_unit_state_array_free(a, n);
                        return r;
                }
                n++;
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

/* Merged metadata of m as a strv of alternating key, value (sorted by key): the overlay
 * entries [ov, ov + n_ov) of this machine (sorted by key) set or, when empty, remove. */
static int merge_metadata(const RegistryMachine *m, const RegistryEntry *const *ov, size_t n_ov,
                          char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t i = 0, j = 0;

        while (i < m->n_metadata || j < n_ov) {
                const char *key, *value;
                int c;

                if (i >= m->n_metadata)
                        c = 1;
                else if (j >= n_ov)
                        c = -1;
                else
                        c = strcmp(m->metadata[i].key, ov[j]->key.name);
                if (c < 0) {
                        key = m->metadata[i].key;
                        value = m->metadata[i++].value;
                } else {
                        key = ov[j]->key.name;
                        value = ov[j++]->metadata_value;
                        if (c == 0)
                                i++;
                }
                if (!value || value[0] == '\0')
                        continue;
                if (strv_extend(&l, key) < 0 || strv_extend(&l, value) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int api_index_machines(const ApiIndex *x, ApiMachine **ret, size_t *ret_n) {
        static const RegistryMachine no_machine = {}; /* keys-only listings */
        ApiMachine *a = NULL;
        size_t n = 0, k = 0;

        if (x->n_machines > 0) {
                a = calloc(x->n_machines, sizeof(*a));
                if (!a)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < x->n_machines; i++) {
                const RegistryMachine *m = &x->machines[i]->machine;
                const char *id = x->machines[i]->key.machine_id;
                size_t start;
                int r;

                /* overlay entries of this machine: metadata is sorted by (machine, key) */
                while (k < x->n_metadata && strcmp(x->metadata[k]->key.machine_id, id) < 0)
                        k++;
                start = k;
                while (k < x->n_metadata && streq(x->metadata[k]->key.machine_id, id))
                        k++;

                r = set_str(&a[n].id, id);
                if (r >= 0 && x->machines[i]->has_value && m->public_ip && m->public_ip[0])
                        r = set_str(&a[n].primary_ip, m->public_ip);
                if (r >= 0)
                        r = merge_metadata(x->machines[i]->has_value ? m : &no_machine,
                                           x->metadata + start, k - start, &a[n].metadata);
                n++;
                if (r < 0) {
                        api_machine_array_free(a, n);
                        return r;
                }
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

void api_index_count_units(const ApiIndex *x, ApiUnitCounts *ret) {
        *ret = (ApiUnitCounts){};
        for (size_t i = 0; i < x->n_jobs; i++) {
                const RegistryJob *j = &x->jobs[i]->job;

                if (!api_index_has_unit(x, j->hash))
                        continue;
                ret->total++;
                if (j->desired_state >= 0 && j->desired_state < _JOB_STATE_MAX)
                        ret->desired[j->desired_state]++;
                if (j->global) {
                        ret->global++;
                        ret->current[JOB_STATE_INACTIVE]++;
                } else {
                        JobState s = api_index_current_state(x, j->name, NULL);

                        if (s >= 0 && s < _JOB_STATE_MAX)
                                ret->current[s]++;
                }
        }
}
