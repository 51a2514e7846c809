/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "errmsg.h"
#include "fileio.h"
#include "log.h"
#include "strv.h"
#include "xfleet.h"

/*
 * An option parser stores the value (or returns -EINVAL, optionally with a short reason in
 * *reterr_hint, a static string) or returns -ENOMEM. It must leave the field untouched on
 * failure.
 */
typedef struct ConfigOption ConfigOption;
typedef int (*ConfigParseFn)(const ConfigOption *o, Config *c, const char *value,
                             const char **reterr_hint);

struct ConfigOption {
        const char *name;
        ConfigParseFn parse;
        size_t offset;
};

#define FIELD(c, o, type) ((type *) ((char *) (c) + (o)->offset))

static bool is_ws(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Trim whitespace from both ends of [*s, *s + *n). */
static void trim(const char **s, size_t *n) {
        while (*n > 0 && is_ws(**s)) {
                (*s)++;
                (*n)--;
        }
        while (*n > 0 && is_ws((*s)[*n - 1]))
                (*n)--;
}

static int set_string(char **field, const char *s, size_t n) {
        char *copy = strndup(s, n);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

/* --- value parsers ---------------------------------------------------------------------- */

static int parse_string(const ConfigOption *o, Config *c, const char *value, const char **hint) {
        return set_string(FIELD(c, o, char *), value, strlen(value));
}

/* Go's strconv.ParseBool. */
static int parse_bool(const ConfigOption *o, Config *c, const char *value, const char **hint) {
        static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
        static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (streq(value, yes[i])) {
                        *FIELD(c, o, bool) = true;
                        return 0;
                }
                if (streq(value, no[i])) {
                        *FIELD(c, o, bool) = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* Go's strconv.ParseInt(s, 0, 64) as the flag package uses it: optional sign, then decimal,
 * 0x hex, 0 octal. */
static int parse_integer(const char *value, long long *ret) {
        char *end;
        long long v;

        if (!(isdigit((unsigned char) value[0]) ||
              ((value[0] == '-' || value[0] == '+') && isdigit((unsigned char) value[1]))))
                return -EINVAL;
        errno = 0;
        v = strtoll(value, &end, 0);
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_int(const ConfigOption *o, Config *c, const char *value, const char **hint) {
        long long v;

        if (parse_integer(value, &v) < 0)
                return -EINVAL;
        if (v < INT_MIN || v > INT_MAX) {
                *hint = "out of range";
                return -EINVAL;
        }
        *FIELD(c, o, int) = (int) v;
        return 0;
}

static int parse_token_limit(const ConfigOption *o, Config *c, const char *value,
                             const char **hint) {
        long long v;

        if (parse_integer(value, &v) < 0)
                return -EINVAL;
        if (v < 1 || v > UINT16_MAX) {
                *hint = "must be between 1 and 65535";
                return -EINVAL;
        }
        *FIELD(c, o, uint16_t) = (uint16_t) v;
        return 0;
}

static int parse_seconds(const ConfigOption *o, Config *c, const char *value, bool positive,
                         const char **hint) {
        usec_t u;
        int r = parse_sec_float(value, &u);

        if (r == -ERANGE)
                *hint = value[0] != '-' ? "out of range"
                        : positive      ? "must be positive"
                                        : "must not be negative";
        if (r < 0)
                return -EINVAL;
        if (positive && u == 0) {
                *hint = "must be positive";
                return -EINVAL;
        }
        *FIELD(c, o, usec_t) = u;
        return 0;
}

/* 0 disables the per-request timeout. */
static int parse_seconds_or_zero(const ConfigOption *o, Config *c, const char *value,
                                 const char **hint) {
        return parse_seconds(o, c, value, false, hint);
}

static int parse_seconds_positive(const ConfigOption *o, Config *c, const char *value,
                                  const char **hint) {
        return parse_seconds(o, c, value, true, hint);
}

static int parse_duration_positive(const ConfigOption *o, Config *c, const char *value,
                                   const char **hint) {
        usec_t u;
        int r = parse_go_duration(value, &u);

        if (r == -ERANGE)
                *hint = value[0] == '-' ? "must be positive" : "out of range";
        if (r < 0)
                return -EINVAL;
        if (u == 0) {
                *hint = "must be positive";
                return -EINVAL;
        }
        *FIELD(c, o, usec_t) = u;
        return 0;
}

static bool is_http_url(const char *s) {
        if (strncasecmp(s, "http://", 7) == 0)
                return s[7] != '\0';
        if (strncasecmp(s, "https://", 8) == 0)
                return s[8] != '\0';
        return false;
}

/*
 * fleet's StringSlice.Set: split on ',', strip leading " [\"" and trailing " \"]" from each
 * item, so both `["http://a:2379","http://b:2379"]` and `http://a:2379,http://b:2379` work.
 * Unlike fleet, empty items are dropped, and every item must be an http(s) URL.
 */
static int parse_etcd_servers(const ConfigOption *o, Config *c, const char *value,
                              const char **hint) {
        _cleanup_strv_free_ char **l = NULL;

        for (const char *p = value;;) {
                size_t n = strcspn(p, ",");
                const char *s = p;
                size_t k = n;

                while (k > 0 && strchr(" [\"", *s)) {
                        s++;
                        k--;
                }
                while (k > 0 && strchr(" \"]", s[k - 1]))
                        k--;
                if (k > 0 && strv_consume(&l, strndup(s, k)) < 0)
                        return -ENOMEM;
                if (p[n] == '\0')
                        break;
                p += n + 1;
        }
        if (!l) {
                *hint = "no servers given";
                return -EINVAL;
        }
        STRV_FOREACH(s, l)
                if (!is_http_url(*s)) {
                        *hint = "each server must be an http:// or https:// URL";
                        return -EINVAL;
                }
        strv_free(*FIELD(c, o, char **));
        *FIELD(c, o, char **) = TAKE_PTR(l);
        return 0;
}

/* Keys are built by path-joining in fleet; here the prefix is normalized once to "/a/b/" so
 * that keys are prefix + "job/<name>". "." and ".." components are refused. */
static int parse_key_prefix(const ConfigOption *o, Config *c, const char *value,
                            const char **hint) {
        /* Output: a leading "/", the input's characters with separators collapsed, one more
         * "/" after the last component, and the NUL: at most strlen + 3. */
        _cleanup_free_ char *norm = malloc(strlen(value) + 3);
        size_t n = 0;

        if (!norm)
                return -ENOMEM;
        norm[n++] = '/';
        for (const char *p = value; *p;) {
                size_t k = strcspn(p, "/");
                if ((k == 1 && p[0] == '.') || (k == 2 && p[0] == '.' && p[1] == '.')) {
                        *hint = "\".\" and \"..\" are not allowed";
                        return -EINVAL;
                }
                if (k > 0) {
                        memcpy(norm + n, p, k);
                        n += k;
                        norm[n++] = '/';
                }
                p += k;
                if (*p == '/')
                        p++;
        }
        norm[n] = '\0';
        free(*FIELD(c, o, char *));
        *FIELD(c, o, char *) = TAKE_PTR(norm);
        return 0;
}

static int parse_public_ip(const ConfigOption *o, Config *c, const char *value, const char **hint) {
        unsigned char buf[sizeof(struct in6_addr)];

        if (value[0] != '\0' && inet_pton(AF_INET, value, buf) != 1 &&
            inet_pton(AF_INET6, value, buf) != 1) {
                *hint = "not an IP address";
                return -EINVAL;
        }
        return parse_string(o, c, value, hint);
}

static int parse_units_directory(const ConfigOption *o, Config *c, const char *value,
                                 const char **hint) {
        if (value[0] != '/') {
                *hint = "must be an absolute path";
                return -EINVAL;
        }
        return parse_string(o, c, value, hint);
}

static int parse_metadata(const ConfigOption *o, Config *c, const char *value, const char **hint) {
        char **l = NULL;
        int r;

        r = metadata_parse_config(value, &l); /* reference 2.5, shared with xfleet */
        if (r < 0)
                return r;
        r = set_string(&c->metadata_raw, value, strlen(value));
        if (r < 0) {
                strv_free(l);
                return r;
        }
        strv_free(c->metadata);
        c->metadata = l;
        return 0;
}

/* Decimal digits only, 1..65535. */
static bool is_port(const char *s) {
        unsigned long v = 0;

        if (*s == '\0' || strlen(s) > 5)
                return false;
        for (; *s; s++) {
                if (!isdigit((unsigned char) *s))
                        return false;
                v = v * 10 + (unsigned long) (*s - '0');
        }
        return v >= 1 && v <= 65535;
}

/* "host:port" with a numeric port 1..65535; host may be empty or "[v6]". */
static bool is_host_port(const char *s) {
        const char *colon = strrchr(s, ':');

        if (!colon || !is_port(colon + 1))
                return false;
        if (s[0] == '[')
                return colon > s + 1 && colon[-1] == ']' && memchr(s, ':', (size_t) (colon - s));
        return !memchr(s, ':', (size_t) (colon - s)) && !memchr(s, '/', (size_t) (colon - s));
}

static int check_listen_item(const char *s, const char **hint) {
        if (s[0] == '/') {
                if (strlen(s) >= sizeof(((struct sockaddr_un *) NULL)->sun_path)) {
                        *hint = "unix socket path too long";
                        return -EINVAL;
                }
                return 0;
        }
        if (!is_host_port(s)) {
                *hint = "each item must be an absolute unix socket path or host:port";
                return -EINVAL;
        }
        return 0;
}

static int parse_api_listen(const ConfigOption *o, Config *c, const char *value,
                            const char **hint) {
        _cleanup_strv_free_ char **l = NULL;

        for (const char *p = value;;) {
                size_t n = strcspn(p, ",");
                const char *s = p;
                size_t k = n;

                trim(&s, &k);
                if (k > 0 && strv_consume(&l, strndup(s, k)) < 0)
                        return -ENOMEM;
                if (p[n] == '\0')
                        break;
                p += n + 1;
        }
        STRV_FOREACH(s, l)
                if (check_listen_item(*s, hint) < 0)
                        return -EINVAL;
        strv_free(*FIELD(c, o, char **));
        *FIELD(c, o, char **) = TAKE_PTR(l);
        return 0;
}

static int parse_log_level(const ConfigOption *o, Config *c, const char *value, const char **hint) {
        int level = -1;

        if (value[0] != '\0') {
                level = log_level_from_string(value);
                if (level < 0) {
                        *hint = "expected debug, info, notice, warning, error, crit, alert, "
                                "emerg or 0..7";
                        return -EINVAL;
                }
        }
        *FIELD(c, o, int) = level;
        return 0;
}

/* "auto" or "signal": how the agent freezes units at its fencing deadline. */
static int parse_freeze_method(const ConfigOption *o, Config *c, const char *value,
                               const char **hint) {
        if (!streq(value, "auto") && !streq(value, "signal")) {
                *hint = "expected auto or signal";
                return -EINVAL;
        }
        *FIELD(c, o, int) = streq(value, "signal") ? CONFIG_FREEZE_SIGNAL : CONFIG_FREEZE_AUTO;
        return 0;
}

/* An octal file mode, "0660" or "660", at most 0777. */
static int parse_socket_mode(const ConfigOption *o, Config *c, const char *value,
                             const char **hint) {
        unsigned long v;
        char *end;

        if (value[0] == '\0' || strspn(value, "01234567") != strlen(value)) {
                *hint = "expected an octal mode such as 0660";
                return -EINVAL;
        }
        errno = 0;
        v = strtoul(value, &end, 8);
        if (errno != 0 || *end != '\0' || v > 0777) {
                *hint = "expected an octal mode between 0 and 0777";
                return -EINVAL;
        }
        *FIELD(c, o, unsigned) = (unsigned) v;
        return 0;
}

#define OPT(n, fn)                                                                                 \
        { #n, fn, offsetof(Config, n) }

static const ConfigOption options[] = {
        OPT(verbosity, parse_int),
        OPT(etcd_servers, parse_etcd_servers),
        OPT(etcd_username, parse_string),
        OPT(etcd_password, parse_string),
        OPT(etcd_keyfile, parse_string),
        OPT(etcd_certfile, parse_string),
        OPT(etcd_cafile, parse_string),
        OPT(etcd_key_prefix, parse_key_prefix),
        OPT(etcd_request_timeout, parse_seconds_or_zero),
        OPT(engine_reconcile_interval, parse_seconds_positive),
        OPT(public_ip, parse_public_ip),
        OPT(metadata, parse_metadata),
        OPT(agent_ttl, parse_duration_positive),
        OPT(units_directory, parse_units_directory),
        OPT(systemd_user, parse_bool),
        OPT(token_limit, parse_token_limit),
        OPT(disable_engine, parse_bool),
        OPT(disable_watches, parse_bool),
        OPT(enable_grpc, parse_bool),
        OPT(verify_units, parse_bool),
        OPT(authorized_keys_file, parse_string),
        OPT(api_listen, parse_api_listen),
        OPT(log_level, parse_log_level),
        OPT(api_tls_cert_file, parse_string),
        OPT(api_tls_key_file, parse_string),
        OPT(api_tls_ca_file, parse_string),
        OPT(api_socket_mode, parse_socket_mode),
        OPT(freeze_method, parse_freeze_method),
};

static const ConfigOption *option_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(options); i++)
                if (streq(options[i].name, name))
                        return &options[i];
        return NULL;
}

/* --- error messages --------------------------------------------------------------------- */

/* The value as it appears in messages: quotes, backslashes and control bytes escaped. */
static char *escape_value(const char *s) {
        char *buf = malloc(strlen(s) * 4 + 1), *p = buf;

        if (!buf)
                return NULL;
        for (; *s; s++) {
                unsigned char ch = (unsigned char) *s;
                if (ch == '"' || ch == '\\') {
                        *p++ = '\\';
                        *p++ = (char) ch;
                } else if (ch < 0x20 || ch == 0x7f)
                        p += sprintf(p, "\\x%02x", ch);
                else
                        *p++ = (char) ch;
        }
        *p = '\0';
        return buf;
}

static int value_error(const char *name, const char *value, const char *hint, const char *env,
                       char **reterr_message) {
        _cleanup_free_ char *esc = NULL;

        if (!reterr_message)
                return -EINVAL;
        esc = escape_value(value);
        if (!esc)
                return -ENOMEM;
        if (hint && env)
                return errmsg_set(reterr_message, -EINVAL,
                                  "invalid value for %s: \"%s\" (%s; from $%s)", name, esc, hint,
                                  env);
        if (hint || env)
                return errmsg_set(reterr_message, -EINVAL, "invalid value for %s: \"%s\" (%s%s)",
                                  name, esc, env ? "from $" : "", hint ?: env);
        return errmsg_set(reterr_message, -EINVAL, "invalid value for %s: \"%s\"", name, esc);
}

static int apply_option(Config *c, const ConfigOption *o, const char *value, const char *env,
                        char **reterr_message) {
        const char *hint = NULL;
        int r = o->parse(o, c, value, &hint);

        if (r == -EINVAL)
                return value_error(o->name, value, hint, env, reterr_message);
        return r;
}

/* --- INI syntax (vendored goini, reference 2.2) ------------------------------------------ */

typedef struct IniReader {
        const char *p, *end;
        unsigned line;
} IniReader;

/* Next raw line without its "\n" or "\r\n"; false at the end of the text. */
static bool ini_next_line(IniReader *rd, const char **ret, size_t *ret_len) {
        const char *nl;
        size_t n;

        if (rd->p >= rd->end)
                return false;
        nl = memchr(rd->p, '\n', (size_t) (rd->end - rd->p));
        n = nl ? (size_t) (nl - rd->p) : (size_t) (rd->end - rd->p);
        *ret = rd->p;
        *ret_len = n > 0 && rd->p[n - 1] == '\r' ? n - 1 : n;
        rd->p += nl ? n + 1 : n;
        rd->line++;
        return true;
}

/* One logical line: trimmed, with "\"-continued lines joined. 1 with a malloc'd line, 0 at
 * the end, -EINVAL if the text ends right after a continuation, -ENOMEM. */
static int ini_logical_line(IniReader *rd, char **ret, unsigned *ret_lineno) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        const char *s;
        size_t n;

        if (!ini_next_line(rd, &s, &n))
                return 0;
        *ret_lineno = rd->line;
        for (;;) {
                char *nb;
                if (memchr(s, '\0', n))
                        return -EINVAL; /* a NUL byte is no text */
                trim(&s, &n);
                nb = realloc(buf, len + n + 1);
                if (!nb)
                        return -ENOMEM;
                buf = nb;
                memcpy(buf + len, s, n);
                len += n;
                buf[len] = '\0';
                if (len == 0 || buf[len - 1] != '\\')
                        break;
                buf[--len] = '\0';
                if (!ini_next_line(rd, &s, &n))
                        return -EINVAL;
        }
        *ret = TAKE_PTR(buf);
        return 1;
}

/* Set key (taken) to value (taken) in the alternating list, keeping first-seen order. */
static int pairs_set(char ***pairs, char *key, char *value) {
        size_t n = strv_length(*pairs);
        int r;

        if (!key || !value) {
                free(key);
                free(value);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i += 2)
                if (streq((*pairs)[i], key)) {
                        free(key);
                        free((*pairs)[i + 1]);
                        (*pairs)[i + 1] = value;
                        return 0;
                }
        r = strv_consume(pairs, key);
        if (r < 0) {
                free(value);
                return r;
        }
        return strv_consume(pairs, value);
}

/* The value part of "key = ...": goini's quoted forms (the whole rest), else up to the first
 * '#' or ';', trimmed. */
static void ini_value(const char *rest, const char **ret, size_t *ret_len) {
        size_t n = strlen(rest);

        if (n >= 2 && (rest[0] == '"' || rest[0] == '\'') && rest[n - 1] == rest[0] &&
            !memchr(rest + 1, rest[0], n - 2)) {
                *ret = rest + 1;
                *ret_len = n - 2;
                return;
        }
        *ret = rest;
        *ret_len = strcspn(rest, "#;");
        trim(ret, ret_len);
}

/* Parse one logical line (non-empty, trimmed). -EINVAL on a syntax error. */
static int ini_parse_line(char *line, char **section, char ***pairs) {
        size_t n = strlen(line), kn;
        const char *v, *eq;
        size_t vn;

        if (line[0] == '#' || line[0] == ';')
                return 0;
        if (line[0] == '[' && line[n - 1] == ']') {
                const char *s = line + 1;
                size_t sn = n - 2;
                trim(&s, &sn);
                free(*section);
                *section = strndup(s, sn);
                return *section ? 0 : -ENOMEM;
        }

        kn = strcspn(line, "= \t");
        eq = line + kn + strspn(line + kn, " \t");
        if (kn == 0 || *eq != '=')
                return -EINVAL;
        if (**section != '\0')
                return 0; /* options inside a section are ignored */

        for (size_t i = 0; i < kn; i++)
                line[i] = (char) tolower((unsigned char) line[i]);
        ini_value(eq + 1 + strspn(eq + 1, " \t"), &v, &vn);
        return pairs_set(pairs, strndup(line, kn), strndup(v, vn));
}

/* Parse INI text into alternating key/value pairs of the top-level section. */
static int ini_parse(const char *text, size_t len, char ***ret, char **reterr_message) {
        _cleanup_strv_free_ char **pairs = NULL;
        _cleanup_free_ char *section = strdup("");
        IniReader rd = {.p = text, .end = text + len};

        if (!section)
                return -ENOMEM;
        for (;;) {
                _cleanup_free_ char *line = NULL;
                unsigned lineno = 0;
                int r;

                r = ini_logical_line(&rd, &line, &lineno);
                if (r == 0)
                        break;
                if (r > 0)
                        r = line[0] == '\0' ? 0 : ini_parse_line(line, &section, &pairs);
                if (r == -EINVAL) {
                        return errmsg_set(reterr_message, -EINVAL,
                                          "iniparser: syntax error at ':%u'.", lineno);
                }
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(pairs);
        return 0;
}

/* --- public API --------------------------------------------------------------------------- */

static int config_set_defaults(Config *c) {
        static const struct {
                const char *name, *value;
        } defaults[] = {
                {"etcd_servers", CONFIG_DEFAULT_ETCD_SERVERS},
                {"etcd_key_prefix", CONFIG_DEFAULT_ETCD_KEY_PREFIX},
                {"units_directory", CONFIG_DEFAULT_UNITS_DIRECTORY},
        };
        char **strings[] = {&c->etcd_username,    &c->etcd_password,        &c->etcd_keyfile,
                            &c->etcd_certfile,    &c->etcd_cafile,          &c->public_ip,
                            &c->metadata_raw,     &c->authorized_keys_file, &c->api_tls_cert_file,
                            &c->api_tls_key_file, &c->api_tls_ca_file};

        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (set_string(strings[i], "", 0) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(defaults); i++) {
                int r = apply_option(c, option_find(defaults[i].name), defaults[i].value, NULL,
                                     NULL);
                if (r < 0)
                        return r;
        }
        c->etcd_request_timeout = CONFIG_DEFAULT_ETCD_REQUEST_TIMEOUT;
        c->engine_reconcile_interval = CONFIG_DEFAULT_ENGINE_RECONCILE_INTERVAL;
        c->agent_ttl = CONFIG_DEFAULT_AGENT_TTL;
        c->token_limit = CONFIG_DEFAULT_TOKEN_LIMIT;
        c->log_level = -1;
        c->api_socket_mode = CONFIG_DEFAULT_API_SOCKET_MODE;
        return 0;
}

int config_new_defaults(Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        assert(ret);

        c = calloc(1, sizeof(Config));
        if (!c)
                return -ENOMEM;
        r = config_set_defaults(c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        strv_free(c->etcd_servers);
        free(c->etcd_username);
        free(c->etcd_password);
        free(c->etcd_keyfile);
        free(c->etcd_certfile);
        free(c->etcd_cafile);
        free(c->etcd_key_prefix);
        free(c->public_ip);
        free(c->metadata_raw);
        strv_free(c->metadata);
        free(c->units_directory);
        free(c->authorized_keys_file);
        strv_free(c->api_listen);
        free(c->api_tls_cert_file);
        free(c->api_tls_key_file);
        free(c->api_tls_ca_file);
        strv_free(c->unknown_keys);
        free(c);
        return NULL;
}

int config_parse_text(Config *c, const char *text, size_t len, char **reterr_message) {
        _cleanup_strv_free_ char **pairs = NULL;
        int r;

        assert(c);
        assert(text || len == 0);

        r = ini_parse(text ?: "", len, &pairs, reterr_message);
        if (r < 0)
                return r;
        for (size_t i = 0; pairs && pairs[i]; i += 2) {
                const ConfigOption *o = option_find(pairs[i]);

                if (!o) {
                        if (!strv_contains(c->unknown_keys, pairs[i]) &&
                            strv_extend(&c->unknown_keys, pairs[i]) < 0)
                                return -ENOMEM;
                        continue;
                }
                r = apply_option(c, o, pairs[i + 1], NULL, reterr_message);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int config_open(const char *path, bool is_default, int *ret_fd, char **reterr_message) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                if (is_default && r == -ENOENT)
                        return 0;
                return errmsg_set(reterr_message, r, "Unable to use config file %s: %s", path,
                                  strerror(-r));
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                return errmsg_set(reterr_message, r, "Unable to use config file %s: %s", path,
                                  strerror(-r));
        }
        if (S_ISDIR(st.st_mode)) {
                return errmsg_set(reterr_message, -EISDIR,
                                  "Provided config %s is a directory, not a file", path);
        }
        *ret_fd = TAKE_FD(fd);
        return 1;
}

int config_load(Config *c, const char *path, char **reterr_message) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        assert(c);

        r = config_open(path ?: CONFIG_DEFAULT_PATH, !path, &fd, reterr_message);
        if (r <= 0)
                return r;
        r = read_fd_bounded(fd, CONFIG_FILE_MAX_SIZE, 0, &text, &len);
        if (r < 0) {
                if (r == -EFBIG)
                        return errmsg_set(reterr_message, r,
                                          "Unable to use config file %s: larger than %d bytes",
                                          path ?: CONFIG_DEFAULT_PATH, CONFIG_FILE_MAX_SIZE);
                return errmsg_set(reterr_message, r, "Unable to use config file %s: %s",
                                  path ?: CONFIG_DEFAULT_PATH, strerror(-r));
        }
        r = config_parse_text(c, text, len, reterr_message);
        return r < 0 ? r : 1;
}

int config_apply_env(Config *c, ConfigGetenv getenv_fn, char **reterr_message) {
        assert(c);
        assert(getenv_fn);

        for (size_t i = 0; i < ELEMENTSOF(options); i++) {
                char var[64];
                const char *value;
                int r;

                r = snprintf(var, sizeof(var), "FLEET_%s", options[i].name);
                assert(r > 0 && (size_t) r < sizeof(var));
                for (char *p = var; *p; p++)
                        *p = (char) toupper((unsigned char) *p);
                value = getenv_fn(var);
                if (!value)
                        continue;
                r = apply_option(c, &options[i], value, var, reterr_message);
                if (r < 0)
                        return r;
        }
        return 0;
}

int config_check(const Config *c, char **reterr_message) {
        bool cert, key;

        assert(c);

        cert = c->api_tls_cert_file[0] != '\0';
        key = c->api_tls_key_file[0] != '\0';
        if (cert != key) {
                return errmsg_set(reterr_message, -EINVAL,
                                  "api_tls_cert_file and api_tls_key_file must be set together "
                                  "(%s is missing)",
                                  cert ? "api_tls_key_file" : "api_tls_cert_file");
        }
        if (!cert && c->api_tls_ca_file[0] != '\0') {
                return errmsg_set(reterr_message, -EINVAL,
                                  "api_tls_ca_file needs api_tls_cert_file and api_tls_key_file");
        }
        return 0;
}

int config_warnings(const Config *c, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;

        assert(c);
        assert(ret);

        if (c->verify_units &&
            strv_extend(&l, "Config option verify_units is no longer supported - ignoring") < 0)
                return -ENOMEM;
        if (c->authorized_keys_file[0] != '\0' &&
            strv_extend(&l, "Config option authorized_keys_file is no longer supported - "
                            "ignoring") < 0)
                return -ENOMEM;
        STRV_FOREACH(k, c->unknown_keys) {
                char *m;
                if (asprintf(&m, "Unknown config option \"%s\" - ignoring", *k) < 0)
                        return -ENOMEM;
                if (strv_consume(&l, m) < 0)
                        return -ENOMEM;
        }
        STRV_FOREACH(a, c->api_listen) {
                char *m;
                if ((*a)[0] == '/' || c->api_tls_cert_file[0] != '\0')
                        continue;
                if (asprintf(&m,
                             "api_listen %s is served over plain HTTP without "
                             "authentication: anyone who can reach it controls the cluster "
                             "(set api_tls_cert_file, api_tls_key_file and api_tls_ca_file)",
                             *a) < 0)
                        return -ENOMEM;
                if (strv_consume(&l, m) < 0)
                        return -ENOMEM;
        }
        if (c->api_tls_cert_file[0] != '\0' && c->api_tls_ca_file[0] == '\0' &&
            strv_extend(&l, "api_tls_ca_file is not set: TCP API clients are not "
                            "authenticated") < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int config_log_level(const Config *c) {
        assert(c);

        if (c->log_level >= 0)
                return c->log_level;
        return c->verbosity > 0 ? LOG_DEBUG : LOG_INFO;
}

const char *config_metadata_get(const Config *c, const char *key) {
        assert(c);
        assert(key);

        for (size_t i = 0; c->metadata && c->metadata[i]; i += 2)
                if (streq(c->metadata[i], key))
                        return c->metadata[i + 1];
        return NULL;
}
