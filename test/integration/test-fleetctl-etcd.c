/* SPDX-License-Identifier: MIT */
/*
 * fleetctl's etcd driver (--driver=etcd, FLEETCTL_DRIVER=etcd, --experimental-api=false): every
 * command it serves prints exactly what the API driver prints, byte for byte, with the same exit
 * code, over one cluster state written to a real etcd (units submitted through a real Api,
 * machines, dynamic metadata, a schedule and unit states written as fleetd's agent and engine
 * write them), and fleet's warning when a newer fleetd registered. The commands that change units
 * run one sequence twice, from two empty prefixes, once through the API and once with the etcd
 * driver: every step prints the same, and the two registries end up the same. An unreachable etcd
 * is an error.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <systemd/sd-event.h>

#include "api.h"
#include "etcd-launcher.h"
#include "fleetctl-run.h"
#include "macro.h"
#include "registry.h"
#include "test-net.h"
#include "test-util.h"

#define SEC 1000000ULL
#define PREFIX "/t-fleetctl-etcd/"
#define MA "1a2b3c4d5e6f708192a3b4c5d6e7f801"
#define MB "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
#define MC "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0"
#define MD "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0"
#define W_API "/t-fleetctl-etcd-w-api/"
#define W_ETCD "/t-fleetctl-etcd-w-etcd/"

static sd_event *e;
static char *dir, *api_endpoint, *etcd_endpoint;
static FleetctlRun *run_api, *run_etcd;
static const char *prefix = "--etcd-key-prefix=" PREFIX;

static void write_file(const char *name, const char *text) {
        _cleanup_free_ char *p = NULL;
        FILE *f;

        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(fputs(text, f), 0);
        ck_assert_int_eq(fclose(f), 0);
}

/* Run fleetctl with the global flags pre (NULL-terminated, may be empty) then args. */
static FleetctlRun *run(FleetctlRun *out, char *const *pre, char *const *args) {
        char *argv[32];
        size_t n = 0;

        for (; *pre; pre++)
                argv[n++] = *pre;
        for (; *args; args++)
                argv[n++] = *args;
        argv[n] = NULL;
        ck_assert_int_eq(fleetctl_run(e, argv, dir, 60 * SEC, out), 0);
        return out;
}

static FleetctlRun *api(char *const *args) {
        char *pre[] = {api_endpoint, NULL};
        return run(run_api, pre, args);
}

static FleetctlRun *etcd(char *const *args) {
        char *pre[] = {(char *) "--driver=etcd", etcd_endpoint, (char *) prefix, NULL};
        return run(run_etcd, pre, args);
}

/* The same command both ways: the same exit code and output. */
static void assert_same(char *const *args, int status) {
        FleetctlRun *a = api(args), *b = etcd(args);

        ck_assert_msg(a->status == status, "%s (API): exit %d, expected %d:\n%s", args[0],
                      a->status, status, a->out);
        ck_assert_msg(b->status == a->status && streq(a->out, b->out),
                      "%s %s: API (exit %d):\n%s\netcd driver (exit %d):\n%s", args[0],
                      strempty(args[1]), a->status, a->out, b->status, b->out);
}

static void put_machine(Registry *r, const char *id, const char *ip, const char *role) {
        RegistryMetadata md = {(char *) "role", (char *) role};
        RegistryMachine m = {.id = (char *) id,
                             .public_ip = (char *) ip,
                             .metadata = &md,
                             .n_metadata = 1,
                             .version = (char *) FLEET_VERSION};

        ck_assert_int_eq(registry_put_machine_sync(r, &m, 0, NULL), 0);
}

START_TEST(test_etcd_driver) {
        EtcdLauncherOptions lo = {};
        _cleanup_(etcd_launcher_freep) EtcdLauncher *etcd_l = NULL;
        EtcdClient *client = NULL;
        Registry *registry = NULL;
        Api *a = NULL;
        char addr[64];
        int64_t term = 0;

        run_api = malloc(sizeof(FleetctlRun));
        run_etcd = malloc(sizeof(FleetctlRun));
        ck_assert(run_api && run_etcd);
        ck_assert_int_eq(etcd_launcher_start(&lo, &etcd_l), 0);
        ck_assert_int_eq(sd_event_new(&e), 0);
        EtcdClientConfig cc = {.endpoints = etcd_launcher_endpoints(etcd_l),
                               .request_timeout_usec = 5 * SEC};
        ck_assert_int_eq(etcd_client_new(&client, e, &cc), 0);
        ck_assert_int_eq(registry_new(&registry, client, PREFIX), 0);
        ck_assert_int_eq(api_new(&a, e, registry, &(ApiConfig){}), 0);
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", test_free_port());
        ck_assert_int_eq(api_listen(a, addr), 0);
        ck_assert_int_ge(asprintf(&api_endpoint, "--endpoint=http://%s", addr), 0);
        ck_assert_int_ge(
                asprintf(&etcd_endpoint, "--endpoint=%s", etcd_launcher_endpoint(etcd_l, 0)), 0);
        ck_assert_int_ge(asprintf(&dir, "%s/units", etcd_launcher_dir(etcd_l)), 0);
        ck_assert_int_eq(mkdir(dir, 0755), 0);

        /* an empty cluster */
        assert_same((char *[]){(char *) "list-units", NULL}, 0);
        assert_same((char *[]){(char *) "list-machines", NULL}, 0);
        assert_same((char *[]){(char *) "list-unit-files", NULL}, 0);

        /* two machines, one with dynamic metadata on top of its own */
        put_machine(registry, MA, "10.0.0.1", "web");
        put_machine(registry, MB, "10.0.0.2", "db");
        RegistryMetadata dyn = {(char *) "zone", (char *) "b"};
        ck_assert_int_eq(registry_patch_metadata_sync(registry, MB, &dyn, 1, NULL), 0);

        /* units, submitted through the API */
        write_file("hello.service", "[Unit]\nDescription=hello world\n\n[Service]\n"
                                    "ExecStart=/bin/sleep infinity\n");
        write_file("global.service", "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nGlobal=true\n");
        write_file("web@.service",
                   "[Unit]\nDescription=web %i\n\n[Service]\nExecStart=/bin/true\n");
        write_file("bad.service", "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nGlobal=true\n"
                                  "MachineID=" MA "\n");
        ck_assert_int_eq(api((char *[]){(char *) "submit", (char *) "hello.service",
                                        (char *) "global.service", (char *) "web@.service",
                                        (char *) "web@1.service", NULL})
                                 ->status,
                         0);
        ck_assert_int_eq(api((char *[]){(char *) "load", (char *) "--no-block",
                                        (char *) "hello.service", (char *) "web@1.service", NULL})
                                 ->status,
                         0);
        /* the engine's schedule and the agents' unit states */
        ck_assert_int_eq(registry_campaign_sync(registry,
                                                &(RegistryLeader){.machine_id = (char *) MA,
                                                                  .version = (char *) "1"},
                                                0, &term),
                         0);
        RegistryTarget t = {.desired_state = JOB_STATE_LOADED};
        {
                /* the hash as the API stored it */
                _cleanup_(registry_list_freep) RegistryList *l = NULL;
                ck_assert_int_eq(registry_list_sync(registry, REGISTRY_KEY_JOB, NULL, 0, false, &l),
                                 0);
                for (size_t i = 0; i < l->n_entries; i++)
                        if (streq(l->entries[i].key.name, "hello.service"))
                                memcpy(t.hash, l->entries[i].job.hash, sizeof(t.hash));
        }
        RegistryScheduleOp op = {.machine_id = MA, .name = "hello.service", .target = &t};
        ck_assert_int_eq(registry_apply_schedule_sync(registry, term, &op, 1, NULL), 0);
        RegistryUnitState st = {.name = (char *) "hello.service",
                                .machine_id = (char *) MA,
                                .load_state = (char *) "loaded",
                                .active_state = (char *) "inactive",
                                .sub_state = (char *) "dead",
                                .fleet_state = JOB_STATE_LOADED};
        memcpy(st.unit_hash, t.hash, sizeof(st.unit_hash));
        ck_assert_int_eq(registry_put_state_sync(registry, &st, 0, NULL), 0);
        st.name = (char *) "global.service";
        st.machine_id = (char *) MB;
        st.active_state = (char *) "active";
        st.sub_state = (char *) "exited";
        ck_assert_int_eq(registry_put_state_sync(registry, &st, 0, NULL), 0);

        /* every command the etcd driver serves, both ways */
        assert_same((char *[]){(char *) "list-machines", NULL}, 0);
        assert_same((char *[]){(char *) "list-machines", (char *) "--full", (char *) "--no-legend",
                               (char *) "--fields=machine,ip,metadata", NULL},
                    0);
        assert_same((char *[]){(char *) "list-units", NULL}, 0);
        assert_same((char *[]){(char *) "list-units", (char *) "--full",
                               (char *) "--fields=unit,load,active,sub,machine,hash", NULL},
                    0);
        assert_same((char *[]){(char *) "list-unit-files", NULL}, 0);
        assert_same((char *[]){(char *) "list-unit-files", (char *) "--full",
                               (char *) "--fields=unit,global,dstate,state,target,hash,desc", NULL},
                    0);
        assert_same((char *[]){(char *) "list-units", (char *) "--fields=bogus", NULL}, 1);
        assert_same((char *[]){(char *) "cat", (char *) "hello.service", NULL}, 0);
        assert_same((char *[]){(char *) "cat", (char *) "web@1", NULL}, 0);
        assert_same((char *[]){(char *) "cat", (char *) "nosuch.service", NULL}, 1);
        assert_same((char *[]){(char *) "status", (char *) "nosuch.service", NULL}, 1);
        assert_same((char *[]){(char *) "status", (char *) "web@1.service", NULL}, 1);
        assert_same((char *[]){(char *) "journal", (char *) "global.service", NULL}, 1);
        assert_same((char *[]){(char *) "journal", (char *) "nosuch.service", NULL}, 1);
        assert_same((char *[]){(char *) "ssh", (char *) "nosuch", NULL}, 1);
        assert_same((char *[]){(char *) "ssh", (char *) "global.service", NULL}, 1);
        assert_same((char *[]){(char *) "version", NULL}, 0);
        ck_assert_ptr_nonnull(strstr(run_etcd->out, "fleetctl version"));
        /* the output really came from etcd: the schedule, the states and the metadata */
        etcd((char *[]){(char *) "list-unit-files", (char *) "--full", NULL});
        ck_assert_msg(strstr(run_etcd->out, MA "/10.0.0.1"), "%s", run_etcd->out);
        etcd((char *[]){(char *) "list-machines", NULL});
        ck_assert_msg(strstr(run_etcd->out, "role=db,zone=b"), "%s", run_etcd->out);

        /* fleet's warning when a newer fleetd registered (the etcd driver only); versions
         * that are not versions are skipped */
        ck_assert_ptr_null(strstr(run_etcd->out, "WARNING"));
        RegistryMachine newer = {
                .id = (char *) MC, .public_ip = (char *) "", .version = (char *) "99.0.0"};
        RegistryMachine junk = {
                .id = (char *) MD, .public_ip = (char *) "", .version = (char *) "999"};
        ck_assert_int_eq(registry_put_machine_sync(registry, &newer, 0, NULL), 0);
        ck_assert_int_eq(registry_put_machine_sync(registry, &junk, 0, NULL), 0);
        etcd((char *[]){(char *) "list-unit-files", NULL});
        ck_assert_int_eq(run_etcd->status, 0);
        ck_assert_msg(strstr(run_etcd->out, "WARNING: fleetctl (" FLEET_VERSION ") is older than "
                                            "the latest registered\nversion of fleet found in the "
                                            "cluster (99.0.0)."),
                      "%s", run_etcd->out);
        ck_assert_ptr_null(
                strstr(api((char *[]){(char *) "list-unit-files", NULL})->out, "WARNING"));
        ck_assert_int_eq(registry_delete_sync(registry,
                                              &(RegistryKey){.kind = REGISTRY_KEY_MACHINE,
                                                             .machine_id = (char *) MC},
                                              NULL),
                         0);
        etcd((char *[]){(char *) "list-unit-files", NULL});
        ck_assert_ptr_null(strstr(run_etcd->out, "WARNING"));
        ck_assert_int_eq(registry_delete_sync(registry,
                                              &(RegistryKey){.kind = REGISTRY_KEY_MACHINE,
                                                             .machine_id = (char *) MD},
                                              NULL),
                         0);

        /* FLEETCTL_DRIVER=etcd and --experimental-api=false select it too */
        char *list[] = {(char *) "list-unit-files", NULL};
        api(list);
        ck_assert_int_eq(setenv("FLEETCTL_DRIVER", "etcd", 1), 0);
        run(run_etcd, (char *[]){etcd_endpoint, (char *) "--etcd-key-prefix=" PREFIX, NULL}, list);
        ck_assert_int_eq(unsetenv("FLEETCTL_DRIVER"), 0);
        ck_assert_str_eq(run_etcd->out, run_api->out);
        run(run_etcd,
            (char *[]){(char *) "--experimental-api=false", etcd_endpoint,
                       (char *) "--etcd-key-prefix=" PREFIX, NULL},
            list);
        ck_assert_str_eq(run_etcd->out, run_api->out);

        /* the commands that write, from two empty prefixes: one through a second Api, one with
         * the etcd driver; no agent and no engine run, so units stay inactive */
        Registry *wreg = NULL, *ereg = NULL;
        Api *wapi = NULL;
        ck_assert_int_eq(registry_new(&wreg, client, W_API), 0);
        ck_assert_int_eq(registry_new(&ereg, client, W_ETCD), 0);
        ck_assert_int_eq(api_new(&wapi, e, wreg, &(ApiConfig){}), 0);
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", test_free_port());
        ck_assert_int_eq(api_listen(wapi, addr), 0);
        free(api_endpoint);
        ck_assert_int_ge(asprintf(&api_endpoint, "--endpoint=http://%s", addr), 0);
        put_machine(wreg, MA, "10.0.0.1", "web");
        put_machine(ereg, MA, "10.0.0.1", "web");
        prefix = "--etcd-key-prefix=" W_ETCD;
        assert_same((char *[]){(char *) "submit", (char *) "hello.service",
                               (char *) "global.service", (char *) "web@.service", NULL},
                    0);
        assert_same((char *[]){(char *) "submit", (char *) "hello.service", NULL}, 0);
        assert_same((char *[]){(char *) "submit", (char *) "nosuch.service", NULL}, 1);
        assert_same((char *[]){(char *) "submit", (char *) "bad.service", NULL}, 1);
        assert_same(
                (char *[]){(char *) "start", (char *) "--no-block", (char *) "web@.service", NULL},
                1);
        assert_same(
                (char *[]){(char *) "start", (char *) "--no-block", (char *) "web@1.service", NULL},
                0);
        assert_same(
                (char *[]){(char *) "load", (char *) "--no-block", (char *) "hello.service", NULL},
                0);
        assert_same((char *[]){(char *) "load", (char *) "--block-attempts=1",
                               (char *) "web@2.service", NULL},
                    1);
        assert_same((char *[]){(char *) "start", (char *) "global.service", NULL}, 0);
        assert_same((char *[]){(char *) "list-unit-files", (char *) "--full", NULL}, 0);
        assert_same((char *[]){(char *) "stop", (char *) "hello.service", NULL}, 1);
        assert_same((char *[]){(char *) "stop", (char *) "global.service", NULL}, 0);
        assert_same((char *[]){(char *) "unload", (char *) "hello.service", NULL}, 0);
        assert_same((char *[]){(char *) "restart", (char *) "hello.service", NULL}, 0);
        /* a replacement: of an inactive unit only (reference 11.3) */
        write_file("other.service", "[Service]\nExecStart=/bin/true\n");
        assert_same((char *[]){(char *) "submit", (char *) "other.service", NULL}, 0);
        write_file("other.service", "[Unit]\nDescription=other again\n\n[Service]\n"
                                    "ExecStart=/bin/true\n");
        write_file("hello.service", "[Unit]\nDescription=hello again\n\n[Service]\n"
                                    "ExecStart=/bin/sleep infinity\n");
        assert_same((char *[]){(char *) "submit", (char *) "other.service", NULL}, 0);
        ck_assert_msg(strstr(run_etcd->out, "differs from local unit file"), "%s", run_etcd->out);
        assert_same((char *[]){(char *) "submit", (char *) "--replace", (char *) "other.service",
                               (char *) "hello.service", NULL},
                    0);
        ck_assert_msg(strstr(run_etcd->out, "can not replace Unit(hello.service) in state"), "%s",
                      run_etcd->out);
        assert_same((char *[]){(char *) "cat", (char *) "other.service", NULL}, 0);
        ck_assert_msg(strstr(run_etcd->out, "other again"), "%s", run_etcd->out);
        assert_same((char *[]){(char *) "list-unit-files", (char *) "--full", NULL}, 0);
        assert_same((char *[]){(char *) "destroy", (char *) "--no-block", (char *) "hello.service",
                               (char *) "web@1.service", (char *) "nosuch.service", NULL},
                    0);
        assert_same((char *[]){(char *) "destroy", (char *) "nosuch.service", NULL}, 0);
        assert_same((char *[]){(char *) "list-unit-files", (char *) "--full", NULL}, 0);
        ck_assert_msg(strstr(run_etcd->out, "global.service") &&
                              !strstr(run_etcd->out, "hello.service"),
                      "%s", run_etcd->out);
        /* the registries match, entry for entry (revisions aside) */
        {
                _cleanup_(registry_list_freep) RegistryList *la = NULL, *lb = NULL;
                ck_assert_int_eq(
                        registry_list_sync(wreg, _REGISTRY_KEY_KIND_INVALID, NULL, 0, false, &la),
                        0);
                ck_assert_int_eq(
                        registry_list_sync(ereg, _REGISTRY_KEY_KIND_INVALID, NULL, 0, false, &lb),
                        0);
                ck_assert_uint_eq(la->n_entries, lb->n_entries);
                for (size_t i = 0; i < la->n_entries; i++) {
                        ck_assert_int_eq(la->entries[i].key.kind, lb->entries[i].key.kind);
                        ck_assert_str_eq(strempty(la->entries[i].key.name),
                                         strempty(lb->entries[i].key.name));
                }
        }
        api_free(wapi);
        registry_free(wreg);
        registry_free(ereg);

        /* a wrong prefix is an empty cluster; an unreachable etcd an error */
        run(run_etcd,
            (char *[]){(char *) "--driver=etcd", etcd_endpoint,
                       (char *) "--etcd-key-prefix=/elsewhere/", NULL},
            (char *[]){(char *) "list-unit-files", (char *) "--no-legend", NULL});
        ck_assert_int_eq(run_etcd->status, 0);
        ck_assert_str_eq(run_etcd->out, "");
        _cleanup_free_ char *closed = NULL;
        ck_assert_int_ge(asprintf(&closed, "--endpoint=http://127.0.0.1:%d", test_free_port()), 0);
        run(run_etcd,
            (char *[]){(char *) "--driver=etcd", closed, (char *) "--request-timeout=1", NULL},
            (char *[]){(char *) "list-units", NULL});
        ck_assert_int_eq(run_etcd->status, 1);
        ck_assert_msg(strstr(run_etcd->out, "Error retrieving list of units from repository: "
                                            "unable to read the fleet registry from etcd"),
                      "%s", run_etcd->out);

        free(run_api);
        free(run_etcd);
        free(dir);
        free(api_endpoint);
        free(etcd_endpoint);
        api_free(a);
        registry_free(registry);
        etcd_client_free(client);
        sd_event_unref(e);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("fleetctl-etcd");
        TCase *tc = tcase_create("etcd-driver");

        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_etcd_driver);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(suite)
