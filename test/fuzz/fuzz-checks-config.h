/* SPDX-License-Identifier: MIT */
#pragma once

/* Checks of fleetd's configuration parser. Included by fuzz-checks.h. */

#include <errno.h>
#include <strings.h>
#include <syslog.h>

#include "config.h"
#include "strv.h"

/* Every Config that config_parse_text()/config_apply_env() accepted is well-formed. */
static inline void fuzz_check_config_valid(const Config *c) {
        _cleanup_strv_free_ char **warnings = NULL;
        const char *p = c->etcd_key_prefix;
        size_t n;
        int level;

        FUZZ_CHECK(c->etcd_username && c->etcd_password && c->etcd_keyfile && c->etcd_certfile);
        FUZZ_CHECK(c->etcd_cafile && c->public_ip && c->metadata_raw && c->authorized_keys_file);
        FUZZ_CHECK(c->api_tls_cert_file && c->api_tls_key_file && c->api_tls_ca_file);
        FUZZ_CHECK(strv_length(c->etcd_servers) > 0);
        STRV_FOREACH(s, c->etcd_servers)
                FUZZ_CHECK(strncasecmp(*s, "http://", 7) == 0 ||
                           strncasecmp(*s, "https://", 8) == 0);
        /* The key prefix is normalized to "/a/b/": no empty, "." or ".." component. */
        n = strlen(p);
        FUZZ_CHECK(n >= 1 && p[0] == '/' && p[n - 1] == '/' && !strstr(p, "//"));
        FUZZ_CHECK(!strstr(p, "/./") && !strstr(p, "/../"));
        FUZZ_CHECK(c->engine_reconcile_interval > 0 && c->agent_ttl > 0 && c->token_limit > 0);
        FUZZ_CHECK(c->units_directory && c->units_directory[0] == '/');
        n = strv_length(c->metadata);
        FUZZ_CHECK(n % 2 == 0);
        for (size_t i = 2; i < n; i += 2)
                FUZZ_CHECK(strcmp(c->metadata[i - 2], c->metadata[i]) < 0);
        for (size_t i = 0; i < n; i += 2)
                FUZZ_CHECK(config_metadata_get(c, c->metadata[i]) == c->metadata[i + 1]);
        STRV_FOREACH(s, c->api_listen)
                FUZZ_CHECK(**s != 0);
        level = config_log_level(c);
        FUZZ_CHECK(level >= LOG_EMERG && level <= LOG_DEBUG);
        if (config_warnings(c, &warnings) == 0)
                FUZZ_CHECK(strv_length(warnings) >= strv_length(c->unknown_keys));
}

/* config_check(): TLS files come as a cert/key pair, a CA only with them. */
static inline void fuzz_check_config_final(const Config *c) {
        _cleanup_free_ char *err = NULL;
        bool cert = *c->api_tls_cert_file, key = *c->api_tls_key_file, ca = *c->api_tls_ca_file;
        int r = config_check(c, &err);

        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
        if (r == -ENOMEM)
                return;
        FUZZ_CHECK((r == 0) == (cert == key && (cert || !ca)));
        FUZZ_CHECK((r == 0) == !err);
}

static inline void fuzz_check_config_error(int r, const char *err, const char *prefix) {
        FUZZ_CHECK(r == -EINVAL || r == -ENOMEM);
        if (r == -EINVAL)
                FUZZ_CHECK(err &&
                           (strneq(err, prefix, strlen(prefix)) ||
                            strneq(err, "invalid value for ", strlen("invalid value for "))));
}

/*
 * Environment for config_apply_env(): one value per line of the input's tail; a line whose
 * first byte is b is the value of the (b % 32)-th option asked for (options are asked in a
 * fixed order). Function pointers get no userdata, hence the file-scope state.
 */
typedef struct FuzzEnv {
        char **lines;
        unsigned asked;
} FuzzEnv;

static FuzzEnv fuzz_env;

static inline char *fuzz_getenv(const char *name) {
        unsigned index = fuzz_env.asked++;

        FUZZ_CHECK(strneq(name, "FLEET_", 6));
        STRV_FOREACH(l, fuzz_env.lines)
                if (**l && (unsigned) (uint8_t) * *l % 32 == index)
                        return *l + 1;
        return NULL;
}

/* Input: INI text, then optionally a NUL byte and environment lines (see FuzzEnv). */
static inline void fuzz_check_config(const uint8_t *data, size_t size) {
        _cleanup_(config_freep) Config *c = NULL, *again = NULL;
        _cleanup_free_ char *err = NULL, *err2 = NULL, *env = NULL;
        _cleanup_strv_free_ char **lines = NULL;
        FuzzSpan text, tail, rest;
        int r, r2;

        fuzz_split((FuzzSpan){(const char *) data, size}, '\0', &text, &tail);
        if (config_new_defaults(&c) < 0 || config_new_defaults(&again) < 0)
                return;
        fuzz_check_config_valid(c);
        r = config_parse_text(c, text.p, text.len, &err);
        r2 = config_parse_text(again, text.p, text.len, &err2);
        if (r == -ENOMEM || r2 == -ENOMEM)
                return;
        /* Deterministic, and well-formed on success. */
        FUZZ_CHECK(r == r2 && fuzz_streq_null(err, err2));
        if (r < 0) {
                fuzz_check_config_error(r, err, "iniparser: syntax error at ':");
                return;
        }
        FUZZ_CHECK(!err);
        fuzz_check_config_valid(c);
        if (tail.len == 0) {
                fuzz_check_config_final(c);
                return;
        }

        while (tail.len > 0) {
                FuzzSpan line;

                fuzz_split(tail, '\n', &line, &rest);
                if (strv_consume(&lines, fuzz_strndup(line)) < 0)
                        return;
                tail = rest;
        }
        fuzz_env = (FuzzEnv){.lines = lines};
        r = config_apply_env(c, fuzz_getenv, &env);
        fuzz_env = (FuzzEnv){};
        if (r < 0) {
                FUZZ_CHECK(r == -EINVAL || r == -ENOMEM);
                if (r == -EINVAL)
                        FUZZ_CHECK(env && strneq(env, "invalid value for ", 18) &&
                                   strstr(env, "from $FLEET_"));
                return;
        }
        FUZZ_CHECK(!env);
        fuzz_check_config_valid(c);
        fuzz_check_config_final(c);
}
