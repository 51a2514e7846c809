/* SPDX-License-Identifier: MIT */
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "fleetctl-util.h"
#include "strv.h"

_printf_(2, 3) static int format(char **ret, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(ret, fmt, ap);
        va_end(ap);
        return r < 0 ? -ENOMEM : 0;
}

static int dup_to(const char *s, char **ret) {
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* ---- unit arguments ---- */

bool fleetctl_unit_type_recognized(const char *name) {
        static const char *const types[] = {"service", "socket", "timer",    "path",
                                            "device",  "mount",  "automount"};
        const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');

        /* Go's path.Ext: the extension of the last element only */
        if (!dot || (slash && slash > dot))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (streq(dot + 1, types[i]))
                        return true;
        return false;
}

int fleetctl_append_default_type(const char *arg, char **ret) {
        if (fleetctl_unit_type_recognized(arg))
                return dup_to(arg, ret);
        return format(ret, "%s.service", arg);
}

int fleetctl_path_base(const char *path, char **ret) {
        size_t len = strlen(path);
        const char *start;

        if (len == 0)
                return dup_to(".", ret);
        while (len > 0 && path[len - 1] == '/')
                len--;
        if (len == 0)
                return dup_to("/", ret);
        start = memrchr(path, '/', len);
        start = start ? start + 1 : path;
        *ret = strndup(start, len - (size_t) (start - path));
        return *ret ? 0 : -ENOMEM;
}

int fleetctl_path_dir(const char *path, char **ret) {
        const char *slash = strrchr(path, '/');
        size_t len;

        if (!slash)
                return dup_to(".", ret);
        len = (size_t) (slash - path);
        while (len > 0 && path[len - 1] == '/')
                len--;
        if (len == 0)
                return dup_to("/", ret);
        *ret = strndup(path, len);
        return *ret ? 0 : -ENOMEM;
}

int fleetctl_unit_name_mangle(const char *arg, char **ret) {
        _cleanup_free_ char *base = NULL;
        int r = fleetctl_path_base(arg, &base);

        if (r < 0)
                return r;
        return fleetctl_append_default_type(base, ret);
}

bool fleetctl_replace_allowed(const char *command, const char *desired_state) {
        const char *s = strempty(desired_state);

        if (streq(command, "submit"))
                return streq(s, "inactive");
        if (streq(command, "load"))
                return streq(s, "inactive") || streq(s, "loaded");
        if (streq(command, "start"))
                return streq(s, "inactive") || streq(s, "loaded") || streq(s, "launched");
        return false;
}

/* ---- endpoints ---- */

void fleetctl_endpoint_done(FleetctlEndpoint *e) {
        free(e->socket_path);
        free(e->base_url);
        free(e->host);
        *e = (FleetctlEndpoint){};
}

int fleetctl_split_host_port(const char *s, int def, char **ret_host, int *ret_port) {
        const char *colon;
        char *host, *end = NULL;
        long port = def;

        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close)
                        return -EINVAL;
                host = strndup(s + 1, (size_t) (close - s - 1));
                colon = close[1] == ':' ? close + 1 : NULL;
                if (close[1] && !colon) {
                        free(host);
                        return -EINVAL;
                }
        } else {
                colon = strrchr(s, ':');
                /* a bare IPv6 address has several colons and no port */
                if (colon && strchr(s, ':') != colon)
                        colon = NULL;
                host = colon ? strndup(s, (size_t) (colon - s)) : strdup(s);
        }
        if (!host)
                return -ENOMEM;
        if (colon) {
                port = strtol(colon + 1, &end, 10);
                if (!colon[1] || *end || port <= 0 || port > 65535) {
                        free(host);
                        return -EINVAL;
                }
        }
        *ret_host = host;
        *ret_port = (int) port;
        return 0;
}

int fleetctl_endpoint_parse(const char *s, FleetctlEndpoint *ret, char **reterr_message) {
        FleetctlEndpoint e = {};
        const char *sep = strstr(s, "://"), *colon = strchr(s, ':');
        _cleanup_free_ char *scheme = NULL, *host = NULL;
        const char *rest;
        size_t hostlen;
        int r;

        /* Go's url.Parse: a scheme is letters/digits/+-. before the first ':' */
        if (!colon || colon == s || (sep && sep != colon))
                return errmsg_set(reterr_message, -EINVAL, "URL scheme undefined");
        scheme = strndup(s, (size_t) (colon - s));
        if (!scheme)
                return -ENOMEM;
        for (char *p = scheme; *p; p++)
                *p = (char) (*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        if (!sep)
                return errmsg_set(reterr_message, -EINVAL, "unsupported URL scheme \"%s\"", scheme);
        rest = sep + 3;
        hostlen = strcspn(rest, "/?#");
        host = strndup(rest, hostlen);
        if (!host)
                return -ENOMEM;

        if (streq(scheme, "unix") || streq(scheme, "file")) {
                if (*host)
                        return errmsg_set(reterr_message, -EINVAL,
                                          "unable to connect to host \"%s\" with scheme \"%s\"",
                                          host, scheme);
                e.unix_socket = true;
                e.socket_path = strdup(rest);
                e.base_url = strdup("http://domain-sock");
                if (!e.socket_path || !e.base_url)
                        goto oom;
                if (!*e.socket_path) {
                        fleetctl_endpoint_done(&e);
                        return errmsg_set(reterr_message, -EINVAL,
                                          "missing socket path in endpoint \"%s\"", s);
                }
                *ret = e;
                return 0;
        }
        if (!streq(scheme, "http") && !streq(scheme, "https"))
                return errmsg_set(reterr_message, -EINVAL, "unsupported URL scheme \"%s\"", scheme);
        if (!*host)
                return errmsg_set(reterr_message, -EINVAL, "missing host in endpoint \"%s\"", s);
        r = fleetctl_split_host_port(host, streq(scheme, "https") ? 443 : 80, &e.host, &e.port);
        if (r == -ENOMEM)
                goto oom;
        if (r < 0)
                return errmsg_set(reterr_message, -EINVAL, "invalid host \"%s\" in endpoint \"%s\"",
                                  host, s);
        /* A path prefix is kept (a proxy may serve the API below one); no trailing slash. */
        {
                size_t len = strcspn(rest, "?#");
                while (len > hostlen && rest[len - 1] == '/')
                        len--;
                if (format(&e.base_url, "%s://%.*s", scheme, (int) len, rest) < 0)
                        goto oom;
        }
        *ret = e;
        return 0;
oom:
        fleetctl_endpoint_done(&e);
        return -ENOMEM;
}

int fleetctl_endpoint_list(const char *s, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *p = s;

        for (;;) {
                size_t n = strcspn(p, ",");
                if (n > 0) {
                        char *item = strndup(p, n);
                        if (strv_consume(&l, item) < 0)
                                return -ENOMEM;
                }
                if (!p[n])
                        break;
                p += n + 1;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int fleetctl_tunnel_normalize(const char *tunnel, char **ret) {
        if (strchr(tunnel, ':'))
                return dup_to(tunnel, ret);
        return format(ret, "%s:22", tunnel);
}

int fleetctl_expand_tilde(const char *path, const char *home, char **ret) {
        const char *slash, *dir;
        _cleanup_free_ char *user = NULL;

        if (path[0] != '~')
                return dup_to(path, ret);
        slash = strchr(path, '/');
        if (!slash)
                slash = path + strlen(path);
        if (slash == path + 1)
                dir = home;
        else {
                struct passwd *pw;

                user = strndup(path + 1, (size_t) (slash - path - 1));
                if (!user)
                        return -ENOMEM;
                pw = getpwnam(user);
                dir = pw ? pw->pw_dir : NULL;
        }
        if (!dir)
                return dup_to(path, ret);
        return format(ret, "%s%s", dir, slash);
}

/* ---- output helpers ---- */

int fleetctl_machine_legend(const char *id, const char *ip, bool full, bool with_ip, char **ret) {
        const char *i = strempty(id);
        int n = full ? (int) strlen(i) : (int) MIN(strlen(i), 8u);

        if (with_ip && ip && *ip)
                return format(ret, "%.*s%s/%s", n, i, full ? "" : "...", ip);
        return format(ret, "%.*s%s", n, i, full ? "" : "...");
}

int fleetctl_format_metadata(char *const *kv, char **ret) {
        size_t n = strv_length(kv) / 2, len = 0;
        _cleanup_free_ size_t *order = NULL;
        char *s;

        if (n == 0)
                return dup_to("-", ret);
        order = malloc(sizeof(size_t) * n);
        if (!order)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                order[i] = i;
                len += strlen(kv[2 * i]) + strlen(kv[2 * i + 1]) + 2;
        }
        for (size_t i = 1; i < n; i++) /* insertion sort by key; lists are tiny */
                for (size_t j = i; j > 0 && strcmp(kv[2 * order[j - 1]], kv[2 * order[j]]) > 0;
                     j--) {
                        size_t t = order[j];
                        order[j] = order[j - 1];
                        order[j - 1] = t;
                }
        s = malloc(len + 1);
        if (!s)
                return -ENOMEM;
        s[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        strcat(s, ",");
                strcat(s, kv[2 * order[i]]);
                strcat(s, "=");
                strcat(s, kv[2 * order[i] + 1]);
        }
        *ret = s;
        return 0;
}

int fleetctl_go_quote(const char *s, char **ret) {
        size_t n = strlen(s);
        char *out = malloc(n * 4 + 3), *p = out;

        if (!out)
                return -ENOMEM;
        *p++ = '"';
        for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
                if (*c == '"' || *c == '\\') {
                        *p++ = '\\';
                        *p++ = (char) *c;
                } else if (*c == '\n') {
                        *p++ = '\\';
                        *p++ = 'n';
                } else if (*c == '\t') {
                        *p++ = '\\';
                        *p++ = 't';
                } else if (*c < 0x20 || *c == 0x7f)
                        p += sprintf(p, "\\x%02x", *c);
                else
                        *p++ = (char) *c;
        }
        *p++ = '"';
        *p = '\0';
        *ret = out;
        return 0;
}

int fleetctl_go_strv(char *const *l, char **ret) {
        size_t len = 3;
        char *s;

        STRV_FOREACH(i, l)
                len += strlen(*i) + 1;
        s = malloc(len);
        if (!s)
                return -ENOMEM;
        strcpy(s, "[");
        STRV_FOREACH(i, l) {
                if (i != l)
                        strcat(s, " ");
                strcat(s, *i);
        }
        strcat(s, "]");
        *ret = s;
        return 0;
}

const char *const fleetctl_list_units_fields[] = {"unit",    "load", "active", "sub",
                                                  "machine", "hash", NULL};
const char *const fleetctl_list_unit_files_fields[] = {
        "unit", "global", "dstate", "state", "target", "tmachine", "hash", "desc", "reason", NULL};
const char *const fleetctl_list_machines_fields[] = {"machine", "ip", "metadata", "state", NULL};

int fleetctl_fields_parse(const char *spec, const char *const *valid, char ***ret,
                          char **reterr_message) {
        _cleanup_strv_free_ char **l = NULL;
        const char *p = spec;

        if (!spec || !*spec)
                return errmsg_set(reterr_message, -EINVAL, "Must define output format");
        for (;;) {
                size_t n = strcspn(p, ",");
                bool ok = false;
                char *f = strndup(p, n);

                if (!f)
                        return -ENOMEM;
                for (const char *const *v = valid; *v; v++)
                        ok = ok || streq(*v, f);
                if (!ok) {
                        _cleanup_free_ char *q = NULL;
                        int r = fleetctl_go_quote(f, &q);

                        free(f);
                        if (r < 0)
                                return r;
                        return errmsg_set(reterr_message, -EINVAL,
                                          "Invalid key in output format: %s", q);
                }
                if (strv_consume(&l, f) < 0)
                        return -ENOMEM;
                if (!p[n])
                        break;
                p += n + 1;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int or_dash(const char *s, char **ret) {
        return dup_to(s && *s ? s : "-", ret);
}

static int hash_cell(const char *hash, bool full, char **ret) {
        if (!hash || !*hash)
                return dup_to("-", ret);
        if (full)
                return dup_to(hash, ret);
        *ret = strndup(hash, 7);
        return *ret ? 0 : -ENOMEM;
}

static int machine_cell(const char *id, bool full, MachineLookup lookup, void *userdata,
                        char **ret) {
        const ApiMachine *m;

        if (!id || !*id)
                return dup_to("-", ret);
        m = lookup ? lookup(id, userdata) : NULL;
        return fleetctl_machine_legend(id, m ? m->primary_ip : NULL, full, true, ret);
}

int fleetctl_unit_state_field(const ApiUnitState *s, const char *field, bool full,
                              MachineLookup lookup, void *userdata, char **ret) {
        if (streq(field, "unit"))
                return or_dash(s->name, ret);
        if (streq(field, "load"))
                return or_dash(s->systemd_load_state, ret);
        if (streq(field, "active"))
                return or_dash(s->systemd_active_state, ret);
        if (streq(field, "sub"))
                return or_dash(s->systemd_sub_state, ret);
        if (streq(field, "machine"))
                return machine_cell(s->machine_id, full, lookup, userdata, ret);
        if (streq(field, "hash"))
                return hash_cell(s->hash, full, ret);
        return -EINVAL;
}

int fleetctl_unit_file_field(const ApiUnit *u, const UnitFileInfo *info, const char *field,
                             bool full, MachineLookup lookup, void *userdata, char **ret) {
        if (streq(field, "unit"))
                return dup_to(strempty(u->name), ret);
        if (streq(field, "global"))
                return dup_to(info->global ? "true" : "false", ret);
        if (streq(field, "dstate"))
                return or_dash(u->desired_state, ret);
        if (streq(field, "state"))
                return or_dash(info->global ? NULL : u->current_state, ret);
        if (streq(field, "target") || streq(field, "tmachine")) {
                if (info->global)
                        return dup_to("global", ret);
                return machine_cell(u->machine_id, full, lookup, userdata, ret);
        }
        if (streq(field, "hash"))
                return hash_cell(info->hash, full, ret);
        if (streq(field, "desc"))
                return or_dash(info->description, ret);
        if (streq(field, "reason"))
                return or_dash(u->reason, ret);
        return -EINVAL;
}

int fleetctl_machine_field(const ApiMachine *m, const char *field, bool full, char **ret) {
        if (streq(field, "machine"))
                return fleetctl_machine_legend(m->id, NULL, full, false, ret);
        if (streq(field, "ip"))
                return or_dash(m->primary_ip, ret);
        if (streq(field, "metadata"))
                return fleetctl_format_metadata(m->metadata, ret);
        return -EINVAL;
}

static int cmp_states(const void *a, const void *b) {
        const ApiUnitState *x = a, *y = b;
        int c = strcmp(strempty(x->name), strempty(y->name));

        return c != 0 ? c : strcmp(strempty(x->machine_id), strempty(y->machine_id));
}

static int cmp_units(const void *a, const void *b) {
        return strcmp(strempty(((const ApiUnit *) a)->name), strempty(((const ApiUnit *) b)->name));
}

static int cmp_machines(const void *a, const void *b) {
        return strcmp(strempty(((const ApiMachine *) a)->id),
                      strempty(((const ApiMachine *) b)->id));
}

void fleetctl_sort_unit_states(ApiUnitState *s, size_t n) {
        if (n > 1)
                qsort_safe(s, n, sizeof(*s), cmp_states);
}

void fleetctl_sort_units(ApiUnit *u, size_t n) {
        if (n > 1)
                qsort_safe(u, n, sizeof(*u), cmp_units);
}

void fleetctl_sort_machines(ApiMachine *m, size_t n) {
        if (n > 1)
                qsort_safe(m, n, sizeof(*m), cmp_machines);
}

/* ---- remote commands ---- */

int fleetctl_shell_quote(const char *s, char **ret) {
        static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789@%+=:,./_-";
        size_t n = strlen(s);
        char *out, *p;

        if (n > 0 && strspn(s, safe) == n)
                return dup_to(s, ret);
        out = malloc(n * 4 + 3);
        if (!out)
                return -ENOMEM;
        p = out;
        *p++ = '\'';
        for (const char *c = s; *c; c++)
                if (*c == '\'') {
                        memcpy(p, "'\\''", 4);
                        p += 4;
                } else
                        *p++ = *c;
        *p++ = '\'';
        *p = '\0';
        *ret = out;
        return 0;
}

int fleetctl_shell_join(char *const *argv, char **ret) {
        _cleanup_strv_free_ char **q = NULL;
        size_t len = 1;
        char *s;

        STRV_FOREACH(a, argv) {
                char *w;
                int r = fleetctl_shell_quote(*a, &w);
                if (r < 0 || strv_consume(&q, w) < 0)
                        return -ENOMEM;
                len += strlen(w) + 1;
        }
        s = malloc(len);
        if (!s)
                return -ENOMEM;
        s[0] = '\0';
        STRV_FOREACH(w, q) {
                if (w != q)
                        strcat(s, " ");
                strcat(s, *w);
        }
        *ret = s;
        return 0;
}

_printf_(2, 3) static int strv_extendf(char ***l, const char *fmt, ...) {
        va_list ap;
        char *s = NULL;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return strv_consume(l, s);
}

/* The options shared by the target connection and the tunnel's ProxyCommand. */
static int ssh_common_options(const SshOptions *o, char ***l) {
        double t = o->timeout > 0 ? o->timeout : 10.0;
        int timeout = t < 1e6 ? (int) t : 1000000;

        if (timeout < t)
                timeout++; /* round up: ssh takes whole seconds */

        if (strv_extendf(l, "-o") < 0 || strv_extendf(l, "ConnectTimeout=%d", MAX(timeout, 1)) < 0)
                return -ENOMEM;
        if (!o->strict_host_key_checking) {
                if (strv_extend(l, "-o") < 0 || strv_extend(l, "StrictHostKeyChecking=no") < 0 ||
                    strv_extend(l, "-o") < 0 ||
                    strv_extend(l, "UserKnownHostsFile=/dev/null") < 0 ||
                    strv_extend(l, "-o") < 0 || strv_extend(l, "LogLevel=ERROR") < 0)
                        return -ENOMEM;
        } else {
                /* fleet's known_hosts: plain "host[:port] key" lines that fleet's own fleetctl
                 * reads too (no hashed names, no extra IP entries), MD5 fingerprints */
                if (strv_extend(l, "-o") < 0 || strv_extend(l, "StrictHostKeyChecking=ask") < 0 ||
                    strv_extend(l, "-o") < 0 || strv_extend(l, "HashKnownHosts=no") < 0 ||
                    strv_extend(l, "-o") < 0 || strv_extend(l, "CheckHostIP=no") < 0 ||
                    strv_extend(l, "-o") < 0 || strv_extend(l, "FingerprintHash=md5") < 0)
                        return -ENOMEM;
                if (o->known_hosts_file &&
                    (strv_extend(l, "-o") < 0 ||
                     strv_extendf(l, "UserKnownHostsFile=%s", o->known_hosts_file) < 0))
                        return -ENOMEM;
        }
        if (o->user && (strv_extend(l, "-l") < 0 || strv_extend(l, o->user) < 0))
                return -ENOMEM;
        return 0;
}

static int ssh_proxy_command(const SshOptions *o, char **ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *host = NULL, *joined = NULL;
        int port, r;

        r = fleetctl_split_host_port(o->tunnel, 22, &host, &port);
        if (r < 0)
                return r;
        if (strv_extend(&l, "ssh") < 0 || ssh_common_options(o, &l) < 0 ||
            strv_extend(&l, "-p") < 0 || strv_extendf(&l, "%d", port) < 0 ||
            strv_extend(&l, "-W") < 0 || strv_extend(&l, "%h:%p") < 0 ||
            strv_extend(&l, "--") < 0 || strv_extend(&l, host) < 0)
                return -ENOMEM;
        r = fleetctl_shell_join(l, &joined);
        if (r < 0)
                return r;
        return format(ret, "ProxyCommand=%s", joined);
}

int fleetctl_ssh_argv(const SshOptions *o, const char *host, const char *command,
                      const char *forward, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        if (strv_extend(&l, "ssh") < 0 || ssh_common_options(o, &l) < 0)
                return -ENOMEM;
        if (o->tunnel) {
                _cleanup_free_ char *proxy = NULL;

                r = ssh_proxy_command(o, &proxy);
                if (r < 0)
                        return r;
                if (strv_extend(&l, "-o") < 0 || strv_extend(&l, proxy) < 0)
                        return -ENOMEM;
        }
        if (o->forward_agent && strv_extend(&l, "-A") < 0)
                return -ENOMEM;
        if (o->tty >= 0 && strv_extend(&l, o->tty ? "-t" : "-T") < 0)
                return -ENOMEM;
        if (strv_extend(&l, "-p") < 0 || strv_extendf(&l, "%d", o->port > 0 ? o->port : 22) < 0)
                return -ENOMEM;
        if (forward && (strv_extend(&l, "-W") < 0 || strv_extend(&l, forward) < 0))
                return -ENOMEM;
        if (strv_extend(&l, "--") < 0 || strv_extend(&l, host) < 0)
                return -ENOMEM;
        if (command && !forward && strv_extend(&l, command) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int fleetctl_status_argv(const char *unit, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;

        if (strv_extend(&l, "systemctl") < 0 || strv_extend(&l, "status") < 0 ||
            strv_extend(&l, "-l") < 0 || strv_extend(&l, unit) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int fleetctl_journal_argv(const char *unit, int lines, bool follow, bool sudo, const char *output,
                          char ***ret) {
        _cleanup_strv_free_ char **l = NULL;

        if ((sudo && strv_extend(&l, "sudo") < 0) || strv_extend(&l, "journalctl") < 0 ||
            strv_extend(&l, "--unit") < 0 || strv_extend(&l, unit) < 0 ||
            strv_extend(&l, "--no-pager") < 0 || strv_extend(&l, "-n") < 0 ||
            strv_extendf(&l, "%d", lines) < 0 || strv_extend(&l, "--output") < 0 ||
            strv_extend(&l, output && *output ? output : "short") < 0 ||
            (follow && strv_extend(&l, "-f") < 0))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int fleetctl_askpass_answer(const char *prompt, const char *line, const char **ret) {
        size_t n;

        if (!strstr(prompt, "continue connecting"))
                return -EOPNOTSUPP;
        n = strcspn(line, "\r\n");
        /* fleet accepted "yes" and "y"; OpenSSH wants "yes" */
        if ((n == 3 && strneq(line, "yes", 3)) || (n == 1 && line[0] == 'y'))
                *ret = "yes";
        else
                *ret = "no";
        return 0;
}

/* "1.2.3-rc.1+b" -> numbers and the pre-release (borrowed, up to '+', or NULL). */
static int semver_parse(const char *s, unsigned long long v[3], const char **ret_pre,
                        size_t *ret_pre_len) {
        const char *p = s;

        for (int i = 0; i < 3; i++) {
                char *end;

                if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
                        return -EINVAL;
                errno = 0;
                v[i] = strtoull(p, &end, 10);
                if (errno != 0)
                        return -EINVAL;
                p = end;
                if (i < 2) {
                        if (*p != '.')
                                return -EINVAL;
                        p++;
                }
        }
        *ret_pre = NULL;
        *ret_pre_len = 0;
        if (*p == '-') {
                *ret_pre = ++p;
                *ret_pre_len = strcspn(p, "+");
                if (*ret_pre_len == 0)
                        return -EINVAL;
                p += *ret_pre_len;
        }
        return *p == '\0' || *p == '+' ? 0 : -EINVAL;
}

static bool all_digits(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return n > 0;
}

/* Pre-release precedence: identifier by identifier; numeric ones numerically and below
 * alphanumeric ones; a prefix is lower. */
static int prerelease_compare(const char *a, size_t na, const char *b, size_t nb) {
        while (na > 0 && nb > 0) {
                size_t la = strcspn(a, "."), lb = strcspn(b, ".");
                bool da, db;
                int c;

                la = MIN(la, na);
                lb = MIN(lb, nb);
                da = all_digits(a, la);
                db = all_digits(b, lb);
                if (da && db)
                        c = la != lb ? (la < lb ? -1 : 1) : strncmp(a, b, la);
                else if (da != db)
                        c = da ? -1 : 1;
                else {
                        c = strncmp(a, b, MIN(la, lb));
                        if (c == 0 && la != lb)
                                c = la < lb ? -1 : 1;
                }
                if (c != 0)
                        return c;
                a += la + (la < na);
                na -= la + (la < na);
                b += lb + (lb < nb);
                nb -= lb + (lb < nb);
        }
        return na > 0 ? 1 : nb > 0 ? -1 : 0;
}

int fleetctl_semver_compare(const char *a, const char *b, int *ret) {
        unsigned long long va[3], vb[3];
        const char *pa, *pb;
        size_t na, nb;

        if (semver_parse(a, va, &pa, &na) < 0 || semver_parse(b, vb, &pb, &nb) < 0)
                return -EINVAL;
        for (int i = 0; i < 3; i++)
                if (va[i] != vb[i]) {
                        *ret = va[i] < vb[i] ? -1 : 1;
                        return 0;
                }
        if (!pa || !pb)
                *ret = !pa && !pb ? 0 : !pa ? 1 : -1; /* a release is above its pre-releases */
        else
                *ret = prerelease_compare(pa, na, pb, nb);
        return 0;
}

int fleetctl_old_version_warning(const char *mine, const char *latest, char **ret) {
        return format(ret,
                      "####################################################################\n"
                      "WARNING: fleetctl (%s) is older than the latest registered\n"
                      "version of fleet found in the cluster (%s). You are strongly\n"
                      "recommended to upgrade fleetctl to prevent incompatibility issues.\n"
                      "####################################################################\n",
                      mine, latest);
}
