/* SPDX-License-Identifier: MIT */
/*
 * The job systemd has for fleetd's own unit: GetUnit, then the unit's Job (uo), then the job's
 * JobType, each an asynchronous call on a private connection. The verdict is handed to the
 * caller from a defer source, never from inside a bus callback, so that the caller may free the
 * query (and with it the bus) right away.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>

#include "log.h"
#include "self-job.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define SD_JOB "org.freedesktop.systemd1.Job"
#define DBUS_PROPERTIES "org.freedesktop.DBus.Properties"

struct SelfJob {
        sd_event *event;
        sd_bus *bus;
        sd_bus_slot *slot;
        sd_event_source *timer;
        sd_event_source *defer;
        SelfJobCallback cb;
        void *userdata;
        char *unit;
        bool done;
        SelfJobVerdict verdict;
        char *job_type;
};

SelfJobVerdict self_job_verdict_from_type(const char *job_type) {
        /* systemd collapses a queued job into start, stop, reload, restart, verify-active or
         * nop; the others are what a client may ask for before collapsing. */
        static const char *const restart[] = {"restart", "try-restart", "start", "reload-or-start"};

        if (!job_type)
                return SELF_JOB_STOP;
        for (size_t i = 0; i < ELEMENTSOF(restart); i++)
                if (streq(job_type, restart[i]))
                        return SELF_JOB_RESTART;
        return SELF_JOB_STOP;
}

SelfJob *self_job_free(SelfJob *q) {
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
        sd_event_source_disable_unref(q->timer);
        sd_event_source_disable_unref(q->defer);
        sd_bus_flush_close_unref(q->bus);
        sd_event_unref(q->event);
        free(q->unit);
        free(q->job_type);
        free(q);
        return NULL;
}

static int on_defer(sd_event_source *s, void *userdata) {
        SelfJob *q = userdata;

        q->cb(q, q->verdict, q->job_type, q->userdata); /* may free q */
        return 0;
}

/* Decide once; the callback follows from the loop. */
static void finish(SelfJob *q, SelfJobVerdict verdict, const char *job_type) {
        if (q->done)
                return;
        q->done = true;
        q->verdict = verdict;
        q->job_type = job_type ? strdup(job_type) : NULL;
        q->slot = sd_bus_slot_unref(q->slot);
        q->timer = sd_event_source_disable_unref(q->timer);
        (void) sd_event_source_set_enabled(q->defer, SD_EVENT_ONESHOT);
}

static void fail(SelfJob *q, int error, const char *step) {
        log_warning_errno(error, "Could not ask systemd about the job of %s (%s): %m", q->unit,
                          step);
        finish(q, SELF_JOB_UNKNOWN, NULL);
}

static int on_job_type(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        SelfJob *q = userdata;
        const char *type = NULL;
        int r;

        r = sd_bus_message_get_errno(m);
        if (r == 0)
                r = sd_bus_message_read(m, "v", "s", &type);
        if (r < 0) {
                /* The job finished between the two calls: no job now. */
                if (r == -ENOENT ||
                    sd_bus_message_is_method_error(m, "org.freedesktop.DBus.Error.UnknownObject")) {
                        finish(q, SELF_JOB_STOP, NULL);
                        return 0;
                }
                fail(q, r, "JobType");
                return 0;
        }
        finish(q, self_job_verdict_from_type(type), type);
        return 0;
}

static int on_job(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        SelfJob *q = userdata;
        const char *path = NULL;
        uint32_t id = 0;
        int r;

        r = sd_bus_message_get_errno(m);
        if (r == 0)
                r = sd_bus_message_read(m, "v", "(uo)", &id, &path);
        if (r < 0) {
                fail(q, r, "Unit.Job");
                return 0;
        }
        if (id == 0) {
                finish(q, SELF_JOB_STOP, NULL);
                return 0;
        }
        q->slot = sd_bus_slot_unref(q->slot);
        r = sd_bus_call_method_async(q->bus, &q->slot, SD_DEST, path, DBUS_PROPERTIES, "Get",
                                     on_job_type, q, "ss", SD_JOB, "JobType");
        if (r < 0)
                fail(q, r, "JobType");
        return 0;
}

static int on_unit(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        SelfJob *q = userdata;
        const char *path = NULL;
        int r;

        r = sd_bus_message_get_errno(m);
        if (r == 0)
                r = sd_bus_message_read(m, "o", &path);
        if (r < 0) {
                fail(q, r, "GetUnit");
                return 0;
        }
        q->slot = sd_bus_slot_unref(q->slot);
        r = sd_bus_call_method_async(q->bus, &q->slot, SD_DEST, path, DBUS_PROPERTIES, "Get",
                                     on_job, q, "ss", SD_UNIT, "Job");
        if (r < 0)
                fail(q, r, "Unit.Job");
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        SelfJob *q = userdata;

        log_warning("systemd did not say in time what it does to %s", q->unit);
        finish(q, SELF_JOB_UNKNOWN, NULL);
        return 0;
}

int self_job_query(sd_event *event, usec_t timeout, SelfJobCallback cb, void *userdata,
                   SelfJob **ret) {
        _cleanup_(self_job_freep) SelfJob *q = NULL;
        bool user = false;
        int r;

        assert(event);
        assert(cb);
        assert(ret);
        q = calloc(1, sizeof(SelfJob));
        if (!q)
                return -ENOMEM;
        q->event = sd_event_ref(event);
        q->cb = cb;
        q->userdata = userdata;
        r = sd_pid_get_unit(0, &q->unit);
        if (r < 0) {
                user = true;
                r = sd_pid_get_user_unit(0, &q->unit);
        }
        if (r < 0)
                return r;
        r = user ? sd_bus_open_user(&q->bus) : sd_bus_open_system(&q->bus);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(q->bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        r = sd_event_add_defer(event, &q->defer, on_defer, q);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(q->defer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(q->defer, "self-job-done");
        r = sd_event_add_time_relative(event, &q->timer, CLOCK_MONOTONIC, timeout, 0, on_timeout,
                                       q);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(q->timer, "self-job-timeout");
        r = sd_bus_call_method_async(q->bus, &q->slot, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit",
                                     on_unit, q, "s", q->unit);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}
