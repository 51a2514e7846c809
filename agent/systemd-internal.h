/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Internals shared by agent/systemd.c (connection, operations, jobs) and
 * agent/systemd-watch.c (following unit states). Nothing else includes this.
 */

#include <stdlib.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "systemd.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define SD_UNIT_PREFIX "/org/freedesktop/systemd1/unit"

typedef enum OpType {
        OP_LINK,
        OP_ENABLE,
        OP_DISABLE,
        OP_RELOAD,
        OP_START,
        OP_STOP,
        OP_RESET_FAILED,
        OP_FREEZE,
        OP_THAW,
        OP_KILL,
        OP_LIST,    /* list_units_by_names for the caller */
        OP_REFRESH, /* list_units_by_names for watched units */
        OP_SUBSCRIBE,
} OpType;

/* One operation in flight: a method call awaiting its reply (slot set), or a job awaiting its
 * JobRemoved signal (job_path set). */
typedef struct Op {
        SystemdManager *manager;
        OpType type;
        char *name; /* unit name, for logs; NULL for reload/list */
        sd_bus_slot *slot;
        char *job_path;
        uint32_t job_id;
        bool wait_job;
        char **names; /* OP_REFRESH: the units asked for, to retry on failure */
        SystemdResultCallback cb;
        SystemdListCallback list_cb;
        void *userdata;
        struct Op *prev, *next;
} Op;

typedef struct WatchedUnit {
        char *name;
        char *path; /* object path PropertiesChanged arrives on */
        char *load_state, *active_state, *sub_state;
        SystemdUnitState state; /* points at the three strings above */
        bool known;             /* all three are set */
        bool indexed_by_path;
        bool refresh; /* queued for the next ListUnitsByNames */
        struct WatchedUnit *prev, *next;
} WatchedUnit;

struct SystemdManager {
        sd_event *event;
        sd_bus *bus;
        char *units_directory;
        sd_bus_slot *match_job_removed, *match_properties, *match_reloading, *match_disconnected;
        sd_event_source *refresh_source;
        uint64_t refresh_retry_usec; /* current retry delay of a failed read, 0 after success */
        Op *ops;
        WatchedUnit *units;
        void *by_name, *by_path; /* tsearch roots over WatchedUnit */
        size_t n_watched;
        SystemdStateCallback state_cb;
        void *state_userdata;
        SystemdFailureCallback failure_cb;
        void *failure_userdata;
        bool failed;
        unsigned n_dispatch; /* our handlers on the stack (a callback may free us) */
        bool freed;
};

/* Every handler that may run a callback brackets it with these: a callback may free the
 * manager, which then only marks it, and the outermost handler frees the memory. */
static inline void manager_enter(SystemdManager *m) {
        m->n_dispatch++;
}

static inline int manager_leave(SystemdManager *m, int r) {
        assert(m->n_dispatch > 0);
        if (--m->n_dispatch == 0 && m->freed)
                free(m);
        return r;
}

/* systemd.c */

/* A new, unsent operation. -ENOTCONN once the connection failed, -ENOMEM. */
int systemd_op_new(SystemdManager *m, OpType type, const char *name, Op **ret);
/* Unlink (if sent) and free op without calling anything. */
void systemd_op_drop(SystemdManager *m, Op *op);
/* Send op as Manager.ListUnitsByNames(names). On failure op is freed. */
int systemd_op_send_names(SystemdManager *m, Op *op, char *const *names);
/* Parse a ListUnitsByNames reply; the strings are borrowed from reply. */
int systemd_read_unit_infos(sd_bus_message *reply, SystemdUnitInfo **ret, size_t *ret_n);

/* systemd-watch.c */

/* Create the (disabled) refresh source. */
int systemd_watch_init(SystemdManager *m);
/* Install the PropertiesChanged and Reloading matches (sender NULL on a direct connection). */
int systemd_watch_add_matches(SystemdManager *m, const char *sender);
/* The reply of an OP_REFRESH; consumes op. */
void systemd_watch_handle_refresh_reply(SystemdManager *m, Op *op, sd_bus_message *reply,
                                        const sd_bus_error *e);
/* Free every watched unit, the matches and the refresh source. */
void systemd_watch_done(SystemdManager *m);
