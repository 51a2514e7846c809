/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * libcurl's multi interface inside an sd_event loop, modelled on systemd's
 * src/import/curl-util.c:
 *   - CURLMOPT_SOCKETFUNCTION -> one sd_event io source per socket, stored with
 *     curl_multi_assign() and updated with sd_event_source_set_io_events();
 *   - CURLMOPT_TIMERFUNCTION -> one sd_event timer (-1 disables it, 0 fires next iteration);
 *   - those two callbacks never call libcurl; the io/timer handlers call
 *     curl_multi_socket_action(), then drain curl_multi_info_read() in a loop;
 *   - every transfer is a CurlTransfer found through CURLOPT_PRIVATE.
 *
 * User callbacks (on_data, on_done) always run outside libcurl: body bytes are buffered by the
 * write callback and delivered after curl_multi_socket_action() returns, so a callback may
 * start or cancel transfers (its own included) freely. It must not free the CurlGlue.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct CurlGlue CurlGlue;
typedef struct CurlTransfer CurlTransfer;

/*
 * Streaming: called with every chunk of response body received so far (never empty), in
 * order. Return 0 to continue, or a negative errno to abort the transfer: on_done is then
 * called with that error.
 */
typedef int (*curl_transfer_data_t)(CurlTransfer *t, const char *data, size_t size, void *userdata);

/*
 * Completion, called once per transfer. error: 0 when the HTTP exchange completed (whatever
 * the status code: see curl_transfer_get_http_status()), else the mapped curl error
 * (curl_glue_code_to_errno()) or the on_data abort code. After it returns the transfer is
 * freed (unless the callback cancelled it, which frees it at once).
 */
typedef void (*curl_transfer_done_t)(CurlTransfer *t, int error, void *userdata);

/* Create a glue on event (NULL = sd_event_default()), holding a reference. 0, -ENOMEM, -EIO. */
int curl_glue_new(CurlGlue **ret, sd_event *event);
/* Abort every transfer without callbacks, free the glue. NULL ok. Not inside a callback. */
CurlGlue *curl_glue_free(CurlGlue *g);
DEFINE_CLEANUP(CurlGlue *, curl_glue_free);

sd_event *curl_glue_get_event(CurlGlue *g);

/* The sd-event priority of the glue's io sources, now and for sockets opened later (default
 * SD_EVENT_PRIORITY_NORMAL): a glue of urgent requests (lease keepalives) is served first when
 * the loop wakes with several sources ready. The glue's timer always runs one step below its
 * sockets, so an answer that arrived while the loop was busy is read before curl's timeouts
 * are checked. 0 or a negative errno. */
int curl_glue_set_priority(CurlGlue *g, int64_t priority);

/*
 * A new easy handle with fleet's defaults: url, no signals, TCP keepalive, CLOEXEC sockets.
 * The caller sets method, body, headers and timeouts. NULL on OOM.
 */
CURL *curl_glue_easy_new(const char *url);

/*
 * Start a transfer of easy (ownership of easy is taken, also on failure; the caller keeps
 * owning anything easy points to -- headers, body -- until on_done, or it may pass them with
 * curl_transfer_own_*). on_data NULL: the body is collected and readable in on_done with
 * curl_transfer_get_body(). ret may be NULL. 0 or -ENOMEM/-EIO.
 */
int curl_glue_start(CurlGlue *g, CURL *easy, curl_transfer_data_t on_data,
                    curl_transfer_done_t on_done, void *userdata, CurlTransfer **ret);

/* Hand a header list / malloc'd buffer to the transfer: freed with it. */
void curl_transfer_own_headers(CurlTransfer *t, struct curl_slist *headers);
void curl_transfer_own_buffer(CurlTransfer *t, char *buffer);

/* Abort and free the transfer; on_done is not called. NULL ok. Safe inside its callbacks. */
void curl_transfer_cancel(CurlTransfer *t);

CURL *curl_transfer_get_easy(CurlTransfer *t);
/* HTTP status of the response, 0 if none was received. */
long curl_transfer_get_http_status(CurlTransfer *t);
/* Collected body (on_data NULL), NUL-terminated, size in ret_size (may be NULL). Borrowed. */
const char *curl_transfer_get_body(CurlTransfer *t, size_t *ret_size);
/* Whether any request bytes were sent (false: safe to retry anything elsewhere). */
bool curl_transfer_request_sent(CurlTransfer *t);

/*
 * curl error -> negative errno: connect failures -ECONNREFUSED, resolve -EHOSTUNREACH,
 * timeout -ETIMEDOUT, send/recv/empty reply -ECONNRESET, out of memory -ENOMEM, every other
 * code (TLS failures included) -EIO. CURLE_OK -> 0.
 */
int curl_glue_code_to_errno(CURLcode code);
