/* SPDX-License-Identifier: MIT */
/*
 * The web view's server-side cost at three sizes (100 machines / 1,000 units, 1,000 / 10,000,
 * 10,000 / 100,000): the registry cache's resync (copying a full listing), one event applied,
 * the tracker's comparison after it, and one JSON snapshot (built once per change and written
 * to every open feed) with its size. Each unit has a job, its content, a schedule entry and a
 * state. CPU milliseconds, best of three. Prints figures only. Usage: bench-ui [machines units]...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry-cache.h"
#include "ui-model.h"

#define P REGISTRY_DEFAULT_PREFIX
#define HASH "0123456789abcdef0123456789abcdef01234567"

static double cpu_ms(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static void add(RegistryEntry *e, size_t *n, const char *key, const char *value) {
        EtcdKeyValue kv = {.key = (char *) key,
                           .value = (char *) value,
                           .value_size = strlen(value),
                           .mod_revision = 1};

        if (registry_entry_decode(P, &kv, true, &e[*n]) < 0) {
                fprintf(stderr, "bench-ui: cannot decode %s\n", key);
                exit(1);
        }
        (*n)++;
}

static RegistryEntry *listing(size_t machines, size_t units, size_t *ret_n) {
        RegistryEntry *e = calloc(machines + 1 + 3 * units + 1, sizeof(*e));
        char key[256], value[512];
        size_t n = 0;

        if (!e)
                exit(1);
        for (size_t i = 0; i < machines; i++) {
                snprintf(key, sizeof(key), P "machine/m%05zu", i);
                snprintf(value, sizeof(value),
                         "{\"ID\":\"m%05zu\",\"PublicIP\":\"10.0.%zu.%zu\",\"Metadata\":"
                         "{\"region\":\"r%zu\",\"disk\":\"ssd\"}}",
                         i, i / 250, i % 250, i % 3);
                add(e, &n, key, value);
        }
        add(e, &n, P "unit/" HASH, "[Service]\nExecStart=/bin/sleep infinity\n");
        for (size_t i = 0; i < units; i++) {
                const char *ms = value + 400;

                snprintf(value + 400, 100, "m%05zu", i % machines);
                snprintf(key, sizeof(key), P "job/u%06zu.service", i);
                snprintf(value, 400,
                         "{\"name\":\"u%06zu.service\",\"hash\":\"" HASH
                         "\",\"desiredState\":\"launched\"}",
                         i);
                add(e, &n, key, value);
                snprintf(key, sizeof(key), P "schedule/%s/u%06zu.service", ms, i);
                add(e, &n, key, "{\"hash\":\"" HASH "\",\"desiredState\":\"launched\"}");
                snprintf(key, sizeof(key), P "state/u%06zu.service/%s", i, ms);
                add(e, &n, key,
                    "{\"loadState\":\"loaded\",\"activeState\":\"active\",\"subState\":"
                    "\"running\",\"unitHash\":\"" HASH "\",\"fleetState\":\"launched\"}");
        }
        *ret_n = n;
        return e;
}

static void run(size_t machines, size_t units) {
        size_t n, len = 0;
        RegistryEntry *e = listing(machines, units, &n);
        double best_resync = 1e9, best_event = 1e9, best_observe = 1e9, best_json = 1e9;

        for (int round = 0; round < 3; round++) {
                RegistryCache *c = NULL;
                UiTracker *t = NULL;
                RegistryWatchUpdate u = {
                        .resync = true, .revision = 1, .entries = e, .n_entries = n};
                RegistryEvent ev = {.type = REGISTRY_EVENT_DELETE};
                RegistryWatchUpdate del = {.revision = 2, .events = &ev, .n_events = 1};
                char *json = NULL;
                double t0;

                if (registry_cache_new(&c) < 0 || ui_tracker_new(&t) < 0)
                        exit(1);
                t0 = cpu_ms();
                if (registry_cache_apply(c, &u) < 0)
                        exit(1);
                best_resync = MIN(best_resync, cpu_ms() - t0);
                (void) ui_tracker_observe(t, c, 0);

                /* one unit unscheduled: the smallest change a feed reports */
                ev.entry = e[machines + 2]; /* schedule of the first unit */
                t0 = cpu_ms();
                if (registry_cache_apply(c, &del) < 0)
                        exit(1);
                best_event = MIN(best_event, cpu_ms() - t0);
                t0 = cpu_ms();
                if (ui_tracker_observe(t, c, 1) != 1)
                        exit(1);
                best_observe = MIN(best_observe, cpu_ms() - t0);
                t0 = cpu_ms();
                if (ui_snapshot_json(c, t, true, &json) < 0)
                        exit(1);
                best_json = MIN(best_json, cpu_ms() - t0);
                len = strlen(json);
                free(json);
                ui_tracker_free(t);
                registry_cache_free(c);
        }
        printf("%6zu machines %7zu units (%7zu keys): resync %8.1f ms, one event %6.3f ms, "
               "events derived %7.1f ms, snapshot %7.1f ms, %6.1f MB of JSON\n",
               machines, units, n, best_resync, best_event, best_observe, best_json,
               (double) len / 1e6);
        registry_entry_array_free(e, n);
}

int main(int argc, char *argv[]) {
        if (argc > 1) {
                for (int i = 1; i + 1 < argc; i += 2)
                        run(strtoul(argv[i], NULL, 10), strtoul(argv[i + 1], NULL, 10));
                return 0;
        }
        run(100, 1000);
        run(1000, 10000);
        run(10000, 100000);
        return 0;
}
