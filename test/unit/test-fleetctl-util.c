/* SPDX-License-Identifier: MIT */
#include <check.h>

#include "fleetctl-util.h"
#include "strv.h"
#include "test-util.h"

#define CK_STR(call, want)                                                                         \
        do {                                                                                       \
                char *_s_ = NULL;                                                                  \
                ck_assert_int_eq(call, 0);                                                         \
                ck_assert_str_eq(_s_, want);                                                       \
                free(_s_);                                                                         \
        } while (0)

START_TEST(test_mangle) {
        CK_STR(fleetctl_unit_name_mangle("foo", &_s_), "foo.service");
        CK_STR(fleetctl_unit_name_mangle("dir/foo.socket", &_s_), "foo.socket");
        CK_STR(fleetctl_unit_name_mangle("foo.target", &_s_), "foo.target.service");
        CK_STR(fleetctl_unit_name_mangle("a/b/foo@1.timer/", &_s_), "foo@1.timer");
        CK_STR(fleetctl_unit_name_mangle("", &_s_), "..service");
        CK_STR(fleetctl_append_default_type("units/web", &_s_), "units/web.service");
        CK_STR(fleetctl_append_default_type("x.d/web", &_s_), "x.d/web.service");
        CK_STR(fleetctl_path_dir("units/web@1.service", &_s_), "units");
        CK_STR(fleetctl_path_dir("web@1.service", &_s_), ".");
        CK_STR(fleetctl_path_dir("/web@1.service", &_s_), "/");
        CK_STR(fleetctl_path_base("///", &_s_), "/");
        ck_assert(fleetctl_unit_type_recognized("a.automount"));
        ck_assert(!fleetctl_unit_type_recognized("a.slice"));
}
END_TEST

START_TEST(test_replace_matrix) {
        ck_assert(fleetctl_replace_allowed("submit", "inactive"));
        ck_assert(!fleetctl_replace_allowed("submit", "loaded"));
        ck_assert(fleetctl_replace_allowed("load", "loaded"));
        ck_assert(!fleetctl_replace_allowed("load", "launched"));
        ck_assert(fleetctl_replace_allowed("start", "launched"));
        ck_assert(!fleetctl_replace_allowed("stop", "inactive"));
        ck_assert(!fleetctl_replace_allowed("start", NULL));
}
END_TEST

START_TEST(test_endpoints) {
        FleetctlEndpoint e = {};
        char *err = NULL;
        char **l = NULL;

        ck_assert_int_eq(fleetctl_endpoint_parse("unix:///var/run/fleet.sock", &e, NULL), 0);
        ck_assert(e.unix_socket);
        ck_assert_str_eq(e.socket_path, "/var/run/fleet.sock");
        ck_assert_str_eq(e.base_url, "http://domain-sock");
        fleetctl_endpoint_done(&e);

        ck_assert_int_eq(fleetctl_endpoint_parse("http://127.0.0.11:49153/", &e, NULL), 0);
        ck_assert(!e.unix_socket);
        ck_assert_str_eq(e.base_url, "http://127.0.0.11:49153");
        ck_assert_str_eq(e.host, "127.0.0.11");
        ck_assert_int_eq(e.port, 49153);
        fleetctl_endpoint_done(&e);

        ck_assert_int_eq(fleetctl_endpoint_parse("HTTPS://[::1]", &e, NULL), 0);
        ck_assert_str_eq(e.host, "::1");
        ck_assert_int_eq(e.port, 443);
        fleetctl_endpoint_done(&e);

        ck_assert_int_eq(fleetctl_endpoint_parse("unix://var/run/x", &e, &err), -EINVAL);
        ck_assert_str_eq(err, "unable to connect to host \"var\" with scheme \"unix\"");
        ck_assert_int_eq(fleetctl_endpoint_parse("/var/run/fleet.sock", &e, &err), -EINVAL);
        ck_assert_str_eq(err, "URL scheme undefined");
        ck_assert_int_eq(fleetctl_endpoint_parse("ftp://x", &e, &err), -EINVAL);
        ck_assert_str_eq(err, "unsupported URL scheme \"ftp\"");
        ck_assert_int_eq(fleetctl_endpoint_parse("http://h:99999", &e, &err), -EINVAL);
        free(err);

        ck_assert_int_eq(fleetctl_endpoint_list("http://a:1,,http://b:2", &l), 0);
        ck_assert_uint_eq(strv_length(l), 2);
        ck_assert_str_eq(l[1], "http://b:2");
        strv_free(l);

        CK_STR(fleetctl_tunnel_normalize("10.0.0.1", &_s_), "10.0.0.1:22");
        CK_STR(fleetctl_tunnel_normalize("10.0.0.1:2222", &_s_), "10.0.0.1:2222");
        CK_STR(fleetctl_expand_tilde("~/.fleetctl/known_hosts", "/home/x", &_s_),
               "/home/x/.fleetctl/known_hosts");
        CK_STR(fleetctl_expand_tilde("~root/kh", "/home/x", &_s_), "/root/kh");
        CK_STR(fleetctl_expand_tilde("/abs", "/home/x", &_s_), "/abs");
}
END_TEST

static ApiMachine machines[] = {
        {.id = (char *) "113f16a7ccc24a1f8ea2b0c4e2f63ae1", .primary_ip = (char *) "172.17.8.103"},
        {.id = (char *) "22222222bbbb", .primary_ip = NULL},
};

static const ApiMachine *lookup(const char *id, void *userdata) {
        for (size_t i = 0; i < ELEMENTSOF(machines); i++)
                if (streq(machines[i].id, id))
                        return &machines[i];
        return NULL;
}

START_TEST(test_legends_and_fields) {
        ApiUnitState st = {.name = (char *) "hello.service",
                           .hash = (char *) "0123456789abcdef0123456789abcdef01234567",
                           .machine_id = machines[0].id,
                           .systemd_active_state = (char *) "active"};
        ApiUnit u = {.name = (char *) "hello.service",
                     .desired_state = (char *) "launched",
                     .current_state = (char *) "launched",
                     .machine_id = machines[0].id};
        UnitFileInfo info = {.global = false, .hash = st.hash, .description = NULL};
        char *md[] = {(char *) "region", (char *) "us", (char *) "az", (char *) "b", NULL};
        ApiMachine m = {.id = (char *) "abc", .metadata = md};

        CK_STR(fleetctl_machine_legend("0123456789", "1.2.3.4", false, true, &_s_),
               "01234567.../1.2.3.4");
        CK_STR(fleetctl_machine_legend("0123456789", "1.2.3.4", true, false, &_s_), "0123456789");
        CK_STR(fleetctl_machine_legend("abc", NULL, false, true, &_s_), "abc...");

        CK_STR(fleetctl_unit_state_field(&st, "machine", false, lookup, NULL, &_s_),
               "113f16a7.../172.17.8.103");
        CK_STR(fleetctl_unit_state_field(&st, "hash", false, lookup, NULL, &_s_), "0123456");
        CK_STR(fleetctl_unit_state_field(&st, "sub", false, lookup, NULL, &_s_), "-");
        st.machine_id = (char *) "unknownmachine";
        CK_STR(fleetctl_unit_state_field(&st, "machine", true, lookup, NULL, &_s_),
               "unknownmachine");

        CK_STR(fleetctl_unit_file_field(&u, &info, "target", false, lookup, NULL, &_s_),
               "113f16a7.../172.17.8.103");
        CK_STR(fleetctl_unit_file_field(&u, &info, "desc", false, lookup, NULL, &_s_), "-");
        CK_STR(fleetctl_unit_file_field(&u, &info, "global", false, lookup, NULL, &_s_), "false");
        CK_STR(fleetctl_unit_file_field(&u, &info, "hash", true, lookup, NULL, &_s_), st.hash);
        info.global = true;
        CK_STR(fleetctl_unit_file_field(&u, &info, "target", false, lookup, NULL, &_s_), "global");
        CK_STR(fleetctl_unit_file_field(&u, &info, "state", false, lookup, NULL, &_s_), "-");
        u.machine_id = NULL;
        info.global = false;
        CK_STR(fleetctl_unit_file_field(&u, &info, "tmachine", false, lookup, NULL, &_s_), "-");
        CK_STR(fleetctl_unit_file_field(&u, &info, "reason", false, lookup, NULL, &_s_), "-");
        u.reason = (char *) "no machines available";
        CK_STR(fleetctl_unit_file_field(&u, &info, "reason", false, lookup, NULL, &_s_),
               "no machines available");
        u.reason = NULL;

        CK_STR(fleetctl_machine_field(&m, "metadata", false, &_s_), "az=b,region=us");
        CK_STR(fleetctl_machine_field(&m, "ip", false, &_s_), "-");
        CK_STR(fleetctl_machine_field(&m, "machine", false, &_s_), "abc...");
        m.metadata = NULL;
        CK_STR(fleetctl_machine_field(&m, "metadata", false, &_s_), "-");
}
END_TEST

START_TEST(test_fields_parse) {
        char **l = NULL, *err = NULL;

        ck_assert_int_eq(fleetctl_fields_parse("unit,active", fleetctl_list_units_fields, &l, NULL),
                         0);
        ck_assert_uint_eq(strv_length(l), 2);
        strv_free(l);
        ck_assert_int_eq(fleetctl_fields_parse("", fleetctl_list_units_fields, &l, &err), -EINVAL);
        ck_assert_str_eq(err, "Must define output format");
        ck_assert_int_eq(fleetctl_fields_parse("unit,x", fleetctl_list_units_fields, &l, &err),
                         -EINVAL);
        ck_assert_str_eq(err, "Invalid key in output format: \"x\"");
        ck_assert_int_eq(fleetctl_fields_parse("machine,", fleetctl_list_machines_fields, &l, &err),
                         -EINVAL);
        ck_assert_str_eq(err, "Invalid key in output format: \"\"");
        free(err);
        CK_STR(fleetctl_go_strv((char *[]){(char *) "a", (char *) "b", NULL}, &_s_), "[a b]");
        CK_STR(fleetctl_go_strv(NULL, &_s_), "[]");
        CK_STR(fleetctl_go_quote("a\"b\\\n", &_s_), "\"a\\\"b\\\\\\n\"");
}
END_TEST

START_TEST(test_sorting) {
        ApiUnitState s[] = {{.name = (char *) "b", .machine_id = (char *) "1"},
                            {.name = (char *) "a", .machine_id = (char *) "2"},
                            {.name = (char *) "a", .machine_id = (char *) "1"}};

        fleetctl_sort_unit_states(s, 3);
        ck_assert_str_eq(s[0].machine_id, "1");
        ck_assert_str_eq(s[0].name, "a");
        ck_assert_str_eq(s[2].name, "b");
}
END_TEST

START_TEST(test_shell) {
        char **argv = NULL, *joined = NULL;
        SshOptions o = {.user = "core",
                        .port = 2222,
                        .timeout = 2.5,
                        .strict_host_key_checking = true,
                        .known_hosts_file = "/k h",
                        .tunnel = NULL,
                        .forward_agent = true,
                        .tty = 1};

        CK_STR(fleetctl_shell_quote("foo@bar.service", &_s_), "foo@bar.service");
        CK_STR(fleetctl_shell_quote("it's", &_s_), "'it'\\''s'");
        CK_STR(fleetctl_shell_quote("", &_s_), "''");

        ck_assert_int_eq(fleetctl_journal_argv("a.service", 20, true, true, NULL, &argv), 0);
        ck_assert_int_eq(fleetctl_shell_join(argv, &joined), 0);
        ck_assert_str_eq(joined,
                         "sudo journalctl --unit a.service --no-pager -n 20 --output short -f");
        free(joined);
        strv_free(argv);

        ck_assert_int_eq(fleetctl_status_argv("a b.service", &argv), 0);
        ck_assert_int_eq(fleetctl_shell_join(argv, &joined), 0);
        ck_assert_str_eq(joined, "systemctl status -l 'a b.service'");
        strv_free(argv);

        ck_assert_int_eq(fleetctl_ssh_argv(&o, "10.0.0.2", joined, NULL, &argv), 0);
        free(joined);
        ck_assert_int_eq(fleetctl_shell_join(argv, &joined), 0);
        ck_assert_str_eq(joined, "ssh -o ConnectTimeout=3 -o StrictHostKeyChecking=ask -o "
                                 "HashKnownHosts=no -o CheckHostIP=no -o FingerprintHash=md5 -o "
                                 "'UserKnownHostsFile=/k h' -l core -A -t -p 2222 -- 10.0.0.2 "
                                 "'systemctl status -l '\\''a b.service'\\'''");
        free(joined);
        strv_free(argv);

        o.tunnel = "bastion:22";
        o.strict_host_key_checking = false;
        o.forward_agent = false;
        o.tty = -1;
        ck_assert_int_eq(fleetctl_ssh_argv(&o, "10.0.0.2", NULL, "127.0.0.1:49153", &argv), 0);
        ck_assert_int_eq(fleetctl_shell_join(argv, &joined), 0);
        ck_assert_str_eq(joined,
                         "ssh -o ConnectTimeout=3 -o StrictHostKeyChecking=no -o "
                         "UserKnownHostsFile=/dev/null -o LogLevel=ERROR -l core -o "
                         "'ProxyCommand=ssh -o ConnectTimeout=3 -o StrictHostKeyChecking=no -o "
                         "UserKnownHostsFile=/dev/null -o LogLevel=ERROR -l core -p 22 -W %h:%p -- "
                         "bastion' -p 2222 -W 127.0.0.1:49153 -- 10.0.0.2");
        free(joined);
        strv_free(argv);
}
END_TEST

START_TEST(test_askpass_answer) {
        static const char prompt[] =
                "The authenticity of host '10.0.0.2 (10.0.0.2)' can't be established.\n"
                "ED25519 key fingerprint is MD5:00:11:22.\n"
                "Are you sure you want to continue connecting (yes/no/[fingerprint])? ";
        static const struct {
                const char *line, *answer;
        } table[] = {
                {"yes\n", "yes"}, {"y\n", "yes"},  {"yes", "yes"},   {"y\r\n", "yes"},
                {"no\n", "no"},   {"\n", "no"},    {"", "no"},       {"yess\n", "no"},
                {"Y\n", "no"},    {"YES\n", "no"}, {" yes\n", "no"}, {"n\n", "no"},
        };
        const char *a = NULL;

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                ck_assert_int_eq(fleetctl_askpass_answer(prompt, table[i].line, &a), 0);
                ck_assert_msg(streq(a, table[i].answer), "'%s' -> '%s'", table[i].line, a);
        }
        a = NULL;
        ck_assert_int_eq(fleetctl_askpass_answer("Enter passphrase for key '/k': ", "yes\n", &a),
                         -EOPNOTSUPP);
        ck_assert_ptr_null(a);
}
END_TEST

START_TEST(test_semver) {
        static const struct {
                const char *a, *b;
                int cmp;
        } table[] = {
                {"0.1.0", "1.0.0", -1},
                {"1.0.0", "1.0.0", 0},
                {"1.10.0", "1.9.9", 1},
                {"1.0.0", "1.0.0-rc.1", 1},
                {"1.0.0-rc.1", "1.0.0-rc.2", -1},
                {"1.0.0-alpha", "1.0.0-alpha.1", -1},
                {"1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
                {"1.0.0-beta.2", "1.0.0-beta.11", -1},
                {"1.0.0-rc.1", "1.0.0-beta.11", 1},
                {"1.0.0+build.5", "1.0.0", 0},
                {"2.0.0", "10.0.0", -1},
        };
        static const char *const bad[] = {"",       "1",      "1.0",   "1.0.0.0", "v1.0.0",
                                          "01.0.0", "1.0.0-", "1.0.x", "1.0.0 "};
        int c = 42;

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                ck_assert_int_eq(fleetctl_semver_compare(table[i].a, table[i].b, &c), 0);
                ck_assert_msg((c > 0) - (c < 0) == table[i].cmp, "%s vs %s: %d", table[i].a,
                              table[i].b, c);
                ck_assert_int_eq(fleetctl_semver_compare(table[i].b, table[i].a, &c), 0);
                ck_assert_msg((c > 0) - (c < 0) == -table[i].cmp, "%s vs %s", table[i].b,
                              table[i].a);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(fleetctl_semver_compare(bad[i], "1.0.0", &c) == -EINVAL, "'%s'",
                              bad[i]);
}
END_TEST

START_TEST(test_old_version_warning) {
        _cleanup_free_ char *t = NULL;

        ck_assert_int_eq(fleetctl_old_version_warning("0.1.0", "1.0.0", &t), 0);
        ck_assert_str_eq(t,
                         "####################################################################\n"
                         "WARNING: fleetctl (0.1.0) is older than the latest registered\n"
                         "version of fleet found in the cluster (1.0.0). You are strongly\n"
                         "recommended to upgrade fleetctl to prevent incompatibility issues.\n"
                         "####################################################################\n");
}
END_TEST

static Suite *util_suite(void) {
        Suite *s = suite_create("fleetctl-util");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_mangle);
        tcase_add_test(tc, test_askpass_answer);
        tcase_add_test(tc, test_semver);
        tcase_add_test(tc, test_old_version_warning);
        tcase_add_test(tc, test_replace_matrix);
        tcase_add_test(tc, test_endpoints);
        tcase_add_test(tc, test_legends_and_fields);
        tcase_add_test(tc, test_fields_parse);
        tcase_add_test(tc, test_sorting);
        tcase_add_test(tc, test_shell);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(util_suite)
