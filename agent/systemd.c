/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "log.h"
#include "strv.h"
#include "systemd-internal.h"
#include "unit-dir.h"

#define SD_PRIVATE_ADDRESS "unix:path=/run/systemd/private"

/* A reload of a busy manager can take long; systemd answers when it has finished. */
#define RELOAD_TIMEOUT_USEC (120ULL * 1000 * 1000)

static const char *const op_method[] = {
        [OP_LINK] = "LinkUnitFiles",
        [OP_ENABLE] = "EnableUnitFiles",
        [OP_DISABLE] = "DisableUnitFiles",
        [OP_RELOAD] = "Reload",
        [OP_START] = "StartUnit",
        [OP_STOP] = "StopUnit",
        [OP_RESET_FAILED] = "ResetFailedUnit",
        [OP_FREEZE] = "FreezeUnit",
        [OP_THAW] = "ThawUnit",
        [OP_KILL] = "KillUnit",
        [OP_LIST] = "ListUnitsByNames",
        [OP_REFRESH] = "ListUnitsByNames",
        [OP_SUBSCRIBE] = "Subscribe",
};

/* systemd's errors as systemd itself maps them (src/libsystemd/sd-bus/bus-common-errors.c),
 * so sd_bus_error_get_errno() gives callers something to test. */
static const sd_bus_error_map systemd_error_map[] = {
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.NoSuchUnit", ENOENT),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.UnitExists", EEXIST),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.LoadFailed", EIO),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.BadUnitSetting", ENOEXEC),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.JobFailed", EREMOTEIO),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.NoSuchJob", ENOENT),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.NotSubscribed", EINVAL),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.AlreadySubscribed", EINVAL),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.OnlyByDependency", EINVAL),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.TransactionJobsConflicting", EDEADLK),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.TransactionOrderIsCyclic", EDEADLK),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.TransactionIsDestructive", EDEADLK),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.UnitMasked", ERFKILL),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.UnitGenerated", EADDRNOTAVAIL),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.UnitLinked", ELOOP),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.JobTypeNotApplicable", EBADR),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.NoIsolation", EPERM),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.ShuttingDown", ECANCELED),
        SD_BUS_ERROR_MAP("org.freedesktop.systemd1.UnitInactive", ENONET),
        SD_BUS_ERROR_MAP_END,
};

/* --- operations ------------------------------------------------------------------------- */

static Op *op_free(Op *op) {
        if (!op)
                return NULL;
        sd_bus_slot_unref(op->slot);
        free(op->name);
        free(op->job_path);
        strv_free(op->names);
        free(op);
        return NULL;
}

static void op_unlink(SystemdManager *m, Op *op) {
        if (op->prev)
                op->prev->next = op->next;
        else if (m->ops == op)
                m->ops = op->next;
        if (op->next)
                op->next->prev = op->prev;
        op->prev = op->next = NULL;
}

void systemd_op_drop(SystemdManager *m, Op *op) {
        op_unlink(m, op);
        op_free(op);
}

/* Finish op: unlink and free it, then run its callback as the last thing. */
static void op_complete(SystemdManager *m, Op *op, SystemdResult *res) {
        SystemdResultCallback cb = op->cb;
        void *userdata = op->userdata;

        if (res->error < 0)
                log_debug("systemd: %s(%s) failed: %s", op_method[op->type], strempty(op->name),
                          res->message ? res->message : strerror(-res->error));
        else
                log_debug("systemd: %s(%s) done%s%s", op_method[op->type], strempty(op->name),
                          res->job_result ? ", job result " : "", strempty(res->job_result));
        op_unlink(m, op);
        op_free(op);
        if (cb)
                cb(m, res, userdata);
}

static void result_from_error(SystemdResult *res, const sd_bus_error *e, int r) {
        int k = e && sd_bus_error_is_set(e) ? sd_bus_error_get_errno(e) : 0;

        res->error = -(k > 0 ? k : (r < 0 ? -r : EIO));
        res->error_name = e ? e->name : NULL;
        res->message = e && e->message ? e->message : strerror(-res->error);
}

static uint32_t job_id_from_path(const char *path) {
        const char *s = strrchr(path, '/');
        unsigned long v;
        char *end;

        if (!s)
                return 0;
        errno = 0;
        v = strtoul(s + 1, &end, 10);
        return errno == 0 && *end == '\0' && v <= UINT32_MAX ? (uint32_t) v : 0;
}

static int skip_changes(sd_bus_message *reply) {
        /* The a(sss) list of symlink changes: only logged. */
        const char *type, *path, *source;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "(sss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(sss)", &type, &path, &source)) > 0)
                log_debug("systemd: %s %s -> %s", type, path, source);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

/* Read the ListUnitsByNames reply into an array of borrowed infos. */
int systemd_read_unit_infos(sd_bus_message *reply, SystemdUnitInfo **ret, size_t *ret_n) {
        _cleanup_free_ SystemdUnitInfo *infos = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        if (r < 0)
                return r;
        for (;;) {
                SystemdUnitInfo *a, i = {};
                const char *desc, *following, *job_type, *job_path;
                uint32_t job_id;

                r = sd_bus_message_read(reply, "(ssssssouso)", &i.name, &desc, &i.load_state,
                                        &i.active_state, &i.sub_state, &following, &i.object_path,
                                        &job_id, &job_type, &job_path);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                a = realloc(infos, sizeof(SystemdUnitInfo) * (n + 1));
                if (!a)
                        return -ENOMEM;
                infos = a;
                infos[n++] = i;
        }
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(infos);
        *ret_n = n;
        return 0;
}

static void handle_list_reply(SystemdManager *m, Op *op, sd_bus_message *reply,
                              const sd_bus_error *e) {
        _cleanup_free_ SystemdUnitInfo *infos = NULL;
        SystemdListCallback cb = op->list_cb;
        void *userdata = op->userdata;
        size_t n = 0;
        int r;

        if (sd_bus_error_is_set(e))
                r = -sd_bus_error_get_errno(e);
        else
                r = systemd_read_unit_infos(reply, &infos, &n);
        systemd_op_drop(m, op);
        if (cb)
                cb(m, r, r < 0 ? NULL : infos, r < 0 ? 0 : n, userdata);
}

static void manager_fail(SystemdManager *m, int error);

static void handle_subscribe_reply(SystemdManager *m, Op *op, const sd_bus_error *e) {
        systemd_op_drop(m, op);
        if (!sd_bus_error_is_set(e))
                return;
        log_debug("systemd: Subscribe failed: %s", e->message ? e->message : e->name);
        manager_fail(m, -sd_bus_error_get_errno(e));
}

/* Parse a successful reply of a unit-file or job call into res. */
static int parse_reply(Op *op, sd_bus_message *reply, SystemdResult *res) {
        const char *job;
        int install = 0;
        int r;

        switch (op->type) {
        case OP_START:
        case OP_STOP:
                r = sd_bus_message_read(reply, "o", &job);
                if (r < 0)
                        return r;
                res->job_id = job_id_from_path(job);
                if (!op->wait_job)
                        return 0;
                op->job_id = res->job_id;
                op->job_path = strdup(job);
                return op->job_path ? 1 : -ENOMEM; /* 1: now wait for JobRemoved */
        case OP_ENABLE:
                r = sd_bus_message_read(reply, "b", &install);
                if (r < 0)
                        return r;
                res->carries_install_info = install;
                r = skip_changes(reply);
                return r < 0 ? r : 0;
        case OP_LINK:
        case OP_DISABLE:
                r = skip_changes(reply);
                return r < 0 ? r : 0;
        default:
                return 0;
        }
}

static int op_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Op *op = userdata;
        SystemdManager *m = op->manager;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        SystemdResult res = {};
        int r;

        manager_enter(m);
        op->slot = sd_bus_slot_unref(op->slot);
        if (op->type == OP_REFRESH)
                systemd_watch_handle_refresh_reply(m, op, reply, e);
        else if (op->type == OP_LIST)
                handle_list_reply(m, op, reply, e);
        else if (op->type == OP_SUBSCRIBE)
                handle_subscribe_reply(m, op, e);
        else if (sd_bus_error_is_set(e)) {
                result_from_error(&res, e, 0);
                op_complete(m, op, &res);
        } else {
                r = parse_reply(op, reply, &res);
                if (r < 0) {
                        result_from_error(&res, NULL, r);
                        op_complete(m, op, &res);
                } else if (r == 0)
                        op_complete(m, op, &res);
                else
                        log_debug("systemd: %s(%s) queued job %u", op_method[op->type], op->name,
                                  op->job_id);
        }
        return manager_leave(m, 0);
}

int systemd_op_new(SystemdManager *m, OpType type, const char *name, Op **ret) {
        Op *op;

        if (m->failed)
                return -ENOTCONN;
        op = calloc(1, sizeof(Op));
        if (!op)
                return -ENOMEM;
        op->manager = m;
        op->type = type;
        if (name) {
                op->name = strdup(name);
                if (!op->name)
                        return op_free(op), -ENOMEM;
        }
        *ret = op;
        return 0;
}

/* Send msg for op and link op in. On failure op is freed. */
static int op_send(SystemdManager *m, Op *op, sd_bus_message *msg, uint64_t timeout_usec) {
        int r = sd_bus_call_async(m->bus, &op->slot, msg, op_reply, op, timeout_usec);

        if (r < 0) {
                op_free(op);
                return r;
        }
        op->next = m->ops;
        if (m->ops)
                m->ops->prev = op;
        m->ops = op;
        log_debug("systemd: %s(%s) sent", op_method[op->type], strempty(op->name));
        return 0;
}

static int new_manager_call(SystemdManager *m, OpType type, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(m->bus, ret, SD_DEST, SD_PATH, SD_MANAGER,
                                              op_method[type]);
}

/* Build, append and send one Manager call. append fills in the arguments. */
typedef int (*AppendFn)(SystemdManager *m, sd_bus_message *msg, const void *arg);

static int call(SystemdManager *m, OpType type, AppendFn append, const void *arg,
                uint64_t timeout_usec, Op *op) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        r = new_manager_call(m, type, &msg);
        if (r >= 0 && append)
                r = append(m, msg, arg);
        if (r < 0) {
                op_free(op);
                return r;
        }
        return op_send(m, op, msg, timeout_usec);
}

static int append_unit_file(SystemdManager *m, sd_bus_message *msg, const void *arg) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (asprintf(&path, "%s/%s", m->units_directory, (const char *) arg) < 0)
                return -ENOMEM;
        r = sd_bus_message_append_strv(msg, (char *[]){path, NULL});
        if (r < 0)
                return r;
        return sd_bus_message_append(msg, "bb", 1 /* runtime */, 1 /* force */);
}

static int append_disable(SystemdManager *m, sd_bus_message *msg, const void *arg) {
        int r = sd_bus_message_append_strv(msg, (char *[]){(char *) arg, NULL});

        if (r < 0)
                return r;
        return sd_bus_message_append(msg, "b", 1 /* runtime */);
}

static int append_job(SystemdManager *m, sd_bus_message *msg, const void *arg) {
        return sd_bus_message_append(msg, "ss", (const char *) arg, "replace");
}

static int append_name(SystemdManager *m, sd_bus_message *msg, const void *arg) {
        return sd_bus_message_append(msg, "s", (const char *) arg);
}

typedef struct KillArgs {
        const char *name;
        int signo;
} KillArgs;

static int append_kill(SystemdManager *m, sd_bus_message *msg, const void *arg) {
        const KillArgs *k = arg;

        return sd_bus_message_append(msg, "ssi", k->name, "all", (int32_t) k->signo);
}

static int append_names(SystemdManager *m, sd_bus_message *msg, const void *arg) {
        return sd_bus_message_append_strv(msg, (char **) arg);
}

int systemd_op_send_names(SystemdManager *m, Op *op, char *const *names) {
        return call(m, op->type, append_names, names, 0, op);
}

/* The common path of every unit operation. */
static int unit_call(SystemdManager *m, OpType type, const char *name, AppendFn append,
                     bool wait_job, SystemdResultCallback cb, void *userdata) {
        Op *op;
        int r;

        assert(m);
        if (!unit_dir_name_is_safe(name))
                return -EINVAL;
        r = systemd_op_new(m, type, name, &op);
        if (r < 0)
                return r;
        op->cb = cb;
        op->userdata = userdata;
        op->wait_job = wait_job;
        return call(m, type, append, name, 0, op);
}

int systemd_manager_link_unit(SystemdManager *m, const char *name, SystemdResultCallback cb,
                              void *userdata) {
        return unit_call(m, OP_LINK, name, append_unit_file, false, cb, userdata);
}

int systemd_manager_enable_unit(SystemdManager *m, const char *name, SystemdResultCallback cb,
                                void *userdata) {
        return unit_call(m, OP_ENABLE, name, append_unit_file, false, cb, userdata);
}

int systemd_manager_disable_unit(SystemdManager *m, const char *name, SystemdResultCallback cb,
                                 void *userdata) {
        return unit_call(m, OP_DISABLE, name, append_disable, false, cb, userdata);
}

int systemd_manager_start_unit(SystemdManager *m, const char *name, SystemdJobFlags flags,
                               SystemdResultCallback cb, void *userdata) {
        return unit_call(m, OP_START, name, append_job, flags & SYSTEMD_JOB_WAIT, cb, userdata);
}

int systemd_manager_stop_unit(SystemdManager *m, const char *name, SystemdJobFlags flags,
                              SystemdResultCallback cb, void *userdata) {
        return unit_call(m, OP_STOP, name, append_job, flags & SYSTEMD_JOB_WAIT, cb, userdata);
}

int systemd_manager_reset_failed_unit(SystemdManager *m, const char *name, SystemdResultCallback cb,
                                      void *userdata) {
        return unit_call(m, OP_RESET_FAILED, name, append_name, false, cb, userdata);
}

int systemd_manager_freeze_unit(SystemdManager *m, const char *name, SystemdResultCallback cb,
                                void *userdata) {
        return unit_call(m, OP_FREEZE, name, append_name, false, cb, userdata);
}

int systemd_manager_thaw_unit(SystemdManager *m, const char *name, SystemdResultCallback cb,
                              void *userdata) {
        return unit_call(m, OP_THAW, name, append_name, false, cb, userdata);
}

int systemd_manager_kill_unit(SystemdManager *m, const char *name, int signo,
                              SystemdResultCallback cb, void *userdata) {
        KillArgs k = {name, signo};
        Op *op;
        int r;

        assert(m);
        if (!unit_dir_name_is_safe(name) || signo <= 0)
                return -EINVAL;
        r = systemd_op_new(m, OP_KILL, name, &op);
        if (r < 0)
                return r;
        op->cb = cb;
        op->userdata = userdata;
        return call(m, OP_KILL, append_kill, &k, 0, op);
}

int systemd_manager_reload(SystemdManager *m, SystemdResultCallback cb, void *userdata) {
        Op *op;
        int r;

        assert(m);
        r = systemd_op_new(m, OP_RELOAD, NULL, &op);
        if (r < 0)
                return r;
        op->cb = cb;
        op->userdata = userdata;
        return call(m, OP_RELOAD, NULL, NULL, RELOAD_TIMEOUT_USEC, op);
}

int systemd_manager_list_units_by_names(SystemdManager *m, char *const *names,
                                        SystemdListCallback cb, void *userdata) {
        Op *op;
        int r;

        assert(m);
        if (strv_length(names) == 0)
                return -EINVAL;
        r = systemd_op_new(m, OP_LIST, NULL, &op);
        if (r < 0)
                return r;
        op->list_cb = cb;
        op->userdata = userdata;
        return call(m, OP_LIST, append_names, names, 0, op);
}

int systemd_manager_write_unit_file(SystemdManager *m, const char *name, const char *text,
                                    size_t len) {
        assert(m);
        return unit_dir_write_unit(m->units_directory, name, text, len);
}

int systemd_manager_remove_unit_file(SystemdManager *m, const char *name) {
        assert(m);
        return unit_dir_remove(m->units_directory, name);
}

static int on_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        SystemdManager *m = userdata;
        const char *path, *unit, *result;
        uint32_t id;
        int r;

        r = sd_bus_message_read(msg, "uoss", &id, &path, &unit, &result);
        if (r < 0) {
                log_warning_errno(r, "Failed to parse JobRemoved: %m");
                return 0;
        }
        for (Op *op = m->ops; op; op = op->next) {
                SystemdResult res = {.job_id = id, .job_result = result};

                if (!op->job_path || !streq(op->job_path, path))
                        continue;
                manager_enter(m);
                op_complete(m, op, &res);
                return manager_leave(m, 0);
        }
        return 0;
}

/* The connection is unusable: fail what still waits, then tell the owner once. */
static void manager_fail(SystemdManager *m, int error) {
        if (m->failed)
                return;
        m->failed = true;
        (void) sd_event_source_set_enabled(m->refresh_source, SD_EVENT_OFF);
        while (m->ops && !m->freed) {
                SystemdResult res = {.error = -ECONNRESET,
                                     .message = "The connection to systemd failed"};
                Op *op = m->ops;

                op->slot = sd_bus_slot_unref(op->slot);
                if (op->type == OP_LIST || op->type == OP_REFRESH || op->type == OP_SUBSCRIBE) {
                        systemd_op_drop(m, op);
                        continue;
                }
                op_complete(m, op, &res);
        }
        if (!m->freed && m->failure_cb)
                m->failure_cb(m, error, m->failure_userdata);
}

static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        SystemdManager *m = userdata;

        log_debug("systemd: bus disconnected");
        manager_enter(m);
        manager_fail(m, -ECONNRESET);
        return manager_leave(m, 0);
}

/* --- connection ------------------------------------------------------------------------- */

static int bus_open(bool user_bus, sd_bus **ret) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        int r;

        if (user_bus)
                return sd_bus_open_user(ret);
        r = sd_bus_open_system(ret);
        if (r >= 0 || geteuid() != 0)
                return r;
        log_warning_errno(r, "Failed to connect to the system bus: %m, trying %s",
                          SD_PRIVATE_ADDRESS);
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, SD_PRIVATE_ADDRESS);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

static int add_matches(SystemdManager *m) {
        /* A direct connection to /run/systemd/private has no bus daemon and its messages carry
         * no sender, so only a bus client can match on the sender. */
        const char *sender = sd_bus_is_bus_client(m->bus) > 0 ? SD_DEST : NULL;
        int r;

        r = sd_bus_match_signal_async(m->bus, &m->match_disconnected, NULL,
                                      "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                      "Disconnected", on_disconnected, NULL, m);
        if (r >= 0)
                r = sd_bus_match_signal_async(m->bus, &m->match_job_removed, sender, SD_PATH,
                                              SD_MANAGER, "JobRemoved", on_job_removed, NULL, m);
        if (r >= 0)
                r = systemd_watch_add_matches(m, sender);
        return r;
}

static int subscribe(SystemdManager *m) {
        Op *op;
        int r;

        r = systemd_op_new(m, OP_SUBSCRIBE, NULL, &op);
        if (r < 0)
                return r;
        return call(m, OP_SUBSCRIBE, NULL, NULL, 0, op);
}

static int manager_connect(SystemdManager *m, bool user_bus) {
        int r;

        r = bus_open(user_bus, &m->bus);
        if (r < 0)
                return log_debug_errno(r, "systemd: failed to connect: %m");
        (void) sd_bus_set_description(m->bus, "fleet-systemd");
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        r = add_matches(m);
        if (r < 0)
                return log_debug_errno(r, "systemd: failed to add signal matches: %m");
        return subscribe(m);
}

int systemd_manager_new(SystemdManager **ret, sd_event *event, const char *units_directory,
                        bool user_bus) {
        _cleanup_(systemd_manager_freep) SystemdManager *m = NULL;
        int r;

        assert(ret);
        assert(event);
        if (!units_directory || units_directory[0] != '/')
                return -EINVAL;
        (void) sd_bus_error_add_map(systemd_error_map);
        m = calloc(1, sizeof(SystemdManager));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(event);
        m->units_directory = strdup(units_directory);
        if (!m->units_directory)
                return -ENOMEM;
        r = unit_dir_ensure(units_directory);
        if (r < 0)
                return log_debug_errno(r, "systemd: failed to create %s: %m", units_directory);
        r = systemd_watch_init(m);
        if (r < 0)
                return r;
        r = manager_connect(m, user_bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

SystemdManager *systemd_manager_free(SystemdManager *m) {
        if (!m || m->freed)
                return NULL;
        while (m->ops)
                systemd_op_drop(m, m->ops);
        systemd_watch_done(m);
        sd_bus_slot_unref(m->match_job_removed);
        sd_bus_slot_unref(m->match_disconnected);
        if (m->bus) {
                (void) sd_bus_detach_event(m->bus);
                sd_bus_close_unref(m->bus);
        }
        sd_event_unref(m->event);
        free(m->units_directory);
        if (m->n_dispatch > 0)
                m->freed = true; /* the handler on the stack frees the rest */
        else
                free(m);
        return NULL;
}

void systemd_manager_set_state_callback(SystemdManager *m, SystemdStateCallback cb,
                                        void *userdata) {
        m->state_cb = cb;
        m->state_userdata = userdata;
}

void systemd_manager_set_failure_callback(SystemdManager *m, SystemdFailureCallback cb,
                                          void *userdata) {
        m->failure_cb = cb;
        m->failure_userdata = userdata;
}

const char *systemd_manager_get_units_directory(const SystemdManager *m) {
        return m->units_directory;
}

bool systemd_manager_is_connected(const SystemdManager *m) {
        return !m->failed;
}
