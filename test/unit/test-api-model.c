/* SPDX-License-Identifier: MIT */
/* Derivation of the API entities from registry entries: Unit (options, desiredState, derived
 * currentState and machineID, global units), UnitState ordering and filters, Machine metadata
 * merge, unit counts. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api-model.h"
#include "test-util.h"

#define H1 "1111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222"
#define H3 "3333333333333333333333333333333333333333"

static RegistryEntry job(const char *name, const char *hash, JobState s, bool global) {
        RegistryEntry e = {.key = {REGISTRY_KEY_JOB, (char *) name, NULL}, .has_value = true};

        e.job = (RegistryJob){.name = (char *) name, .desired_state = s, .global = global};
        strcpy(e.job.hash, hash);
        return e;
}

static RegistryEntry unit(const char *hash, const char *text, bool with_value) {
        RegistryEntry e = {.key = {REGISTRY_KEY_UNIT, (char *) hash, NULL},
                           .has_value = with_value};

        if (with_value)
                e.unit_text = (char *) text;
        return e;
}

static RegistryEntry sched(const char *machine, const char *name) {
        return (RegistryEntry){.key = {REGISTRY_KEY_SCHEDULE, (char *) name, (char *) machine}};
}

static RegistryEntry state(const char *name, const char *machine, JobState s, const char *active) {
        RegistryEntry e = {.key = {REGISTRY_KEY_STATE, (char *) name, (char *) machine},
                           .has_value = true};

        e.state = (RegistryUnitState){.name = (char *) name,
                                      .machine_id = (char *) machine,
                                      .load_state = (char *) "loaded",
                                      .active_state = (char *) active,
                                      .sub_state = (char *) "running",
                                      .fleet_state = s};
        strcpy(e.state.unit_hash, H1);
        return e;
}

static RegistryMetadata m1_meta[] = {
        {(char *) "region", (char *) "us"},
        {(char *) "role", (char *) "web"},
};

static RegistryEntry machine(const char *id, const char *ip, RegistryMetadata *md, size_t n) {
        RegistryEntry e = {.key = {REGISTRY_KEY_MACHINE, NULL, (char *) id}, .has_value = true};

        e.machine = (RegistryMachine){.id = (char *) id,
                                      .public_ip = (char *) ip,
                                      .metadata = md,
                                      .n_metadata = n,
                                      .version = (char *) ""};
        return e;
}

static RegistryEntry meta(const char *id, const char *key, const char *value) {
        RegistryEntry e = {.key = {REGISTRY_KEY_METADATA, (char *) key, (char *) id},
                           .has_value = true};

        e.metadata_value = (char *) value;
        return e;
}

static RegistryEntry entries[32];
static size_t n_entries;
static ApiIndex idx;

static void setup(void) {
        size_t n = 0;

        /* deliberately out of order: the index sorts */
        entries[n++] = job("e.service", H1, JOB_STATE_LAUNCHED, false);
        entries[n++] = job("a.service", H1, JOB_STATE_LAUNCHED, false);
        entries[n++] = job("b.service", H2, JOB_STATE_LOADED, true);
        entries[n++] = job("c.service", H3, JOB_STATE_LAUNCHED, false); /* no content */
        entries[n++] = job("d.service", H1, JOB_STATE_INACTIVE, false);
        entries[n++] = unit(H2, "[X-Fleet]\nGlobal=true\n", true);
        entries[n++] = unit(H1, "[Unit]\nDescription=x\n\n[Service]\nExecStart=/bin/true\n", true);
        entries[n++] = sched("m2", "e.service");
        entries[n++] = sched("m1", "a.service");
        entries[n++] = state("a.service", "m1", JOB_STATE_LAUNCHED, "active");
        entries[n++] = state("d.service", "m1", JOB_STATE_LOADED, "inactive");
        entries[n++] = state("a.service", "m0", JOB_STATE_LOADED, "failed"); /* stale */
        entries[n++] = machine("m2", "", NULL, 0);
        entries[n++] = machine("m1", "1.2.3.4", m1_meta, ELEMENTSOF(m1_meta));
        entries[n++] = meta("m1", "zone", "z1");
        entries[n++] = meta("m1", "role", "");
        entries[n++] = meta("m9", "x", "y");
        entries[n++] = meta("m2", "disk", "ssd");
        entries[n++] = meta("m1", "aaa", "");
        n_entries = n;

        idx = (ApiIndex){};
        /* in two batches, like several listings */
        ck_assert_int_eq(api_index_add(&idx, entries, 7), 0);
        ck_assert_int_eq(api_index_add(&idx, entries + 7, n - 7), 0);
        api_index_sort(&idx);
}

static void teardown(void) {
        api_index_done(&idx);
}

static char *unit_json(const char *name, bool in_list) {
        const RegistryJob *j = api_index_job(&idx, name);
        ApiUnit u = {};
        char *s = NULL;

        ck_assert_ptr_nonnull(j);
        ck_assert_int_eq(api_index_unit(&idx, j, in_list, &u), 0);
        ck_assert_int_eq(api_unit_format(&u, &s), 0);
        api_unit_done(&u);
        return s;
}

#define OPTS                                                                                       \
        "\"options\":[{\"name\":\"Description\",\"section\":\"Unit\",\"value\":\"x\"},"            \
        "{\"name\":\"ExecStart\",\"section\":\"Service\",\"value\":\"/bin/true\"}]"

START_TEST(test_units) {
        static const struct {
                const char *name;
                bool in_list;
                const char *json;
        } t[] = {
                /* scheduled with a state on its target: the state's fleetState */
                {"a.service", true,
                 "{\"currentState\":\"launched\",\"desiredState\":\"launched\",\"machineID\":"
                 "\"m1\",\"name\":\"a.service\"," OPTS "}"},
                {"a.service", false,
                 "{\"currentState\":\"launched\",\"desiredState\":\"launched\",\"machineID\":"
                 "\"m1\",\"name\":\"a.service\"," OPTS "}"},
                /* global: no machineID; "inactive" in lists, no currentState alone */
                {"b.service", true,
                 "{\"currentState\":\"inactive\",\"desiredState\":\"loaded\",\"name\":"
                 "\"b.service\",\"options\":[{\"name\":\"Global\",\"section\":\"X-Fleet\","
                 "\"value\":\"true\"}]}"},
                {"b.service", false,
                 "{\"desiredState\":\"loaded\",\"name\":\"b.service\",\"options\":[{\"name\":"
                 "\"Global\",\"section\":\"X-Fleet\",\"value\":\"true\"}]}"},
                /* not scheduled: inactive, even with a state somewhere */
                {"d.service", false,
                 "{\"currentState\":\"inactive\",\"desiredState\":\"inactive\",\"name\":"
                 "\"d.service\"," OPTS "}"},
                /* scheduled without a state on its target yet */
                {"e.service", true,
                 "{\"currentState\":\"inactive\",\"desiredState\":\"launched\",\"machineID\":"
                 "\"m2\",\"name\":\"e.service\"," OPTS "}"},
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                char *s = unit_json(t[i].name, t[i].in_list);

                ck_assert_str_eq(s, t[i].json);
                free(s);
        }
}
END_TEST

/* fleet-c's reason: served only for the job version it describes. */
START_TEST(test_unit_reason) {
        RegistryEntry e[5];
        ApiIndex x = {};
        ApiUnit u = {};
        char *json = NULL;

        e[0] = job("f.service", H1, JOB_STATE_LAUNCHED, false);
        e[0].mod_revision = 5;
        e[1] = job("g.service", H1, JOB_STATE_LAUNCHED, false);
        e[1].mod_revision = 8;
        e[2] = unit(H1, "[Unit]\nDescription=x\n", true);
        for (size_t i = 3; i < 5; i++)
                e[i] = (RegistryEntry){.key = {REGISTRY_KEY_REASON,
                                               (char *) (i == 3 ? "f.service" : "g.service"), NULL},
                                       .has_value = true,
                                       .reason = {(char *) "no machines available", 5 + i - 3}};
        ck_assert_int_eq(api_index_add(&x, e, ELEMENTSOF(e)), 0);
        api_index_sort(&x);
        ck_assert_str_eq(api_index_reason(&x, "f.service"), "no machines available");
        ck_assert_ptr_null(api_index_reason(&x, "g.service")); /* stale: job changed since */
        ck_assert_ptr_null(api_index_reason(&x, "h.service"));
        ck_assert_int_eq(api_index_unit(&x, api_index_job(&x, "f.service"), true, &u), 0);
        ck_assert_int_eq(api_unit_format(&u, &json), 0);
        ck_assert_str_eq(json, "{\"currentState\":\"inactive\",\"desiredState\":\"launched\","
                               "\"name\":\"f.service\",\"options\":[{\"name\":\"Description\","
                               "\"section\":\"Unit\",\"value\":\"x\"}],\"reason\":\"no machines "
                               "available\"}");
        free(json);
        api_unit_done(&u);
        ck_assert_int_eq(api_index_unit(&x, api_index_job(&x, "g.service"), true, &u), 0);
        ck_assert_ptr_null(u.reason);
        api_unit_done(&u);
        api_index_done(&x);
}
END_TEST

START_TEST(test_unit_without_content) {
        const RegistryJob *j = api_index_job(&idx, "c.service");
        ApiUnit u = {};

        ck_assert_ptr_nonnull(j);
        ck_assert_int_eq(api_index_unit(&idx, j, true, &u), -ENOENT);
        ck_assert_ptr_null(api_index_job(&idx, "zzz.service"));
}
END_TEST

START_TEST(test_visible_jobs) {
        const RegistryJob **jobs = NULL;
        size_t n = 0;

        ck_assert_int_eq(api_index_visible_jobs(&idx, &jobs, &n), 0);
        ck_assert_uint_eq(n, 4);
        ck_assert_str_eq(jobs[0]->name, "a.service");
        ck_assert_str_eq(jobs[1]->name, "b.service");
        ck_assert_str_eq(jobs[2]->name, "d.service");
        ck_assert_str_eq(jobs[3]->name, "e.service");
        free(jobs);
}
END_TEST

START_TEST(test_current_state) {
        const char *m = NULL;

        ck_assert_int_eq(api_index_current_state(&idx, "a.service", &m), JOB_STATE_LAUNCHED);
        ck_assert_str_eq(m, "m1");
        ck_assert_int_eq(api_index_current_state(&idx, "d.service", &m), JOB_STATE_INACTIVE);
        ck_assert_ptr_null(m);
        ck_assert_int_eq(api_index_current_state(&idx, "e.service", &m), JOB_STATE_INACTIVE);
        ck_assert_str_eq(m, "m2");
        ck_assert_str_eq(api_index_target(&idx, "a.service"), "m1");
        ck_assert_ptr_null(api_index_target(&idx, "x.service"));
}
END_TEST

static void assert_states(const char *machine, const char *name, const char *expected) {
        ApiUnitState *s = NULL;
        size_t n = 0;
        char *json = NULL;

        ck_assert_int_eq(api_index_unit_states(&idx, machine, name, &s, &n), 0);
        ck_assert_int_eq(api_unit_state_page_format(s, n, NULL, &json), 0);
        ck_assert_str_eq(json, expected);
        free(json);
        api_unit_state_array_free(s, n);
}

#define ST(name, m, active)                                                                        \
        "{\"hash\":\"" H1 "\",\"machineID\":\"" m "\",\"name\":\"" name "\","                      \
        "\"systemdActiveState\":\"" active "\",\"systemdLoadState\":\"loaded\","                   \
        "\"systemdSubState\":\"running\"}"

START_TEST(test_unit_states) {
        assert_states(
                NULL, NULL,
                "{\"states\":[" ST("a.service", "m0", "failed") "," ST(
                        "a.service", "m1", "active") "," ST("d.service", "m1", "inactive") "]}");
        assert_states(
                "", "",
                "{\"states\":[" ST("a.service", "m0", "failed") "," ST(
                        "a.service", "m1", "active") "," ST("d.service", "m1", "inactive") "]}");
        assert_states("m1", NULL,
                      "{\"states\":[" ST("a.service", "m1", "active") "," ST("d.service", "m1",
                                                                             "inactive") "]}");
        assert_states(NULL, "a.service",
                      "{\"states\":[" ST("a.service", "m0", "failed") "," ST("a.service", "m1",
                                                                             "active") "]}");
        assert_states("m1", "a.service", "{\"states\":[" ST("a.service", "m1", "active") "]}");
        assert_states("m9", NULL, "{}");
        assert_states(NULL, "A.service", "{}");
}
END_TEST

START_TEST(test_machines) {
        ApiMachine *m = NULL;
        size_t n = 0;
        char *json = NULL;

        ck_assert_int_eq(api_index_machines(&idx, &m, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(api_machine_page_format(m, n, "tok", &json), 0);
        /* role removed by its empty overlay, zone added, aaa (empty, absent) ignored; m9 has no
         * machine entry */
        ck_assert_str_eq(json, "{\"machines\":[{\"id\":\"m1\",\"metadata\":{\"region\":\"us\","
                               "\"zone\":\"z1\"},\"primaryIP\":\"1.2.3.4\"},{\"id\":\"m2\","
                               "\"metadata\":{\"disk\":\"ssd\"}}],\"nextPageToken\":\"tok\"}");
        free(json);
        api_machine_array_free(m, n);
}
END_TEST

START_TEST(test_machines_keys_only) {
        RegistryEntry e[] = {{.key = {REGISTRY_KEY_MACHINE, NULL, (char *) "m5"}},
                             meta("m5", "k", "v")};
        ApiIndex x = {};
        ApiMachine *m = NULL;
        size_t n = 0;
        char *json = NULL;

        ck_assert_int_eq(api_index_add(&x, e, ELEMENTSOF(e)), 0);
        api_index_sort(&x);
        ck_assert_int_eq(api_index_machines(&x, &m, &n), 0);
        ck_assert_int_eq(api_machine_page_format(m, n, NULL, &json), 0);
        ck_assert_str_eq(json, "{\"machines\":[{\"id\":\"m5\",\"metadata\":{\"k\":\"v\"}}]}");
        free(json);
        api_machine_array_free(m, n);
        api_index_done(&x);
}
END_TEST

START_TEST(test_empty) {
        ApiIndex x = {};
        ApiUnitState *s = NULL;
        ApiMachine *m = NULL;
        const RegistryJob **j = NULL;
        ApiUnitCounts c;
        size_t n = 9;

        api_index_sort(&x);
        ck_assert_int_eq(api_index_unit_states(&x, NULL, NULL, &s, &n), 0);
        ck_assert_uint_eq(n, 0);
        free(s);
        ck_assert_int_eq(api_index_machines(&x, &m, &n), 0);
        ck_assert_uint_eq(n, 0);
        free(m);
        ck_assert_int_eq(api_index_visible_jobs(&x, &j, &n), 0);
        ck_assert_uint_eq(n, 0);
        free(j);
        api_index_count_units(&x, &c);
        ck_assert_uint_eq(c.total, 0);
        api_index_done(&x);
}
END_TEST

START_TEST(test_counts) {
        ApiUnitCounts c;

        api_index_count_units(&idx, &c);
        ck_assert_uint_eq(c.total, 4);
        ck_assert_uint_eq(c.global, 1);
        ck_assert_uint_eq(c.desired[JOB_STATE_INACTIVE], 1);
        ck_assert_uint_eq(c.desired[JOB_STATE_LOADED], 1);
        ck_assert_uint_eq(c.desired[JOB_STATE_LAUNCHED], 2);
        ck_assert_uint_eq(c.current[JOB_STATE_INACTIVE], 3);
        ck_assert_uint_eq(c.current[JOB_STATE_LOADED], 0);
        ck_assert_uint_eq(c.current[JOB_STATE_LAUNCHED], 1);
}
END_TEST

START_TEST(test_counts_keys_only_units) {
        /* /metrics lists contents keys-only: presence is enough to count a unit */
        RegistryEntry e[] = {job("a.service", H1, JOB_STATE_LOADED, false), unit(H1, NULL, false),
                             job("b.service", H2, JOB_STATE_LOADED, false)};
        ApiIndex x = {};
        ApiUnitCounts c;
        ApiUnit u = {};

        ck_assert_int_eq(api_index_add(&x, e, ELEMENTSOF(e)), 0);
        api_index_sort(&x);
        api_index_count_units(&x, &c);
        ck_assert_uint_eq(c.total, 1);
        ck_assert_uint_eq(c.desired[JOB_STATE_LOADED], 1);
        /* but a unit cannot be rendered without its text */
        ck_assert_int_eq(api_index_unit(&x, api_index_job(&x, "a.service"), true, &u), -ENOENT);
        api_index_done(&x);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("api-model");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_units);
        tcase_add_test(tc, test_unit_without_content);
        tcase_add_test(tc, test_unit_reason);
        tcase_add_test(tc, test_visible_jobs);
        tcase_add_test(tc, test_current_state);
        tcase_add_test(tc, test_unit_states);
        tcase_add_test(tc, test_machines);
        tcase_add_test(tc, test_machines_keys_only);
        tcase_add_test(tc, test_empty);
        tcase_add_test(tc, test_counts);
        tcase_add_test(tc, test_counts_keys_only_units);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(suite)
