/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "fleetctl-args.h"
#include "test-util.h"

typedef struct Opts {
        char *endpoint;
        bool debug;
        double timeout;
        bool full;
        int attempts;
        char *fields;
        bool follow;
        bool agent;
} Opts;

static const FlagSpec global_specs[] = {
        {"endpoint", 0, FLAG_STRING, offsetof(Opts, endpoint), "unix:///var/run/fleet.sock", "",
         false},
        {"debug", 0, FLAG_BOOL, offsetof(Opts, debug), NULL, "", false},
        {"ssh-timeout", 0, FLAG_DOUBLE, offsetof(Opts, timeout), "10.0", "", false},
};
static const FlagSpec cmd_specs[] = {
        {"full", 'l', FLAG_BOOL, offsetof(Opts, full), NULL, "", false},
        {"l", 0, FLAG_BOOL, offsetof(Opts, full), NULL, "", true},
        {"block-attempts", 0, FLAG_INT, offsetof(Opts, attempts), "0", "", false},
        {"fields", 0, FLAG_STRING, offsetof(Opts, fields), "unit", "", false},
        {"follow", 'f', FLAG_BOOL, offsetof(Opts, follow), NULL, "", false},
        {"forward-agent", 'A', FLAG_BOOL, offsetof(Opts, agent), NULL, "", false},
};
static const FlagSet G = {global_specs, ELEMENTSOF(global_specs)};
static const FlagSet C = {cmd_specs, ELEMENTSOF(cmd_specs)};

/* Split on spaces into a static mutable argv (tests only; at most 8 at a time). */
static char **split(const char *line) {
        static char *store[8][32];
        static char bufs[8][512];
        static int slot;
        char **argv = store[slot], *buf = bufs[slot], *tok, *save = NULL;
        int n = 0;

        slot = (slot + 1) % 8;
        snprintf(buf, sizeof(bufs[0]), "%s", line);
        for (tok = strtok_r(buf, " ", &save); tok && n < 31; tok = strtok_r(NULL, " ", &save))
                argv[n++] = tok;
        argv[n] = NULL;
        return argv;
}

static int parse(Opts *o, char **argv, char ***args, size_t *n, char **err) {
        int argc = 0, idx;

        while (argv[argc])
                argc++;
        *o = (Opts){};
        ck_assert_int_eq(flags_set_defaults(&G, o), 0);
        ck_assert_int_eq(flags_set_defaults(&C, o), 0);
        idx = args_find_command(argc, argv, &G);
        return args_parse(argc, argv, idx, &G, &C, o, args, n, err);
}

static void done(Opts *o) {
        flags_free(&G, o);
        flags_free(&C, o);
}

START_TEST(test_find_command) {
        char **a1 = split("fleetctl --endpoint http://x:1 --debug list-units -l");
        char **a2 = split("fleetctl --endpoint=http://x:1 start");
        char **a3 = split("fleetctl --debug");
        char **a4 = split("fleetctl -- ssh");

        ck_assert_int_eq(args_find_command(6, a1, &G), 4);
        ck_assert_int_eq(args_find_command(3, a2, &G), 2);
        ck_assert_int_eq(args_find_command(2, a3, &G), -1);
        ck_assert_int_eq(args_find_command(3, a4, &G), 2);
}
END_TEST

/* fleet's cobra finds the command behind a command's own flag and its value
 * (`fleetctl --ssh-port 2222 ssh X`); the flags are then parsed with the command's set. */
START_TEST(test_find_command_behind_command_flags) {
        static const FlagSpec other_specs[] = {
                {"ssh-port", 0, FLAG_INT, offsetof(Opts, attempts), "22", "", false},
        };
        const FlagSet cmds[] = {C, {other_specs, ELEMENTSOF(other_specs)}};
        char **a1 = split("fleetctl --ssh-port 2222 ssh X");
        char **a2 = split("fleetctl --block-attempts 3 --full start a");
        char **a3 = split("fleetctl --fields unit list-units");
        char **a4 = split("fleetctl -A --ssh-port=2 ssh");
        char **a5 = split("fleetctl --no-such-flag list-units");
        char **a6 = split("fleetctl --ssh-port");
        Opts o = {};
        char **args = NULL, *err = NULL;
        size_t n = 0;
        int idx;

        ck_assert_int_eq(args_find_command_in(5, a1, &G, cmds, 2), 3);
        ck_assert_int_eq(args_find_command_in(6, a2, &G, cmds, 2), 4);
        ck_assert_int_eq(args_find_command_in(4, a3, &G, cmds, 2), 3);
        ck_assert_int_eq(args_find_command_in(4, a4, &G, cmds, 2), 3);
        /* an unknown flag takes no value; args_parse reports it */
        ck_assert_int_eq(args_find_command_in(3, a5, &G, cmds, 2), 2);
        ck_assert_int_eq(args_find_command_in(2, a6, &G, cmds, 2), -1);
        /* without the command sets, "2222" would be taken for the command */
        ck_assert_int_eq(args_find_command(5, a1, &G), 2);

        /* the flag before the command is the command's */
        idx = args_find_command_in(5, a1, &G, cmds, 2);
        ck_assert_int_eq(flags_set_defaults(&cmds[1], &o), 0);
        ck_assert_int_eq(args_parse(5, a1, idx, &G, &cmds[1], &o, &args, &n, &err), 0);
        ck_assert_int_eq(o.attempts, 2222);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(args[0], "X");
        free(args);
        flags_free(&G, &o);
}
END_TEST

START_TEST(test_parse_flags) {
        char **argv = split("fleetctl --endpoint http://h:1 list-units -l --no");
        char **argv2 = split("fleetctl list-units --l --fields=unit,hash --block-attempts 0x10 "
                             "--debug=false --ssh-timeout=2.5 a -Af -- -x");
        char **args = NULL, *err = NULL;
        size_t n = 0;
        Opts o;

        ck_assert_int_eq(parse(&o, argv, &args, &n, &err), -EINVAL);
        ck_assert_str_eq(err, "unknown flag: --no");
        free(err);
        err = NULL;
        done(&o);

        ck_assert_int_eq(parse(&o, argv2, &args, &n, &err), 0);
        ck_assert(o.full);
        ck_assert_str_eq(o.fields, "unit,hash");
        ck_assert_int_eq(o.attempts, 16);
        ck_assert(!o.debug);
        ck_assert(o.timeout == 2.5);
        ck_assert(o.agent && o.follow);
        ck_assert_str_eq(o.endpoint, "unix:///var/run/fleet.sock");
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(args[0], "a");
        ck_assert_str_eq(args[1], "-x");
        ck_assert_ptr_null(args[2]);
        free(args);
        done(&o);
}
END_TEST

START_TEST(test_parse_errors) {
        char **a1 = split("fleetctl list-units -x");
        char **a2 = split("fleetctl list-units --fields");
        char **a3 = split("fleetctl start --block-attempts=abc");
        char **a4 = split("fleetctl start --full=maybe");
        char **a5 = split("fleetctl start -lx");
        char **args = NULL, *err = NULL;
        size_t n;
        Opts o;

        ck_assert_int_eq(parse(&o, a1, &args, &n, &err), -EINVAL);
        ck_assert_str_eq(err, "unknown shorthand flag: 'x' in -x");
        done(&o);
        ck_assert_int_eq(parse(&o, a2, &args, &n, &err), -EINVAL);
        ck_assert_str_eq(err, "flag needs an argument: --fields");
        done(&o);
        ck_assert_int_eq(parse(&o, a3, &args, &n, &err), -EINVAL);
        ck_assert_str_eq(err, "invalid argument \"abc\" for --block-attempts: strconv.ParseInt: "
                              "parsing \"abc\": invalid syntax");
        done(&o);
        ck_assert_int_eq(parse(&o, a4, &args, &n, &err), -EINVAL);
        ck_assert_str_eq(err, "invalid argument \"maybe\" for -l, --full: strconv.ParseBool: "
                              "parsing \"maybe\": invalid syntax");
        done(&o);
        ck_assert_int_eq(parse(&o, a5, &args, &n, &err), -EINVAL);
        ck_assert_str_eq(err, "unknown shorthand flag: 'x' in -lx");
        done(&o);
        free(err);
}
END_TEST

static const char *fake_env(const char *name) {
        if (streq(name, "FLEETCTL_ENDPOINT"))
                return "http://10.0.0.1:49153";
        if (streq(name, "FLEETCTL_DEBUG"))
                return "";
        if (streq(name, "FLEETCTL_SSH_TIMEOUT"))
                return "bad";
        return NULL;
}

static const char *fake_env_ok(const char *name) {
        return streq(name, "FLEETCTL_SSH_TIMEOUT") ? "4" : fake_env(name);
}

START_TEST(test_env) {
        Opts o = {};
        char *err = NULL, *name = flag_env_name("FLEETCTL", "ssh-username");

        ck_assert_str_eq(name, "FLEETCTL_SSH_USERNAME");
        free(name);
        ck_assert_int_eq(flags_set_defaults(&G, &o), 0);
        ck_assert_int_eq(flags_apply_env(&G, "FLEETCTL", fake_env, &o, &err), -EINVAL);
        ck_assert_str_eq(err, "invalid value \"bad\" for FLEETCTL_SSH_TIMEOUT: invalid argument "
                              "\"bad\" for --ssh-timeout: strconv.ParseFloat: parsing \"bad\": "
                              "invalid syntax");
        free(err);
        ck_assert_int_eq(flags_apply_env(&G, "FLEETCTL", fake_env_ok, &o, NULL), 0);
        ck_assert_str_eq(o.endpoint, "http://10.0.0.1:49153");
        ck_assert(!o.debug);
        ck_assert(o.timeout == 4.0);
        flags_free(&G, &o);
        ck_assert_ptr_null(o.endpoint);
}
END_TEST

START_TEST(test_go_bool) {
        bool b = false;
        const char *yes[] = {"1", "t", "T", "TRUE", "true", "True"};
        const char *no[] = {"0", "f", "F", "FALSE", "false", "False"};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                ck_assert_int_eq(parse_go_bool(yes[i], &b), 0);
                ck_assert(b);
                ck_assert_int_eq(parse_go_bool(no[i], &b), 0);
                ck_assert(!b);
        }
        ck_assert_int_eq(parse_go_bool("yes", &b), -EINVAL);
        ck_assert_int_eq(parse_go_bool("", &b), -EINVAL);
}
END_TEST

/* The TLS flags as fleetctl/main.c declares them (reference 11.1: fleet's etcd TLS flags,
 * reused for the API over https://), with the hidden etcd-* aliases. */
typedef struct TlsOpts {
        char *endpoint, *ca_file, *cert_file, *key_file;
} TlsOpts;

static const FlagSpec tls_specs[] = {
        {"endpoint", 0, FLAG_STRING, offsetof(TlsOpts, endpoint), "unix:///var/run/fleet.sock", "",
         false},
        {"key-file", 0, FLAG_STRING, offsetof(TlsOpts, key_file), "", "", false},
        {"cert-file", 0, FLAG_STRING, offsetof(TlsOpts, cert_file), "", "", false},
        {"ca-file", 0, FLAG_STRING, offsetof(TlsOpts, ca_file), "", "", false},
        {"etcd-keyfile", 0, FLAG_STRING, offsetof(TlsOpts, key_file), NULL, "", true},
        {"etcd-certfile", 0, FLAG_STRING, offsetof(TlsOpts, cert_file), NULL, "", true},
        {"etcd-cafile", 0, FLAG_STRING, offsetof(TlsOpts, ca_file), NULL, "", true},
};
static const FlagSet T = {tls_specs, ELEMENTSOF(tls_specs)};

static const char *tls_env(const char *name) {
        if (streq(name, "FLEETCTL_CA_FILE"))
                return "/env/ca.crt";
        if (streq(name, "FLEETCTL_CERT_FILE"))
                return "/env/client.crt";
        if (streq(name, "FLEETCTL_KEY_FILE"))
                return "/env/client.key";
        if (streq(name, "FLEETCTL_ENDPOINT"))
                return "https://10.0.0.1:49153";
        return NULL;
}

START_TEST(test_tls_flags) {
        char **argv = split("fleetctl --endpoint https://10.0.0.2:49153 --ca-file /ca.crt "
                            "--cert-file=/c.crt --key-file /c.key list-units --no-legend");
        TlsOpts o = {};
        char **args = NULL, *err = NULL;
        size_t n = 0;
        int argc = 0, idx;

        while (argv[argc])
                argc++;
        /* Defaults, then the environment, then the command line wins. */
        ck_assert_int_eq(flags_set_defaults(&T, &o), 0);
        ck_assert_str_eq(o.ca_file, "");
        ck_assert_int_eq(flags_apply_env(&T, "FLEETCTL", tls_env, &o, &err), 0);
        ck_assert_str_eq(o.ca_file, "/env/ca.crt");
        ck_assert_str_eq(o.cert_file, "/env/client.crt");
        ck_assert_str_eq(o.key_file, "/env/client.key");
        ck_assert_str_eq(o.endpoint, "https://10.0.0.1:49153");

        idx = args_find_command(argc, argv, &T);
        ck_assert_int_eq(idx, 8); /* the values of the TLS flags are skipped */
        ck_assert_str_eq(argv[idx], "list-units");
        /* --no-legend is a command flag: unknown to this set. */
        ck_assert_int_eq(args_parse(argc - 1, argv, idx, &T, NULL, &o, &args, &n, &err), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_str_eq(o.endpoint, "https://10.0.0.2:49153");
        ck_assert_str_eq(o.ca_file, "/ca.crt");
        ck_assert_str_eq(o.cert_file, "/c.crt");
        ck_assert_str_eq(o.key_file, "/c.key");
        free(args);

        /* fleet's deprecated etcd-* spellings set the same fields. */
        argv = split("fleetctl --etcd-cafile=/old-ca --etcd-certfile /old-c --etcd-keyfile "
                     "/old-k list-machines");
        argc = 0;
        while (argv[argc])
                argc++;
        idx = args_find_command(argc, argv, &T);
        ck_assert_str_eq(argv[idx], "list-machines");
        ck_assert_int_eq(args_parse(argc, argv, idx, &T, NULL, &o, &args, &n, &err), 0);
        ck_assert_str_eq(o.ca_file, "/old-ca");
        ck_assert_str_eq(o.cert_file, "/old-c");
        ck_assert_str_eq(o.key_file, "/old-k");
        free(args);

        /* A TLS flag without its value. */
        argv = split("fleetctl list-units --ca-file");
        ck_assert_int_eq(args_parse(3, argv, 1, &T, NULL, &o, &args, &n, &err), -EINVAL);
        ck_assert_str_eq(err, "flag needs an argument: --ca-file");
        free(err);
        flags_free(&T, &o);
        ck_assert_ptr_null(o.ca_file);
}
END_TEST

static Suite *args_suite(void) {
        Suite *s = suite_create("fleetctl-args");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_find_command);
        tcase_add_test(tc, test_find_command_behind_command_flags);
        tcase_add_test(tc, test_parse_flags);
        tcase_add_test(tc, test_parse_errors);
        tcase_add_test(tc, test_env);
        tcase_add_test(tc, test_go_bool);
        tcase_add_test(tc, test_tls_flags);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(args_suite)
