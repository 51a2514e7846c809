/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>

#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "log.h"
#include "presence.h"
#include "strv.h"
#include "unit-dir.h"

#define BACKOFF_MIN_USEC (500 * USEC_PER_MSEC)
#define BACKOFF_MAX_USEC (5 * USEC_PER_SEC)
/* After a failed keepalive, and while suspect: the next one this soon, so that contact after an
 * outage is noticed at once. */
#define KEEPALIVE_RETRY_USEC (250 * USEC_PER_MSEC)

struct Presence {
        sd_event *event;
        Registry *registry;
        EtcdClient *client;
        char *machine_id;
        char *key;                         /* <P>machine/<id> */
        char *record_json;                 /* the machine record */
        char *lease_dir, *lease_name;      /* the lease file, split for unit_dir_write() */
        char boot_id[SD_ID128_STRING_MAX]; /* the deadline is CLOCK_MONOTONIC of this boot */
        usec_t ttl;
        int64_t ttl_sec;
        PresenceCallback cb;
        void *userdata;

        int lock_fd;        /* flock on "<lease_file>.lock": one fleetd per lease file */
        int64_t lease;      /* 0 = none */
        bool lease_alive;   /* confirmed by a grant or keepalive */
        int64_t prev_lease; /* a lease held before: its record may be taken over */
        bool registered;
        bool fenced;  /* FENCED reported, not registered since */
        bool suspect; /* SUSPECT reported: the deadline passed, the lease may still live */
        bool keepalive_failing; /* the last keepalive failed */
        bool started;
        usec_t deadline;
        usec_t backoff;
        usec_t call_sent;      /* when the grant in flight was sent */
        usec_t keepalive_sent; /* when the keepalive in flight was sent */

        sd_event_source *keepalive_timer, *fence_timer, *retry_timer, *done_source;
        EtcdCall *call; /* grant or register txn */
        EtcdCall *keepalive_call;
        EtcdCall *revoke_call;
        PresenceDoneCallback done;
        void *done_userdata;
        int done_error;
        PresenceDoneCallback flush_done; /* presence_keepalive_now() */
        void *flush_userdata;
        PresenceStats stats;
};

static void step_grant(Presence *p);
static void step_register(Presence *p);

usec_t presence_margin(usec_t ttl) {
        usec_t m = MAX(ttl / 5, USEC_PER_SEC);

        return MIN(m, ttl / 2);
}

/* --- lease file ------------------------------------------------------------------------------- */

static void lease_file_write(Presence *p) {
        char buf[128];
        int n, r;

        if (!p->lease_dir || p->lease == 0)
                return;
        n = snprintf(buf, sizeof(buf), "lease %" PRId64 "\ndeadline %" PRIu64 "\nboot %s\n",
                     p->lease, (uint64_t) p->deadline, p->boot_id);
        r = unit_dir_write(p->lease_dir, p->lease_name, buf, (size_t) n);
        if (r < 0)
                log_warning_errno(r, "Failed to write lease file %s/%s, ignoring: %m", p->lease_dir,
                                  p->lease_name);
}

static void lease_file_read(Presence *p, int64_t *ret_lease, usec_t *ret_deadline) {
        _cleanup_free_ char *text = NULL;
        char boot[SD_ID128_STRING_MAX] = "";
        int64_t lease = 0;
        uint64_t deadline = 0;

        *ret_lease = 0;
        *ret_deadline = 0;
        if (!p->lease_dir || unit_dir_read(p->lease_dir, p->lease_name, &text, NULL) < 0)
                return;
        if (sscanf(text, "lease %" SCNd64 "\ndeadline %" SCNu64 "\nboot %32s", &lease, &deadline,
                   boot) != 3 ||
            lease <= 0) {
                log_warning("Ignoring malformed lease file %s/%s", p->lease_dir, p->lease_name);
                return;
        }
        if (!streq(boot, p->boot_id)) {
                log_debug("Ignoring the lease file of another boot");
                return;
        }
        *ret_lease = lease;
        *ret_deadline = deadline;
}

static int lease_file_lock(Presence *p) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!p->lease_dir)
                return 0;
        r = unit_dir_ensure(p->lease_dir);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", p->lease_dir);
        if (asprintf(&path, "%s/%s.lock", p->lease_dir, p->lease_name) < 0)
                return log_oom();
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", path);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EWOULDBLOCK)
                        return log_error_errno(EBUSY,
                                               "Another fleetd on this host holds %s: refusing "
                                               "to run a second agent on the same units directory",
                                               path);
                return log_error_errno(errno, "Failed to lock %s: %m", path);
        }
        p->lock_fd = TAKE_FD(fd);
        return 0;
}

/* --- timers ----------------------------------------------------------------------------------- */

static void arm(sd_event_source *s, usec_t delay) {
        int r = sd_event_source_set_time_relative(s, delay);

        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Failed to arm a presence timer: %m");
}

static void disarm(sd_event_source *s) {
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

static void arm_fence(Presence *p) {
        int r = sd_event_source_set_time(p->fence_timer, MAX(p->deadline, (usec_t) 1));

        if (r >= 0)
                r = sd_event_source_set_enabled(p->fence_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Failed to arm the fencing timer: %m");
}

/* Retry the current step later, with exponential backoff. */
static void retry_later(Presence *p) {
        p->backoff = p->backoff ? MIN(p->backoff * 2, BACKOFF_MAX_USEC) : BACKOFF_MIN_USEC;
        arm(p->retry_timer, p->backoff);
}

static void notify(Presence *p, PresenceEvent ev) {
        if (p->cb)
                p->cb(p, ev, p->userdata);
}

/* --- fencing ---------------------------------------------------------------------------------- */

/* Drop the lease (it expired, or may have): report FENCED once, then start over. */
static void lease_lost(Presence *p, const char *why) {
        char buf[FORMAT_TIMESPAN_MAX];
        bool was_alive = p->lease_alive || p->registered;

        etcd_call_cancel(p->call);
        p->call = NULL;
        etcd_call_cancel(p->keepalive_call);
        p->keepalive_call = NULL;
        disarm(p->keepalive_timer);
        disarm(p->fence_timer);
        if (p->lease != 0)
                p->prev_lease = p->lease;
        p->lease = 0;
        p->lease_alive = false;
        p->registered = false;
        p->suspect = false;
        p->deadline = 0;
        if (!p->fenced) {
                p->fenced = true;
                p->stats.fences++;
                log_full(was_alive ? LOG_WARNING : LOG_DEBUG,
                         "Fencing: %s (lease TTL %s); registering again", why,
                         format_timespan(buf, p->ttl));
                notify(p, PRESENCE_FENCED);
        }
        p->backoff = 0;
        step_grant(p);
}

static int send_keepalive(Presence *p);

static int on_fence_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Presence *p = userdata;
        char buf[FORMAT_TIMESPAN_MAX], buf2[FORMAT_TIMESPAN_MAX], buf3[FORMAT_TIMESPAN_MAX];

        if (!p->lease_alive || !p->registered) {
                lease_lost(p, p->lease_alive ? "no keepalive succeeded before the lease deadline"
                                             : "no live lease");
                return 0;
        }
        /* The lease may have expired, or etcd may just be unreachable: keep renewing the same
         * lease and let the owner make its units harmless meanwhile. */
        if (!p->suspect) {
                usec_t now = clock_now_usec(CLOCK_MONOTONIC), late = now > usec ? now - usec : 0;

                p->suspect = true;
                p->stats.suspects++;
                log_warning("No keepalive succeeded before the lease deadline (lease TTL %s, "
                            "deadline passed %s ago): lease %" PRIx64
                            " may have expired, renewing it every %s",
                            format_timespan(buf, p->ttl), format_timespan(buf3, late),
                            (uint64_t) p->lease, format_timespan(buf2, KEEPALIVE_RETRY_USEC));
                notify(p, PRESENCE_SUSPECT);
        }
        if (!p->keepalive_call)
                arm(p->keepalive_timer, 0);
        return 0;
}

/* --- keepalive -------------------------------------------------------------------------------- */

static void keepalive_handle(Presence *p, int error, EtcdResponse *resp) {
        usec_t interval = p->ttl / 3, retry = MIN(p->ttl / 15, KEEPALIVE_RETRY_USEC), deadline;

        p->keepalive_call = NULL;
        if (error == -ENOENT || (error >= 0 && resp->lease.ttl <= 0)) {
                lease_lost(p, "etcd says the lease has expired");
                return;
        }
        if (error < 0) {
                p->keepalive_failing = true;
                p->stats.keepalive_errors++;
                if (p->suspect)
                        log_debug_errno(error, "Lease keepalive failed: %m, retrying");
                else
                        log_warning_errno(error, "Lease keepalive failed: %m, retrying");
                arm(p->keepalive_timer, retry);
                return;
        }
        if (resp->lease.ttl != p->ttl_sec && !p->lease_alive) {
                /* A lease from the lease file with another TTL (agent_ttl changed). */
                log_info("Not reusing lease %" PRIx64 " (TTL %" PRId64 "s, want %" PRId64 "s)",
                         (uint64_t) p->lease, resp->lease.ttl, p->ttl_sec);
                p->prev_lease = p->lease;
                p->lease = 0;
                step_grant(p);
                return;
        }
        deadline = p->keepalive_sent + p->ttl - presence_margin(p->ttl);
        if (p->suspect && deadline <= clock_now_usec(CLOCK_MONOTONIC)) {
                /* The answer to a keepalive sent long ago, held up on the way (a partition
                 * that froze the connection): the lease lived then, it may be gone now. */
                log_debug("Ignoring a late keepalive answer (sent before the deadline passed)");
                arm(p->keepalive_timer, 0);
                return;
        }
        p->keepalive_failing = false;
        p->stats.keepalives++;
        p->deadline = deadline;
        arm_fence(p);
        lease_file_write(p);
        arm(p->keepalive_timer, interval);
        if (p->suspect) {
                p->suspect = false;
                log_notice("Lease %" PRIx64 " is alive: etcd answered again; nothing was lost",
                           (uint64_t) p->lease);
                notify(p, PRESENCE_ALIVE);
        }
        if (!p->lease_alive) {
                p->lease_alive = true;
                log_info("Reusing lease %" PRIx64 " of the previous fleetd", (uint64_t) p->lease);
                step_register(p);
        }
}

static void on_keepalive(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Presence *p = userdata;
        PresenceDoneCallback done = p->flush_done;

        keepalive_handle(p, error, resp);
        if (done) {
                p->flush_done = NULL;
                done(error, p->flush_userdata);
        }
}

static int send_keepalive(Presence *p) {
        int r;

        if (p->keepalive_call || p->lease == 0)
                return 0;
        p->keepalive_sent = clock_now_usec(CLOCK_MONOTONIC);
        r = etcd_lease_keepalive(p->client, p->lease, on_keepalive, p, &p->keepalive_call);
        if (r < 0) {
                log_warning_errno(r, "Failed to send a lease keepalive: %m, retrying");
                arm(p->keepalive_timer, USEC_PER_SEC);
        }
        return r;
}

static int on_keepalive_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) send_keepalive(userdata);
        return 0;
}

/* --- grant ------------------------------------------------------------------------------------ */

static void on_grant(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Presence *p = userdata;

        p->call = NULL;
        if (error < 0) {
                log_warning_errno(error, "Failed to grant a lease: %m, retrying");
                retry_later(p);
                return;
        }
        p->lease = resp->lease.id;
        p->lease_alive = true;
        p->deadline = p->call_sent + p->ttl - presence_margin(p->ttl);
        p->backoff = 0;
        log_debug("Granted lease %" PRIx64 " (TTL %" PRId64 "s)", (uint64_t) p->lease,
                  resp->lease.ttl);
        arm_fence(p);
        lease_file_write(p);
        arm(p->keepalive_timer, p->ttl / 3);
        step_register(p);
}

static void step_grant(Presence *p) {
        int r;

        p->call_sent = clock_now_usec(CLOCK_MONOTONIC);
        r = etcd_lease_grant(p->client, p->ttl_sec, 0, on_grant, p, &p->call);
        if (r < 0) {
                log_warning_errno(r, "Failed to request a lease: %m, retrying");
                retry_later(p);
        }
}

/* --- register --------------------------------------------------------------------------------- */

static void registered(Presence *p) {
        int64_t old = p->prev_lease;

        p->registered = true;
        p->fenced = false;
        p->backoff = 0;
        p->stats.registrations++;
        log_info("Registered machine %s (lease %" PRIx64 ")", p->machine_id, (uint64_t) p->lease);
        if (old != 0 && old != p->lease) {
                /* The old lease may still hold unit states of a previous life: drop them (the
                 * agent publishes its states again under the new lease). */
                p->prev_lease = 0;
                (void) etcd_lease_revoke(p->client, old, NULL, NULL, NULL);
        }
        notify(p, PRESENCE_REGISTERED);
}

static int send_register(Presence *p, int64_t takeover_lease);

static void refuse(Presence *p, const EtcdKeyValue *kv) {
        RegistryMachine m = {};
        char buf[FORMAT_TIMESPAN_MAX];

        p->stats.refusals++;
        (void) registry_machine_from_json(kv->value, kv->value_size, &m);
        retry_later(p);
        log_warning("Machine ID %s is already registered by another fleetd (lease %" PRIx64
                    ", public IP %s): refusing to register, retrying in %s",
                    p->machine_id, (uint64_t) kv->lease,
                    m.public_ip && *m.public_ip ? m.public_ip : "unknown",
                    format_timespan(buf, p->backoff));
        registry_machine_done(&m);
}

static void on_register(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Presence *p = userdata;
        const EtcdResult *res;

        p->call = NULL;
        if (error < 0) {
                log_warning_errno(error, "Failed to register machine %s: %m, retrying",
                                  p->machine_id);
                retry_later(p);
                return;
        }
        if (resp->txn.succeeded) {
                registered(p);
                return;
        }
        res = resp->txn.n_results > 0 ? &resp->txn.results[0] : NULL;
        if (!res || res->type != ETCD_OP_RANGE || res->n_kvs == 0) {
                /* Gone meanwhile (a takeover that lost a race, or an expiry): try again. */
                retry_later(p);
                return;
        }
        if (res->kvs[0].lease != 0 &&
            (res->kvs[0].lease == p->lease || res->kvs[0].lease == p->prev_lease)) {
                if (send_register(p, res->kvs[0].lease) < 0)
                        retry_later(p);
                return;
        }
        refuse(p, &res->kvs[0]);
}

/*
 * One txn: if machine/<id> is absent (takeover_lease 0) or attached to takeover_lease, put
 * the record with our lease; otherwise read it.
 */
static int send_register(Presence *p, int64_t takeover_lease) {
        EtcdCompare cmp = {
                .key = p->key,
                .target = takeover_lease ? ETCD_COMPARE_LEASE : ETCD_COMPARE_CREATE,
                .result = ETCD_CMP_EQUAL,
                .number = takeover_lease,
        };
        EtcdOp put = {.type = ETCD_OP_PUT,
                      .put = {.key = p->key, .value = p->record_json, .lease = p->lease}};
        EtcdOp get = {.type = ETCD_OP_RANGE, .range = {.key = p->key}};
        EtcdTxnRequest txn = {&cmp, 1, &put, 1, &get, 1};

        return etcd_txn(p->client, &txn, on_register, p, &p->call);
}

static void step_register(Presence *p) {
        int r;

        if (p->call || p->lease == 0 || !p->lease_alive)
                return;
        r = send_register(p, 0);
        if (r < 0) {
                log_warning_errno(r, "Failed to send the registration: %m, retrying");
                retry_later(p);
        }
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Presence *p = userdata;

        if (p->call)
                return 0;
        if (p->lease == 0)
                step_grant(p);
        else if (p->lease_alive && !p->registered)
                step_register(p);
        return 0;
}

/* --- lifecycle -------------------------------------------------------------------------------- */

static int build_record(Presence *p, const PresenceConfig *c) {
        RegistryMachine m = {
                .id = (char *) c->machine_id,
                .public_ip = (char *) (c->public_ip ?: ""),
                .version = (char *) (c->version ?: ""),
        };
        RegistryCapability cap = {.name = (char *) "DISABLE_ENGINE", .enabled = true};
        _cleanup_free_ RegistryMetadata *md = NULL;
        size_t n = strv_length(c->metadata) / 2;

        if (n > 0) {
                md = calloc(n, sizeof(RegistryMetadata));
                if (!md)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        md[i] = (RegistryMetadata){c->metadata[2 * i], c->metadata[2 * i + 1]};
        }
        m.metadata = md;
        m.n_metadata = n;
        if (c->disable_engine) {
                m.capabilities = &cap;
                m.n_capabilities = 1;
        }
        return registry_machine_to_json(&m, &p->record_json);
}

/* Accuracy 1 ms: with 0, sd-event takes its default of 250 ms, and the fencing deadline, which
 * must come before the lease can expire, would fire up to a quarter of a second late. */
static int add_timer(Presence *p, sd_event_source **ret, sd_event_time_handler_t h,
                     const char *desc) {
        int r = sd_event_add_time(p->event, ret, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_MSEC, h, p);

        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(*ret, SD_EVENT_OFF);
        (void) sd_event_source_set_description(*ret, desc);
        return 0;
}

static int split_lease_file(Presence *p, const char *path) {
        _cleanup_free_ char *a = strdup(path), *b = strdup(path);

        if (!a || !b)
                return -ENOMEM;
        if (path[0] != '/')
                return -EINVAL;
        p->lease_dir = strdup(dirname(a));
        p->lease_name = strdup(basename(b));
        if (!p->lease_dir || !p->lease_name)
                return -ENOMEM;
        return unit_dir_name_is_safe(p->lease_name) ? 0 : -EINVAL;
}

int presence_new(Presence **ret, sd_event *event, Registry *registry, const PresenceConfig *c,
                 PresenceCallback cb, void *userdata) {
        _cleanup_(presence_freep) Presence *p = NULL;
        sd_id128_t boot;
        int r;

        if (!c->machine_id || c->ttl == 0)
                return -EINVAL;
        p = calloc(1, sizeof(Presence));
        if (!p)
                return -ENOMEM;
        p->lock_fd = -EBADF;
        p->event = sd_event_ref(event);
        if (sd_id128_get_boot(&boot) >= 0)
                (void) sd_id128_to_string(boot, p->boot_id);
        p->registry = registry;
        p->client = registry_get_client(registry);
        p->cb = cb;
        p->userdata = userdata;
        p->ttl_sec = (int64_t) ((c->ttl + USEC_PER_SEC - 1) / USEC_PER_SEC);
        p->ttl = (usec_t) p->ttl_sec * USEC_PER_SEC;
        p->machine_id = strdup(c->machine_id);
        if (!p->machine_id)
                return -ENOMEM;
        r = registry_key_machine(registry_get_prefix(registry), c->machine_id, &p->key);
        if (r < 0)
                return r;
        r = build_record(p, c);
        if (r < 0)
                return r;
        if (c->lease_file) {
                r = split_lease_file(p, c->lease_file);
                if (r < 0)
                        return r;
        }
        if ((r = add_timer(p, &p->keepalive_timer, on_keepalive_timer, "presence-keepalive")) < 0 ||
            (r = add_timer(p, &p->fence_timer, on_fence_timer, "presence-fence")) < 0 ||
            (r = add_timer(p, &p->retry_timer, on_retry_timer, "presence-retry")) < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

int presence_start(Presence *p) {
        int64_t lease;
        usec_t deadline;
        int r;

        assert(!p->started);
        r = lease_file_lock(p);
        if (r < 0)
                return r;
        p->started = true;
        lease_file_read(p, &lease, &deadline);
        p->lease = p->prev_lease = lease;
        if (lease && deadline > clock_now_usec(CLOCK_MONOTONIC)) {
                /* Until a keepalive succeeds, the deadline is the previous fleetd's. */
                p->deadline = deadline;
                arm_fence(p);
                (void) send_keepalive(p);
                return 0;
        }
        /* No lease known to be alive: the fencing timer fires at once, reports FENCED (units
         * a previous fleetd left running may have been moved) and grants a new lease. */
        p->deadline = 0;
        arm_fence(p);
        return 0;
}

static void stop_all(Presence *p) {
        etcd_call_cancel(p->call);
        p->call = NULL;
        etcd_call_cancel(p->keepalive_call);
        p->keepalive_call = NULL;
        disarm(p->keepalive_timer);
        disarm(p->fence_timer);
        disarm(p->retry_timer);
}

Presence *presence_free(Presence *p) {
        if (!p)
                return NULL;
        stop_all(p);
        etcd_call_cancel(p->revoke_call);
        sd_event_source_disable_unref(p->keepalive_timer);
        sd_event_source_disable_unref(p->fence_timer);
        sd_event_source_disable_unref(p->retry_timer);
        sd_event_source_disable_unref(p->done_source);
        sd_event_unref(p->event);
        if (p->lock_fd >= 0)
                (void) close(p->lock_fd);
        free(p->machine_id);
        free(p->key);
        free(p->record_json);
        free(p->lease_dir);
        free(p->lease_name);
        free(p);
        return NULL;
}

static int on_done_source(sd_event_source *s, void *userdata) {
        Presence *p = userdata;
        PresenceDoneCallback flush = p->flush_done;

        if (flush) {
                p->flush_done = NULL;
                flush(0, p->flush_userdata);
                return 0;
        }
        if (p->done)
                p->done(p->done_error, p->done_userdata);
        return 0;
}

int presence_keepalive_now(Presence *p, PresenceDoneCallback done, void *userdata) {
        int r;

        p->flush_done = done;
        p->flush_userdata = userdata;
        if (p->keepalive_call)
                return 0; /* its answer calls done */
        if (p->lease != 0 && p->lease_alive && send_keepalive(p) >= 0 && p->keepalive_call)
                return 0;
        if (!p->done_source) {
                r = sd_event_add_defer(p->event, &p->done_source, on_done_source, p);
                if (r < 0) {
                        p->flush_done = NULL;
                        return r;
                }
                (void) sd_event_source_set_description(p->done_source, "presence-done");
        }
        return sd_event_source_set_enabled(p->done_source, SD_EVENT_ONESHOT);
}

static void on_revoke(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Presence *p = userdata;

        p->revoke_call = NULL;
        if (error == -ENOENT)
                error = 0;
        if (error < 0)
                log_warning_errno(error,
                                  "Failed to revoke lease %" PRIx64 ": %m; it expires "
                                  "on its own",
                                  (uint64_t) p->lease);
        else if (p->registered)
                log_info("Revoked lease %" PRIx64 ": machine %s and its unit states removed",
                         (uint64_t) p->lease, p->machine_id);
        else
                log_info("Revoked lease %" PRIx64, (uint64_t) p->lease);
        p->registered = false;
        p->lease = 0;
        if (p->done)
                p->done(error, p->done_userdata);
}

int presence_revoke(Presence *p, PresenceDoneCallback done, void *userdata) {
        int r;

        stop_all(p);
        p->done = done;
        p->done_userdata = userdata;
        if (p->lease_dir) {
                r = unit_dir_remove(p->lease_dir, p->lease_name);
                if (r < 0 && r != -ENOENT)
                        log_warning_errno(r, "Failed to remove the lease file: %m");
        }
        if (p->lease != 0) {
                r = etcd_lease_revoke(p->client, p->lease, on_revoke, p, &p->revoke_call);
                if (r >= 0)
                        return 0;
                p->done_error = r;
        }
        if (!p->done_source) {
                r = sd_event_add_defer(p->event, &p->done_source, on_done_source, p);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(p->done_source, "presence-done");
        }
        return sd_event_source_set_enabled(p->done_source, SD_EVENT_ONESHOT);
}

bool presence_is_registered(const Presence *p) {
        return p->registered && !p->suspect;
}

bool presence_reaches_etcd(const Presence *p) {
        if (!p->registered || p->suspect || p->keepalive_failing)
                return false;
        /* A keepalive that hangs this long means etcd does not answer (it answers in ms). */
        return !p->keepalive_call ||
               clock_now_usec(CLOCK_MONOTONIC) - p->keepalive_sent < PRESENCE_STUCK_USEC;
}

bool presence_is_suspect(const Presence *p) {
        return p->suspect;
}

int64_t presence_get_lease(const Presence *p) {
        return p->registered ? p->lease : 0;
}

usec_t presence_get_deadline(const Presence *p) {
        return p->deadline;
}

const PresenceStats *presence_get_stats(const Presence *p) {
        return &p->stats;
}
