/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "macro.h"
#include "strv.h"
#include "test-util.h"

#define FIXTURES "test/fixtures/config/"
#define A10 "aaaaaaaaaa"
#define LONG_PATH "/" A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 /* 111 bytes */

typedef enum FieldKind { STR, INT, U16, USEC, BOOL, LIST, OCT } FieldKind;

#define F(n, k)                                                                                    \
        { #n, k, offsetof(Config, n) }

static const struct {
        const char *name;
        FieldKind kind;
        size_t offset;
} fields[] = {
        F(verbosity, INT),
        F(etcd_servers, LIST),
        F(etcd_username, STR),
        F(etcd_password, STR),
        F(etcd_keyfile, STR),
        F(etcd_certfile, STR),
        F(etcd_cafile, STR),
        F(etcd_key_prefix, STR),
        F(etcd_request_timeout, USEC),
        F(engine_reconcile_interval, USEC),
        F(public_ip, STR),
        F(metadata_raw, STR),
        F(metadata, LIST),
        F(agent_ttl, USEC),
        F(units_directory, STR),
        F(systemd_user, BOOL),
        F(token_limit, U16),
        F(disable_engine, BOOL),
        F(disable_watches, BOOL),
        F(enable_grpc, BOOL),
        F(verify_units, BOOL),
        F(authorized_keys_file, STR),
        F(api_listen, LIST),
        F(log_level, INT),
        F(api_tls_cert_file, STR),
        F(api_tls_key_file, STR),
        F(api_tls_ca_file, STR),
        F(api_socket_mode, OCT),
        F(freeze_method, INT),
        F(unknown_keys, LIST),
};

static char *join(char **l) {
        size_t n = 1;
        char *s;

        STRV_FOREACH(i, l)
                n += strlen(*i) + 1;
        s = calloc(1, n);
        ck_assert_ptr_nonnull(s);
        STRV_FOREACH(i, l) {
                if (i != l)
                        strcat(s, "|");
                strcat(s, *i);
        }
        return s;
}

/* Render one option of c as text (lists joined with '|'), so that tables can compare every
 * type the same way. */
static char *option_to_string(const Config *c, const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const void *p = (const char *) c + fields[i].offset;
                char *s = NULL;

                if (!streq(fields[i].name, name))
                        continue;
                switch (fields[i].kind) {
                case STR:
                        return strdup(*(char *const *) p);
                case INT:
                        return asprintf(&s, "%d", *(const int *) p) < 0 ? NULL : s;
                case U16:
                        return asprintf(&s, "%u", (unsigned) *(const uint16_t *) p) < 0 ? NULL : s;
                case USEC:
                        return asprintf(&s, "%" PRIu64, *(const usec_t *) p) < 0 ? NULL : s;
                case BOOL:
                        return strdup(*(const bool *) p ? "true" : "false");
                case LIST:
                        return join(*(char **const *) p);
                case OCT:
                        return asprintf(&s, "%04o", *(const unsigned *) p) < 0 ? NULL : s;
                }
        }
        ck_abort_msg("unknown option %s", name);
        return NULL;
}

static void assert_option(const Config *c, const char *name, const char *expected) {
        _cleanup_free_ char *v = option_to_string(c, name);
        ck_assert_ptr_nonnull(v);
        ck_assert_msg(streq(v, expected), "%s: got \"%s\", expected \"%s\"", name, v, expected);
}

/* --- defaults ---------------------------------------------------------------------------- */

static const struct {
        const char *name, *value;
} default_cases[] = {
        {"verbosity", "0"},
        {"etcd_servers", "http://127.0.0.1:2379|http://127.0.0.1:4001"},
        {"etcd_username", ""},
        {"etcd_password", ""},
        {"etcd_keyfile", ""},
        {"etcd_certfile", ""},
        {"etcd_cafile", ""},
        {"etcd_key_prefix", "/_coreos.com/fleet/"},
        {"etcd_request_timeout", "1000000"},
        {"engine_reconcile_interval", "2000000"},
        {"public_ip", ""},
        {"metadata_raw", ""},
        {"metadata", ""},
        {"agent_ttl", "30000000"},
        {"units_directory", "/run/fleet/units/"},
        {"systemd_user", "false"},
        {"token_limit", "100"},
        {"disable_engine", "false"},
        {"disable_watches", "false"},
        {"enable_grpc", "false"},
        {"verify_units", "false"},
        {"authorized_keys_file", ""},
        {"api_listen", ""},
        {"log_level", "-1"},
        {"api_tls_cert_file", ""},
        {"api_tls_key_file", ""},
        {"api_tls_ca_file", ""},
        {"api_socket_mode", "0660"},
        {"freeze_method", "0"},
        {"unknown_keys", ""},
};

START_TEST(test_defaults) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **w = NULL;

        ck_assert_int_eq(config_new_defaults(&c), 0);
        assert_option(c, default_cases[_i].name, default_cases[_i].value);
        ck_assert_int_eq(config_log_level(c), LOG_INFO);
        ck_assert_int_eq(config_warnings(c, &w), 0);
        ck_assert_ptr_null(w);
}
END_TEST

/* --- INI syntax --------------------------------------------------------------------------- */

static const struct {
        const char *text;
        const char *username; /* expected etcd_username, or NULL for an error */
        const char *error;
} syntax_cases[] = {
        {"etcd_username = bob", "bob", NULL},
        {"etcd_username=bob", "bob", NULL},
        {"  etcd_username \t=\t bob  \n", "bob", NULL},
        {"etcd_username = bob smith", "bob smith", NULL},
        {"etcd_username = \"bob # x ; y\"", "bob # x ; y", NULL},
        {"etcd_username = 'it is'", "it is", NULL},
        {"etcd_username = 'a\"b'", "a\"b", NULL},
        {"etcd_username = \"a'b\"", "a'b", NULL},
        {"etcd_username = \"  spaced  \"", "  spaced  ", NULL},
        {"etcd_username = bob # comment", "bob", NULL},
        {"etcd_username = bob;comment", "bob", NULL},
        {"etcd_username = \"bob\" # c", "\"bob\"", NULL},
        {"etcd_username = \"a\"b\"", "\"a\"b\"", NULL},
        {"etcd_username = \"bob", "\"bob", NULL},
        {"etcd_username = \"", "\"", NULL},
        {"etcd_username = \"\"", "", NULL},
        {"etcd_username = ''", "", NULL},
        {"etcd_username =", "", NULL},
        {"etcd_username=", "", NULL},
        {"etcd_username = # only a comment", "", NULL},
        {"etcd_username = ;", "", NULL},
        {"etcd_username = a=b=c", "a=b=c", NULL},
        {"ETCD_Username = bob", "bob", NULL},
        {"etcd_username = a\\\n   b", "ab", NULL},
        {"etcd_username = a \\\n b \\\n c", "a b c", NULL},
        {"etcd_username = x\\\n", NULL, "iniparser: syntax error at ':1'."},
        {"etcd_username = a\netcd_username = b", "b", NULL},
        {"etcd_username = a\r\netcd_username = b\r\n", "b", NULL},
        {"# comment\n; comment\n\n   \n\t\netcd_username=x", "x", NULL},
        {"#etcd_username = x", "", NULL},
        {"[section]\netcd_username = a", "", NULL},
        {"[Section]\netcd_username=a\n[]\netcd_username=b", "b", NULL},
        {"etcd_username=a\n[ s ]\netcd_username=b", "a", NULL},
        {"etcd_username=a\n[ ]\netcd_username=b", "b", NULL},
        {"[a]=b\netcd_username=c", "c", NULL},
        {"", "", NULL},
        {"\n\n", "", NULL},
        /* Syntax errors, with fleet's message and line numbers. */
        {"etcd_username", NULL, "iniparser: syntax error at ':1'."},
        {"etcd_username = ok\nfoo bar = x", NULL, "iniparser: syntax error at ':2'."},
        {"= x", NULL, "iniparser: syntax error at ':1'."},
        {"\n\n[broken", NULL, "iniparser: syntax error at ':3'."},
        {"key value", NULL, "iniparser: syntax error at ':1'."},
        {"a = b\\\nc\nbad line", NULL, "iniparser: syntax error at ':3'."},
        {"etcd_username = a\\", NULL, "iniparser: syntax error at ':1'."},
        {"[s]\nnot an option", NULL, "iniparser: syntax error at ':2'."},
        {"etcd_username = \"x\n\"", NULL, "iniparser: syntax error at ':2'."},
};

START_TEST(test_syntax) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL;
        const char *text = syntax_cases[_i].text;
        int r;

        ck_assert_int_eq(config_new_defaults(&c), 0);
        r = config_parse_text(c, text, strlen(text), &err);
        if (syntax_cases[_i].username) {
                ck_assert_msg(r == 0, "%s: %s", text, strempty(err));
                assert_option(c, "etcd_username", syntax_cases[_i].username);
        } else {
                ck_assert_int_eq(r, -EINVAL);
                ck_assert_ptr_nonnull(err);
                ck_assert_str_eq(err, syntax_cases[_i].error);
        }
}
END_TEST

START_TEST(test_syntax_nul_and_length) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL;
        static const char text[] = "etcd_username = a\nverbosity = 1\0\n";

        ck_assert_int_eq(config_new_defaults(&c), 0);
        /* A NUL byte is a syntax error on its line. */
        ck_assert_int_eq(config_parse_text(c, text, sizeof(text) - 1, &err), -EINVAL);
        ck_assert_str_eq(err, "iniparser: syntax error at ':2'.");
        /* Without it, len limits the text; no NUL terminator needed. */
        ck_assert_int_eq(config_parse_text(c, "verbosity = 12345", 13, NULL), 0);
        assert_option(c, "verbosity", "1");
        ck_assert_int_eq(config_parse_text(c, NULL, 0, NULL), 0);
}
END_TEST

START_TEST(test_unknown_keys) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **w = NULL;
        static const char text[] = "frobnicate = 1\nAgent_TTL = 10s\nzap=\nfrobnicate = 2\n"
                                   "[x]\nother = 3\n";

        ck_assert_int_eq(config_new_defaults(&c), 0);
        ck_assert_int_eq(config_parse_text(c, text, strlen(text), NULL), 0);
        assert_option(c, "unknown_keys", "frobnicate|zap");
        assert_option(c, "agent_ttl", "10000000");
        ck_assert_int_eq(config_warnings(c, &w), 0);
        ck_assert_int_eq(strv_length(w), 2);
        ck_assert_str_eq(w[0], "Unknown config option \"frobnicate\" - ignoring");
        ck_assert_str_eq(w[1], "Unknown config option \"zap\" - ignoring");
}
END_TEST

/* --- every option: good values and bad ones ------------------------------------------------ */

static const struct {
        const char *name, *value;
        const char *expected; /* rendered value, or the error message when is_error */
        bool is_error;
} option_cases[] = {
        {"verbosity", "2", "2", false},
        {"verbosity", "-1", "-1", false},
        {"verbosity", "0x10", "16", false},
        {"verbosity", "+3", "3", false},
        {"verbosity", "", "invalid value for verbosity: \"\"", true},
        {"verbosity", "1.5", "invalid value for verbosity: \"1.5\"", true},
        {"verbosity", "high", "invalid value for verbosity: \"high\"", true},
        {"verbosity", "99999999999", "invalid value for verbosity: \"99999999999\" (out of range)",
         true},
        {"verbosity", "99999999999999999999",
         "invalid value for verbosity: "
         "\"99999999999999999999\"",
         true},

        {"etcd_servers", "http://a:2379", "http://a:2379", false},
        {"etcd_servers", "http://a:2379,https://b:2379", "http://a:2379|https://b:2379", false},
        {"etcd_servers", "[\"http://a:2379\",\"http://b:2379\"]", "http://a:2379|http://b:2379",
         false},
        {"etcd_servers", "[\"http://a:2379\", \"http://b:2379\"]", "http://a:2379|http://b:2379",
         false},
        {"etcd_servers", " http://a:2379 , ,http://b:2379,", "http://a:2379|http://b:2379", false},
        {"etcd_servers", "HTTP://A:1", "HTTP://A:1", false},
        {"etcd_servers", "", "invalid value for etcd_servers: \"\" (no servers given)", true},
        {"etcd_servers", "[]", "invalid value for etcd_servers: \"[]\" (no servers given)", true},
        {"etcd_servers", "127.0.0.1:2379",
         "invalid value for etcd_servers: \"127.0.0.1:2379\" (each server must be an http:// "
         "or https:// URL)",
         true},
        {"etcd_servers", "http://",
         "invalid value for etcd_servers: \"http://\" (each server must be an http:// or "
         "https:// URL)",
         true},

        {"etcd_username", "user", "user", false},
        {"etcd_password", "p a s s", "p a s s", false},
        {"etcd_keyfile", "/k.pem", "/k.pem", false},
        {"etcd_certfile", "/c.pem", "/c.pem", false},
        {"etcd_cafile", "/ca.pem", "/ca.pem", false},

        {"etcd_key_prefix", "/_coreos.com/fleet/", "/_coreos.com/fleet/", false},
        {"etcd_key_prefix", "/_coreos.com/fleet", "/_coreos.com/fleet/", false},
        {"etcd_key_prefix", "foo//bar", "/foo/bar/", false},
        {"etcd_key_prefix", "", "/", false},
        {"etcd_key_prefix", "///", "/", false},
        {"etcd_key_prefix", "/a/../b",
         "invalid value for etcd_key_prefix: \"/a/../b\" (\".\" and \"..\" are not allowed)", true},
        {"etcd_key_prefix", "./x",
         "invalid value for etcd_key_prefix: \"./x\" (\".\" and \"..\" are not allowed)", true},

        {"etcd_request_timeout", "1.5", "1500000", false},
        {"etcd_request_timeout", "0", "0", false},
        {"etcd_request_timeout", "3", "3000000", false},
        {"etcd_request_timeout", "2e-3", "2000", false},
        {"etcd_request_timeout", "1s", "invalid value for etcd_request_timeout: \"1s\"", true},
        {"etcd_request_timeout", "-1",
         "invalid value for etcd_request_timeout: \"-1\" (must not be negative)", true},
        {"etcd_request_timeout", "nan", "invalid value for etcd_request_timeout: \"nan\"", true},
        {"etcd_request_timeout", "1e300",
         "invalid value for etcd_request_timeout: \"1e300\" (out of range)", true},

        {"engine_reconcile_interval", "0.5", "500000", false},
        {"engine_reconcile_interval", "0",
         "invalid value for engine_reconcile_interval: \"0\" (must be positive)", true},
        {"engine_reconcile_interval", "-2",
         "invalid value for engine_reconcile_interval: \"-2\" (must be positive)", true},
        {"engine_reconcile_interval", "", "invalid value for engine_reconcile_interval: \"\"",
         true},

        {"public_ip", "192.0.2.1", "192.0.2.1", false},
        {"public_ip", "2001:db8::1", "2001:db8::1", false},
        {"public_ip", "", "", false},
        {"public_ip", "example.com",
         "invalid value for public_ip: \"example.com\" (not an IP address)", true},
        {"public_ip", "1.2.3.4 ", "invalid value for public_ip: \"1.2.3.4 \" (not an IP address)",
         true},

        {"metadata", "region=us-west,az=us-west-1", "az|us-west-1|region|us-west", false},
        {"metadata", " a = 1 , b=2 ,c", "a|1|b|2", false},
        {"metadata", "a=1,a=2", "a|2", false},
        {"metadata", "k=v=w", "k|v=w", false},
        {"metadata", "nothing", "", false},
        {"metadata", "", "", false},
        {"metadata", "=v,x=", "|v|x|", false},

        {"agent_ttl", "30s", "30000000", false},
        {"agent_ttl", "1m30s", "90000000", false},
        {"agent_ttl", "500ms", "500000", false},
        {"agent_ttl", "1.5h", "5400000000", false},
        {"agent_ttl", "abc", "invalid value for agent_ttl: \"abc\"", true},
        {"agent_ttl", "30", "invalid value for agent_ttl: \"30\"", true},
        {"agent_ttl", "", "invalid value for agent_ttl: \"\"", true},
        {"agent_ttl", "0", "invalid value for agent_ttl: \"0\" (must be positive)", true},
        {"agent_ttl", "0s", "invalid value for agent_ttl: \"0s\" (must be positive)", true},
        {"agent_ttl", "1ns", "invalid value for agent_ttl: \"1ns\" (must be positive)", true},
        {"agent_ttl", "-5s", "invalid value for agent_ttl: \"-5s\" (must be positive)", true},
        {"agent_ttl", "9999999h", "invalid value for agent_ttl: \"9999999h\" (out of range)", true},
        {"agent_ttl", "a\"b\\c\td", "invalid value for agent_ttl: \"a\\\"b\\\\c\\x09d\"", true},

        {"units_directory", "/var/lib/fleet/units", "/var/lib/fleet/units", false},
        {"units_directory", "units",
         "invalid value for units_directory: \"units\" (must be an absolute path)", true},
        {"units_directory", "",
         "invalid value for units_directory: \"\" (must be an absolute path)", true},

        {"systemd_user", "true", "true", false},
        {"systemd_user", "1", "true", false},
        {"systemd_user", "t", "true", false},
        {"systemd_user", "T", "true", false},
        {"systemd_user", "TRUE", "true", false},
        {"systemd_user", "True", "true", false},
        {"systemd_user", "yes", "invalid value for systemd_user: \"yes\"", true},
        {"systemd_user", "tRUE", "invalid value for systemd_user: \"tRUE\"", true},
        {"systemd_user", "", "invalid value for systemd_user: \"\"", true},
        {"disable_engine", "true", "true", false},
        {"disable_engine", "0", "false", false},
        {"disable_engine", "f", "false", false},
        {"disable_engine", "F", "false", false},
        {"disable_engine", "FALSE", "false", false},
        {"disable_engine", "False", "false", false},
        {"disable_engine", "false", "false", false},
        {"disable_engine", "no", "invalid value for disable_engine: \"no\"", true},
        {"disable_watches", "true", "true", false},
        {"disable_watches", "2", "invalid value for disable_watches: \"2\"", true},
        {"enable_grpc", "1", "true", false},
        {"enable_grpc", "on", "invalid value for enable_grpc: \"on\"", true},
        {"verify_units", "true", "true", false},
        {"verify_units", "maybe", "invalid value for verify_units: \"maybe\"", true},

        {"token_limit", "1", "1", false},
        {"token_limit", "65535", "65535", false},
        {"token_limit", "250", "250", false},
        {"token_limit", "0", "invalid value for token_limit: \"0\" (must be between 1 and 65535)",
         true},
        {"token_limit", "65536",
         "invalid value for token_limit: \"65536\" (must be between 1 and 65535)", true},
        {"token_limit", "-5", "invalid value for token_limit: \"-5\" (must be between 1 and 65535)",
         true},
        {"token_limit", "ten", "invalid value for token_limit: \"ten\"", true},

        {"authorized_keys_file", "~/.ssh/authorized_keys", "~/.ssh/authorized_keys", false},

        {"api_listen", "/var/run/fleet.sock", "/var/run/fleet.sock", false},
        {"api_listen", "127.0.0.1:49153, /run/f.sock", "127.0.0.1:49153|/run/f.sock", false},
        {"api_listen", ":49153", ":49153", false},
        {"api_listen", "[::1]:49153", "[::1]:49153", false},
        {"api_listen", "localhost:80", "localhost:80", false},
        {"api_listen", "", "", false},
        {"api_listen", "127.0.0.1",
         "invalid value for api_listen: \"127.0.0.1\" (each item must be an absolute unix "
         "socket path or host:port)",
         true},
        {"api_listen", "host:0",
         "invalid value for api_listen: \"host:0\" (each item must be an absolute unix "
         "socket path or host:port)",
         true},
        {"api_listen", "host:65536",
         "invalid value for api_listen: \"host:65536\" (each item must be an absolute unix "
         "socket path or host:port)",
         true},
        {"api_listen", "::1:80",
         "invalid value for api_listen: \"::1:80\" (each item must be an absolute unix "
         "socket path or host:port)",
         true},
        {"api_listen", "relative.sock",
         "invalid value for api_listen: \"relative.sock\" (each item must be an absolute "
         "unix socket path or host:port)",
         true},
        {"api_listen", LONG_PATH,
         "invalid value for api_listen: \"" LONG_PATH "\" (unix socket path too long)", true},

        {"log_level", "debug", "7", false},
        {"log_level", "warning", "4", false},
        {"log_level", "3", "3", false},
        {"log_level", "", "-1", false},
        {"log_level", "loud",
         "invalid value for log_level: \"loud\" (expected debug, info, notice, warning, "
         "error, crit, alert, emerg or 0..7)",
         true},

        {"api_tls_cert_file", "/etc/fleet/api.crt", "/etc/fleet/api.crt", false},
        {"api_tls_key_file", "/etc/fleet/api.key", "/etc/fleet/api.key", false},
        {"api_tls_ca_file", "/etc/fleet/clients-ca.crt", "/etc/fleet/clients-ca.crt", false},
        {"api_socket_mode", "0600", "0600", false},
        {"api_socket_mode", "660", "0660", false},
        {"api_socket_mode", "0", "0000", false},
        {"api_socket_mode", "0777", "0777", false},
        {"api_socket_mode", "1777",
         "invalid value for api_socket_mode: \"1777\" (expected an octal mode between 0 and "
         "0777)",
         true},
        {"api_socket_mode", "0680",
         "invalid value for api_socket_mode: \"0680\" (expected an octal mode such as 0660)", true},
        {"api_socket_mode", "",
         "invalid value for api_socket_mode: \"\" (expected an octal mode such as 0660)", true},
        {"api_socket_mode", "rw",
         "invalid value for api_socket_mode: \"rw\" (expected an octal mode such as 0660)", true},

        {"freeze_method", "signal", "1", false},
        {"freeze_method", "auto", "0", false},
        {"freeze_method", "stop",
         "invalid value for freeze_method: \"stop\" (expected auto or signal)", true},
        {"freeze_method", "", "invalid value for freeze_method: \"\" (expected auto or signal)",
         true},
};

START_TEST(test_option) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL, *err = NULL, *before = NULL;
        const char *name = option_cases[_i].name, *value = option_cases[_i].value;
        int r;

        ck_assert_int_eq(config_new_defaults(&c), 0);
        before = option_to_string(c, name);
        /* Quoted, so that spaces and comment characters reach the option parser. */
        char q = strchr(value, '"') ? '\'' : '"';
        ck_assert_int_ge(asprintf(&text, "%s = %c%s%c\n", name, q, value, q), 0);
        r = config_parse_text(c, text, strlen(text), &err);
        if (option_cases[_i].is_error) {
                ck_assert_msg(r == -EINVAL, "%s=%s: got %d", name, value, r);
                ck_assert_ptr_nonnull(err);
                ck_assert_str_eq(err, option_cases[_i].expected);
                /* A failed parse leaves the option alone. */
                assert_option(c, name, before);
        } else {
                ck_assert_msg(r == 0, "%s=%s: %s", name, value, strempty(err));
                assert_option(c, name, option_cases[_i].expected);
        }
}
END_TEST

START_TEST(test_error_without_message) {
        _cleanup_(config_freep) Config *c = NULL;

        ck_assert_int_eq(config_new_defaults(&c), 0);
        ck_assert_int_eq(config_parse_text(c, "agent_ttl = x", 13, NULL), -EINVAL);
        ck_assert_int_eq(config_parse_text(c, "nonsense", 8, NULL), -EINVAL);
}
END_TEST

START_TEST(test_duplicate_only_last_counts) {
        _cleanup_(config_freep) Config *c = NULL;
        static const char text[] = "agent_ttl = abc\nagent_ttl = 5s\n";

        ck_assert_int_eq(config_new_defaults(&c), 0);
        ck_assert_int_eq(config_parse_text(c, text, strlen(text), NULL), 0);
        assert_option(c, "agent_ttl", "5000000");
}
END_TEST

/* --- environment ----------------------------------------------------------------------------- */

static const char *const *test_env; /* alternating name, value */

static char *test_getenv(const char *name) {
        for (size_t i = 0; test_env && test_env[i]; i += 2)
                if (streq(test_env[i], name))
                        return (char *) test_env[i + 1];
        return NULL;
}

START_TEST(test_env_precedence) {
        static const char *const env[] = {
                "FLEET_ETCD_USERNAME",
                "from-env",
                "FLEET_PUBLIC_IP",
                "",
                "FLEET_AGENT_TTL",
                "1m",
                "FLEET_ETCD_SERVERS",
                "http://e:1,http://f:2",
                "FLEET_METADATA",
                "a=b",
                "FLEET_DISABLE_ENGINE",
                "true",
                "FLEET_API_LISTEN",
                "/run/x.sock",
                "fleet_verbosity",
                "5",
                "FLEET_NOT_AN_OPTION",
                "x",
                NULL,
        };
        static const char text[] = "etcd_username = from-file\npublic_ip = 10.0.0.1\n"
                                   "etcd_password = file-only\nverbosity = 1\n";
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL;

        ck_assert_int_eq(config_new_defaults(&c), 0);
        ck_assert_int_eq(config_parse_text(c, text, strlen(text), NULL), 0);
        test_env = env;
        ck_assert_int_eq(config_apply_env(c, test_getenv, &err), 0);
        test_env = NULL;
        assert_option(c, "etcd_username", "from-env");
        assert_option(c, "public_ip", ""); /* set but empty still counts */
        assert_option(c, "etcd_password", "file-only");
        assert_option(c, "agent_ttl", "60000000");
        assert_option(c, "etcd_servers", "http://e:1|http://f:2");
        assert_option(c, "metadata", "a|b");
        assert_option(c, "disable_engine", "true");
        assert_option(c, "api_listen", "/run/x.sock");
        assert_option(c, "verbosity", "1"); /* names are upper case only */
        ck_assert_int_eq(config_log_level(c), LOG_DEBUG);
}
END_TEST

START_TEST(test_env_bad_value) {
        static const char *const env[] = {"FLEET_AGENT_TTL", "abc", NULL};
        static const char *const env2[] = {"FLEET_TOKEN_LIMIT", "0", NULL};
        static const char *const env3[] = {"FLEET_VERBOSITY", "", NULL};
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL, *err2 = NULL, *err3 = NULL;

        ck_assert_int_eq(config_new_defaults(&c), 0);
        test_env = env;
        ck_assert_int_eq(config_apply_env(c, test_getenv, &err), -EINVAL);
        ck_assert_str_eq(err, "invalid value for agent_ttl: \"abc\" (from $FLEET_AGENT_TTL)");
        test_env = env2;
        ck_assert_int_eq(config_apply_env(c, test_getenv, &err2), -EINVAL);
        ck_assert_str_eq(err2, "invalid value for token_limit: \"0\" (must be between 1 and "
                               "65535; from $FLEET_TOKEN_LIMIT)");
        test_env = env3;
        ck_assert_int_eq(config_apply_env(c, test_getenv, &err3), -EINVAL);
        ck_assert_str_eq(err3, "invalid value for verbosity: \"\" (from $FLEET_VERBOSITY)");
        test_env = NULL;
        assert_option(c, "agent_ttl", "30000000");
}
END_TEST

START_TEST(test_env_empty) {
        _cleanup_(config_freep) Config *c = NULL;

        ck_assert_int_eq(config_new_defaults(&c), 0);
        test_env = NULL;
        ck_assert_int_eq(config_apply_env(c, test_getenv, NULL), 0);
        for (size_t i = 0; i < ELEMENTSOF(default_cases); i++)
                assert_option(c, default_cases[i].name, default_cases[i].value);
}
END_TEST

/* --- warnings and log level ---------------------------------------------------------------- */

START_TEST(test_warnings) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **w = NULL, **w2 = NULL;
        static const char text[] = "verify_units = true\nauthorized_keys_file = /k\n";

        ck_assert_int_eq(config_new_defaults(&c), 0);
        ck_assert_int_eq(config_parse_text(c, text, strlen(text), NULL), 0);
        ck_assert_int_eq(config_warnings(c, &w), 0);
        ck_assert_int_eq(strv_length(w), 2);
        ck_assert_str_eq(w[0], "Config option verify_units is no longer supported - ignoring");
        ck_assert_str_eq(w[1],
                         "Config option authorized_keys_file is no longer supported - ignoring");

        /* Warnings follow the final values: the environment can switch them off. */
        static const char *const env[] = {"FLEET_VERIFY_UNITS", "false",
                                          "FLEET_AUTHORIZED_KEYS_FILE", "", NULL};
        test_env = env;
        ck_assert_int_eq(config_apply_env(c, test_getenv, NULL), 0);
        test_env = NULL;
        ck_assert_int_eq(config_warnings(c, &w2), 0);
        ck_assert_ptr_null(w2);
}
END_TEST

START_TEST(test_api_tls_check) {
        static const struct {
                const char *text;
                const char *error; /* NULL: ok */
        } cases[] = {
                {"", NULL},
                {"api_tls_cert_file=/c\napi_tls_key_file=/k\n", NULL},
                {"api_tls_cert_file=/c\napi_tls_key_file=/k\napi_tls_ca_file=/ca\n", NULL},
                {"api_tls_cert_file=/c\n", "api_tls_cert_file and api_tls_key_file must be set "
                                           "together (api_tls_key_file is missing)"},
                {"api_tls_key_file=/k\napi_tls_ca_file=/ca\n",
                 "api_tls_cert_file and api_tls_key_file must be set together "
                 "(api_tls_cert_file is missing)"},
                {"api_tls_ca_file=/ca\n",
                 "api_tls_ca_file needs api_tls_cert_file and api_tls_key_file"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *err = NULL;

                ck_assert_int_eq(config_new_defaults(&c), 0);
                ck_assert_int_eq(config_parse_text(c, cases[i].text, strlen(cases[i].text), NULL),
                                 0);
                if (!cases[i].error) {
                        ck_assert_int_eq(config_check(c, &err), 0);
                        ck_assert_ptr_null(err);
                        continue;
                }
                ck_assert_int_eq(config_check(c, &err), -EINVAL);
                ck_assert_str_eq(err, cases[i].error);
                ck_assert_int_eq(config_check(c, NULL), -EINVAL);
        }
}
END_TEST

START_TEST(test_api_tls_warnings) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **w = NULL, **w2 = NULL, **w3 = NULL;
        static const char text[] = "api_listen = /run/fleet.sock, 127.0.0.1:49153\n";
        static const char tls[] = "api_tls_cert_file=/c\napi_tls_key_file=/k\n";
        static const char ca[] = "api_tls_ca_file=/ca\n";

        ck_assert_int_eq(config_new_defaults(&c), 0);
        /* Unix sockets alone: nothing to say. */
        ck_assert_int_eq(config_parse_text(c, "api_listen=/run/f.sock", 22, NULL), 0);
        ck_assert_int_eq(config_warnings(c, &w), 0);
        ck_assert_ptr_null(w);
        /* A TCP listener without TLS. */
        ck_assert_int_eq(config_parse_text(c, text, strlen(text), NULL), 0);
        ck_assert_int_eq(config_warnings(c, &w), 0);
        ck_assert_int_eq(strv_length(w), 1);
        ck_assert_str_eq(w[0], "api_listen 127.0.0.1:49153 is served over plain HTTP without "
                               "authentication: anyone who can reach it controls the cluster "
                               "(set api_tls_cert_file, api_tls_key_file and api_tls_ca_file)");
        /* TLS without a client CA. */
        ck_assert_int_eq(config_parse_text(c, tls, strlen(tls), NULL), 0);
        ck_assert_int_eq(config_warnings(c, &w2), 0);
        ck_assert_int_eq(strv_length(w2), 1);
        ck_assert_str_eq(w2[0], "api_tls_ca_file is not set: TCP API clients are not "
                                "authenticated");
        /* Complete. */
        ck_assert_int_eq(config_parse_text(c, ca, strlen(ca), NULL), 0);
        ck_assert_int_eq(config_warnings(c, &w3), 0);
        ck_assert_ptr_null(w3);
}
END_TEST

START_TEST(test_api_tls_env) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL;
        static const char *const env[] = {"FLEET_API_TLS_CERT_FILE",
                                          "/e/c",
                                          "FLEET_API_TLS_KEY_FILE",
                                          "/e/k",
                                          "FLEET_API_TLS_CA_FILE",
                                          "/e/ca",
                                          "FLEET_API_SOCKET_MODE",
                                          "0600",
                                          NULL};
        static const char *const bad[] = {"FLEET_API_SOCKET_MODE", "999", NULL};

        ck_assert_int_eq(config_new_defaults(&c), 0);
        test_env = env;
        ck_assert_int_eq(config_apply_env(c, test_getenv, NULL), 0);
        assert_option(c, "api_tls_cert_file", "/e/c");
        assert_option(c, "api_tls_key_file", "/e/k");
        assert_option(c, "api_tls_ca_file", "/e/ca");
        assert_option(c, "api_socket_mode", "0600");
        test_env = bad;
        ck_assert_int_eq(config_apply_env(c, test_getenv, &err), -EINVAL);
        test_env = NULL;
        ck_assert_str_eq(err, "invalid value for api_socket_mode: \"999\" (expected an octal "
                              "mode such as 0660; from $FLEET_API_SOCKET_MODE)");
        assert_option(c, "api_socket_mode", "0600");
}
END_TEST

START_TEST(test_log_level) {
        _cleanup_(config_freep) Config *c = NULL;

        ck_assert_int_eq(config_new_defaults(&c), 0);
        ck_assert_int_eq(config_log_level(c), LOG_INFO);
        ck_assert_int_eq(config_parse_text(c, "verbosity=2", 11, NULL), 0);
        ck_assert_int_eq(config_log_level(c), LOG_DEBUG);
        ck_assert_int_eq(config_parse_text(c, "verbosity=-1", 12, NULL), 0);
        ck_assert_int_eq(config_log_level(c), LOG_INFO);
        ck_assert_int_eq(config_parse_text(c, "log_level=err", 13, NULL), 0);
        ck_assert_int_eq(config_log_level(c), LOG_ERR);
}
END_TEST

START_TEST(test_metadata_get) {
        _cleanup_(config_freep) Config *c = NULL;

        ck_assert_int_eq(config_new_defaults(&c), 0);
        ck_assert_ptr_null(config_metadata_get(c, "region"));
        ck_assert_int_eq(config_parse_text(c, "metadata=region=x,disk=ssd", 26, NULL), 0);
        ck_assert_str_eq(config_metadata_get(c, "region"), "x");
        ck_assert_str_eq(config_metadata_get(c, "disk"), "ssd");
        ck_assert_ptr_null(config_metadata_get(c, "x"));
        assert_option(c, "metadata_raw", "region=x,disk=ssd");
}
END_TEST

/* --- files ------------------------------------------------------------------------------------ */

START_TEST(test_load_fixture) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL;

        ck_assert_int_eq(config_new_defaults(&c), 0);
        ck_assert_int_eq(config_load(c, FIXTURES "fleet.conf", &err), 1);
        assert_option(c, "verbosity", "1");
        assert_option(c, "etcd_servers", "http://192.0.2.12:2379|http://192.0.2.13:2379");
        assert_option(c, "etcd_request_timeout", "1500000");
        assert_option(c, "etcd_cafile", "/etc/fleet/ca.pem");
        assert_option(c, "etcd_keyfile", "/etc/fleet/key.pem");
        assert_option(c, "etcd_certfile", "/etc/fleet/cert.pem");
        assert_option(c, "public_ip", "192.0.2.10");
        assert_option(c, "metadata", "az|us-west-1|region|us-west");
        assert_option(c, "agent_ttl", "40000000");
        assert_option(c, "engine_reconcile_interval", "10000000");
        assert_option(c, "api_listen", "/var/run/fleet.sock|127.0.0.1:49153");
        assert_option(c, "unknown_keys", "");
}
END_TEST

static const struct {
        const char *path;
        int r;
        const char *error;
} load_error_cases[] = {
        {FIXTURES "bad-syntax.conf", -EINVAL, "iniparser: syntax error at ':2'."},
        {FIXTURES "bad-value.conf", -EINVAL,
         "invalid value for token_limit: \"0\" (must be between 1 and 65535)"},
        {FIXTURES "does-not-exist.conf", -ENOENT,
         "Unable to use config file " FIXTURES "does-not-exist.conf: No such file or "
         "directory"},
        {FIXTURES, -EISDIR, "Provided config " FIXTURES " is a directory, not a file"},
};

START_TEST(test_load_errors) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL;

        ck_assert_int_eq(config_new_defaults(&c), 0);
        ck_assert_int_eq(config_load(c, load_error_cases[_i].path, &err), load_error_cases[_i].r);
        ck_assert_ptr_nonnull(err);
        ck_assert_str_eq(err, load_error_cases[_i].error);
}
END_TEST

START_TEST(test_load_too_large) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL, *expected = NULL;
        char path[] = "/tmp/test-config-XXXXXX";
        _cleanup_close_ int fd = mkstemp(path);
        static char block[64 * 1024];

        ck_assert_int_ge(fd, 0);
        memset(block, '#', sizeof(block));
        for (size_t n = 0; n <= CONFIG_FILE_MAX_SIZE; n += sizeof(block))
                ck_assert_int_eq(write(fd, block, sizeof(block)), (ssize_t) sizeof(block));
        ck_assert_int_eq(config_new_defaults(&c), 0);
        ck_assert_int_eq(config_load(c, path, &err), -EFBIG);
        ck_assert_int_ge(asprintf(&expected, "Unable to use config file %s: larger than %d bytes",
                                  path, CONFIG_FILE_MAX_SIZE),
                         0);
        ck_assert_str_eq(err, expected);
        (void) unlink(path);
}
END_TEST

START_TEST(test_load_default) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL;

        /* Only checkable where the default file does not exist (the usual test machine). */
        if (access(CONFIG_DEFAULT_PATH, F_OK) == 0)
                return;
        ck_assert_int_eq(config_new_defaults(&c), 0);
        ck_assert_int_eq(config_load(c, NULL, &err), 0);
        ck_assert_ptr_null(err);
        assert_option(c, "agent_ttl", "30000000");
}
END_TEST

static Suite *config_suite(void) {
        Suite *s = suite_create("config");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_defaults, 0, (int) ELEMENTSOF(default_cases));
        tcase_add_loop_test(tc, test_syntax, 0, (int) ELEMENTSOF(syntax_cases));
        tcase_add_test(tc, test_syntax_nul_and_length);
        tcase_add_test(tc, test_unknown_keys);
        tcase_add_loop_test(tc, test_option, 0, (int) ELEMENTSOF(option_cases));
        tcase_add_test(tc, test_error_without_message);
        tcase_add_test(tc, test_duplicate_only_last_counts);
        tcase_add_test(tc, test_env_precedence);
        tcase_add_test(tc, test_env_bad_value);
        tcase_add_test(tc, test_env_empty);
        tcase_add_test(tc, test_warnings);
        tcase_add_test(tc, test_log_level);
        tcase_add_test(tc, test_api_tls_check);
        tcase_add_test(tc, test_api_tls_warnings);
        tcase_add_test(tc, test_api_tls_env);
        tcase_add_test(tc, test_metadata_get);
        tcase_add_test(tc, test_load_fixture);
        tcase_add_loop_test(tc, test_load_errors, 0, (int) ELEMENTSOF(load_error_cases));
        tcase_add_test(tc, test_load_too_large);
        tcase_add_test(tc, test_load_default);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(config_suite)
