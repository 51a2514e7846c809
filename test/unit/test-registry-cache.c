/* SPDX-License-Identifier: MIT */
/* The registry's in-memory copy: resync, events, lookups and the change history. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "registry-cache.h"
#include "test-util.h"

#define P REGISTRY_DEFAULT_PREFIX
#define HASH "0123456789abcdef0123456789abcdef01234567"
#define JOB(n, st) "{\"name\":\"" n "\",\"hash\":\"" HASH "\",\"desiredState\":\"" st "\"}"
#define TARGET "{\"hash\":\"" HASH "\",\"desiredState\":\"launched\"}"

static RegistryEntry entry(const char *key, const char *value, int64_t rev) {
        EtcdKeyValue x = {.key = (char *) key,
                          .value = (char *) (value ?: ""),
                          .value_size = value ? strlen(value) : 0,
                          .create_revision = rev,
                          .mod_revision = rev};
        RegistryEntry e = {};

        ck_assert_int_eq(registry_entry_decode(P, &x, value != NULL, &e), 0);
        return e;
}

static void entries_done(RegistryEntry *e, size_t n) {
        for (size_t i = 0; i < n; i++)
                registry_entry_done(&e[i]);
}

static void resync(RegistryCache *c, int64_t rev) {
        RegistryEntry e[] = {
                entry(P "job/web.service", JOB("web.service", "launched"), 2),
                entry(P "job/db.service", JOB("db.service", "loaded"), 3),
                entry(P "schedule/m2/web.service", TARGET, 4),
                entry(P "schedule/m1/db.service", TARGET, 5),
                entry(P "machine/m1", "{\"ID\":\"m1\",\"PublicIP\":\"10.0.0.1\"}", 6),
                entry(P "engine/leader", "{\"MachineID\":\"m1\",\"Version\":\"1\"}", 7),
        };
        RegistryWatchUpdate u = {
                .resync = true, .revision = rev, .entries = e, .n_entries = ELEMENTSOF(e)};

        ck_assert_int_eq(registry_cache_apply(c, &u), 1);
        entries_done(e, ELEMENTSOF(e));
}

START_TEST(test_resync) {
        _cleanup_(registry_cache_freep) RegistryCache *c = NULL;
        const RegistryEntry *l, *e;
        size_t n;

        ck_assert_int_eq(registry_cache_new(&c), 0);
        ck_assert(!registry_cache_is_valid(c));
        ck_assert_int_eq(registry_cache_get_revision(c), 0);
        resync(c, 10);
        ck_assert(registry_cache_is_valid(c));
        ck_assert_int_eq(registry_cache_get_revision(c), 10);

        /* sorted by name within a kind, whatever the etcd key order */
        l = registry_cache_list(c, REGISTRY_KEY_JOB, &n);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(l[0].job.name, "db.service");
        ck_assert_str_eq(l[1].job.name, "web.service");
        l = registry_cache_list(c, REGISTRY_KEY_SCHEDULE, &n);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(l[0].key.name, "db.service");
        ck_assert_str_eq(l[0].key.machine_id, "m1");

        e = registry_cache_get(c, REGISTRY_KEY_SCHEDULE, "web.service", "m2");
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->target.desired_state, JOB_STATE_LAUNCHED);
        ck_assert_ptr_null(registry_cache_get(c, REGISTRY_KEY_SCHEDULE, "web.service", "m1"));
        e = registry_cache_get(c, REGISTRY_KEY_ENGINE_LEADER, NULL, NULL);
        ck_assert_ptr_nonnull(e);
        ck_assert_str_eq(e->leader.machine_id, "m1");
        e = registry_cache_get(c, REGISTRY_KEY_MACHINE, NULL, "m1");
        ck_assert_str_eq(e->machine.public_ip, "10.0.0.1");
        ck_assert_ptr_null(registry_cache_list(c, _REGISTRY_KEY_KIND_INVALID, &n));
        ck_assert_uint_eq(n, 0);

        /* a second resync replaces everything */
        {
                RegistryEntry only = entry(P "job/x.service", JOB("x.service", "inactive"), 20);
                RegistryWatchUpdate u = {
                        .resync = true, .revision = 21, .entries = &only, .n_entries = 1};

                ck_assert_int_eq(registry_cache_apply(c, &u), 1);
                registry_entry_done(&only);
        }
        l = registry_cache_list(c, REGISTRY_KEY_JOB, &n);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(l[0].job.name, "x.service");
        registry_cache_list(c, REGISTRY_KEY_SCHEDULE, &n);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(registry_cache_get_revision(c), 21);
}
END_TEST

START_TEST(test_events) {
        _cleanup_(registry_cache_freep) RegistryCache *c = NULL;
        const RegistryCacheChange *ch;
        const RegistryEntry *e;
        size_t n;

        ck_assert_int_eq(registry_cache_new(&c), 0);
        resync(c, 10);
        {
                /* the engine moves web.service from m2 to m1, a state appears, db changes */
                RegistryEvent ev[] = {
                        {.type = REGISTRY_EVENT_DELETE,
                         .entry = entry(P "schedule/m2/web.service", NULL, 11)},
                        {.type = REGISTRY_EVENT_PUT,
                         .entry = entry(P "schedule/m1/web.service", TARGET, 11)},
                        {.type = REGISTRY_EVENT_PUT,
                         .entry = entry(P "job/db.service", JOB("db.service", "launched"), 12)},
                        {.type = REGISTRY_EVENT_DELETE, /* absent: nothing changes */
                         .entry = entry(P "job/nope.service", NULL, 12)},
                };
                RegistryWatchUpdate u = {.revision = 12, .events = ev, .n_events = ELEMENTSOF(ev)};

                ck_assert_int_eq(registry_cache_apply(c, &u), 3);
                for (size_t i = 0; i < ELEMENTSOF(ev); i++)
                        registry_entry_done(&ev[i].entry);
        }
        ck_assert_int_eq(registry_cache_get_revision(c), 12);
        ck_assert_ptr_null(registry_cache_get(c, REGISTRY_KEY_SCHEDULE, "web.service", "m2"));
        ck_assert_ptr_nonnull(registry_cache_get(c, REGISTRY_KEY_SCHEDULE, "web.service", "m1"));
        e = registry_cache_get(c, REGISTRY_KEY_JOB, "db.service", NULL);
        ck_assert_int_eq(e->job.desired_state, JOB_STATE_LAUNCHED);
        ck_assert_int_eq(e->mod_revision, 12);
        registry_cache_list(c, REGISTRY_KEY_JOB, &n);
        ck_assert_uint_eq(n, 2);

        /* the history: everything after 10, after 11, nothing after 12 */
        ck_assert_int_eq(registry_cache_changes_since(c, 10, &ch, &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_int_eq(ch[0].type, REGISTRY_EVENT_DELETE);
        ck_assert_str_eq(ch[0].key.machine_id, "m2");
        ck_assert_int_eq(ch[2].revision, 12);
        ck_assert_int_eq(registry_cache_changes_since(c, 11, &ch, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(ch[0].key.name, "db.service");
        ck_assert_int_eq(registry_cache_changes_since(c, 12, &ch, &n), 0);
        ck_assert_uint_eq(n, 0);
        /* before the last resync: too old */
        ck_assert_int_eq(registry_cache_changes_since(c, 9, &ch, &n), -ERANGE);

        registry_cache_reset(c);
        ck_assert(!registry_cache_is_valid(c));
        ck_assert_int_eq(registry_cache_changes_since(c, 12, &ch, &n), -ERANGE);
        registry_cache_list(c, REGISTRY_KEY_JOB, &n);
        ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_history_bounded) {
        _cleanup_(registry_cache_freep) RegistryCache *c = NULL;
        const RegistryCacheChange *ch;
        size_t n;
        int64_t rev = 10;

        ck_assert_int_eq(registry_cache_new(&c), 0);
        resync(c, rev);
        for (int i = 0; i < 3 * REGISTRY_CACHE_HISTORY; i++) {
                RegistryEvent ev = {
                        .type = REGISTRY_EVENT_PUT,
                        .entry = entry(P "machine/m1", "{\"ID\":\"m1\"}", ++rev),
                };
                RegistryWatchUpdate u = {.revision = rev, .events = &ev, .n_events = 1};

                ck_assert_int_eq(registry_cache_apply(c, &u), 1);
                registry_entry_done(&ev.entry);
        }
        /* at least the last REGISTRY_CACHE_HISTORY changes are kept; older ones are not */
        ck_assert_int_eq(registry_cache_changes_since(c, rev - REGISTRY_CACHE_HISTORY, &ch, &n), 0);
        ck_assert_uint_eq(n, REGISTRY_CACHE_HISTORY);
        ck_assert_int_eq(ch[n - 1].revision, rev);
        ck_assert_int_eq(registry_cache_changes_since(c, 10, &ch, &n), -ERANGE);
        registry_cache_list(c, REGISTRY_KEY_MACHINE, &n);
        ck_assert_uint_eq(n, 1);
}
END_TEST

/* Every kind of key the registry knows is kept (a kind the copy cannot hold would make every
 * listing fail and the watch re-list forever). */
START_TEST(test_every_kind) {
        static const char *const kv[][2] = {
                {P "unit/" HASH, "[Service]\nExecStart=/bin/true\n"},
                {P "job/web.service", JOB("web.service", "launched")},
                {P "global/mon.service", TARGET},
                {P "schedule/m1/web.service", TARGET},
                {P "machine/m1", "{\"ID\":\"m1\",\"PublicIP\":\"10.0.0.1\"}"},
                {P "metadata/m1/disk", "ssd"},
                {P "state/web.service/m1",
                 "{\"loadState\":\"loaded\",\"activeState\":\"active\",\"subState\":"
                 "\"running\",\"unitHash\":\"" HASH "\",\"fleetState\":\"launched\"}"},
                {P "engine/leader", "{\"MachineID\":\"m1\",\"Version\":\"1\"}"},
                {P "reason/db.service", "{\"jobRevision\":3,\"reason\":\"no machine\"}"},
                {P "cordon/m1", "{\"draining\":true}"},
                {P "pin/m1/mon.service", "{\"hash\":\"" HASH "\"}"},
        };
        _cleanup_(registry_cache_freep) RegistryCache *c = NULL;
        RegistryEntry e[ELEMENTSOF(kv)];
        RegistryWatchUpdate u = {.resync = true, .revision = 20, .entries = e, .n_entries = 0};
        bool seen[_REGISTRY_KEY_KIND_MAX] = {};

        for (size_t i = 0; i < ELEMENTSOF(kv); i++) {
                e[i] = entry(kv[i][0], kv[i][1], (int64_t) i + 1);
                seen[e[i].key.kind] = true;
                u.n_entries++;
        }
        for (size_t k = 0; k < _REGISTRY_KEY_KIND_MAX; k++)
                ck_assert_msg(seen[k], "no sample of key kind %zu: add one here", k);
        ck_assert_int_eq(registry_cache_new(&c), 0);
        ck_assert_int_eq(registry_cache_apply(c, &u), 1);
        for (size_t k = 0; k < _REGISTRY_KEY_KIND_MAX; k++) {
                size_t n;

                (void) registry_cache_list(c, k, &n);
                ck_assert_uint_eq(n, 1);
        }
        ck_assert_str_eq(
                registry_cache_get(c, REGISTRY_KEY_REASON, "db.service", NULL)->reason.reason,
                "no machine");
        ck_assert(registry_cache_get(c, REGISTRY_KEY_CORDON, NULL, "m1")->cordon.draining);
        ck_assert_str_eq(registry_cache_get(c, REGISTRY_KEY_PIN, "mon.service", "m1")->pin.hash,
                         HASH);
        entries_done(e, ELEMENTSOF(kv));
}
END_TEST

static Suite *registry_cache_suite(void) {
        Suite *s = suite_create("registry-cache");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_resync);
        tcase_add_test(tc, test_events);
        tcase_add_test(tc, test_history_bounded);
        tcase_add_test(tc, test_every_kind);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(registry_cache_suite)
