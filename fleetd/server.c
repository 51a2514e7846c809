/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-metrics.h"
#include "agent.h"
#include "api.h"
#include "engine-metrics.h"
#include "engine.h"
#include "etcd.h"
#include "log.h"
#include "machine-info.h"
#include "process-stats.h"
#include "registry.h"
#include "server.h"

/* etcd_request_timeout = 0 means "no timeout" in fleet; a request still must end some day. */
#define ETCD_NO_TIMEOUT_USEC (3600 * USEC_PER_SEC)

struct Server {
        sd_event *event;
        const Config *config;
        const Listeners *listeners;
        char *machine_id;
        char *public_ip;
        EtcdClient *etcd;
        Registry *registry;
        Agent *agent;
        Engine *engine;
        Api *api;

        ServerReadyCallback ready_cb;
        ServerDoneCallback done_cb;
        void *userdata;

        ServerStopMode stop_mode;
        bool stopping;
        unsigned waiting; /* components still stopping */
        sd_event_source *done_source;
        int done_error;
};

/* The one place that assembles /metrics: the API writes its own and the registry's, then calls
 * this for the other components of this fleetd. */
static bool etcd_health(void *userdata) {
        Server *s = userdata;

        return s->agent && agent_reaches_etcd(s->agent);
}

static void metrics_extra(FILE *f, void *userdata) {
        Server *s = userdata;
        ProcessStats ps;

        if (s->agent) {
                AgentStats st;

                agent_get_stats(s->agent, &st);
                agent_metrics_write(&st, f);
        }
        if (s->engine)
                engine_metrics_write(engine_get_stats(s->engine), f);
        /* the process metrics every Prometheus client exports; left out if /proc fails */
        if (process_stats_read(&ps) >= 0)
                process_stats_write(&ps, f);
        else
                log_debug("Failed to read this process's statistics, leaving them out");
}

static int on_done_source(sd_event_source *src, void *userdata) {
        Server *s = userdata;

        if (s->done_cb)
                s->done_cb(s, s->done_error, s->userdata);
        return 0;
}

/* Report the end (stop finished, or a fatal error) from the event loop. */
static void finish(Server *s, int error) {
        int r;

        s->done_error = error;
        r = sd_event_add_defer(s->event, &s->done_source, on_done_source, s);
        if (r < 0) {
                log_error_errno(r, "Failed to add an event source: %m");
                if (s->done_cb)
                        s->done_cb(s, error ?: r, s->userdata);
                return;
        }
        (void) sd_event_source_set_description(s->done_source, "server-done");
}

static void component_stopped(Server *s) {
        assert(s->waiting > 0);
        if (--s->waiting == 0)
                finish(s, 0);
}

static void on_agent_ready(Agent *a, void *userdata) {
        Server *s = userdata;

        if (s->ready_cb)
                s->ready_cb(s, s->userdata);
}

static void on_agent_failure(Agent *a, int error, void *userdata) {
        Server *s = userdata;

        log_error_errno(error, "The agent cannot continue: %m");
        if (!s->stopping) {
                s->stopping = true;
                finish(s, error);
        }
}

static void on_agent_registration(Agent *a, bool registered, void *userdata) {
        Server *s = userdata;

        if (s->api)
                api_set_etcd_available(s->api, registered);
        /* The engine leads only on a machine lease known to live (engine_set_lease()). */
        if (s->engine)
                (void) engine_set_lease(s->engine, agent_get_lease(a));
}

static int etcd_connect(Server *s) {
        const Config *c = s->config;
        bool client_cert = *c->etcd_certfile && *c->etcd_keyfile;
        EtcdClientConfig ec = {
                .endpoints = c->etcd_servers,
                .request_timeout_usec = c->etcd_request_timeout ?: ETCD_NO_TIMEOUT_USEC,
                .ca_file = *c->etcd_cafile ? c->etcd_cafile : NULL,
                .cert_file = client_cert ? c->etcd_certfile : NULL,
                .key_file = client_cert ? c->etcd_keyfile : NULL,
                /* fleet: no client certificate means no verification; a CA file is still
                 * honoured here (reference 2.4 ignored it). */
                .insecure_skip_verify = !client_cert && !*c->etcd_cafile,
                .username = *c->etcd_username ? c->etcd_username : NULL,
                .password = *c->etcd_username ? c->etcd_password : NULL,
        };
        int r;

        r = etcd_client_new(&s->etcd, s->event, &ec);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the etcd client: %m");
        r = registry_new(&s->registry, s->etcd, c->etcd_key_prefix);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the registry: %m");
        return 0;
}

static int build_agent(Server *s) {
        const Config *c = s->config;
        AgentConfig ac = {
                .machine_id = s->machine_id,
                .public_ip = s->public_ip,
                .metadata = c->metadata,
                .units_directory = c->units_directory,
                .systemd_user = c->systemd_user,
                .ttl = c->agent_ttl,
                .freeze_with_signals = c->freeze_method == CONFIG_FREEZE_SIGNAL,
                /* Peers are asked over plain HTTP: with TLS on the API, nobody is asked and
                 * the agent freezes (the safe side). */
                .peer_port = *c->api_tls_cert_file ? 0 : listeners_tcp_port(s->listeners),
                .disable_engine = c->disable_engine,
                .version = FLEET_VERSION,
        };
        int r;

        r = agent_new(&s->agent, s->event, s->registry, &ac);
        if (r < 0)
                return log_error_errno(r, "Failed to create the agent: %m");
        agent_set_ready_callback(s->agent, on_agent_ready, s);
        agent_set_failure_callback(s->agent, on_agent_failure, s);
        agent_set_registration_callback(s->agent, on_agent_registration, s);
        return 0;
}

static int build_api(Server *s) {
        ApiConfig ac = {
                .version = FLEET_VERSION,
                .token_limit = s->config->token_limit,
                .metrics_extra = metrics_extra,
                .metrics_userdata = s,
                .etcd_health = etcd_health,
                .tls_cert_file = s->config->api_tls_cert_file,
                .tls_key_file = s->config->api_tls_key_file,
                .tls_ca_file = s->config->api_tls_ca_file,
        };
        int r;

        r = api_new(&s->api, s->event, s->registry, &ac);
        if (r < 0)
                return log_error_errno(r, "Failed to create the API: %m");
        /* 503 until the machine is registered (as fleet while its components start). */
        api_set_etcd_available(s->api, false);
        for (size_t i = 0; s->listeners && i < s->listeners->n; i++) {
                int fd = fcntl(s->listeners->fds[i], F_DUPFD_CLOEXEC, 3);

                if (fd < 0)
                        return log_error_errno(errno, "Failed to duplicate a listening socket: %m");
                r = api_listen_fd(s->api, fd);
                if (r < 0)
                        return log_error_errno(r, "Failed to serve the API on %s: %m",
                                               s->listeners->addresses ? s->listeners->addresses[i]
                                                                       : "a socket from systemd");
        }
        return 0;
}

int server_new(Server **ret, sd_event *event, const Config *config, const char *machine_id,
               const Listeners *listeners, ServerReadyCallback ready, ServerDoneCallback done,
               void *userdata) {
        _cleanup_(server_freep) Server *s = NULL;
        int r;

        s = calloc(1, sizeof(Server));
        if (!s)
                return log_oom();
        s->event = sd_event_ref(event);
        s->config = config;
        s->listeners = listeners;
        s->ready_cb = ready;
        s->done_cb = done;
        s->userdata = userdata;
        s->machine_id = strdup(machine_id);
        if (!s->machine_id)
                return log_oom();
        if (*config->public_ip)
                s->public_ip = strdup(config->public_ip);
        else if (machine_public_ip_detect(&s->public_ip) >= 0 && !*s->public_ip)
                log_warning("Could not determine this machine's public IP (no IPv4 default "
                            "route); publishing none");
        if (!s->public_ip)
                return log_oom();
        r = etcd_connect(s);
        if (r < 0)
                return r;
        r = build_agent(s);
        if (r < 0)
                return r;
        if (!config->disable_engine) {
                EngineConfig ec = {
                        .machine_id = machine_id,
                        .version = FLEET_VERSION,
                        .reconcile_interval = config->engine_reconcile_interval,
                        /* The leader key goes on this machine's agent lease (one lease per
                         * machine, renewed by the agent alone): a crash of the leader's
                         * machine frees it within agent_ttl. lease_ttl only caps the retry
                         * backoff then. */
                        .machine_lease = true,
                        .lease_ttl = config->agent_ttl,
                        .agent_ttl = config->agent_ttl,
                };

                r = engine_new(&s->engine, event, s->registry, &ec);
                if (r < 0)
                        return log_error_errno(r, "Failed to create the engine: %m");
        }
        r = build_api(s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int server_start(Server *s) {
        int r;

        r = agent_start(s->agent);
        if (r < 0)
                return r;
        if (s->engine) {
                r = engine_start(s->engine);
                if (r < 0)
                        return log_error_errno(r, "Failed to start the engine: %m");
        } else
                log_info("Engine disabled (disable_engine): not taking part in leader election");
        return 0;
}

static void on_engine_stopped(Engine *e, void *userdata) {
        component_stopped(userdata);
}

static void on_agent_stopped(Agent *a, void *userdata) {
        component_stopped(userdata);
}

void server_stop(Server *s, ServerStopMode mode) {
        if (s->stopping)
                return;
        s->stopping = true;
        s->stop_mode = mode;
        s->waiting = 1; /* held until everything is asked to stop */
        if (s->engine && engine_stop(s->engine, on_engine_stopped, s) >= 0)
                s->waiting++;
        if (mode == SERVER_STOP_GRACEFUL) {
                if (agent_shutdown(s->agent, on_agent_stopped, s) >= 0)
                        s->waiting++;
        } else if (agent_handover(s->agent, on_agent_stopped, s) >= 0)
                /* Units and the lease stay; the agent is freed with the server. */
                s->waiting++;
        component_stopped(s);
}

Server *server_free(Server *s) {
        if (!s)
                return NULL;
        /* The API first: it answers what is pending while the registry still exists. */
        s->api = api_free(s->api);
        s->agent = agent_free(s->agent);
        s->engine = engine_free(s->engine);
        s->registry = registry_free(s->registry);
        s->etcd = etcd_client_free(s->etcd);
        sd_event_source_disable_unref(s->done_source);
        sd_event_unref(s->event);
        free(s->machine_id);
        free(s->public_ip);
        free(s);
        return NULL;
}
