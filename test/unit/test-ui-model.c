/* SPDX-License-Identifier: MIT */
/* The web view's state from the registry cache, its derived events, and SSE framing. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "registry-cache.h"
#include "test-util.h"
#include "ui-model.h"

#define P REGISTRY_DEFAULT_PREFIX
#define HASH "0123456789abcdef0123456789abcdef01234567"
#define JOB(n, g)                                                                                  \
        "{\"name\":\"" n "\",\"hash\":\"" HASH "\",\"desiredState\":\"launched\",\"global\":" g "}"
#define TARGET "{\"hash\":\"" HASH "\",\"desiredState\":\"launched\"}"
#define STATE(active, sub)                                                                         \
        "{\"loadState\":\"loaded\",\"activeState\":\"" active "\",\"subState\":\"" sub             \
        "\",\"unitHash\":\"" HASH "\",\"fleetState\":\"launched\"}"
#define MACHINE(id, ip) "{\"ID\":\"" id "\",\"PublicIP\":\"" ip "\",\"Metadata\":{\"az\":\"a\"}}"

static RegistryEntry entry(const char *key, const char *value) {
        EtcdKeyValue x = {.key = (char *) key,
                          .value = (char *) (value ?: ""),
                          .value_size = value ? strlen(value) : 0};
        RegistryEntry e = {};

        ck_assert_int_eq(registry_entry_decode(P, &x, value != NULL, &e), 0);
        return e;
}

/* Apply one change: PUT key=value, or DELETE key when value is NULL. */
static void change(RegistryCache *c, int64_t rev, const char *key, const char *value) {
        RegistryEvent ev = {.type = value ? REGISTRY_EVENT_PUT : REGISTRY_EVENT_DELETE,
                            .entry = entry(key, value)};
        RegistryWatchUpdate u = {.revision = rev, .events = &ev, .n_events = 1};

        ck_assert_int_ge(registry_cache_apply(c, &u), 0);
        registry_entry_done(&ev.entry);
}

static RegistryCache *cluster(void) {
        RegistryEntry e[] = {
                entry(P "machine/m1", MACHINE("m1", "10.0.0.1")),
                entry(P "machine/m2", MACHINE("m2", "10.0.0.2")),
                entry(P "metadata/m2/disk", "ssd"),
                entry(P "engine/leader", "{\"MachineID\":\"m1\",\"Version\":\"1\"}"),
                entry(P "unit/" HASH, "[Service]\nExecStart=/bin/true\n"),
                entry(P "job/web.service", JOB("web.service", "false")),
                entry(P "job/mon.service", JOB("mon.service", "true")),
                entry(P "schedule/m2/web.service", TARGET),
                entry(P "state/web.service/m2", STATE("active", "running")),
                entry(P "state/mon.service/m1", STATE("active", "running")),
                entry(P "state/mon.service/m2", STATE("active", "running")),
        };
        RegistryWatchUpdate u = {
                .resync = true, .revision = 10, .entries = e, .n_entries = ELEMENTSOF(e)};
        RegistryCache *c = NULL;

        ck_assert_int_eq(registry_cache_new(&c), 0);
        ck_assert_int_eq(registry_cache_apply(c, &u), 1);
        for (size_t i = 0; i < ELEMENTSOF(e); i++)
                registry_entry_done(&e[i]);
        return c;
}

START_TEST(test_snapshot) {
        _cleanup_(registry_cache_freep) RegistryCache *c = cluster();
        _cleanup_free_ char *s = NULL;
        json_t *root, *m, *u;

        ck_assert_int_eq(ui_snapshot_json(c, NULL, false, &s), 0);
        root = json_loads(s, 0, NULL);
        ck_assert_ptr_nonnull(root);
        ck_assert_int_eq(json_integer_value(json_object_get(root, "revision")), 10);
        ck_assert(json_is_true(json_object_get(root, "synced")));
        ck_assert(json_is_false(json_object_get(root, "etcd")));
        ck_assert_str_eq(json_string_value(json_object_get(root, "leader")), "m1");

        m = json_object_get(root, "machines");
        ck_assert_uint_eq(json_array_size(m), 2);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 0), "id")), "m1");
        ck_assert(json_is_true(json_object_get(json_array_get(m, 0), "leader")));
        ck_assert(json_is_false(json_object_get(json_array_get(m, 1), "leader")));
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 1), "ip")),
                         "10.0.0.2");
        /* metadata merged with the dynamic overlay */
        ck_assert_str_eq(json_string_value(json_object_get(
                                 json_object_get(json_array_get(m, 1), "metadata"), "disk")),
                         "ssd");
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(m, 1), "units")), 1);
        ck_assert(json_is_null(json_object_get(json_array_get(m, 1), "cordoned")));

        /* mon.service (global) once per machine, then web.service */
        u = json_object_get(root, "units");
        ck_assert_uint_eq(json_array_size(u), 3);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(u, 0), "name")),
                         "mon.service");
        ck_assert(json_is_true(json_object_get(json_array_get(u, 0), "global")));
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(u, 1), "machine")), "m2");
        u = json_array_get(u, 2);
        ck_assert_str_eq(json_string_value(json_object_get(u, "name")), "web.service");
        ck_assert_str_eq(json_string_value(json_object_get(u, "machine")), "m2");
        ck_assert_str_eq(json_string_value(json_object_get(u, "desired")), "launched");
        ck_assert_str_eq(json_string_value(json_object_get(u, "current")), "launched");
        ck_assert_str_eq(json_string_value(json_object_get(u, "active")), "active");
        ck_assert_str_eq(json_string_value(json_object_get(u, "sub")), "running");
        ck_assert(json_is_null(json_object_get(u, "reason")));
        ck_assert_uint_eq(json_array_size(json_object_get(root, "events")), 0);
        json_decref(root);
}
END_TEST

START_TEST(test_snapshot_unscheduled) {
        _cleanup_(registry_cache_freep) RegistryCache *c = cluster();
        _cleanup_free_ char *s = NULL;
        json_t *root, *u;

        change(c, 11, P "schedule/m2/web.service", NULL);
        ck_assert_int_eq(ui_snapshot_json(c, NULL, true, &s), 0);
        root = json_loads(s, 0, NULL);
        u = json_array_get(json_object_get(root, "units"), 2);
        ck_assert(json_is_null(json_object_get(u, "machine")));
        ck_assert_str_eq(json_string_value(json_object_get(u, "current")), "inactive");
        ck_assert(json_is_null(json_object_get(u, "active")));
        json_decref(root);
}
END_TEST

/* The engine's reason while it describes the job's revision, and cordons, from the registry. */
START_TEST(test_snapshot_reason_and_cordon) {
        _cleanup_(registry_cache_freep) RegistryCache *c = cluster();
        EtcdKeyValue x = {.key = (char *) P "job/web.service",
                          .value = (char *) JOB("web.service", "false"),
                          .mod_revision = 12};
        RegistryEvent ev = {.type = REGISTRY_EVENT_PUT};
        RegistryWatchUpdate up = {.revision = 12, .events = &ev, .n_events = 1};
        json_t *root, *u, *m;
        char *s = NULL;

        x.value_size = strlen(x.value);
        ck_assert_int_eq(registry_entry_decode(P, &x, true, &ev.entry), 0);
        ck_assert_int_ge(registry_cache_apply(c, &up), 0);
        registry_entry_done(&ev.entry);
        change(c, 13, P "reason/web.service", "{\"jobRevision\":12,\"reason\":\"no machine\"}");
        change(c, 14, P "cordon/m1", "{\"draining\":true}");

        ck_assert_int_eq(ui_snapshot_json(c, NULL, true, &s), 0);
        root = json_loads(s, 0, NULL);
        free(s);
        u = json_array_get(json_object_get(root, "units"), 2);
        ck_assert_str_eq(json_string_value(json_object_get(u, "name")), "web.service");
        ck_assert_str_eq(json_string_value(json_object_get(u, "reason")), "no machine");
        m = json_object_get(root, "machines");
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 0), "cordoned")),
                         "draining");
        ck_assert(json_is_null(json_object_get(json_array_get(m, 1), "cordoned")));
        json_decref(root);

        /* a reason about an older version of the job is not shown */
        change(c, 15, P "reason/web.service", "{\"jobRevision\":7,\"reason\":\"stale\"}");
        change(c, 16, P "cordon/m1", "{\"draining\":false}");
        ck_assert_int_eq(ui_snapshot_json(c, NULL, true, &s), 0);
        root = json_loads(s, 0, NULL);
        free(s);
        u = json_array_get(json_object_get(root, "units"), 2);
        ck_assert(json_is_null(json_object_get(u, "reason")));
        ck_assert_str_eq(json_string_value(json_object_get(
                                 json_array_get(json_object_get(root, "machines"), 0), "cordoned")),
                         "cordoned");
        json_decref(root);
}
END_TEST

static void assert_event(const UiEvent *e, UiEventType type, const char *unit, const char *machine,
                         const char *from) {
        ck_assert_int_eq(e->type, type);
        if (unit)
                ck_assert_str_eq(e->unit, unit);
        else
                ck_assert_ptr_null(e->unit);
        ck_assert_str_eq(e->machine, machine);
        if (from)
                ck_assert_str_eq(e->from, from);
        else
                ck_assert_ptr_null(e->from);
}

START_TEST(test_tracker) {
        _cleanup_(registry_cache_freep) RegistryCache *c = cluster();
        _cleanup_(ui_tracker_freep) UiTracker *t = NULL;
        _cleanup_free_ char *s = NULL;
        const UiEvent *ev;
        json_t *root, *a;
        size_t n;

        ck_assert_int_eq(ui_tracker_new(&t), 0);
        /* the first look records, reports nothing */
        ck_assert_int_eq(ui_tracker_observe(t, c, 1000000), 0);
        ck_assert_int_eq(ui_tracker_observe(t, c, 1000000), 0);

        /* m2 dies: its presence goes, web.service moves to m1 in the same pass */
        change(c, 11, P "machine/m2", NULL);
        change(c, 12, P "schedule/m2/web.service", NULL);
        change(c, 12, P "schedule/m1/web.service", TARGET);
        ck_assert_int_eq(ui_tracker_observe(t, c, 2000000), 2);
        ev = ui_tracker_events(t, &n);
        ck_assert_uint_eq(n, 2);
        assert_event(&ev[0], UI_EVENT_MACHINE_LEFT, NULL, "m2", NULL);
        assert_event(&ev[1], UI_EVENT_MOVED, "web.service", "m1", "m2");

        /* unscheduled, then placed elsewhere in a later pass: still a move */
        change(c, 13, P "schedule/m1/web.service", NULL);
        ck_assert_int_eq(ui_tracker_observe(t, c, 3000000), 1);
        change(c, 14, P "machine/m3", MACHINE("m3", "10.0.0.3"));
        change(c, 14, P "schedule/m3/web.service", TARGET);
        change(c, 14, P "job/db.service", JOB("db.service", "false"));
        change(c, 14, P "schedule/m3/db.service", TARGET);
        change(c, 15, P "state/mon.service/m1", STATE("failed", "failed"));
        ck_assert_int_eq(ui_tracker_observe(t, c, 4000000), 4);
        ev = ui_tracker_events(t, &n);
        ck_assert_uint_eq(n, 7);
        assert_event(&ev[2], UI_EVENT_UNSCHEDULED, "web.service", "m1", NULL);
        assert_event(&ev[3], UI_EVENT_MACHINE_JOINED, NULL, "m3", NULL);
        assert_event(&ev[4], UI_EVENT_PLACED, "db.service", "m3", NULL);
        assert_event(&ev[5], UI_EVENT_MOVED, "web.service", "m3", "m1");
        assert_event(&ev[6], UI_EVENT_FAILED, "mon.service", "m1", NULL);
        ck_assert_uint_eq(ev[6].time_usec, 4000000);
        /* still failed: no new event */
        ck_assert_int_eq(ui_tracker_observe(t, c, 5000000), 0);

        /* in the snapshot: newest first, time in ms */
        ck_assert_int_eq(ui_snapshot_json(c, t, true, &s), 0);
        root = json_loads(s, 0, NULL);
        a = json_object_get(root, "events");
        ck_assert_uint_eq(json_array_size(a), 7);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "type")),
                         "failed");
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 0), "time")), 4000);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 1), "from")), "m1");
        json_decref(root);
}
END_TEST

START_TEST(test_tracker_bounded) {
        _cleanup_(registry_cache_freep) RegistryCache *c = cluster();
        _cleanup_(ui_tracker_freep) UiTracker *t = NULL;
        const UiEvent *ev;
        size_t n;

        ck_assert_int_eq(ui_tracker_new(&t), 0);
        ck_assert_int_eq(ui_tracker_observe(t, c, 0), 0);
        for (int i = 0; i < UI_EVENTS_MAX + 5; i++) {
                change(c, 20 + i, P "machine/m9", i % 2 ? NULL : MACHINE("m9", "10.0.0.9"));
                ck_assert_int_eq(ui_tracker_observe(t, c, (uint64_t) i), 1);
        }
        ev = ui_tracker_events(t, &n);
        ck_assert_uint_eq(n, UI_EVENTS_MAX);
        ck_assert_ptr_nonnull(ev);
        ui_tracker_forget(t);
        ck_assert_int_eq(ui_tracker_observe(t, c, 0), 0);
}
END_TEST

START_TEST(test_sse_event) {
        static const struct {
                const char *event, *data, *expect;
        } v[] = {
                {"snapshot", "{\"a\":1}", "event: snapshot\ndata: {\"a\":1}\n\n"},
                {NULL, "one\ntwo", "data: one\ndata: two\n\n"},
                {NULL, "a\r\nb\rc", "data: a\ndata: b\ndata: c\n\n"},
                {"x", "", "event: x\ndata: \n\n"},
                {"x", "end\n", "event: x\ndata: end\ndata: \n\n"},
                {"status", NULL, "event: status\n\n"},
        };
        char *s = NULL;

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                ck_assert_int_eq(ui_sse_event(v[i].event, v[i].data, &s), 0);
                ck_assert_str_eq(s, v[i].expect);
                free(s);
        }
        ck_assert_int_eq(ui_sse_event("bad\nevent", "x", &s), -EINVAL);
        ck_assert_str_eq(ui_event_type_to_string(UI_EVENT_MACHINE_LEFT), "machine-left");
        ck_assert_ptr_null(ui_event_type_to_string(_UI_EVENT_TYPE_MAX));
}
END_TEST

static Suite *ui_model_suite(void) {
        Suite *s = suite_create("ui-model");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_snapshot);
        tcase_add_test(tc, test_snapshot_unscheduled);
        tcase_add_test(tc, test_snapshot_reason_and_cordon);
        tcase_add_test(tc, test_tracker);
        tcase_add_test(tc, test_tracker_bounded);
        tcase_add_test(tc, test_sse_event);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(ui_model_suite)
