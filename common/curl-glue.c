/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "curl-glue.h"
#include "curl-init.h"
#include "log.h"

struct CurlTransfer {
        CurlGlue *glue;
        CurlTransfer *prev, *next;
        CURL *easy;
        curl_transfer_data_t on_data;
        curl_transfer_done_t on_done;
        void *userdata;

        char *buf; /* streaming: bytes not delivered yet; else the whole body */
        size_t len, cap;
        int write_error;

        struct curl_slist *headers;
        char *owned_buffer;

        bool finished; /* curl reported CURLMSG_DONE, on_done pending */
        int finish_error;
        bool in_callback; /* a user callback of this transfer is running */
        bool cancelled;   /* cancelled while in_callback: free when it returns */
};

struct CurlGlue {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        CurlTransfer *transfers;
        sd_event_source **ios; /* every io source handed to curl_multi_assign(), for free */
        size_t n_ios, cap_ios;
        int64_t priority; /* sd-event priority of the io sources; the timer runs one below */
};

int curl_glue_code_to_errno(CURLcode code) {
        switch (code) {
        case CURLE_OK:
                return 0;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
                return -ECONNRESET;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        default:
                return -EIO;
        }
}

/* ---- transfers ------------------------------------------------------------------------------ */

static void transfer_free(CurlTransfer *t) {
        CurlGlue *g = t->glue;

        if (t->prev)
                t->prev->next = t->next;
        else if (g->transfers == t)
                g->transfers = t->next;
        if (t->next)
                t->next->prev = t->prev;
        if (t->easy) {
                (void) curl_multi_remove_handle(g->multi, t->easy);
                curl_easy_cleanup(t->easy);
        }
        curl_slist_free_all(t->headers);
        free(t->owned_buffer);
        free(t->buf);
        free(t);
}

void curl_transfer_cancel(CurlTransfer *t) {
        if (!t)
                return;
        if (t->in_callback) {
                t->cancelled = true;
                return;
        }
        transfer_free(t);
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata) {
        CurlTransfer *t = userdata;
        size_t n = size * nmemb;

        /* Called inside libcurl: only buffer, never call back into user code or libcurl. */
        if (t->len + n + 1 > t->cap) {
                size_t cap = MAX(t->cap * 2, t->len + n + 1);
                char *b = realloc(t->buf, MAX(cap, (size_t) 256));
                if (!b) {
                        t->write_error = -ENOMEM;
                        return 0;
                }
                t->buf = b;
                t->cap = MAX(cap, (size_t) 256);
        }
        memcpy(t->buf + t->len, ptr, n);
        t->len += n;
        t->buf[t->len] = 0;
        return n;
}

CURL *curl_glue_easy_new(const char *url) {
        CURL *c = curl_easy_init();

        if (!c)
                return NULL;
        if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
                curl_easy_cleanup(c);
                return NULL;
        }
        return c;
}

int curl_glue_start(CurlGlue *g, CURL *easy, curl_transfer_data_t on_data,
                    curl_transfer_done_t on_done, void *userdata, CurlTransfer **ret) {
        CurlTransfer *t;

        assert(g);
        assert(on_done);
        if (!easy)
                return -ENOMEM;
        t = calloc(1, sizeof(CurlTransfer));
        if (!t) {
                curl_easy_cleanup(easy);
                return -ENOMEM;
        }
        *t = (CurlTransfer){
                .glue = g,
                .on_data = on_data,
                .on_done = on_done,
                .userdata = userdata,
        };
        if (curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_WRITEDATA, t) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_PRIVATE, t) != CURLE_OK) {
                curl_easy_cleanup(easy);
                free(t);
                return -EIO;
        }
        if (curl_multi_add_handle(g->multi, easy) != CURLM_OK) {
                curl_easy_cleanup(easy);
                free(t);
                return -EIO;
        }
        t->easy = easy;
        t->next = g->transfers;
        if (t->next)
                t->next->prev = t;
        g->transfers = t;
        if (ret)
                *ret = t;
        return 0;
}

void curl_transfer_own_headers(CurlTransfer *t, struct curl_slist *headers) {
        curl_slist_free_all(t->headers);
        t->headers = headers;
}

void curl_transfer_own_buffer(CurlTransfer *t, char *buffer) {
        free(t->owned_buffer);
        t->owned_buffer = buffer;
}

CURL *curl_transfer_get_easy(CurlTransfer *t) {
        return t->easy;
}

long curl_transfer_get_http_status(CurlTransfer *t) {
        long code = 0;

        if (curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
                return 0;
        return code;
}

const char *curl_transfer_get_body(CurlTransfer *t, size_t *ret_size) {
        if (ret_size)
                *ret_size = t->len;
        return t->buf ? t->buf : "";
}

bool curl_transfer_request_sent(CurlTransfer *t) {
        long n = 0;

        if (curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &n) != CURLE_OK)
                return true;
        return n > 0;
}

/* ---- dispatch (outside libcurl) ------------------------------------------------------------- */

static bool needs_dispatch(const CurlTransfer *t) {
        if (t->in_callback || t->cancelled)
                return false;
        return t->finished || (t->on_data && t->len > 0) || t->write_error < 0;
}

/* Deliver buffered stream bytes. Returns < 0 if the consumer aborted the transfer. */
static int deliver_data(CurlTransfer *t) {
        _cleanup_free_ char *chunk = NULL;
        size_t n = t->len;
        int r;

        if (t->write_error < 0)
                return t->write_error;
        if (!t->on_data || n == 0)
                return 0;
        chunk = TAKE_PTR(t->buf);
        t->len = t->cap = 0;
        t->in_callback = true;
        r = t->on_data(t, chunk, n, t->userdata);
        t->in_callback = false;
        return r < 0 ? r : 0;
}

static void finish(CurlTransfer *t, int error) {
        t->in_callback = true;
        t->on_done(t, error, t->userdata);
        t->in_callback = false;
        transfer_free(t);
}

static void dispatch_one(CurlTransfer *t) {
        int r;

        r = deliver_data(t);
        if (t->cancelled) {
                transfer_free(t);
                return;
        }
        if (r < 0) {
                finish(t, r);
                return;
        }
        if (t->finished)
                finish(t, t->finish_error);
}

static void process(CurlGlue *g) {
        CURLMsg *msg;
        int left;

        /* First collect every completion without running user code: a callback may remove
         * other handles, which would invalidate libcurl's pending messages. */
        while ((msg = curl_multi_info_read(g->multi, &left))) {
                CurlTransfer *t = NULL;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t) !=
                            CURLE_OK ||
                    !t)
                        continue;
                t->finished = true;
                t->finish_error = t->write_error < 0 ? t->write_error
                                                     : curl_glue_code_to_errno(msg->data.result);
        }

        /* Then run callbacks, rescanning after each since they may start or cancel transfers. */
        for (;;) {
                CurlTransfer *t = g->transfers;

                while (t && !needs_dispatch(t))
                        t = t->next;
                if (!t)
                        break;
                dispatch_one(t);
        }
}

/* ---- sd-event <-> curl multi ---------------------------------------------------------------- */

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        CurlGlue *g = userdata;
        int action = 0, running;

        if (revents & (EPOLLIN | EPOLLHUP))
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & EPOLLERR)
                action |= CURL_CSELECT_ERR;
        if (curl_multi_socket_action(g->multi, fd, action, &running) != CURLM_OK)
                log_debug("curl_multi_socket_action() failed on fd %d", fd);
        process(g);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        CurlGlue *g = userdata;
        int running;

        if (curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK)
                log_debug("curl_multi_socket_action() failed on timeout");
        process(g);
        return 0;
}

static void forget_io(CurlGlue *g, sd_event_source *io) {
        for (size_t i = 0; i < g->n_ios; i++)
                if (g->ios[i] == io) {
                        g->ios[i] = g->ios[--g->n_ios];
                        return;
                }
}

static int remember_io(CurlGlue *g, sd_event_source *io) {
        if (g->n_ios == g->cap_ios) {
                size_t cap = MAX(g->cap_ios * 2, (size_t) 8);
                sd_event_source **a = realloc(g->ios, cap * sizeof(*a));
                if (!a)
                        return -ENOMEM;
                g->ios = a;
                g->cap_ios = cap;
        }
        g->ios[g->n_ios++] = io;
        return 0;
}

/* CURLMOPT_SOCKETFUNCTION: only (un)registers io sources; never calls back into libcurl
 * except curl_multi_assign(), which exists for exactly this. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        CurlGlue *g = userp;
        sd_event_source *io = socketp;
        uint32_t events = 0;

        if (what == CURL_POLL_REMOVE) {
                if (io) {
                        forget_io(g, io);
                        (void) sd_event_source_disable_unref(io);
                        (void) curl_multi_assign(g->multi, fd, NULL);
                }
                return 0;
        }
        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                events |= EPOLLOUT;

        if (io) {
                if (sd_event_source_set_io_events(io, events) < 0 ||
                    sd_event_source_set_enabled(io, SD_EVENT_ON) < 0)
                        return -1;
                return 0;
        }
        if (sd_event_add_io(g->event, &io, fd, events, on_io, g) < 0)
                return -1;
        (void) sd_event_source_set_description(io, "curl-io");
        if (g->priority != SD_EVENT_PRIORITY_NORMAL)
                (void) sd_event_source_set_priority(io, g->priority);
        if (remember_io(g, io) < 0 || curl_multi_assign(g->multi, fd, io) != CURLM_OK) {
                forget_io(g, io);
                (void) sd_event_source_disable_unref(io);
                return -1;
        }
        return 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 disables the timer, otherwise (re)arm it. No libcurl calls. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
        CurlGlue *g = userp;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(g->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        if (sd_event_source_set_time_relative(g->timer, (uint64_t) timeout_ms * 1000) < 0 ||
            sd_event_source_set_enabled(g->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

int curl_glue_new(CurlGlue **ret, sd_event *event) {
        _cleanup_(curl_glue_freep) CurlGlue *g = NULL;
        int r;

        assert(ret);
        g = calloc(1, sizeof(CurlGlue));
        if (!g)
                return -ENOMEM;
        if (event)
                g->event = sd_event_ref(event);
        else {
                r = sd_event_default(&g->event);
                if (r < 0)
                        return r;
        }
        curl_init_light();
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;
        g->multi = curl_multi_init();
        if (!g->multi)
                return -ENOMEM;
        /* Accuracy 1 us: the default (0) lets sd-event delay curl's timeouts by up to 250 ms. */
        r = sd_event_add_time(g->event, &g->timer, CLOCK_MONOTONIC, 0, 1, on_timer, g);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(g->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(g->timer, "curl-timer");
        /* Just below the sockets: when the loop comes back from a long callback with an answer
         * waiting and curl's timeout passed meanwhile, the answer is read first. */
        r = sd_event_source_set_priority(g->timer, SD_EVENT_PRIORITY_NORMAL + 1);
        if (r < 0)
                return r;
        if (curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, socket_cb) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, timer_cb) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g) != CURLM_OK)
                return -EIO;
        *ret = TAKE_PTR(g);
        return 0;
}

CurlGlue *curl_glue_free(CurlGlue *g) {
        if (!g)
                return NULL;
        while (g->transfers)
                transfer_free(g->transfers);
        if (g->multi)
                (void) curl_multi_cleanup(g->multi);
        /* Sockets curl did not report as removed before cleanup. */
        for (size_t i = 0; i < g->n_ios; i++)
                (void) sd_event_source_disable_unref(g->ios[i]);
        free(g->ios);
        (void) sd_event_source_disable_unref(g->timer);
        sd_event_unref(g->event);
        free(g);
        return NULL;
}

int curl_glue_set_priority(CurlGlue *g, int64_t priority) {
        int r;

        assert(g);
        r = sd_event_source_set_priority(g->timer, priority + 1);
        if (r < 0)
                return r;
        for (size_t i = 0; i < g->n_ios; i++) {
                r = sd_event_source_set_priority(g->ios[i], priority);
                if (r < 0)
                        return r;
        }
        g->priority = priority;
        return 0;
}

sd_event *curl_glue_get_event(CurlGlue *g) {
        return g->event;
}
