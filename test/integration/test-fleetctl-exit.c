/* SPDX-License-Identifier: MIT */
/*
 * fleetctl's exit codes, one table row per command and error path of reference section 11
 * (11.2-11.5): the real fleetctl binary against a real Api over a real etcd. The rows run in
 * order and share the cluster: a unit submitted by one row is there for the next. No agent
 * and no engine run, so submitted units stay inactive and unscheduled; the paths that need a
 * running unit (ssh, status, journal of a launched unit, their remote exit codes) are in
 * test/e2e/0601-fleetctl-remote.sh.
 *
 * Where fleet-c deliberately differs from fleet v1.0 (README "Differences from fleet v1.0"),
 * the row says so and asserts fleet-c's code.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "api.h"
#include "etcd-launcher.h"
#include "fleetctl-run.h"
#include "macro.h"
#include "registry.h"
#include "test-net.h"
#include "test-util.h"

#define SEC 1000000ULL
#define MAX_ARGS 8

typedef struct ExitCase {
        const char *args[MAX_ARGS]; /* after the global --endpoint */
        int status;
        const char *output; /* a substring of stdout+stderr, or NULL */
        const char *why;    /* the reference's rule, or the deliberate difference */
} ExitCase;

static const char hello_unit[] = "[Unit]\nDescription=hello\n\n[Service]\nExecStart=/bin/true\n";
static const char global_unit[] = "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nGlobal=true\n";

static const ExitCase cases[] = {
        /* 11.5 help, version, verify */
        {{NULL}, 0, "USAGE:", "no arguments: usage"},
        {{"help"}, 0, "COMMANDS:", "help"},
        {{"help", "submit"}, 0, "fleetctl submit", "help COMMAND"},
        {{"version"}, 0, "fleetctl version", "version"},
        {{"--version"}, 0, "fleetctl version", "--version"},
        {{"verify", "hello.service"}, 2, "DEPRECATED", "verify exits 2"},
        /* 11.2 parse errors: fleet exits 0 (cobra quirk); fleet-c 1, deliberately */
        {{"no-such-command"}, 1, "unknown command", "deliberate: parse errors fail"},
        {{"list-units", "--no-such-flag"},
         1,
         "unknown flag: --no-such-flag",
         "deliberate: parse errors fail"},
        {{"--driver=bogus", "list-units"}, 1, "unrecognized driver", "client setup fails"},
        /* 11.2 "No units given" exits 0, for every command taking UNIT... */
        {{"submit"}, 0, "No units given", "No units given"},
        {{"load"}, 0, "No units given", "No units given"},
        {{"start"}, 0, "No units given", "No units given"},
        {{"stop"}, 0, "No units given", "No units given"},
        {{"unload"}, 0, "No units given", "No units given"},
        {{"destroy"}, 0, "No units given", "No units given"},
        {{"restart"}, 0, "No units given", "No units given"},
        /* 11.2 "Units not found in registry" exits 0 (stop, unload, destroy) */
        {{"stop", "nosuch.service"}, 0, "Units not found in registry", "not found"},
        {{"unload", "nosuch"}, 0, "Units not found in registry", "not found"},
        {{"destroy", "nosuch.service"}, 0, "Units not found in registry", "not found"},
        /* 11.3 lazy create: neither in the registry nor on disk */
        {{"submit", "nosuch.service"},
         1,
         "unable to find Unit(nosuch.service) in Registry or on filesystem",
         "lazy create"},
        {{"load", "nosuch.service"}, 1, "Error creating units", "lazy create"},
        {{"start", "nosuch.service"}, 1, "Error creating units", "lazy create"},
        {{"restart", "nosuch.service"},
         1,
         "Error creating units",
         "restart runs the lazy create of its arguments"},
        {{"start", "web@1.service"},
         1,
         "unable to find template Unit(web@.service) in Registry or on filesystem",
         "instance without a template"},
        /* submit from a local file, and again (idempotent) */
        {{"submit", "hello.service"}, 0, "Unit hello.service inactive", "submit"},
        {{"submit", "hello.service"}, 0, NULL, "submit of a unit already there"},
        {{"submit", "global.service"}, 0, "Unit global.service inactive", "submit"},
        /* 11.5 stop/unload/restart of an inactive unit */
        {{"stop", "hello.service"},
         1,
         "Unable to stop unit hello.service in state inactive",
         "stop of an inactive unit"},
        {{"unload", "hello.service"},
         0,
         "Successfully unloaded units [].",
         "unload of an inactive unit: skipped"},
        {{"restart", "hello.service"},
         0,
         "Unable to restart unit hello.service in state inactive",
         "restart of an inactive unit: reported, not a failure"},
        /* 11.5 cat */
        {{"cat"}, 1, "One unit file must be provided", "cat without a unit"},
        {{"cat", "a.service", "b.service"},
         1,
         "One unit file must be provided",
         "cat of two units"},
        {{"cat", "nosuch.service"}, 1, "Unit nosuch.service not found", "cat of a missing unit"},
        {{"cat", "hello"}, 0, "ExecStart=/bin/true", "cat"},
        /* 11.5 status, journal, ssh: the failures before anything runs remotely */
        {{"status"}, 0, NULL, "status without units does nothing"},
        {{"status", "nosuch.service"}, 1, "Unit nosuch.service does not exist.", "status"},
        {{"status", "hello.service"},
         1,
         "Unit hello.service does not appear to be loaded.",
         "status of an inactive unit"},
        {{"journal"}, 1, "One unit file must be provided.", "journal without a unit"},
        {{"journal", "nosuch.service"}, 1, "Unit nosuch.service does not exist.", "journal"},
        {{"journal", "global.service"},
         1,
         "Unable to retrieve journal of global unit global.service.",
         "journal of a global unit"},
        {{"journal", "hello.service"},
         1,
         "Unit hello.service does not appear to be running.",
         "journal of an inactive unit"},
        {{"ssh"}, 1, "Unable to proceed", "ssh without a target"},
        {{"ssh", "--machine=a", "--unit=b"},
         1,
         "Both machine and unit flags provided",
         "ssh with both flags"},
        {{"ssh", "nosuch-machine"}, 1, "Unable to proceed", "ssh to nothing"},
        {{"--ssh-port", "2222", "ssh", "nosuch-machine"},
         1,
         "Unable to proceed",
         "a command's flag before the command (fleet's cobra allows it)"},
        {{"--ssh-port", "2222", "list-units"},
         1,
         "unknown flag: --ssh-port",
         "deliberate: a flag the command does not have fails"},
        /* 11.5 fd-forward (what --tunnel runs on the tunnel host) */
        {{"fd-forward"}, 1, "Provide a single argument", "fd-forward without a socket"},
        {{"fd-forward", "/nonexistent/fleet.sock"},
         1,
         "Unable to connect",
         "deliberate: fleet exits 0 when the socket does not answer"},
        /* 11.6 list commands */
        {{"list-machines"}, 0, "MACHINE", "list-machines"},
        {{"list-units"}, 0, "UNIT", "list-units"},
        {{"list-unit-files"}, 0, "hello.service", "list-unit-files"},
        {{"list-units", "--fields=unit,bogus"},
         1,
         "Invalid key in output format: \"bogus\"",
         "unknown field"},
        {{"list-machines", "--fields="}, 1, "Must define output format", "empty --fields"},
        {{"list-unit-files", "--fields=bogus"}, 1, "Invalid key in output format", "unknown field"},
        /* 11.4 load without waiting, then with one attempt that cannot succeed (no agent) */
        {{"load", "--no-block", "hello.service"},
         0,
         "Triggered unit hello.service load",
         "load --no-block"},
        {{"load", "--no-block", "hello.service"}, 0, NULL, "load of a loaded unit: skipped"},
        {{"start", "--block-attempts=1", "hello.service"},
         1,
         "timed out waiting for unit hello.service to report state launched",
         "start: attempts exhausted"},
        {{"start", "global.service"},
         0,
         "Triggered global unit global.service start",
         "global units never block"},
        {{"stop", "global.service"},
         0,
         "Triggered global unit global.service stop",
         "stop of a global unit"},
        /* 11.5 destroy */
        {{"destroy", "--no-block", "hello.service", "nosuch.service"},
         0,
         "Destroyed hello.service",
         "destroy skips what is not there"},
        {{"destroy", "global.service"}, 0, "Destroyed global.service", "destroy"},
        {{"cat", "hello.service"}, 1, "Unit hello.service not found", "destroyed"},
};

static void write_file(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *p = NULL;
        FILE *f;

        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(fputs(text, f), 0);
        ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_exit_codes) {
        EtcdLauncherOptions lo = {};
        _cleanup_(etcd_launcher_freep) EtcdLauncher *etcd = NULL;
        _cleanup_free_ char *endpoint = NULL, *dir = NULL;
        sd_event *e = NULL;
        EtcdClient *client = NULL;
        Registry *registry = NULL;
        Api *api = NULL;
        FleetctlRun *run = malloc(sizeof(FleetctlRun));
        char addr[64];
        int port = test_free_port(), failed = 0;

        ck_assert_ptr_nonnull(run);
        ck_assert_int_eq(etcd_launcher_start(&lo, &etcd), 0);
        ck_assert_int_eq(sd_event_new(&e), 0);
        EtcdClientConfig cc = {.endpoints = etcd_launcher_endpoints(etcd),
                               .request_timeout_usec = 5 * SEC};
        ck_assert_int_eq(etcd_client_new(&client, e, &cc), 0);
        ck_assert_int_eq(registry_new(&registry, client, "/t-fleetctl-exit/"), 0);
        ck_assert_int_eq(api_new(&api, e, registry, &(ApiConfig){}), 0);
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
        ck_assert_int_eq(api_listen(api, addr), 0);
        ck_assert_int_ge(asprintf(&endpoint, "--endpoint=http://%s", addr), 0);

        /* the local unit files, in the directory fleetctl runs in */
        ck_assert_int_ge(asprintf(&dir, "%s/units", etcd_launcher_dir(etcd)), 0);
        ck_assert_int_eq(mkdir(dir, 0755), 0);
        write_file(dir, "hello.service", hello_unit);
        write_file(dir, "global.service", global_unit);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const ExitCase *c = &cases[i];
                char *argv[MAX_ARGS + 2] = {endpoint};
                size_t n = 1;

                for (size_t k = 0; k < MAX_ARGS && c->args[k]; k++)
                        argv[n++] = (char *) c->args[k];
                /* "no arguments" means none at all, not even --endpoint */
                ck_assert_int_eq(fleetctl_run(e, n == 1 ? argv + 1 : argv, dir, 60 * SEC, run), 0);
                if (run->status != c->status || (c->output && !strstr(run->out, c->output))) {
                        fprintf(stderr, "case %zu (%s %s ...: %s): exit %d, expected %d%s%s\n%s\n",
                                i, strempty(c->args[0]), strempty(c->args[1]), c->why, run->status,
                                c->status, c->output ? ", output with " : "", strempty(c->output),
                                run->out);
                        failed++;
                }
        }
        ck_assert_msg(failed == 0, "%d of %zu fleetctl exit-code cases failed", failed,
                      ELEMENTSOF(cases));

        free(run);
        api_free(api);
        registry_free(registry);
        etcd_client_free(client);
        sd_event_unref(e);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("fleetctl-exit");
        TCase *tc = tcase_create("exit-codes");

        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_exit_codes);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(suite)
