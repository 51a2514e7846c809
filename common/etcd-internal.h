/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Internals shared by etcd.c (client, calls, failover, auth), etcd-ops.c (operations, paging,
 * synchronous layer) and etcd-watch.c (watch streams). Not for other modules.
 */

#include <stdbool.h>
#include <stdint.h>
#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "curl-glue.h"
#include "etcd.h"

/* Decide what to do with a decoded page; see EtcdCall.on_result. */
typedef int (*etcd_result_hook_t)(EtcdCall *call, EtcdResponse **resp);

struct EtcdCall {
        EtcdClient *client;
        EtcdCall *prev, *next;
        EtcdRequestType type;
        const char *path; /* static string, e.g. "/v3/kv/range" */
        char *body;
        etcd_callback_t cb;
        void *userdata;
        void (*destroy)(void *userdata);

        CurlTransfer *transfer;
        size_t endpoint;   /* endpoint index of the current attempt */
        unsigned tries;    /* endpoints tried for the current body */
        bool reauthed;     /* already re-authenticated once for this call */
        bool waiting_auth; /* parked until the token arrives */
        uint64_t auth_gen; /* which authentication it waits for */
        bool in_callback;
        bool cancelled;
        uint64_t start_usec;
        uint64_t timeout_usec; /* 0: the client's request timeout */

        /*
         * Optional hook run on every successful decode before completion (paging). Returns
         * > 0 when it restarted the call with a new body (the call goes on), 0 to complete
         * with *resp (it may replace it), < 0 to fail the call with that error.
         */
        etcd_result_hook_t on_result;
        void *hook_data;
        void (*hook_free)(void *hook_data);
};

struct EtcdClient {
        sd_event *event;
        int64_t write_revision; /* highest revision a PUT, DELETE or TXN of this client answered */
        CurlGlue *glue;
        CurlGlue *lease_glue; /* lease keepalives: their own connection, served first */
        char **endpoints;
        size_t n_endpoints;
        char **unix_sockets; /* NULL, or one per endpoint */
        size_t current;
        uint64_t timeout_usec;
        char *ca_file, *cert_file, *key_file;
        bool insecure;
        char *username, *password;

        char *token;
        EtcdCall *auth_call;
        uint64_t auth_gen; /* incremented when an authentication starts */

        EtcdCall *calls;
        EtcdWatch *watches;
        EtcdStats stats;
};

/*
 * A POST of body to endpoints[endpoint] + path with JSON, auth and TLS options; stream: no
 * overall timeout (watches); else timeout_usec (0: the client's request timeout). The header
 * list is returned for the transfer to own.
 */
int etcd_client_make_easy(EtcdClient *c, size_t endpoint, const char *path, const char *body,
                          bool stream, uint64_t timeout_usec, CURL **ret,
                          struct curl_slist **ret_headers);

/* Move the current endpoint past failed (no-op if another request already moved it). */
void etcd_client_failover(EtcdClient *c, size_t failed);

/* Whether requests must carry a token that is not there yet. */
bool etcd_client_needs_token(EtcdClient *c);
/* Start authenticating unless already in progress. Parked calls and watches resume after. */
void etcd_client_authenticate(EtcdClient *c);
/* Forget the token (invalid): the next request re-authenticates. */
void etcd_client_drop_token(EtcdClient *c);

/* Create and start a call; takes body. Callback/ret_call semantics of etcd.h. Lease
 * keepalives go through the client's lease connection (lease_glue). */
int etcd_call_submit(EtcdClient *c, EtcdRequestType type, const char *path, char *body,
                     etcd_callback_t cb, void *userdata, EtcdCall **ret_call);
/* The same with a timeout of its own (0: the client's request timeout). */
int etcd_call_submit_timeout(EtcdClient *c, EtcdRequestType type, const char *path, char *body,
                             uint64_t timeout_usec, etcd_callback_t cb, void *userdata,
                             EtcdCall **ret_call);
/* Re-send the call with a new body (taken), endpoint tries reset. < 0: the call failed. */
int etcd_call_resend(EtcdCall *call, char *body);

void etcd_stats_record(EtcdClient *c, EtcdRequestType t, int error, uint64_t start_usec);

/* etcd-watch.c: the token arrived (error 0) or authentication failed: resume or fail every
 * watch parked for it. */
void etcd_watch_auth_done_all(EtcdClient *c, int error);
/* etcd-watch.c: free every watch of the client (client teardown). */
void etcd_watch_free_all(EtcdClient *c);

/* Transport errors after which another endpoint may do better. */
static inline bool etcd_error_is_transport(int error) {
        return error == -ECONNREFUSED || error == -EHOSTUNREACH || error == -ETIMEDOUT ||
               error == -ECONNRESET || error == -EAGAIN;
}
