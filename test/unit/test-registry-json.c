/* SPDX-License-Identifier: MIT */
/* The registry key schema and its JSON values. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "registry-json.h"
#include "test-util.h"

#define P REGISTRY_DEFAULT_PREFIX
#define HASH "0123456789abcdef0123456789abcdef01234567"
#define HASH2 "fedcba9876543210fedcba9876543210fedcba98"

/* ---- keys ----------------------------------------------------------------------------------- */

START_TEST(test_key_build) {
        static const struct {
                RegistryKeyKind kind;
                const char *name, *machine, *expect;
        } v[] = {
                {REGISTRY_KEY_UNIT, HASH, NULL, P "unit/" HASH},
                {REGISTRY_KEY_JOB, "web@1.service", NULL, P "job/web@1.service"},
                {REGISTRY_KEY_GLOBAL, "mon.service", NULL, P "global/mon.service"},
                {REGISTRY_KEY_SCHEDULE, "web.service", "m1", P "schedule/m1/web.service"},
                {REGISTRY_KEY_MACHINE, NULL, "m1", P "machine/m1"},
                {REGISTRY_KEY_METADATA, "region", "m1", P "metadata/m1/region"},
                {REGISTRY_KEY_STATE, "web.service", "m1", P "state/web.service/m1"},
                {REGISTRY_KEY_ENGINE_LEADER, NULL, NULL, P "engine/leader"},
                {REGISTRY_KEY_REASON, "db.service", NULL, P "reason/db.service"},
                {REGISTRY_KEY_CORDON, NULL, "m1", P "cordon/m1"},
                {REGISTRY_KEY_PIN, "mon.service", "m1", P "pin/m1/mon.service"},
        };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                RegistryKey k = {.kind = v[i].kind,
                                 .name = (char *) v[i].name,
                                 .machine_id = (char *) v[i].machine};
                _cleanup_free_ char *s = NULL;
                RegistryKey back = {};

                ck_assert_int_eq(registry_key_build(P, &k, &s), 0);
                ck_assert_str_eq(s, v[i].expect);
                ck_assert_int_eq(registry_key_parse(P, s, &back), 0);
                ck_assert_int_eq(back.kind, v[i].kind);
                if (v[i].name)
                        ck_assert_str_eq(back.name, v[i].name);
                else
                        ck_assert_ptr_null(back.name);
                if (v[i].machine)
                        ck_assert_str_eq(back.machine_id, v[i].machine);
                else
                        ck_assert_ptr_null(back.machine_id);
                registry_key_done(&back);
        }
}
END_TEST

START_TEST(test_key_shorthands) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL,
                            *g = NULL, *h = NULL;

        ck_assert_int_eq(registry_key_unit("/x", HASH, &a), 0);
        ck_assert_str_eq(a, "/x/unit/" HASH);
        ck_assert_int_eq(registry_key_job("/x/", "a.service", &b), 0);
        ck_assert_str_eq(b, "/x/job/a.service");
        ck_assert_int_eq(registry_key_global(P, "a.service", &c), 0);
        ck_assert_int_eq(registry_key_schedule(P, "m", "a.service", &d), 0);
        ck_assert_str_eq(d, P "schedule/m/a.service");
        ck_assert_int_eq(registry_key_machine(P, "m", &e), 0);
        ck_assert_int_eq(registry_key_metadata(P, "m", "k", &f), 0);
        ck_assert_int_eq(registry_key_state(P, "a.service", "m", &g), 0);
        ck_assert_str_eq(g, P "state/a.service/m");
        ck_assert_int_eq(registry_key_engine_leader(P, &h), 0);

        char *bad = NULL;
        ck_assert_int_eq(registry_key_unit(P, "ABCDEF", &bad), -EINVAL);
        ck_assert_int_eq(registry_key_unit(P, HASH "0", &bad), -EINVAL);
        ck_assert_int_eq(registry_key_job(P, "a/b.service", &bad), -EINVAL);
        ck_assert_int_eq(registry_key_job(P, "..", &bad), -EINVAL);
        ck_assert_int_eq(registry_key_job(P, "", &bad), -EINVAL);
        ck_assert_int_eq(registry_key_job(P, "a\nb", &bad), -EINVAL);
        ck_assert_int_eq(registry_key_job(P, NULL, &bad), -EINVAL);
        ck_assert_int_eq(registry_key_job(NULL, "a", &bad), -EINVAL);
        ck_assert_int_eq(registry_key_machine(P, ".", &bad), -EINVAL);
        ck_assert_int_eq(registry_key_schedule(P, "m", NULL, &bad), -EINVAL);
        RegistryKey extra = {
                .kind = REGISTRY_KEY_JOB, .name = (char *) "a", .machine_id = (char *) "m"};
        ck_assert_int_eq(registry_key_build(P, &extra, &bad), -EINVAL);
        RegistryKey kind = {.kind = _REGISTRY_KEY_KIND_MAX};
        ck_assert_int_eq(registry_key_build(P, &kind, &bad), -EINVAL);
        ck_assert_ptr_null(bad);
}
END_TEST

START_TEST(test_key_dir) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        char *bad = NULL;

        ck_assert_int_eq(registry_key_dir(P, _REGISTRY_KEY_KIND_INVALID, NULL, &a), 0);
        ck_assert_str_eq(a, P);
        ck_assert_int_eq(registry_key_dir(P, REGISTRY_KEY_SCHEDULE, "m1", &b), 0);
        ck_assert_str_eq(b, P "schedule/m1/");
        ck_assert_int_eq(registry_key_dir(P, REGISTRY_KEY_GLOBAL, NULL, &c), 0);
        ck_assert_str_eq(c, P "global/");
        ck_assert_int_eq(registry_key_dir("/nos", REGISTRY_KEY_STATE, "x.service", &d), 0);
        ck_assert_str_eq(d, "/nos/state/x.service/");
        ck_assert_int_eq(registry_key_dir(P, REGISTRY_KEY_METADATA, "a/b", &bad), -EINVAL);
        ck_assert_int_eq(registry_key_dir(P, _REGISTRY_KEY_KIND_MAX, NULL, &bad), -EINVAL);
        ck_assert_ptr_null(bad);
}
END_TEST

START_TEST(test_key_parse_rejects) {
        static const char *const bad[] = {
                "/other/job/a.service",
                P "job",
                P "job/",
                P "job/a/b",
                P "jobs/a.service",
                P "unit/XYZ",
                P "unit/" HASH "/x",
                P "schedule/m1",
                P "schedule/m1/",
                P "schedule//a.service",
                P "schedule/m1/a/b",
                P "machine/m1/object",
                P "metadata/m1",
                P "state/a.service",
                P "state/../m1",
                P "engine/leader/x",
                P "engine/version",
                P,
                "",
                "/_coreos.com/fleetjob/a",
        };
        RegistryKey k = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(registry_key_parse(P, bad[i], &k) == -EINVAL, "%s", bad[i]);
        ck_assert_int_eq(k.kind, 0);
        ck_assert_ptr_null(k.name);
        /* A prefix without trailing slash behaves the same. */
        ck_assert_int_eq(registry_key_parse("/p", "/p/job/a.service", &k), 0);
        ck_assert_str_eq(k.name, "a.service");
        registry_key_done(&k);
        ck_assert_int_eq(registry_key_parse("/p", "/pjob/a.service", &k), -EINVAL);
        ck_assert_str_eq(registry_key_kind_to_string(REGISTRY_KEY_METADATA), "metadata");
        ck_assert_int_eq(registry_key_kind_from_string("engine"), REGISTRY_KEY_ENGINE_LEADER);
        ck_assert_int_eq(registry_key_kind_from_string("x"), _REGISTRY_KEY_KIND_INVALID);
        ck_assert_ptr_null(registry_key_kind_to_string(_REGISTRY_KEY_KIND_MAX));
}
END_TEST

/* ---- values --------------------------------------------------------------------------------- */

START_TEST(test_job_json) {
        RegistryJob j = {.name = (char *) "web.service",
                         .hash = HASH,
                         .desired_state = JOB_STATE_LAUNCHED,
                         .global = true};
        _cleanup_free_ char *s = NULL;
        RegistryJob back = {};

        ck_assert_int_eq(registry_job_to_json(&j, &s), 0);
        ck_assert_str_eq(s, "{\"name\":\"web.service\",\"hash\":\"" HASH
                            "\",\"desiredState\":\"launched\",\"global\":true}");
        ck_assert_int_eq(registry_job_from_json(s, strlen(s), &back), 0);
        ck_assert_str_eq(back.name, "web.service");
        ck_assert_str_eq(back.hash, HASH);
        ck_assert_int_eq(back.desired_state, JOB_STATE_LAUNCHED);
        ck_assert(back.global);
        registry_job_done(&back);

        const char *minimal = "{\"name\":\"a.service\",\"hash\":\"" HASH "\","
                              "\"desiredState\":\"inactive\",\"extra\":1}";
        ck_assert_int_eq(registry_job_from_json(minimal, strlen(minimal), &back), 0);
        ck_assert(!back.global);
        ck_assert_int_eq(back.desired_state, JOB_STATE_INACTIVE);
        RegistryJob copy = {};
        ck_assert_int_eq(registry_job_copy(&back, &copy), 0);
        ck_assert_str_eq(copy.name, "a.service");
        registry_job_done(&copy);
        registry_job_done(&back);

        static const char *const bad[] = {
                "{\"name\":\"a.service\",\"hash\":\"" HASH "\",\"desiredState\":\"running\"}",
                "{\"name\":\"a.service\",\"hash\":\"" HASH "\"}",
                "{\"name\":\"a.service\",\"hash\":\"abc\",\"desiredState\":\"loaded\"}",
                "{\"name\":\"a/b\",\"hash\":\"" HASH "\",\"desiredState\":\"loaded\"}",
                "{\"name\":5,\"hash\":\"" HASH "\",\"desiredState\":\"loaded\"}",
                "{\"hash\":\"" HASH "\",\"desiredState\":\"loaded\"}",
                "{\"name\":\"a\",\"hash\":\"" HASH "\",\"desiredState\":\"loaded\",\"global\":1}",
                "[]",
                "{\"name\":\"a\",",
                "",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(registry_job_from_json(bad[i], strlen(bad[i]), &back) == -EBADMSG,
                              "case %zu", i);
        ck_assert_ptr_null(back.name);

        j.name = (char *) "a/b";
        ck_assert_int_eq(registry_job_to_json(&j, &s), -EINVAL);
        j.name = (char *) "a";
        j.desired_state = _JOB_STATE_MAX;
        ck_assert_int_eq(registry_job_to_json(&j, &s), -EINVAL);

        /* Every truncation fails cleanly. */
        _cleanup_free_ char *full = NULL;
        j.desired_state = JOB_STATE_LOADED;
        ck_assert_int_eq(registry_job_to_json(&j, &full), 0);
        for (size_t n = 0; n < strlen(full); n++)
                ck_assert_int_eq(registry_job_from_json(full, n, &back), -EBADMSG);
}
END_TEST

START_TEST(test_target_json) {
        RegistryTarget t = {.hash = HASH2, .desired_state = JOB_STATE_LOADED};
        _cleanup_free_ char *s = NULL;
        RegistryTarget back = {};

        ck_assert_int_eq(registry_target_to_json(&t, &s), 0);
        ck_assert_str_eq(s, "{\"hash\":\"" HASH2 "\",\"desiredState\":\"loaded\"}");
        ck_assert_int_eq(registry_target_from_json(s, strlen(s), &back), 0);
        ck_assert_str_eq(back.hash, HASH2);
        ck_assert_int_eq(back.desired_state, JOB_STATE_LOADED);
        ck_assert_int_eq(registry_target_from_json("{\"hash\":\"" HASH2 "\"}", 51, &back),
                         -EBADMSG);
        RegistryTarget bad = {.hash = "x"};
        ck_assert_int_eq(registry_target_to_json(&bad, &s), -EINVAL);
}
END_TEST

START_TEST(test_machine_json) {
        /* fleet v1's MachineState, as it wrote it (reference 4.3). */
        const char *fleet = "{\"ID\":\"m1\",\"PublicIP\":\"1.2.3.4\",\"Metadata\":{\"region\":"
                            "\"us\",\"az\":\"b\"},\"Capabilities\":{\"GRPC\":false,"
                            "\"DISABLE_ENGINE\":true},\"Version\":\"1.0.0\"}";
        RegistryMachine m = {}, copy = {};
        _cleanup_free_ char *s = NULL;

        ck_assert_int_eq(registry_machine_from_json(fleet, strlen(fleet), &m), 0);
        ck_assert_str_eq(m.id, "m1");
        ck_assert_str_eq(m.public_ip, "1.2.3.4");
        ck_assert_uint_eq(m.n_metadata, 2);
        ck_assert_str_eq(m.metadata[0].key, "az"); /* sorted */
        ck_assert_str_eq(registry_machine_get_metadata(&m, "region"), "us");
        ck_assert_ptr_null(registry_machine_get_metadata(&m, "none"));
        ck_assert_uint_eq(m.n_capabilities, 2);
        ck_assert_str_eq(m.capabilities[0].name, "DISABLE_ENGINE");
        ck_assert(m.capabilities[0].enabled);
        ck_assert(!m.capabilities[1].enabled);
        ck_assert_str_eq(m.version, "1.0.0");

        ck_assert_int_eq(registry_machine_to_json(&m, &s), 0);
        ck_assert_str_eq(s, "{\"Metadata\":{\"az\":\"b\",\"region\":\"us\"},\"Capabilities\":"
                            "{\"DISABLE_ENGINE\":true,\"GRPC\":false},\"ID\":\"m1\","
                            "\"PublicIP\":\"1.2.3.4\",\"Version\":\"1.0.0\"}");
        ck_assert_int_eq(registry_machine_copy(&m, &copy), 0);
        ck_assert_str_eq(registry_machine_get_metadata(&copy, "az"), "b");
        registry_machine_done(&copy);

        /* Dynamic metadata overlay: set, override, and "" removes. */
        RegistryMetadata overlay[] = {
                {.key = (char *) "region", .value = (char *) "eu"},
                {.key = (char *) "az", .value = (char *) ""},
                {.key = (char *) "disk", .value = (char *) "ssd"},
                {.key = (char *) "absent", .value = NULL},
        };
        ck_assert_int_eq(registry_machine_merge_metadata(&m, overlay, ELEMENTSOF(overlay)), 0);
        ck_assert_uint_eq(m.n_metadata, 2);
        ck_assert_str_eq(m.metadata[0].key, "disk");
        ck_assert_str_eq(m.metadata[1].value, "eu");
        registry_machine_done(&m);

        /* Minimal and null forms; empty maps are encoded as {}. */
        const char *min = "{\"ID\":\"m2\",\"Metadata\":null,\"Capabilities\":null}";
        ck_assert_int_eq(registry_machine_from_json(min, strlen(min), &m), 0);
        ck_assert_str_eq(m.public_ip, "");
        ck_assert_str_eq(m.version, "");
        ck_assert_uint_eq(m.n_metadata, 0);
        free(s);
        ck_assert_int_eq(registry_machine_to_json(&m, &s), 0);
        ck_assert_str_eq(s, "{\"Metadata\":{},\"Capabilities\":{},\"ID\":\"m2\","
                            "\"PublicIP\":\"\",\"Version\":\"\"}");
        registry_machine_done(&m);

        static const char *const bad[] = {
                "{\"PublicIP\":\"1.2.3.4\"}",
                "{\"ID\":\"\"}",
                "{\"ID\":\"a/b\"}",
                "{\"ID\":\"m\",\"Metadata\":{\"k\":1}}",
                "{\"ID\":\"m\",\"Metadata\":[]}",
                "{\"ID\":\"m\",\"Capabilities\":{\"GRPC\":\"no\"}}",
                "{\"ID\":\"m\",\"PublicIP\":5}",
                "{\"ID\":\"m\"",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(registry_machine_from_json(bad[i], strlen(bad[i]), &m) == -EBADMSG,
                              "case %zu", i);
        ck_assert_ptr_null(m.id);
}
END_TEST

START_TEST(test_unit_state_json) {
        RegistryUnitState st = {.name = (char *) "a.service",
                                .machine_id = (char *) "m1",
                                .load_state = (char *) "loaded",
                                .active_state = (char *) "active",
                                .sub_state = (char *) "running",
                                .unit_hash = HASH,
                                .fleet_state = JOB_STATE_LAUNCHED};
        _cleanup_free_ char *s = NULL;
        RegistryUnitState back = {}, copy = {};

        ck_assert_int_eq(registry_unit_state_to_json(&st, &s), 0);
        ck_assert_str_eq(s, "{\"loadState\":\"loaded\",\"activeState\":\"active\",\"subState\":"
                            "\"running\",\"unitHash\":\"" HASH "\",\"fleetState\":\"launched\"}");
        ck_assert_int_eq(registry_unit_state_from_json(s, strlen(s), &back), 0);
        ck_assert_ptr_null(back.name);
        ck_assert_str_eq(back.sub_state, "running");
        ck_assert_int_eq(back.fleet_state, JOB_STATE_LAUNCHED);
        ck_assert_int_eq(registry_unit_state_copy(&st, &copy), 0);
        ck_assert_str_eq(copy.machine_id, "m1");
        registry_unit_state_done(&copy);
        registry_unit_state_done(&back);

        const char *nohash = "{\"loadState\":\"loaded\",\"fleetState\":\"loaded\"}";
        ck_assert_int_eq(registry_unit_state_from_json(nohash, strlen(nohash), &back), -EBADMSG);
        const char *badstate = "{\"unitHash\":\"" HASH "\",\"fleetState\":\"up\"}";
        ck_assert_int_eq(registry_unit_state_from_json(badstate, strlen(badstate), &back),
                         -EBADMSG);
        st.unit_hash[0] = 0;
        ck_assert_int_eq(registry_unit_state_to_json(&st, &s), -EINVAL);
}
END_TEST

START_TEST(test_leader_json) {
        RegistryLeader l = {.machine_id = (char *) "m1", .version = (char *) "0.1.0"};
        _cleanup_free_ char *s = NULL;
        RegistryLeader back = {};

        ck_assert_int_eq(registry_leader_to_json(&l, &s), 0);
        ck_assert_str_eq(s, "{\"MachineID\":\"m1\",\"Version\":\"0.1.0\"}");
        ck_assert_int_eq(registry_leader_from_json(s, strlen(s), &back), 0);
        ck_assert_str_eq(back.version, "0.1.0");
        registry_leader_done(&back);
        /* fleet v1 wrote a number. */
        const char *v1 = "{\"MachineID\":\"m2\",\"Version\":1}";
        ck_assert_int_eq(registry_leader_from_json(v1, strlen(v1), &back), 0);
        ck_assert_str_eq(back.machine_id, "m2");
        ck_assert_str_eq(back.version, "1");
        registry_leader_done(&back);
        ck_assert_int_eq(registry_leader_from_json("{\"Version\":1}", 13, &back), -EBADMSG);
}
END_TEST

/* ---- entries -------------------------------------------------------------------------------- */

static EtcdKeyValue kv(const char *key, const char *value) {
        return (EtcdKeyValue){.key = (char *) key,
                              .value = (char *) value,
                              .value_size = strlen(value),
                              .create_revision = 3,
                              .mod_revision = 5,
                              .version = 2,
                              .lease = 77};
}

START_TEST(test_entry_decode) {
        RegistryEntry e = {};
        EtcdKeyValue x;

        x = kv(P "unit/" HASH, "[Service]\nExecStart=/bin/true\n");
        ck_assert_int_eq(registry_entry_decode(P, &x, true, &e), 0);
        ck_assert_int_eq(e.key.kind, REGISTRY_KEY_UNIT);
        ck_assert(e.has_value);
        ck_assert_str_eq(e.unit_text, "[Service]\nExecStart=/bin/true\n");
        ck_assert_int_eq(e.mod_revision, 5);
        ck_assert_int_eq(e.lease, 77);
        registry_entry_done(&e);

        x = kv(P "state/a.service/m1",
               "{\"loadState\":\"loaded\",\"unitHash\":\"" HASH "\",\"fleetState\":\"loaded\"}");
        ck_assert_int_eq(registry_entry_decode(P, &x, true, &e), 0);
        ck_assert_str_eq(e.state.name, "a.service");
        ck_assert_str_eq(e.state.machine_id, "m1");
        ck_assert_str_eq(e.state.active_state, "");
        registry_entry_done(&e);

        x = kv(P "schedule/m1/a.service", "{\"hash\":\"" HASH "\",\"desiredState\":\"launched\"}");
        ck_assert_int_eq(registry_entry_decode(P, &x, true, &e), 0);
        ck_assert_str_eq(e.key.machine_id, "m1");
        ck_assert_int_eq(e.target.desired_state, JOB_STATE_LAUNCHED);
        registry_entry_done(&e);

        x = kv(P "metadata/m1/region", "eu");
        ck_assert_int_eq(registry_entry_decode(P, &x, true, &e), 0);
        ck_assert_str_eq(e.metadata_value, "eu");
        registry_entry_done(&e);

        x = kv(P "machine/m1", "{\"ID\":\"m1\"}");
        ck_assert_int_eq(registry_entry_decode(P, &x, true, &e), 0);
        ck_assert_str_eq(e.machine.id, "m1");
        registry_entry_done(&e);

        x = kv(P "engine/leader", "{\"MachineID\":\"m1\",\"Version\":\"x\"}");
        ck_assert_int_eq(registry_entry_decode(P, &x, true, &e), 0);
        ck_assert_str_eq(e.leader.machine_id, "m1");
        registry_entry_done(&e);

        /* Keys only: no value decoded, even an invalid one. */
        x = kv(P "job/a.service", "garbage");
        ck_assert_int_eq(registry_entry_decode(P, &x, false, &e), 0);
        ck_assert(!e.has_value);
        ck_assert_str_eq(e.key.name, "a.service");
        registry_entry_done(&e);
        ck_assert_int_eq(registry_entry_decode(P, &x, true, &e), -EBADMSG);
        x = kv(P "state/a.service/m1", "{\"unitHash\":\"" HASH "\"}");
        ck_assert_int_eq(registry_entry_decode(P, &x, true, &e), -EBADMSG);
        x = kv("/elsewhere/job/a.service", "{}");
        ck_assert_int_eq(registry_entry_decode(P, &x, true, &e), -EINVAL);
        ck_assert_ptr_null(e.key.name);
        ck_assert_ptr_null(registry_entry_array_free(NULL, 0));
}
END_TEST

START_TEST(test_reason_json) {
        RegistryReason r = {.reason = (char *) "no machine satisfies \"x\"", .job_revision = 42};
        _cleanup_free_ char *json = NULL, *key = NULL;
        RegistryReason back = {};
        RegistryEntry e = {};
        EtcdKeyValue x;
        static const char *const bad[] = {
                "{\"reason\":\"x\"}",
                "{\"reason\":\"x\",\"jobRevision\":0}",
                "{\"reason\":\"x\",\"jobRevision\":\"5\"}",
                "{\"jobRevision\":5}",
                "{\"reason\":7,\"jobRevision\":5}",
                "[]",
        };

        ck_assert_int_eq(registry_reason_to_json(&r, &json), 0);
        ck_assert_str_eq(json,
                         "{\"jobRevision\":42,\"reason\":\"no machine satisfies \\\"x\\\"\"}");
        ck_assert_int_eq(registry_reason_from_json(json, strlen(json), &back), 0);
        ck_assert_str_eq(back.reason, r.reason);
        ck_assert_int_eq(back.job_revision, 42);
        registry_reason_done(&back);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_int_eq(registry_reason_from_json(bad[i], strlen(bad[i]), &back),
                                 -EBADMSG);
        r.job_revision = 0;
        ck_assert_int_eq(registry_reason_to_json(&r, &key), -EINVAL);
        ck_assert_int_eq(registry_key_reason(P, "db.service", &key), 0);
        ck_assert_str_eq(key, P "reason/db.service");
        ck_assert_int_eq(registry_key_kind_from_string("reason"), REGISTRY_KEY_REASON);

        x = kv(P "reason/db.service", json);
        ck_assert_int_eq(registry_entry_decode(P, &x, true, &e), 0);
        ck_assert_int_eq(e.key.kind, REGISTRY_KEY_REASON);
        ck_assert_str_eq(e.reason.reason, "no machine satisfies \"x\"");
        registry_entry_done(&e);
}
END_TEST

START_TEST(test_cordon_json) {
        RegistryCordon c = {.draining = true}, back = {.draining = true};
        _cleanup_free_ char *json = NULL, *key = NULL;
        RegistryEntry e = {};
        EtcdKeyValue x;

        ck_assert_int_eq(registry_cordon_to_json(&c, &json), 0);
        ck_assert_str_eq(json, "{\"draining\":true}");
        ck_assert_int_eq(registry_cordon_from_json("{}", 2, &back), 0);
        ck_assert(!back.draining);
        ck_assert_int_eq(registry_cordon_from_json("{\"draining\":1}", 14, &back), -EBADMSG);
        ck_assert_int_eq(registry_cordon_from_json("x", 1, &back), -EBADMSG);
        ck_assert_int_eq(registry_key_cordon(P, "m1", &key), 0);
        ck_assert_str_eq(key, P "cordon/m1");
        x = kv(P "cordon/m1", json);
        ck_assert_int_eq(registry_entry_decode(P, &x, true, &e), 0);
        ck_assert_int_eq(e.key.kind, REGISTRY_KEY_CORDON);
        ck_assert_str_eq(e.key.machine_id, "m1");
        ck_assert(e.cordon.draining);
        registry_entry_done(&e);
}
END_TEST

START_TEST(test_pin_json) {
        static const char *const bad[] = {
                "{}",
                "{\"hash\":1}",
                "{\"hash\":\"abc\"}",
                "x",
                "{\"hash\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
        };
        RegistryPin p = {.hash = "0123456789abcdef0123456789abcdef01234567"}, back = {};
        _cleanup_free_ char *json = NULL, *key = NULL, *bad_json = NULL;
        RegistryEntry e = {};
        EtcdKeyValue x;

        ck_assert_int_eq(registry_pin_to_json(&p, &json), 0);
        ck_assert_str_eq(json, "{\"hash\":\"0123456789abcdef0123456789abcdef01234567\"}");
        ck_assert_int_eq(registry_pin_from_json(json, strlen(json), &back), 0);
        ck_assert_str_eq(back.hash, p.hash);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_int_eq(registry_pin_from_json(bad[i], strlen(bad[i]), &back), -EBADMSG);
        ck_assert_int_eq(registry_pin_to_json(&(RegistryPin){.hash = "x"}, &bad_json), -EINVAL);
        ck_assert_int_eq(registry_key_pin(P, "m1", "mon.service", &key), 0);
        ck_assert_str_eq(key, P "pin/m1/mon.service");
        ck_assert_int_eq(registry_key_kind_from_string("pin"), REGISTRY_KEY_PIN);
        x = kv(P "pin/m1/mon.service", json);
        ck_assert_int_eq(registry_entry_decode(P, &x, true, &e), 0);
        ck_assert_int_eq(e.key.kind, REGISTRY_KEY_PIN);
        ck_assert_str_eq(e.key.machine_id, "m1");
        ck_assert_str_eq(e.key.name, "mon.service");
        ck_assert_str_eq(e.pin.hash, p.hash);
        registry_entry_done(&e);
}
END_TEST

static Suite *registry_json_suite(void) {
        Suite *s = suite_create("registry-json");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_key_build);
        tcase_add_test(tc, test_key_shorthands);
        tcase_add_test(tc, test_key_dir);
        tcase_add_test(tc, test_key_parse_rejects);
        tcase_add_test(tc, test_job_json);
        tcase_add_test(tc, test_target_json);
        tcase_add_test(tc, test_machine_json);
        tcase_add_test(tc, test_unit_state_json);
        tcase_add_test(tc, test_leader_json);
        tcase_add_test(tc, test_entry_decode);
        tcase_add_test(tc, test_reason_json);
        tcase_add_test(tc, test_cordon_json);
        tcase_add_test(tc, test_pin_json);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(registry_json_suite)
