/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "curl-init.h"
#include "fleetctl-table.h"
#include "fleetctl-util.h"
#include "fleetctl.h"
#include "log.h"
#include "strv.h"

#define CLI_NAME "fleetctl"
#define CLI_DESCRIPTION                                                                            \
        "fleetctl is a command-line interface to fleet, the cluster-wide CoreOS init system."
#define DEFAULT_ENDPOINT "unix:///var/run/fleet.sock"
#define DEFAULT_ETCD_ENDPOINTS "http://127.0.0.1:2379,http://127.0.0.1:4001"

static const FlagSpec global_flags[] = {
        {"help", 'h', FLAG_BOOL, offsetof(Fleetctl, help), NULL, "Print usage information and exit",
         false},
        {"h", 0, FLAG_BOOL, offsetof(Fleetctl, help), NULL, "Print usage information and exit",
         true},
        {"debug", 0, FLAG_BOOL, offsetof(Fleetctl, debug), NULL,
         "Print out more debug information to stderr", false},
        {"version", 0, FLAG_BOOL, offsetof(Fleetctl, version), NULL, "Print the version and exit",
         false},
        {"driver", 0, FLAG_STRING, offsetof(Fleetctl, driver), "API",
         "Adapter used to execute fleetctl commands. Options include \"API\" and \"etcd\".", false},
        {"endpoint", 0, FLAG_STRING, offsetof(Fleetctl, endpoint), DEFAULT_ENDPOINT,
         "Location of the fleet API; a comma-separated list is tried in order.", false},
        {"etcd-key-prefix", 0, FLAG_STRING, offsetof(Fleetctl, etcd_key_prefix),
         "/_coreos.com/fleet/", "Keyspace for fleet data in etcd (etcd driver)", false},
        {"key-file", 0, FLAG_STRING, offsetof(Fleetctl, key_file), "",
         "Location of TLS key file used to secure communication with the fleet API", false},
        {"cert-file", 0, FLAG_STRING, offsetof(Fleetctl, cert_file), "",
         "Location of TLS cert file used to secure communication with the fleet API", false},
        {"ca-file", 0, FLAG_STRING, offsetof(Fleetctl, ca_file), "",
         "Location of TLS CA file used to secure communication with the fleet API", false},
        {"known-hosts-file", 0, FLAG_STRING, offsetof(Fleetctl, known_hosts_file),
         "~/.fleetctl/known_hosts",
         "File used to store remote machine fingerprints. Ignored if strict host key checking is "
         "disabled.",
         false},
        {"strict-host-key-checking", 0, FLAG_BOOL, offsetof(Fleetctl, strict_host_key_checking),
         "true", "Verify host keys presented by remote machines before initiating SSH connections.",
         false},
        {"ssh-timeout", 0, FLAG_DOUBLE, offsetof(Fleetctl, ssh_timeout), "10.0",
         "Amount of time in seconds to allow for SSH connection initialization before failing.",
         false},
        {"tunnel", 0, FLAG_STRING, offsetof(Fleetctl, tunnel), "",
         "Establish an SSH tunnel through the provided address for communication with fleet.",
         false},
        {"request-timeout", 0, FLAG_DOUBLE, offsetof(Fleetctl, request_timeout), "3.0",
         "Amount of time in seconds to allow for connecting to the fleet API before failing.",
         false},
        {"ssh-username", 0, FLAG_STRING, offsetof(Fleetctl, ssh_username), "core",
         "Username to use when connecting to CoreOS instance.", false},
        {"experimental-api", 0, FLAG_BOOL, offsetof(Fleetctl, experimental_api), "true",
         "DEPRECATED: do not use this flag.", true},
        {"etcd-keyfile", 0, FLAG_STRING, offsetof(Fleetctl, key_file), NULL,
         "DEPRECATED: do not use this flag.", true},
        {"etcd-certfile", 0, FLAG_STRING, offsetof(Fleetctl, cert_file), NULL,
         "DEPRECATED: do not use this flag.", true},
        {"etcd-cafile", 0, FLAG_STRING, offsetof(Fleetctl, ca_file), NULL,
         "DEPRECATED: do not use this flag.", true},
};
static const FlagSet global_set = {global_flags, ELEMENTSOF(global_flags)};

static int run_help(Fleetctl *f, char **args, size_t n_args);
static int run_version(Fleetctl *f, char **args, size_t n_args);
static int run_verify(Fleetctl *f, char **args, size_t n_args);

static const Command misc_commands[] = {
        {"help", "[COMMAND]", "Show a list of commands or help for one command", "", NULL, 0,
         run_help, false},
        {"verify", "UNIT", "DEPRECATED - No longer works", "DEPRECATED - No longer works", NULL, 0,
         run_verify, false},
        {"version", "", "Print the version and exit", "Print the version and exit", NULL, 0,
         run_version, false},
};

typedef struct CommandGroup {
        const Command *commands;
        const size_t *n;
} CommandGroup;

static const size_t n_misc_commands = ELEMENTSOF(misc_commands);

static const CommandGroup groups[] = {
        {fleetctl_cat_commands, &fleetctl_n_cat_commands},
        {fleetctl_list_commands, &fleetctl_n_list_commands},
        {fleetctl_ops_commands, &fleetctl_n_ops_commands},
        {fleetctl_rolling_commands, &fleetctl_n_rolling_commands},
        {fleetctl_remote_commands, &fleetctl_n_remote_commands},
        {fleetctl_unit_commands, &fleetctl_n_unit_commands},
        {misc_commands, &n_misc_commands},
};

/* ---- shared helpers ---- */

_printf_(2, 0) static void vprint(FILE *f, const char *fmt, va_list ap) {
        _cleanup_free_ char *s = NULL;

        if (vasprintf(&s, fmt, ap) < 0)
                return;
        fputs(s, f);
        if (!*s || s[strlen(s) - 1] != '\n')
                fputc('\n', f);
}

void fleetctl_stdout(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vprint(stdout, fmt, ap);
        va_end(ap);
        fflush(stdout);
}

void fleetctl_stderr(const char *fmt, ...) {
        va_list ap;

        fflush(stdout);
        va_start(ap, fmt);
        vprint(stderr, fmt, ap);
        va_end(ap);
}

const ApiMachine *fleetctl_machine_lookup(const char *id, void *userdata) {
        Fleetctl *f = userdata;

        if (!f->machines_loaded) {
                f->machines_loaded = true;
                if (api_client_list_machines(f->client, &f->machines, &f->n_machines) < 0) {
                        log_debug("Failed to list machines: %s", api_client_error(f->client));
                        f->machines = NULL;
                        f->n_machines = 0;
                }
        }
        for (size_t i = 0; i < f->n_machines; i++)
                if (streq(strempty(f->machines[i].id), id))
                        return &f->machines[i];
        return NULL;
}

char *fleetctl_machine_legend_of(Fleetctl *f, const char *machine_id) {
        const ApiMachine *m = fleetctl_machine_lookup(machine_id, f);
        char *s = NULL;

        if (!m || fleetctl_machine_legend(m->id, m->primary_ip, false, true, &s) < 0)
                return NULL;
        return s;
}

/* ---- commands ---- */

static const Command *find_command(const char *name, bool *ret_ambiguous) {
        const Command *found = NULL;
        size_t matches = 0;

        *ret_ambiguous = false;
        for (size_t g = 0; g < ELEMENTSOF(groups); g++)
                for (size_t i = 0; i < *groups[g].n; i++)
                        if (streq(groups[g].commands[i].name, name))
                                return &groups[g].commands[i];
        /* cobra's prefix matching: a unique prefix names the command */
        for (size_t g = 0; g < ELEMENTSOF(groups); g++)
                for (size_t i = 0; i < *groups[g].n; i++)
                        if (strneq(groups[g].commands[i].name, name, strlen(name))) {
                                found = &groups[g].commands[i];
                                matches++;
                        }
        *ret_ambiguous = matches > 1;
        return matches == 1 ? found : NULL;
}

static int cmp_commands(const void *a, const void *b) {
        return strcmp((*(const Command *const *) a)->name, (*(const Command *const *) b)->name);
}

static void print_flags(const FlagSpec *specs, size_t n) {
        Table t = {};
        _cleanup_free_ char *text = NULL;

        for (size_t i = 0; i < n; i++) {
                const FlagSpec *s = &specs[i];
                _cleanup_free_ char *left = NULL;
                const char *row[2];

                if (s->hidden)
                        continue;
                if (asprintf(&left, "\t%s%c%s--%s%s%s%s%s", s->shorthand ? "-" : "",
                             s->shorthand ? s->shorthand : ' ', s->shorthand ? ", " : "", s->name,
                             s->type == FLAG_BOOL ? "" : "=", s->type == FLAG_STRING ? "\"" : "",
                             s->type == FLAG_BOOL ? "" : strempty(s->def),
                             s->type == FLAG_STRING ? "\"" : "") < 0)
                        continue;
                if (!s->shorthand)
                        memmove(left + 1, left + 2, strlen(left + 2) + 1); /* drop the blank */
                row[0] = left;
                row[1] = s->usage;
                (void) table_add_row(&t, row, 2);
        }
        if (table_format(&t, &text) >= 0)
                fputs(text, stdout);
        table_done(&t);
}

static void print_global_help(void) {
        const Command *all[64] = {};
        size_t n = 0;
        Table t = {};
        _cleanup_free_ char *text = NULL;

        for (size_t g = 0; g < ELEMENTSOF(groups); g++)
                for (size_t i = 0; i < *groups[g].n && n < ELEMENTSOF(all); i++)
                        all[n++] = &groups[g].commands[i];
        qsort_safe(all, n, sizeof(all[0]), cmp_commands);

        printf("NAME:\n\t%s - %s\n\n", CLI_NAME, CLI_DESCRIPTION);
        printf("USAGE:\n\t%s [global options] <command> [command options] [arguments...]\n\n",
               CLI_NAME);
        printf("VERSION:\n\t%s\n\n", FLEET_VERSION);
        printf("COMMANDS:\n");
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *name = NULL;
                const char *row[2];

                if (asprintf(&name, "\t%s", all[i]->name) < 0)
                        continue;
                row[0] = name;
                row[1] = all[i]->summary;
                (void) table_add_row(&t, row, 2);
        }
        if (table_format(&t, &text) >= 0)
                fputs(text, stdout);
        table_done(&t);
        printf("\nDESCRIPTION:\n\tfleetctl reaches the cluster through fleet's HTTP API, or "
               "with --driver=etcd through etcd.\n\tEvery global option can also be set with an "
               "environment variable FLEETCTL_<NAME>\n\t(e.g. FLEETCTL_ENDPOINT, "
               "FLEETCTL_TUNNEL).\n\n");
        printf("GLOBAL OPTIONS:\n");
        print_flags(global_flags, ELEMENTSOF(global_flags));
        printf("\nRun \"%s help <command>\" for more details on a specific command.\n", CLI_NAME);
}

static void print_command_help(const Command *c) {
        printf("NAME:\n\t%s %s - %s\n\n", CLI_NAME, c->name, c->summary);
        printf("USAGE:\n\t%s %s %s\n\n", CLI_NAME, c->name, c->usage);
        if (c->description && *c->description) {
                printf("DESCRIPTION:\n");
                for (const char *p = c->description; *p;) {
                        size_t l = strcspn(p, "\n");
                        printf("\t%.*s\n", (int) l, p);
                        p += l + (p[l] ? 1 : 0);
                }
                printf("\n");
        }
        if (c->n_flags > 0) {
                printf("OPTIONS:\n");
                print_flags(c->flags, c->n_flags);
                printf("\n");
        }
        printf("GLOBAL OPTIONS:\n");
        print_flags(global_flags, ELEMENTSOF(global_flags));
}

static int run_help(Fleetctl *f, char **args, size_t n_args) {
        const Command *c;
        bool ambiguous;

        if (n_args == 0) {
                print_global_help();
                return 0;
        }
        c = find_command(args[0], &ambiguous);
        if (!c) {
                fleetctl_stderr("Unknown help topic \"%s\".", args[0]);
                return 1;
        }
        print_command_help(c);
        return 0;
}

static int run_version(Fleetctl *f, char **args, size_t n_args) {
        fleetctl_stdout("%s version %s", CLI_NAME, FLEET_VERSION);
        return 0;
}

static int run_verify(Fleetctl *f, char **args, size_t n_args) {
        fleetctl_stderr("WARNING: The signed/verified units feature is DEPRECATED and cannot be "
                        "used.");
        return 2;
}

/* ---- client ---- */

/* fleet's etcd driver warns when this fleetctl is older than the newest registered fleetd. */
static void warn_if_old(Fleetctl *f) {
        _cleanup_free_ char *latest = NULL, *text = NULL;
        int c, r;

        r = api_client_latest_daemon_version(f->client, &latest);
        if (r < 0) {
                log_error("error attempting to check latest fleet version in Registry: %s",
                          api_client_error(f->client));
                return;
        }
        if (!latest || fleetctl_semver_compare(FLEET_VERSION, latest, &c) < 0 || c >= 0)
                return;
        if (fleetctl_old_version_warning(FLEET_VERSION, latest, &text) >= 0)
                fleetctl_stderr("%s", text);
}

/* --driver=etcd (or --experimental-api=false): read etcd directly (reference 11.1). */
static int make_etcd_client(Fleetctl *f) {
        _cleanup_strv_free_ char **endpoints = NULL;
        _cleanup_free_ char *msg = NULL, *tunnel = NULL, *known_hosts = NULL;
        SshOptions ssh = {};
        const char *ep = strempty(f->endpoint);
        int r;

        /* fleet: the API's default socket means etcd's default endpoints here */
        if (streq(ep, DEFAULT_ENDPOINT))
                ep = DEFAULT_ETCD_ENDPOINTS;
        if (fleetctl_endpoint_list(ep, &endpoints) < 0)
                return log_oom();
        EtcdDriverOptions o = {.endpoints = endpoints,
                               .key_prefix = f->etcd_key_prefix,
                               .ca_file = f->ca_file,
                               .cert_file = f->cert_file,
                               .key_file = f->key_file,
                               .request_timeout = f->request_timeout};
        if (f->tunnel && *f->tunnel) {
                if (fleetctl_tunnel_normalize(f->tunnel, &tunnel) < 0 ||
                    fleetctl_expand_tilde(strempty(f->known_hosts_file), getenv("HOME"),
                                          &known_hosts) < 0)
                        return log_oom();
                ssh = (SshOptions){.user = f->ssh_username,
                                   .timeout = f->ssh_timeout,
                                   .strict_host_key_checking = f->strict_host_key_checking,
                                   .known_hosts_file = known_hosts,
                                   .tunnel = tunnel,
                                   .tty = 0};
        }
        r = api_client_new_etcd(&o, &ssh, &f->client, &msg);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                fleetctl_stderr("Unable to initialize client: %s", msg ? msg : strerror(-r));
                return r;
        }
        warn_if_old(f);
        return 0;
}

static int make_client(Fleetctl *f) {
        _cleanup_strv_free_ char **endpoints = NULL;
        _cleanup_free_ char *tunnel = NULL, *known_hosts = NULL, *msg = NULL;
        SshOptions ssh = {};
        ApiClientOptions o = {};
        int r;

        if (!f->experimental_api || (f->driver && streq(f->driver, "etcd")))
                return make_etcd_client(f);
        if (!f->driver || !streq(f->driver, "API")) {
                fleetctl_stderr("Unable to initialize client: unrecognized driver \"%s\"",
                                strempty(f->driver));
                return -EINVAL;
        }
        r = fleetctl_endpoint_list(strempty(f->endpoint), &endpoints);
        if (r < 0)
                return log_oom();
        if (f->tunnel && *f->tunnel) {
                if (fleetctl_tunnel_normalize(f->tunnel, &tunnel) < 0 ||
                    fleetctl_expand_tilde(strempty(f->known_hosts_file), getenv("HOME"),
                                          &known_hosts) < 0)
                        return log_oom();
                ssh = (SshOptions){.user = f->ssh_username,
                                   .timeout = f->ssh_timeout,
                                   .strict_host_key_checking = f->strict_host_key_checking,
                                   .known_hosts_file = known_hosts,
                                   .tunnel = tunnel,
                                   .tty = 0};
                o.tunnel = &ssh;
        }
        o.endpoints = endpoints;
        o.ca_file = f->ca_file && *f->ca_file ? f->ca_file : NULL;
        o.cert_file = f->cert_file && *f->cert_file ? f->cert_file : NULL;
        o.key_file = f->key_file && *f->key_file ? f->key_file : NULL;
        o.connect_timeout = f->request_timeout;
        r = api_client_new(&o, &f->client, &msg);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                fleetctl_stderr("Unable to initialize client: %s", strempty(msg));
                return r;
        }
        return 0;
}

/* ---- main ---- */

static void fleetctl_done(Fleetctl *f, const Command *c) {
        FlagSet cs = {c ? c->flags : NULL, c ? c->n_flags : 0};

        flags_free(&global_set, f);
        flags_free(&cs, f);
        api_client_free(f->client);
        api_machine_array_free(f->machines, f->n_machines);
        free(f->local_machine_id);
}

static const char *env_lookup(const char *name) {
        return getenv(name);
}

static int parse_command_line(Fleetctl *f, int argc, char **argv, const Command **ret_cmd,
                              char ***ret_args, size_t *ret_n) {
        _cleanup_free_ char *msg = NULL;
        const Command *c = NULL;
        FlagSet cs = {}, sets[64];
        size_t n_sets = 0;
        bool ambiguous = false;
        int idx, r;

        /* a command's flag may come before the command name, as in fleet */
        for (size_t g = 0; g < ELEMENTSOF(groups); g++)
                for (size_t i = 0; i < *groups[g].n && n_sets < ELEMENTSOF(sets); i++)
                        sets[n_sets++] = (FlagSet){groups[g].commands[i].flags,
                                                   groups[g].commands[i].n_flags};
        idx = args_find_command_in(argc, argv, &global_set, sets, n_sets);
        if (idx > 0) {
                c = find_command(argv[idx], &ambiguous);
                if (!c) {
                        fleetctl_stderr("Error: unknown command \"%s\" for \"%s\"%s\nRun '%s help' "
                                        "for usage.",
                                        argv[idx], CLI_NAME, ambiguous ? " (ambiguous prefix)" : "",
                                        CLI_NAME);
                        return -EINVAL;
                }
                cs = (FlagSet){c->flags, c->n_flags};
        }
        *ret_cmd = c;
        if (flags_set_defaults(&global_set, f) < 0 || flags_set_defaults(&cs, f) < 0)
                return log_oom();
        r = flags_apply_env(&global_set, "FLEETCTL", env_lookup, f, &msg);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                fleetctl_stderr("Error: %s", msg);
                return r;
        }
        r = args_parse(argc, argv, idx, &global_set, &cs, f, ret_args, ret_n, &msg);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                fleetctl_stderr("Error: %s\nRun '%s help%s%s' for usage.", msg, CLI_NAME,
                                c ? " " : "", c ? c->name : "");
                return r;
        }
        return 0;
}

int main(int argc, char **argv) {
        Fleetctl f = {};
        const Command *c = NULL;
        char **args = NULL;
        size_t n_args = 0;
        int r, ret = 1;

        if (argc == 2 && getenv(FLEETCTL_ASKPASS_ENV))
                return fleetctl_askpass_main(argv[1]);
        log_set_program(CLI_NAME);
        log_open();
        curl_init_light();
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                log_error("Failed to initialize libcurl");
                return 1;
        }

        if (argc >= 2 && (streq(argv[1], "--version") || streq(argv[1], "-v"))) {
                ret = run_version(&f, NULL, 0);
                goto finish;
        }
        r = parse_command_line(&f, argc, argv, &c, &args, &n_args);
        if (r < 0)
                goto finish;
        if (f.debug)
                log_set_max_level(LOG_DEBUG);
        if (f.version) {
                ret = run_version(&f, NULL, 0);
                goto finish;
        }
        if (!c || f.help) {
                if (c)
                        print_command_help(c);
                else
                        print_global_help();
                ret = 0;
                goto finish;
        }
        f.command = c->name;
        if (c->needs_client && make_client(&f) < 0)
                goto finish;
        ret = c->run(&f, args, n_args);
finish:
        free(args);
        fleetctl_done(&f, c);
        curl_global_cleanup();
        fflush(stdout);
        return ret;
}
