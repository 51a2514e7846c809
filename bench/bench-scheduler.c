/* SPDX-License-Identifier: MIT */
/*
 * Scheduler micro-benchmark: how fast one pass decides, for 1,000 units on 100 machines,
 * 10,000 on 1,000 and 100,000 on 10,000. The units are a mix: most unconstrained, some with
 * MachineMetadata (region=..., disk!=hdd), some instances that conflict with their siblings
 * (Conflicts=%p@*.service, 5 per group), some MachineOf sidekicks, and a few global units.
 * Passes per size (each the best of three runs):
 *   place-unsorted  everything unscheduled, snapshot filled in no particular order
 *   place           the same, filled in etcd key order as the engine does (no sorting needed)
 *   steady          the same cluster with that schedule: nothing to do (phase 1 only)
 *   failover        1% of the machines gone: their units move
 * Times are CPU milliseconds. Prints figures only; there are no thresholds. Usage: bench-scheduler
 * [units machines]...
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job-state.h"
#include "scheduler.h"
#include "snapshot.h"
#include "strv.h"
#include "unit-file.h"
#include "xfleet.h"

typedef struct Unit {
        char name[48];
        char options[160]; /* [X-Fleet] text, "" for none */
} Unit;

typedef struct Placement {
        char *job;
        char *machine;
} Placement;

/* CPU time: the scheduler is single-threaded and never waits, and this stays meaningful on a
 * machine busy with other work. */
static double now(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int r) {
        fprintf(stderr, "bench-scheduler: %s: %s\n", what, strerror(r < 0 ? -r : r));
        exit(EXIT_FAILURE);
}

static void machine_id(unsigned i, char ret[static 33]) {
        /* Machine IDs look like /etc/machine-id: 32 hex digits, in no particular order. */
        uint64_t x = (uint64_t) i * UINT64_C(0x9e3779b97f4a7c15) + 1;

        snprintf(ret, 33, "%016" PRIx64 "%016" PRIx64, x, x ^ UINT64_C(0xdeadbeefcafef00d));
}

/* The unit mix: per 100 units, 80 plain, 8 MachineMetadata region, 2 disk!=hdd, 5 conflicting
 * instances, 5 MachineOf sidekicks of a plain unit; plus 3 globals. */
static Unit *make_units(unsigned n, unsigned *ret_n) {
        Unit *u = calloc(n + 3, sizeof(Unit));
        unsigned k = 0;

        if (!u)
                die("calloc", -ENOMEM);
        for (unsigned i = 0; i < n; i++) {
                unsigned kind = i % 100;

                if (kind < 80)
                        snprintf(u[k].name, sizeof(u[k].name), "svc-%07u.service", i);
                else if (kind < 88) {
                        snprintf(u[k].name, sizeof(u[k].name), "md-%07u.service", i);
                        snprintf(u[k].options, sizeof(u[k].options), "MachineMetadata=region=r%u\n",
                                 i % 5);
                } else if (kind < 90) {
                        snprintf(u[k].name, sizeof(u[k].name), "fast-%07u.service", i);
                        snprintf(u[k].options, sizeof(u[k].options), "MachineMetadata=disk!=hdd\n");
                } else if (kind < 95) {
                        /* group = i / 100: five instances per hundred units */
                        snprintf(u[k].name, sizeof(u[k].name), "app-%06u@%u.service", i / 100,
                                 kind - 90);
                        snprintf(u[k].options, sizeof(u[k].options), "Conflicts=%%p@*.service\n");
                } else {
                        snprintf(u[k].name, sizeof(u[k].name), "side-%07u.service", i);
                        snprintf(u[k].options, sizeof(u[k].options), "MachineOf=svc-%07u.service\n",
                                 i - 95);
                }
                k++;
        }
        snprintf(u[k].name, sizeof(u[k].name), "global-monitor.service");
        snprintf(u[k++].options, sizeof(u[k].options), "Global=true\n");
        snprintf(u[k].name, sizeof(u[k].name), "global-logger.service");
        snprintf(u[k++].options, sizeof(u[k].options), "Global=true\nMachineMetadata=region=r0\n");
        snprintf(u[k].name, sizeof(u[k].name), "global-exclusive.service");
        snprintf(u[k++].options, sizeof(u[k].options), "Global=true\nConflicts=noglobal-*\n");
        *ret_n = k;
        return u;
}

static XFleet *parse(const Unit *u) {
        _cleanup_(unit_file_freep) UnitFile *f = NULL;
        _cleanup_free_ char *text = NULL;
        XFleet *x = NULL;
        int r;

        if (!u->options[0])
                return NULL;
        if (asprintf(&text, "[X-Fleet]\n%s", u->options) < 0)
                die("asprintf", -ENOMEM);
        r = unit_file_parse(text, strlen(text), &f, NULL);
        if (r < 0)
                die("unit_file_parse", r);
        r = xfleet_parse(f, u->name, &x);
        if (r < 0)
                die("xfleet_parse", r);
        return x;
}

static int unit_cmp(const void *a, const void *b) {
        return strcmp(((const Unit *) a)->name, ((const Unit *) b)->name);
}

static int placement_cmp(const void *a, const void *b) {
        const Placement *x = a, *y = b;
        int c = strcmp(x->machine, y->machine);

        return c != 0 ? c : strcmp(x->job, y->job);
}

typedef struct MachineRef {
        char id[33];
        unsigned index;
} MachineRef;

static int machine_ref_cmp(const void *a, const void *b) {
        return strcmp(((const MachineRef *) a)->id, ((const MachineRef *) b)->id);
}

/*
 * A snapshot of n_machines machines (skipping every skip-th, if skip), the units, and the
 * placements. key_order: add everything in etcd's key order, as the engine does when it lists
 * the registry (the scheduler then skips sorting); otherwise in no particular order.
 */
static ClusterSnapshot *build(unsigned n_machines, unsigned skip, Unit *units, unsigned n_units,
                              Placement *placements, size_t n_placements, bool key_order) {
        static const char *const disks[] = {"ssd", "hdd", "ssd"};
        ClusterSnapshot *s = NULL;
        MachineRef *ids = calloc(n_machines + 1, sizeof(MachineRef));
        int r;

        if (!ids)
                die("calloc", -ENOMEM);
        for (unsigned i = 0; i < n_machines; i++) {
                machine_id(i, ids[i].id);
                ids[i].index = i;
        }
        if (key_order) {
                qsort(ids, n_machines, sizeof(MachineRef), machine_ref_cmp);
                qsort(units, n_units, sizeof(Unit), unit_cmp);
                if (n_placements > 0)
                        qsort(placements, n_placements, sizeof(Placement), placement_cmp);
        }
        r = snapshot_new(&s);
        if (r < 0)
                die("snapshot_new", r);
        for (unsigned k = 0; k < n_machines; k++) {
                unsigned i = ids[k].index;
                char region[8], rack[16];
                const char *md[] = {"region", region, "disk", disks[i % 3], "rack", rack, NULL};

                if (skip && i % skip == 0)
                        continue;
                snprintf(region, sizeof(region), "r%u", i % 5);
                snprintf(rack, sizeof(rack), "rack%u", i / 40);
                r = snapshot_add_machine(s, ids[k].id, (char *const *) md);
                if (r < 0)
                        die("snapshot_add_machine", r);
        }
        free(ids);
        for (unsigned i = 0; i < n_units; i++) {
                r = snapshot_add_job(s, units[i].name, "0123456789abcdef0123456789abcdef01234567",
                                     JOB_STATE_LAUNCHED, parse(&units[i]));
                if (r < 0)
                        die("snapshot_add_job", r);
        }
        for (size_t i = 0; i < n_placements; i++) {
                r = snapshot_add_schedule(s, placements[i].job, placements[i].machine,
                                          JOB_STATE_LAUNCHED, NULL);
                if (r < 0)
                        die("snapshot_add_schedule", r);
        }
        return s;
}

/* The schedule after applying r to placements (which it replaces). */
static Placement *apply(Placement *p, size_t *n, const SchedulerResult *r) {
        size_t k = 0;

        /* Unschedules first: drop the matching entries (there are few; a linear scan each is
         * fine for a benchmark's setup). */
        for (size_t d = 0; d < r->n_decisions; d++) {
                const SchedulerDecision *dec = &r->decisions[d];

                if (dec->kind != SCHEDULER_UNSCHEDULE)
                        continue;
                for (size_t i = 0; i < *n; i++)
                        if (p[i].job && streq(p[i].job, dec->job) &&
                            streq(p[i].machine, dec->machine)) {
                                free(p[i].job);
                                free(p[i].machine);
                                p[i].job = p[i].machine = NULL;
                                break;
                        }
        }
        for (size_t i = 0; i < *n; i++)
                if (p[i].job)
                        p[k++] = p[i];
        p = reallocarray(p, k + r->n_decisions + 1, sizeof(Placement));
        if (!p)
                die("reallocarray", -ENOMEM);
        for (size_t d = 0; d < r->n_decisions; d++)
                if (r->decisions[d].kind == SCHEDULER_SCHEDULE)
                        p[k++] = (Placement){strdup(r->decisions[d].job),
                                             strdup(r->decisions[d].machine)};
        *n = k;
        return p;
}

/* The best of three runs (the machine may be busy), and the result of the last. */
static SchedulerResult *timed_run(const ClusterSnapshot *s, double *ret_seconds) {
        SchedulerResult *r = NULL;
        double best = 0;

        for (int i = 0; i < 3; i++) {
                double t = now();
                int k;

                r = scheduler_result_free(r);
                k = scheduler_run(s, &r);
                if (k < 0)
                        die("scheduler_run", k);
                t = now() - t;
                if (i == 0 || t < best)
                        best = t;
        }
        *ret_seconds = best;
        return r;
}

static void report(unsigned units, unsigned machines, const char *pass, const SchedulerResult *r,
                   double seconds) {
        printf("%8u %8u  %-14s %9zu %9zu %9.1f %12.0f\n", units, machines, pass, r->n_decisions,
               r->n_unscheduled, seconds * 1e3, r->n_decisions / (seconds > 0 ? seconds : 1e-9));
}

static void bench(unsigned n_units, unsigned n_machines) {
        _cleanup_(scheduler_result_freep) SchedulerResult *r0 = NULL, *r1 = NULL, *r2 = NULL,
                                                          *r3 = NULL;
        Placement *p = NULL;
        size_t n_p = 0;
        unsigned n;
        Unit *units = make_units(n_units, &n);
        ClusterSnapshot *s;
        double t;

        s = build(n_machines, 0, units, n, NULL, 0, false);
        r0 = timed_run(s, &t);
        report(n_units, n_machines, "place-unsorted", r0, t);
        snapshot_free(s);

        s = build(n_machines, 0, units, n, NULL, 0, true);
        r1 = timed_run(s, &t);
        report(n_units, n_machines, "place", r1, t);
        snapshot_free(s);

        p = apply(p, &n_p, r1);
        s = build(n_machines, 0, units, n, p, n_p, true);
        r2 = timed_run(s, &t);
        report(n_units, n_machines, "steady", r2, t);
        snapshot_free(s);

        s = build(n_machines, 100, units, n, p, n_p, true);
        r3 = timed_run(s, &t);
        report(n_units, n_machines, "failover", r3, t);
        snapshot_free(s);

        for (size_t i = 0; i < n_p; i++) {
                free(p[i].job);
                free(p[i].machine);
        }
        free(p);
        free(units);
}

int main(int argc, char *argv[]) {
        static const unsigned sizes[][2] = {{1000, 100}, {10000, 1000}, {100000, 10000}};

        printf("%8s %8s  %-14s %9s %9s %9s %12s\n", "units", "machines", "pass", "decisions",
               "unplaced", "ms", "decisions/s");
        if (argc > 2) {
                for (int i = 1; i + 1 < argc; i += 2)
                        bench(strtoul(argv[i], NULL, 10), strtoul(argv[i + 1], NULL, 10));
                return EXIT_SUCCESS;
        }
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++)
                bench(sizes[i][0], sizes[i][1]);
        return EXIT_SUCCESS;
}
