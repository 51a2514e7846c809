/* SPDX-License-Identifier: MIT */
/*
 * fleetd: parse the command line, load the configuration, then run one Server generation
 * (agent, engine, API) in one sd_event loop.
 *
 * Signals:
 *   SIGTERM, SIGINT  graceful stop: unload this machine's units, revoke the lease (the machine
 *                    and its unit states vanish at once), resign the engine, exit 0. On SIGTERM
 *                    fleetd first asks systemd which job its own unit has (self-job.h): for
 *                    `systemctl restart fleet` (a restart job) it exits as for SIGUSR2 instead,
 *                    so that a restart moves no unit
 *   SIGHUP           reload the configuration; a bad one is logged and the current one kept.
 *                    The components are rebuilt without touching the units; the API listeners
 *                    stay (re-opened only if api_listen changed)
 *   SIGUSR2          upgrade exit: resign the engine and exit 0 WITHOUT unloading units; the
 *                    lease stays alive for its TTL and the next fleetd (systemd restarts it)
 *                    takes it over and adopts the running units:  systemctl kill -s SIGUSR2 fleet
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "http-server.h"
#include "listen.h"
#include "log.h"
#include "machine-info.h"
#include "self-job.h"
#include "server.h"
#include "strv.h"

#define SHUTDOWN_TIMEOUT_USEC (55 * USEC_PER_SEC) /* fleet.service: TimeoutStopSec=60s */
#define SELF_JOB_TIMEOUT_USEC (2 * USEC_PER_SEC)  /* asking systemd what it does to fleetd */

static const char *arg_config = NULL;

typedef enum Phase {
        PHASE_RUNNING,
        PHASE_RELOADING, /* the old server is stopping; the next is built when it is done */
        PHASE_STOPPING,
} Phase;

typedef struct Daemon {
        sd_event *event;
        Config *config;
        Config *next_config; /* SIGHUP: applied when the old server has stopped */
        char *machine_id;
        Listeners listeners;
        Server *server;
        Phase phase;
        int exit_code;
        SelfJob *self_job; /* SIGTERM: asking systemd whether this is a restart */
} Daemon;

/* --- command line ----------------------------------------------------------------------------- */

static void usage(FILE *f) {
        fprintf(f,
                "Usage of fleetd:\n"
                "  -config string\n"
                "    \tPath to config file. Fleet will look for a config at %s by default.\n"
                "  -version\n"
                "    \tPrint the version and exit\n",
                CONFIG_DEFAULT_PATH);
}

static int parse_bool(const char *v, bool *ret) {
        static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
        static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (streq(v, yes[i])) {
                        *ret = true;
                        return 0;
                }
                if (streq(v, no[i])) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* Go's flag package: -flag, --flag, -flag=value, -flag value (non-bool); stops at the first
 * non-flag argument or "--". Returns 1 to go on, 0 to exit successfully, < 0 exit code. */
static int parse_argv(int argc, char *argv[], bool *ret_version) {
        bool version = false;
        int i;

        for (i = 1; i < argc; i++) {
                const char *a = argv[i], *name, *eq;
                _cleanup_free_ char *key = NULL;

                if (a[0] != '-' || a[1] == '\0')
                        break;
                if (streq(a, "--")) {
                        i++;
                        break;
                }
                name = a + (a[1] == '-' ? 2 : 1);
                eq = strchr(name, '=');
                key = eq ? strndup(name, eq - name) : strdup(name);
                if (!key)
                        return log_oom(), -1;
                if (streq(key, "version")) {
                        if (eq && parse_bool(eq + 1, &version) < 0) {
                                fprintf(stderr, "invalid boolean value \"%s\" for -version\n",
                                        eq + 1);
                                usage(stderr);
                                return -2;
                        }
                        if (!eq)
                                version = true;
                } else if (streq(key, "config")) {
                        if (eq)
                                arg_config = eq + 1;
                        else if (i + 1 < argc)
                                arg_config = argv[++i];
                        else {
                                fprintf(stderr, "flag needs an argument: -config\n");
                                usage(stderr);
                                return -2;
                        }
                } else if (streq(key, "h") || streq(key, "help")) {
                        usage(stderr);
                        return 0;
                } else {
                        fprintf(stderr, "flag provided but not defined: -%s\n", key);
                        usage(stderr);
                        return -2;
                }
        }
        if (argc - i == 1 && streq(argv[i], "version"))
                version = true;
        else if (argc - i > 0) {
                fprintf(stderr, "%s takes no arguments. Did you mean to invoke fleetctl instead?\n",
                        argv[0]);
                usage(stderr);
                return -1;
        }
        *ret_version = version;
        return 1;
}

/* --- configuration ---------------------------------------------------------------------------- */

static int load_config(Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *err = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        int r;

        r = config_new_defaults(&c);
        if (r >= 0) {
                r = config_load(c, arg_config, &err);
                if (r == 0)
                        log_info("No provided or default config file found - proceeding "
                                 "without");
        }
        if (r >= 0)
                r = config_apply_env(c, getenv, &err);
        if (r >= 0)
                r = config_check(c, &err);
        if (r >= 0 && *c->api_tls_cert_file)
                r = http_tls_check_files(c->api_tls_cert_file, c->api_tls_key_file,
                                         c->api_tls_ca_file, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err ?: "Out of memory.");
        if (config_warnings(c, &warnings) < 0)
                return log_oom();
        STRV_FOREACH(w, warnings)
                log_warning("%s", *w);
        if (c->disable_watches)
                log_warning("Config option disable_watches is not supported (fleet-c's agent "
                            "and engine are driven by watches) - ignoring");
        if (c->enable_grpc)
                log_warning("Config option enable_grpc is not supported - ignoring");
        *ret = TAKE_PTR(c);
        return 0;
}

static int open_listeners(Daemon *d) {
        const char *bad = NULL;
        int r;

        r = listeners_from_systemd(&d->listeners);
        if (r < 0)
                return log_error_errno(r, "Failed to receive sockets from systemd: %m");
        if (r > 0) {
                log_info("Serving the API on %d socket(s) from systemd", r);
                return 0;
        }
        r = listeners_open(&d->listeners, d->config->api_listen, d->config->api_socket_mode, &bad);
        if (r < 0)
                return log_error_errno(r, "Failed to listen on %s (api_listen): %m", bad);
        if (d->listeners.n == 0)
                log_warning("No API socket: not socket-activated and api_listen is empty");
        return 0;
}

/* --- server generations ----------------------------------------------------------------------- */

static void on_server_ready(Server *s, void *userdata) {
        Daemon *d = userdata;

        (void) sd_notify(false, "READY=1\nSTATUS=Running");
        log_info("fleetd %s ready (machine %s)", FLEET_VERSION, d->machine_id);
}

static void on_server_done(Server *s, int error, void *userdata);

static int server_generation(Daemon *d) {
        int r;

        r = server_new(&d->server, d->event, d->config, d->machine_id, &d->listeners,
                       on_server_ready, on_server_done, d);
        if (r >= 0)
                r = server_start(d->server);
        if (r < 0)
                d->server = server_free(d->server);
        return r;
}

static void finish_reload(Daemon *d) {
        int r;

        d->server = server_free(d->server);
        config_free(d->config);
        d->config = TAKE_PTR(d->next_config);
        log_set_max_level(config_log_level(d->config));
        if (!d->listeners.activated && !strv_equal(d->listeners.addresses, d->config->api_listen)) {
                listeners_close(&d->listeners);
                r = open_listeners(d);
                if (r < 0)
                        goto fail;
        }
        d->phase = PHASE_RUNNING;
        r = server_generation(d);
        if (r < 0)
                goto fail;
        return;
fail:
        log_error("Reload failed; exiting");
        d->exit_code = EXIT_FAILURE;
        (void) sd_event_exit(d->event, EXIT_FAILURE);
}

static void on_server_done(Server *s, int error, void *userdata) {
        Daemon *d = userdata;

        if (d->phase == PHASE_RELOADING && error >= 0) {
                finish_reload(d);
                return;
        }
        if (error < 0)
                d->exit_code = EXIT_FAILURE;
        d->server = server_free(d->server);
        (void) sd_event_exit(d->event, d->exit_code);
}

/* --- signals ---------------------------------------------------------------------------------- */

static int on_shutdown_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;

        log_error("Shutdown did not finish in time; exiting anyway");
        (void) sd_event_exit(d->event, EXIT_FAILURE);
        return 0;
}

static void stop(Daemon *d, ServerStopMode mode) {
        int r;

        if (d->phase == PHASE_STOPPING)
                return;
        if (d->phase == PHASE_RELOADING) {
                /* The old generation is already handing over; do not build the next one. */
                if (mode == SERVER_STOP_GRACEFUL)
                        log_warning("Stopping during a reload: units are left running, the "
                                    "lease expires on its own");
                d->next_config = config_free(d->next_config);
        }
        d->phase = PHASE_STOPPING;
        r = sd_event_add_time_relative(d->event, NULL, CLOCK_MONOTONIC, SHUTDOWN_TIMEOUT_USEC, 0,
                                       on_shutdown_timeout, d);
        if (r < 0)
                log_warning_errno(r, "Failed to add the shutdown timer, ignoring: %m");
        if (!d->server) {
                (void) sd_event_exit(d->event, d->exit_code);
                return;
        }
        server_stop(d->server, mode);
}

static void stop_graceful(Daemon *d, const char *why) {
        log_info("%s: shutting down, unloading this machine's units", why);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Unloading units");
        stop(d, SERVER_STOP_GRACEFUL);
}

static void on_self_job(SelfJob *q, SelfJobVerdict verdict, const char *job_type, void *userdata) {
        Daemon *d = userdata;

        /* job_type belongs to the query: free it only when done with it. */
        if (verdict != SELF_JOB_RESTART) {
                stop_graceful(d, job_type ? "Received SIGTERM (systemd stops fleetd)"
                                          : "Received SIGTERM");
        } else {
                log_info("Received SIGTERM with a %s job for fleetd's unit: restarting; units "
                         "keep running and the lease stays for the next fleetd",
                         job_type);
                (void) sd_notify(false, "STOPPING=1\nSTATUS=Restart exit");
                stop(d, SERVER_STOP_HANDOVER);
        }
        d->self_job = self_job_free(d->self_job);
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;
        int r;

        if (si->ssi_signo != SIGTERM || d->phase == PHASE_STOPPING) {
                stop_graceful(d, si->ssi_signo == SIGTERM ? "Received SIGTERM" : "Received SIGINT");
                return 0;
        }
        if (d->self_job)
                return 0; /* still asking */
        /* A restart keeps the units, as the upgrade exit does; a stop hands them over. */
        r = self_job_query(d->event, SELF_JOB_TIMEOUT_USEC, on_self_job, d, &d->self_job);
        if (r < 0) {
                log_debug_errno(r, "Not asking systemd about fleetd's job: %m");
                stop_graceful(d, "Received SIGTERM");
        }
        return 0;
}

static int on_sigusr2(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;

        log_info("Received SIGUSR2: exiting for an upgrade; units keep running and the lease "
                 "stays for the next fleetd");
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Upgrade exit");
        stop(d, SERVER_STOP_HANDOVER);
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;
        Config *c = NULL;

        if (d->phase != PHASE_RUNNING) {
                log_info("Received SIGHUP while %s, ignoring",
                         d->phase == PHASE_RELOADING ? "reloading" : "stopping");
                return 0;
        }
        log_info("Reloading configuration from %s", arg_config ?: CONFIG_DEFAULT_PATH);
        if (load_config(&c) < 0) {
                log_error("Keeping the current configuration");
                return 0;
        }
        (void) sd_notify(false, "RELOADING=1\nSTATUS=Reloading");
        d->next_config = c;
        d->phase = PHASE_RELOADING;
        if (!d->server) {
                finish_reload(d);
                return 0;
        }
        server_stop(d->server, SERVER_STOP_HANDOVER);
        return 0;
}

static int setup_signals(Daemon *d) {
        static const struct {
                int sig;
                sd_event_signal_handler_t handler;
        } table[] = {
                {SIGTERM, on_sigterm},
                {SIGINT, on_sigterm},
                {SIGHUP, on_sighup},
                {SIGUSR2, on_sigusr2},
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                r = sd_event_add_signal(d->event, NULL, table[i].sig | SD_EVENT_SIGNAL_PROCMASK,
                                        table[i].handler, d);
                if (r < 0)
                        return log_error_errno(r, "Failed to handle %s: %m",
                                               strsignal(table[i].sig));
        }
        /* A closed API connection must not kill the daemon. */
        (void) signal(SIGPIPE, SIG_IGN);
        return 0;
}

/* --- main ------------------------------------------------------------------------------------- */

static int run(Daemon *d) {
        int r;

        r = load_config(&d->config);
        if (r < 0)
                return r;
        log_set_max_level(config_log_level(d->config));
        r = machine_id_read(NULL, &d->machine_id);
        if (r < 0)
                return log_error_errno(r, "unable to determine local machine ID: %m");
        r = sd_event_default(&d->event);
        if (r < 0)
                return log_error_errno(r, "Failed to get the event loop: %m");
        (void) sd_event_set_watchdog(d->event, true);
        r = setup_signals(d);
        if (r < 0)
                return r;
        r = open_listeners(d);
        if (r < 0)
                return r;
        log_info("Starting fleetd version %s (machine %s)", FLEET_VERSION, d->machine_id);
        r = server_generation(d);
        if (r < 0)
                return r;
        r = sd_event_loop(d->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}

int main(int argc, char *argv[]) {
        Daemon d = {.exit_code = EXIT_SUCCESS};
        bool version = false;
        int r;

        log_set_program("fleetd");
        log_open();
        r = parse_argv(argc, argv, &version);
        if (r <= 0)
                return -r;
        if (version) {
                printf("fleetd version %s\n", FLEET_VERSION);
                return EXIT_SUCCESS;
        }
        r = run(&d);
        d.self_job = self_job_free(d.self_job);
        d.server = server_free(d.server);
        listeners_close(&d.listeners);
        config_free(d.config);
        config_free(d.next_config);
        free(d.machine_id);
        sd_event_unref(d.event);
        if (r < 0)
                return EXIT_FAILURE;
        return r;
}
