/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The agent's systemd manager: one sd-bus connection to systemd (system bus, or the user bus
 * for systemd_user), attached to the caller's sd_event loop. Nothing here blocks on the bus:
 * every D-Bus operation is an asynchronous method call whose completion callback runs from
 * the loop later (never from inside the function that started it).
 *
 * Unit states are followed without polling: at connect time the manager installs matches for
 * Manager.JobRemoved, Manager.Reloading and PropertiesChanged of org.freedesktop.systemd1.Unit
 * objects, then calls Manager.Subscribe. A watched unit's (LoadState, ActiveState, SubState)
 * is read once with ListUnitsByNames (batched: units watched in the same loop iteration share
 * one call), again after each daemon-reload (ours or anyone's: files may have changed), and
 * otherwise kept current from PropertiesChanged. Units that systemd drops from memory when
 * they are inactive keep their last state, which is what systemd would report if asked.
 *
 * The units directory holds the files fleet writes (see unit-dir.h for the file helpers).
 * Link and enable name a unit by file name; the manager passes "<units_directory>/<name>".
 *
 * Callbacks receive borrowed strings valid only during the call. A callback may call
 * systemd_manager_free(); the manager then calls no further callbacks.
 *
 * Implementation: systemd.c (connection, operations, jobs), systemd-watch.c (unit states),
 * systemd-internal.h (what the two share).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "macro.h"

typedef struct SystemdManager SystemdManager;

/* Outcome of one operation. */
typedef struct SystemdResult {
        int error;                 /* 0, or negative errno: sd_bus_error_get_errno() of the D-Bus
                                    * error (systemd's own errors are mapped as systemd maps them:
                                    * NoSuchUnit -> -ENOENT, UnitMasked -> -ERFKILL, ...), or
                                    * -ECONNRESET if the bus went away while waiting */
        const char *error_name;    /* D-Bus error name, NULL on success */
        const char *message;       /* D-Bus error message, NULL on success */
        uint32_t job_id;           /* start/stop: systemd's job id, 0 otherwise */
        const char *job_result;    /* start/stop with SYSTEMD_JOB_WAIT and error == 0: the
                                    * JobRemoved result: "done", "canceled", "timeout",
                                    * "failed", "dependency", "skipped"; NULL otherwise */
        bool carries_install_info; /* enable: systemd's carries_install_info (false means the
                                    * [Install] section had nothing to enable) */
} SystemdResult;

typedef void (*SystemdResultCallback)(SystemdManager *m, const SystemdResult *result,
                                      void *userdata);

/* One unit's state triple. The strings are systemd's (load: "loaded", "not-found",
 * "bad-setting", "error", "masked"; active: "active", "inactive", "failed", "activating",
 * "deactivating", ...; sub: type-specific, e.g. "running", "dead", "exited"). */
typedef struct SystemdUnitState {
        const char *load_state;
        const char *active_state;
        const char *sub_state;
} SystemdUnitState;

/* A watched unit's triple became known or changed. Called only when it differs from the last
 * one reported for this name (the first known triple counts as a change). */
typedef void (*SystemdStateCallback)(SystemdManager *m, const char *name,
                                     const SystemdUnitState *state, void *userdata);

/* The connection is unusable: the bus disconnected (-ECONNRESET) or Subscribe failed (its
 * errno). Called at most once. The owner decides: free the manager and make a new one, or
 * exit. Operations still pending have completed with an error before this is called. */
typedef void (*SystemdFailureCallback)(SystemdManager *m, int error, void *userdata);

typedef struct SystemdUnitInfo {
        const char *name;
        const char *load_state;
        const char *active_state;
        const char *sub_state;
        const char *object_path;
} SystemdUnitInfo;

/* Result of systemd_manager_list_units_by_names(): error 0 and n units (one per name, in
 * systemd's order), or a negative errno and none. */
typedef void (*SystemdListCallback)(SystemdManager *m, int error, const SystemdUnitInfo *units,
                                    size_t n, void *userdata);

typedef enum SystemdJobFlags {
        /* Complete when systemd's job finishes (JobRemoved), with its result string. Without
         * it the operation completes as soon as systemd has queued the job. */
        SYSTEMD_JOB_WAIT = 1 << 0,
} SystemdJobFlags;

/*
 * Connect to systemd and attach to event (referenced). user_bus selects the user's session
 * bus (fleet's systemd_user) instead of the system bus; if the system bus cannot be reached
 * and we are root, systemd's private socket /run/systemd/private is used, as fleet does.
 * units_directory must be absolute; it is created (mode 0755) if missing. The matches and
 * Subscribe are sent at once; operations may be issued right away (they are queued behind
 * them). 0, -EINVAL (relative directory), -ENOMEM, or the errno of the connect / mkdir.
 */
int systemd_manager_new(SystemdManager **ret, sd_event *event, const char *units_directory,
                        bool user_bus);

/* Close the connection and free everything. Pending operations are dropped without calling
 * their callbacks. Accepts NULL; returns NULL. */
SystemdManager *systemd_manager_free(SystemdManager *m);
DEFINE_CLEANUP(SystemdManager *, systemd_manager_free);

void systemd_manager_set_state_callback(SystemdManager *m, SystemdStateCallback cb, void *userdata);
void systemd_manager_set_failure_callback(SystemdManager *m, SystemdFailureCallback cb,
                                          void *userdata);

/* Borrowed; valid until the manager is freed. */
const char *systemd_manager_get_units_directory(const SystemdManager *m);

/* false once the connection failed (the failure callback has run or is about to). */
bool systemd_manager_is_connected(const SystemdManager *m);

/*
 * Asynchronous operations. Each returns 0 if the call was sent, and then cb (may be NULL)
 * runs exactly once from the event loop, unless the manager is freed first. A negative
 * return means nothing was sent and cb will not run: -EINVAL (unsafe or empty name, see
 * unit-dir.h), -ENOTCONN (the connection has failed), -ENOMEM, or sd-bus's errno.
 */

/* Manager.LinkUnitFiles(["<dir>/<name>"], runtime=true, force=true):
 * /run/systemd/system/<name> -> <dir>/<name>. */
int systemd_manager_link_unit(SystemdManager *m, const char *name, SystemdResultCallback cb,
                              void *userdata);

/* Manager.EnableUnitFiles(["<dir>/<name>"], runtime=true, force=true), for units with an
 * [Install] section. result->carries_install_info as systemd reports it; fleet treats false
 * as a failure to enable. */
int systemd_manager_enable_unit(SystemdManager *m, const char *name, SystemdResultCallback cb,
                                void *userdata);

/* Manager.DisableUnitFiles([name], runtime=true): removes the runtime link and the
 * [Install] symlinks. */
int systemd_manager_disable_unit(SystemdManager *m, const char *name, SystemdResultCallback cb,
                                 void *userdata);

/* Manager.Reload (daemon-reload). Completes when systemd has finished reloading. Costly:
 * callers batch file changes and reload once per batch. Watched units are re-read afterwards
 * (their state callback fires if the reload changed them). */
int systemd_manager_reload(SystemdManager *m, SystemdResultCallback cb, void *userdata);

/* Manager.StartUnit(name, "replace") / StopUnit(name, "replace"). See SYSTEMD_JOB_WAIT. A
 * job replaced by a later one completes with job_result "canceled". */
int systemd_manager_start_unit(SystemdManager *m, const char *name, SystemdJobFlags flags,
                               SystemdResultCallback cb, void *userdata);
int systemd_manager_stop_unit(SystemdManager *m, const char *name, SystemdJobFlags flags,
                              SystemdResultCallback cb, void *userdata);

/* Manager.ResetFailedUnit(name). -ENOENT (NoSuchUnit) if systemd does not have it loaded. */
int systemd_manager_reset_failed_unit(SystemdManager *m, const char *name, SystemdResultCallback cb,
                                      void *userdata);

/*
 * Manager.FreezeUnit(name) / ThawUnit(name): the cgroup v2 freezer (FreezerState= frozen /
 * running). The unit's ActiveState does not change. -EOPNOTSUPP when systemd cannot freeze
 * (cgroup v1, or a unit type without a cgroup); -ENONET (UnitInactive) when the unit does not
 * run.
 */
int systemd_manager_freeze_unit(SystemdManager *m, const char *name, SystemdResultCallback cb,
                                void *userdata);
int systemd_manager_thaw_unit(SystemdManager *m, const char *name, SystemdResultCallback cb,
                              void *userdata);

/* Manager.KillUnit(name, "all", signo): send signo to every process of the unit (the
 * freezer's fallback uses SIGSTOP / SIGCONT). -EINVAL also for signo <= 0. */
int systemd_manager_kill_unit(SystemdManager *m, const char *name, int signo,
                              SystemdResultCallback cb, void *userdata);

/* Manager.ListUnitsByNames(names) in one call (names must be non-empty). */
int systemd_manager_list_units_by_names(SystemdManager *m, char *const *names,
                                        SystemdListCallback cb, void *userdata);

/* Synchronous file helpers on the units directory (unit_dir_write / unit_dir_remove). */
int systemd_manager_write_unit_file(SystemdManager *m, const char *name, const char *text,
                                    size_t len);
int systemd_manager_remove_unit_file(SystemdManager *m, const char *name);

/*
 * Start following name's state: its triple is read soon (batched) and then tracked; the state
 * callback fires on every change. Watching a unit systemd does not know is fine (it reports
 * "not-found", "inactive", "dead" until the file is linked and read again).
 * 1 if newly watched, 0 if it already was, -EINVAL (unsafe name, a name systemd refuses, or a
 * template such as "foo@.service", which systemd cannot load), -ENOMEM.
 */
int systemd_manager_watch_unit(SystemdManager *m, const char *name);

/* Stop following name. No callback fires for it afterwards. 1 if it was watched, else 0. */
int systemd_manager_unwatch_unit(SystemdManager *m, const char *name);

/*
 * Read a watched unit's triple again soon (batched with other reads). Reading it makes systemd
 * load a unit file it had found missing before, whose LoadState then changes without a
 * PropertiesChanged signal. 1 if name is watched, else 0.
 */
int systemd_manager_refresh_unit(SystemdManager *m, const char *name);

/* The last known triple of a watched unit (borrowed: valid until the next loop iteration or
 * manager call), or NULL if name is not watched or its state is not known yet. */
const SystemdUnitState *systemd_manager_get_unit_state(SystemdManager *m, const char *name);

/* Number of watched units. */
size_t systemd_manager_n_watched(const SystemdManager *m);
