/* SPDX-License-Identifier: MIT */
/*
 * The agent's quorum question (issue 12; the rule is in quorum.h, the reasoning in
 * docs/failure-behaviour.md). The agent keeps a list of its peers (machine/ records: ID and
 * public IP) current from a watch on machine/: one listing when it starts (and after a
 * compaction), then only the events of machines that register or go away; an idle cluster
 * costs no request. At the deadline etcd may be unreachable, so the question uses that cached
 * list as it was when the link was lost. At its fencing deadline, before
 * freezing, it asks every peer GET http://<public IP>:<peer_port>/fleet-c/v1/etcd-health, all
 * at once, each with a 500 ms timeout. If a strict majority of the machines it knows (itself
 * included) answer that they do not reach etcd, etcd is down for the majority: nobody can move
 * anything, so it keeps its units running and asks again every second; otherwise it freezes.
 * While it keeps them running and etcd then says its lease is gone, it keeps them too: the
 * engine holds the units of machines that expire together with a majority (engine/majority.h),
 * and the agent registers again and adopts what is still scheduled to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-internal.h"
#include "log.h"
#include "quorum.h"

#define ASK_TIMEOUT_MS 500L
#define ASK_CONNECT_TIMEOUT_MS 300L
#define ASK_AGAIN_USEC (1 * USEC_PER_SEC)
#define PEERS_RETRY_USEC (1 * USEC_PER_SEC)

typedef struct QuorumAsk {
        Agent *agent;
        CurlTransfer *transfer;
} QuorumAsk;

static void peers_clear(Agent *a) {
        for (size_t i = 0; i < a->n_peers; i++)
                free(a->peers[i]);
        free(a->peers);
        a->peers = NULL;
        a->n_peers = 0;
}

static void asks_cancel(Agent *a) {
        for (size_t i = 0; i < a->n_asks; i++) {
                curl_transfer_cancel(a->asks[i].transfer);
                a->asks[i].transfer = NULL;
        }
        free(a->asks);
        a->asks = NULL;
        a->n_asks = a->n_answered = a->n_down = 0;
}

/* --- the peer list ------------------------------------------------------------------------------
 */

/* machine/<id> was put (e with a value) or deleted (e NULL). */
static int peer_set(Agent *a, const char *id, const RegistryEntry *e) {
        if (!id || streq(id, a->machine_id))
                return 0;
        if (!e) {
                free(strmap_remove(&a->peer_ips, id));
                return 0;
        }
        /* A peer without a public IP cannot be asked: it counts as not answering. */
        return strmap_put_strdup(&a->peer_ips, id, strempty(e->machine.public_ip));
}

static int peers_apply(Agent *a, const RegistryWatchUpdate *u) {
        int r = 0;

        if (u->resync) {
                strmap_done_free(&a->peer_ips);
                for (size_t i = 0; r >= 0 && i < u->n_entries; i++) {
                        const RegistryEntry *e = &u->entries[i];

                        if (e->key.kind == REGISTRY_KEY_MACHINE && e->has_value)
                                r = peer_set(a, e->key.machine_id, e);
                }
        }
        for (size_t i = 0; r >= 0 && i < u->n_events; i++) {
                const RegistryEvent *ev = &u->events[i];
                bool put = ev->type == REGISTRY_EVENT_PUT && ev->entry.has_value;

                if (ev->entry.key.kind == REGISTRY_KEY_MACHINE)
                        r = peer_set(a, ev->entry.key.machine_id, put ? &ev->entry : NULL);
        }
        return r;
}

static void on_peers(RegistryWatch *w, int error, const RegistryWatchUpdate *u, void *userdata) {
        Agent *a = userdata;

        if (error < 0) {
                /* Only auth errors end a resync watch: the last list stays; try again later. */
                log_warning_errno(error, "The machine watch for the quorum question stopped: "
                                         "%m; restarting it");
                (void) sd_event_source_set_time_relative(a->peers_timer, PEERS_RETRY_USEC);
                (void) sd_event_source_set_enabled(a->peers_timer, SD_EVENT_ONESHOT);
                return;
        }
        if (peers_apply(a, u) < 0) {
                log_oom();
                a->peers_known = false;
                (void) registry_watch_restart(w, 0);
                return;
        }
        if (u->resync || !a->peers_known)
                log_debug("Quorum question: %zu other machine(s) known", strmap_size(&a->peer_ips));
        a->peers_known = true;
}

static int on_peers_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Agent *a = userdata;

        if (a->peers_watch && registry_watch_restart(a->peers_watch, 0) < 0) {
                (void) sd_event_source_set_time_relative(s, PEERS_RETRY_USEC);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        return 0;
}

/* Take the peers to ask from the cached list: n_known of them, n_peers with a public IP. */
static int peers_snapshot(Agent *a) {
        StrMapIter i = {};
        const char *ip;
        size_t n = 0;

        peers_clear(a);
        a->n_known = strmap_size(&a->peer_ips);
        a->peers = calloc(a->n_known + 1, sizeof(char *));
        if (!a->peers)
                return -ENOMEM;
        while (strmap_next(&a->peer_ips, &i, NULL, (void **) &ip)) {
                if (!*ip)
                        continue;
                a->peers[n] = strdup(ip);
                if (!a->peers[n]) {
                        a->n_peers = n;
                        return -ENOMEM;
                }
                n++;
        }
        a->n_peers = n;
        return 0;
}

/* --- the question -------------------------------------------------------------------------------
 */

static void decide(Agent *a);

static void on_answer(CurlTransfer *t, int error, void *userdata) {
        QuorumAsk *q = userdata;
        Agent *a = q->agent;
        const char *body;
        size_t len = 0;
        bool reachable = true;

        q->transfer = NULL;
        body = error >= 0 ? curl_transfer_get_body(t, &len) : NULL;
        if (error >= 0 &&
            quorum_parse_answer(curl_transfer_get_http_status(t), body, len, &reachable) > 0 &&
            !reachable)
                a->n_down++;
        if (++a->n_answered == a->n_asks)
                decide(a);
}

static int ask_one(Agent *a, const char *ip, QuorumAsk *q) {
        _cleanup_free_ char *url = NULL;
        CURL *easy;
        int r;

        if (asprintf(&url, strchr(ip, ':') ? "http://[%s]:%u%s" : "http://%s:%u%s", ip,
                     (unsigned) a->peer_port, QUORUM_HEALTH_PATH) < 0)
                return -ENOMEM;
        easy = curl_glue_easy_new(url);
        if (!easy)
                return -ENOMEM;
        (void) curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, ASK_TIMEOUT_MS);
        (void) curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, ASK_CONNECT_TIMEOUT_MS);
        q->agent = a;
        r = curl_glue_start(a->curl, easy, NULL, on_answer, q, &q->transfer);
        return r;
}

/* Ask every peer at once; decide() runs when all have answered or timed out. */
static void ask(Agent *a) {
        size_t started = 0;

        asks_cancel(a);
        a->quorum_asks++;
        if (peers_snapshot(a) < 0)
                log_oom(); /* asks the peers copied so far */
        if (a->n_peers == 0 || a->peer_port == 0 || !a->curl) {
                decide(a);
                return;
        }
        a->asks = calloc(a->n_peers, sizeof(QuorumAsk));
        if (!a->asks) {
                log_oom();
                decide(a);
                return;
        }
        a->n_asks = a->n_peers;
        for (size_t i = 0; i < a->n_peers; i++)
                if (ask_one(a, a->peers[i], &a->asks[i]) >= 0)
                        started++;
                else
                        a->n_answered++; /* counts as no answer */
        if (started == 0)
                decide(a);
}

static int on_ask_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Agent *a = userdata;

        if (a->holding && presence_is_suspect(a->presence))
                ask(a);
        return 0;
}

static void decide(Agent *a) {
        size_t known = a->n_known + 1, down = a->n_down + 1; /* this machine is down too */

        asks_cancel(a);
        if (!presence_is_suspect(a->presence))
                return; /* etcd answered meanwhile */
        /* Without a listing of the machines this agent knows nobody, not even how many there
         * are: it cannot tell a majority, so it freezes. */
        if (a->peers_known && quorum_etcd_down_for_majority(known, down)) {
                if (!a->holding)
                        log_warning("Fencing: %zu of the %zu machines known do not reach etcd: "
                                    "etcd is down for the majority, nothing can move; units keep "
                                    "running (asking again every second)",
                                    down, known);
                a->holding = true;
                (void) sd_event_source_set_time_relative(a->ask_timer, ASK_AGAIN_USEC);
                (void) sd_event_source_set_enabled(a->ask_timer, SD_EVENT_ONESHOT);
                return;
        }
        if (a->holding)
                log_warning("Fencing: only %zu of the %zu machines known do not reach etcd now",
                            down, known);
        a->holding = false;
        agent_freeze_units(a);
}

void agent_quorum_suspect(Agent *a) {
        a->holding = false;
        ask(a);
}

void agent_quorum_settled(Agent *a) {
        asks_cancel(a);
        a->holding = false;
        (void) sd_event_source_set_enabled(a->ask_timer, SD_EVENT_OFF);
}

int agent_quorum_setup(Agent *a) {
        int r;

        if (a->peer_port > 0) {
                r = curl_glue_new(&a->curl, a->event);
                if (r < 0)
                        return r;
        }
        r = sd_event_add_time_relative(a->event, &a->peers_timer, CLOCK_MONOTONIC, 0, 0,
                                       on_peers_timer, a);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(a->peers_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(a->peers_timer, "agent-peers");
        r = registry_watch_new(a->registry, REGISTRY_KEY_MACHINE, NULL, NULL, on_peers, a,
                               &a->peers_watch);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(a->event, &a->ask_timer, CLOCK_MONOTONIC, 0, 0, on_ask_timer,
                                       a);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(a->ask_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(a->ask_timer, "agent-quorum");
        return 0;
}

void agent_quorum_done(Agent *a) {
        asks_cancel(a);
        a->curl = curl_glue_free(a->curl);
        a->peers_watch = registry_watch_free(a->peers_watch);
        peers_clear(a);
        strmap_done_free(&a->peer_ips);
        a->peers_timer = sd_event_source_disable_unref(a->peers_timer);
        a->ask_timer = sd_event_source_disable_unref(a->ask_timer);
}
