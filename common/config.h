/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * fleetd configuration (reference section 2): built-in defaults, then the INI file
 * (/etc/fleet/fleet.conf or --config), then FLEET_<OPTION> environment variables, which win.
 *
 * The INI syntax is fleet's (vendored goini, reference 2.2), with its error message. Unlike
 * fleet, a value that does not parse, or is out of range, is an error naming the option and
 * the value (DESIGN.md section 5) instead of being silently ignored.
 *
 * Everything except config_load() is pure.
 *
 * Typical use (fleetd startup and SIGHUP, which builds a new Config and swaps on success):
 *
 *     _cleanup_(config_freep) Config *c = NULL;
 *     _cleanup_free_ char *err = NULL;
 *     r = config_new_defaults(&c);
 *     if (r >= 0)
 *             r = config_load(c, arg_config, &err);       (1: loaded, 0: no default file)
 *     if (r >= 0)
 *             r = config_apply_env(c, getenv, &err);
 *     if (r < 0)
 *             return log_error_errno(r, "%s", err ?: "Out of memory.");
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "time-util.h"

#define CONFIG_DEFAULT_PATH "/etc/fleet/fleet.conf"
#define CONFIG_FILE_MAX_SIZE (1024 * 1024) /* bytes; a larger config file is an error */

#define CONFIG_DEFAULT_ETCD_SERVERS "http://127.0.0.1:2379,http://127.0.0.1:4001"
#define CONFIG_DEFAULT_ETCD_KEY_PREFIX "/_coreos.com/fleet/"
#define CONFIG_DEFAULT_ETCD_REQUEST_TIMEOUT ((usec_t) 1 * USEC_PER_SEC)
#define CONFIG_DEFAULT_ENGINE_RECONCILE_INTERVAL ((usec_t) 2 * USEC_PER_SEC)
#define CONFIG_DEFAULT_AGENT_TTL ((usec_t) 30 * USEC_PER_SEC)
#define CONFIG_DEFAULT_UNITS_DIRECTORY "/run/fleet/units/"
#define CONFIG_DEFAULT_TOKEN_LIMIT 100
#define CONFIG_DEFAULT_API_SOCKET_MODE 0660
#define CONFIG_FREEZE_AUTO 0
#define CONFIG_FREEZE_SIGNAL 1

/*
 * Strings are never NULL ("" when unset); lists may be NULL (empty). Everything is owned by
 * the Config.
 */
typedef struct Config {
        int verbosity;       /* > 0 enables debug logging */
        char **etcd_servers; /* never empty; items are http:// or https:// URLs */
        char *etcd_username;
        char *etcd_password;
        char *etcd_keyfile;
        char *etcd_certfile;
        char *etcd_cafile;
        char *etcd_key_prefix;            /* normalized: "/a/b/" (leading and trailing '/') */
        usec_t etcd_request_timeout;      /* float seconds in the file; 0 = no timeout */
        usec_t engine_reconcile_interval; /* float seconds in the file; > 0 */
        char *public_ip;                  /* "" = auto-detect; else an IPv4/IPv6 address */
        char *metadata_raw;               /* the option as given */
        char **metadata;                  /* parsed: alternating key, value; sorted by key,
                                           * later duplicates win (reference 2.5) */
        usec_t agent_ttl;                 /* Go duration in the file; > 0 */
        char *units_directory;            /* absolute path */
        bool systemd_user;
        uint16_t token_limit; /* 1..65535 */
        bool disable_engine;
        bool disable_watches;
        bool enable_grpc;
        bool verify_units;          /* deprecated, see config_warnings() */
        char *authorized_keys_file; /* deprecated, see config_warnings() */

        /* fleet-c extensions */
        char **api_listen; /* "/unix/path" or "host:port" items ("[v6]:port",
                            * ":port" = any address); empty = only sockets from
                            * socket activation */
        int log_level;     /* LOG_* from "log_level"; -1 = from verbosity */
        /* TLS for the TCP API listeners (docs/security.md): PEM file paths, "" = unset. Cert
         * and key go together (config_check()); with the CA, clients must present a
         * certificate it signed. Unix sockets are never TLS. */
        char *api_tls_cert_file;
        char *api_tls_key_file;
        char *api_tls_ca_file;
        unsigned api_socket_mode; /* octal in the file ("0660"); mode of the unix sockets
                                   * created from api_listen; 0..0777 */
        int freeze_method;        /* CONFIG_FREEZE_AUTO ("auto": systemd's FreezeUnit, SIGSTOP where
                                   * systemd cannot freeze) or CONFIG_FREEZE_SIGNAL ("signal": always
                                   * SIGSTOP/SIGCONT through KillUnit) */

        char **unknown_keys; /* top-level file keys no option knows, file order */
} Config;

/* A new Config holding fleet's defaults. 0 or -ENOMEM. */
int config_new_defaults(Config **ret);

Config *config_free(Config *c);
DEFINE_CLEANUP(Config *, config_free);

/*
 * Apply INI text (len bytes, need not be NUL-terminated) to c. Only options outside any
 * [section] are read; of duplicate keys the last one counts; unknown keys are recorded in
 * c->unknown_keys. Returns 0 on success; -EINVAL on a syntax error ("iniparser: syntax error
 * at ':N'.", N the 1-based number of the line, or of the first line of a "\"-continued
 * group; text ending right after a continuation is an error too) or a bad value ("invalid value for
 * agent_ttl: \"abc\"", sometimes followed by a parenthesized reason), with a malloc'd message
 * in *reterr_message if that is non-NULL; -ENOMEM. On failure c may hold some of the new
 * values and should be discarded.
 */
int config_parse_text(Config *c, const char *text, size_t len, char **reterr_message);

/*
 * Read and apply a config file. With path == NULL, CONFIG_DEFAULT_PATH is used if it exists
 * (returns 0 without touching c if it does not). An explicit path that is missing, or is a
 * directory, is an error with fleet's message ("Unable to use config file <p>: <strerror>",
 * "Provided config <p> is a directory, not a file"). Returns 1 if a file was applied, 0 if
 * there was no default file, or a negative errno with *reterr_message set (see
 * config_parse_text() for the parse errors; read errors: -errno, -EFBIG over
 * CONFIG_FILE_MAX_SIZE).
 */
int config_load(Config *c, const char *path, char **reterr_message);

/*
 * Override options from the environment: for every option, getenv_fn("FLEET_<NAME>"), name
 * upper-cased (FLEET_ETCD_SERVERS). A variable that is set, even to "", is applied; NULL
 * means unset. A bad value is -EINVAL with a message like config_parse_text()'s that also
 * names the variable. Pass getenv (or a test stub). 0, -EINVAL or -ENOMEM.
 */
typedef char *(*ConfigGetenv)(const char *name);
int config_apply_env(Config *c, ConfigGetenv getenv_fn, char **reterr_message);

/*
 * Checks across options, once the configuration is final (after config_apply_env()):
 * api_tls_cert_file and api_tls_key_file are set together, and api_tls_ca_file only with
 * them. 0, or -EINVAL with a malloc'd message in *reterr_message if that is non-NULL (or
 * -ENOMEM).
 */
int config_check(const Config *c, char **reterr_message);

/*
 * Warnings to log once the configuration is final, in fleet's words where fleet had one:
 * "Config option verify_units is no longer supported - ignoring", the same for a non-empty
 * authorized_keys_file, and "Unknown config option \"<key>\" - ignoring" per unknown file key.
 * Then fleet-c's: one per TCP api_listen address served without TLS, and one if TLS is on
 * without api_tls_ca_file (clients are not authenticated).
 * *ret is a new strv (NULL if there is nothing to say). 0 or -ENOMEM.
 */
int config_warnings(const Config *c, char ***ret);

/* The syslog level to log at: log_level if set, else LOG_DEBUG if verbosity > 0, else
 * LOG_INFO. */
int config_log_level(const Config *c);

/* Look up a metadata value from the config's metadata (NULL if absent). Borrowed. */
const char *config_metadata_get(const Config *c, const char *key);
