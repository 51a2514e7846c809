/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleetctl-util.h"
#include "fleetctl.h"
#include "log.h"
#include "strv.h"

/*
 * submit, load, start, stop, unload, destroy, restart (reference 7.2, 11.3-11.5), with the
 * fixes of reference 14.5: "start --no-block" prints its line once, start waits for systemd
 * with the usual attempts, restart waits for "loaded" then "launched", destroy waits for the
 * unit to disappear unless --no-block, and status/restart reach every machine of a global unit.
 *
 * The exit codes are fleet's (reference 11.2), so that clean-up scripts under `set -e` keep
 * working: "No units given", "Units not found in registry" and a restart of an inactive unit
 * are not failures.
 */

static int no_units(void) {
        fleetctl_stderr("No units given");
        return 0;
}

/* Split triggered units into global ones (reported now) and the rest (waited for). */
static int split_triggered(const ApiUnit *units, size_t n, const char *op, char ***ret_wait) {
        _cleanup_strv_free_ char **wait = NULL;

        for (size_t i = 0; i < n; i++) {
                if (api_unit_is_global(&units[i])) {
                        fleetctl_stdout("Triggered global unit %s %s", units[i].name, op);
                        continue;
                }
                if (strv_extend(&wait, units[i].name) < 0)
                        return log_oom();
        }
        *ret_wait = TAKE_PTR(wait);
        return 0;
}

/* tryWaitForUnitStates: --no-block only reports what was triggered. */
static int try_wait(Fleetctl *f, char **names, const char *op, const char *state) {
        if (f->no_block) {
                STRV_FOREACH(n, names)
                        fleetctl_stdout("Triggered unit %s %s", *n, op);
                return 0;
        }
        if (!names)
                return 0;
        return fleetctl_wait_for_units(f, names, state, "Error waiting for units");
}

/* start only: after "launched", wait until systemd reports the unit active (reference 11.4).
 * Unlike fleet, the wait honours --block-attempts instead of failing after one 2 s window; a
 * unit that systemd reports "failed" fails at once. */
static int wait_systemd_active(Fleetctl *f, char **names) {
        int ret = 0;

        STRV_FOREACH(n, names) {
                uint64_t start = clock_now_usec(CLOCK_MONOTONIC);
                bool done = false, seen_other = false;
                unsigned poll = 0;

                for (int attempt = 1; !done; attempt++) {
                        uint64_t deadline = clock_now_usec(CLOCK_MONOTONIC) + WAIT_ATTEMPT_USEC;

                        for (;; poll++) {
                                ApiUnitState *s = NULL;
                                size_t k = 0;
                                bool active = false, failed = false;

                                if (api_client_list_unit_states(f->client, *n, NULL, &s, &k) < 0)
                                        log_warning("Error retrieving state of unit %s: %s", *n,
                                                    api_client_error(f->client));
                                for (size_t i = 0; i < k; i++) {
                                        active = active ||
                                                 (streq(strempty(s[i].systemd_active_state),
                                                        "active") &&
                                                  streq(strempty(s[i].systemd_load_state),
                                                        "loaded"));
                                        if (streq(strempty(s[i].systemd_active_state), "failed"))
                                                failed = true;
                                        else
                                                seen_other = true;
                                }
                                api_unit_state_array_free(s, k);
                                if (active) {
                                        done = true;
                                        break;
                                }
                                if (failed &&
                                    fleetctl_failed_counts(
                                            seen_other, clock_now_usec(CLOCK_MONOTONIC) - start)) {
                                        fleetctl_stderr("Error waiting for systemd unit states, "
                                                        "err: unit %s failed to start",
                                                        *n);
                                        return 1;
                                }
                                if (clock_now_usec(CLOCK_MONOTONIC) + fleetctl_poll_delay(poll) >
                                    deadline)
                                        break;
                                fleetctl_sleep_usec(fleetctl_poll_delay(poll));
                        }
                        if (!done && f->block_attempts > 0 && attempt >= f->block_attempts) {
                                fleetctl_stderr("Error waiting for systemd unit states, err: "
                                                "timed out waiting for unit %s to become active",
                                                *n);
                                ret = 1;
                                break;
                        }
                }
        }
        return ret;
}

/* load and start share everything but the target state. */
static int load_or_start(Fleetctl *f, char **args, size_t n_args, const char *state, const char *op,
                         const char *error_word) {
        _cleanup_free_ char *msg = NULL;
        _cleanup_strv_free_ char **wait = NULL;
        ApiUnit *triggered = NULL;
        size_t n = 0;
        int r;

        if (n_args == 0)
                return no_units();
        r = fleetctl_lazy_create_units(f, args, n_args, &msg);
        if (r == -ENOMEM)
                return fleetctl_oom();
        if (r < 0) {
                fleetctl_stderr("Error creating units: %s", strempty(msg));
                return 1;
        }
        r = fleetctl_set_target_states(f, args, n_args, state, &triggered, &n, &msg);
        if (r == -ENOMEM)
                return fleetctl_oom();
        if (r < 0) {
                fleetctl_stderr("Error %s units: %s", error_word, strempty(msg));
                return 1;
        }
        r = split_triggered(triggered, n, op, &wait);
        api_unit_array_free(triggered, n);
        if (r < 0)
                return 1;
        r = try_wait(f, wait, op, state);
        if (r == 0 && wait && !f->no_block && streq(state, "launched"))
                r = wait_systemd_active(f, wait);
        return r;
}

static int run_submit(Fleetctl *f, char **args, size_t n_args) {
        _cleanup_free_ char *msg = NULL;
        int r;

        if (n_args == 0)
                return no_units();
        r = fleetctl_lazy_create_units(f, args, n_args, &msg);
        if (r == -ENOMEM)
                return fleetctl_oom();
        if (r < 0) {
                fleetctl_stderr("Error creating units: %s", strempty(msg));
                return 1;
        }
        return 0;
}

static int run_load(Fleetctl *f, char **args, size_t n_args) {
        return load_or_start(f, args, n_args, "loaded", "load", "loading");
}

static int run_start(Fleetctl *f, char **args, size_t n_args) {
        if (f->rolling)
                return fleetctl_rolling_update(f, args, n_args);
        return load_or_start(f, args, n_args, "launched", "start", "starting");
}

/*
 * findUnits with fleet's messages. Returns 1 with the units found, 0 when the command has
 * nothing to do ("No units given", "Units not found in registry": fleet exits 0 for both), or
 * <0 after printing the error.
 */
static int find_or_complain(Fleetctl *f, char **args, size_t n_args, ApiUnit **ret, size_t *ret_n) {
        ApiUnit *units = NULL;
        size_t n = 0;
        int r;

        if (n_args == 0)
                return no_units();
        r = fleetctl_find_units(f, args, n_args, &units, &n);
        if (r < 0) {
                fleetctl_stderr("%s",
                                r == -ENOMEM ? "Out of memory." : api_client_error(f->client));
                return r;
        }
        if (n == 0) {
                free(units);
                fleetctl_stderr("Units not found in registry");
                return 0;
        }
        *ret = units;
        *ret_n = n;
        return 1;
}

static int set_state(Fleetctl *f, const char *name, const char *state) {
        log_debug("Setting target state of Unit(%s) to %s", name, state);
        if (api_client_set_desired_state(f->client, name, state) >= 0)
                return 0;
        fleetctl_stderr("Error setting target state of unit %s: %s", name,
                        api_client_error(f->client));
        return -EIO;
}

/* stop and unload: set a state on the units found, report globals, wait for the rest. */
static int stop_or_unload(Fleetctl *f, char **args, size_t n_args, bool stop) {
        const char *state = stop ? "loaded" : "inactive", *op = stop ? "stop" : "unload";
        _cleanup_strv_free_ char **changed = NULL;
        _cleanup_free_ char *list = NULL;
        ApiUnit *units = NULL;
        size_t n = 0;
        int r, ret = 0;

        r = find_or_complain(f, args, n_args, &units, &n);
        if (r <= 0)
                return r < 0;
        for (size_t i = 0; i < n && ret == 0; i++) {
                const ApiUnit *u = &units[i];
                bool global = api_unit_is_global(u);
                const char *cur = strempty(u->current_state);

                if (!global && stop && streq(cur, "inactive")) {
                        fleetctl_stderr("Unable to stop unit %s in state inactive", u->name);
                        ret = 1;
                        break;
                }
                if (!global && streq(cur, state)) {
                        log_debug("Unit(%s) already %s, skipping.", u->name, state);
                        continue;
                }
                if (set_state(f, u->name, state) < 0) {
                        ret = 1;
                        break;
                }
                if (global)
                        fleetctl_stdout("Triggered global unit %s %s", u->name, op);
                else if (strv_extend(&changed, u->name) < 0) {
                        (void) log_oom();
                        ret = 1;
                }
        }
        api_unit_array_free(units, n);
        if (ret != 0)
                return ret;
        r = try_wait(f, changed, op, state);
        if (r != 0)
                return r;
        if (fleetctl_go_strv(changed, &list) < 0)
                return fleetctl_oom();
        fleetctl_stderr("Successfully %s units %s.", stop ? "stopped" : "unloaded", list);
        return 0;
}

static int run_stop(Fleetctl *f, char **args, size_t n_args) {
        return stop_or_unload(f, args, n_args, true);
}

static int run_unload(Fleetctl *f, char **args, size_t n_args) {
        return stop_or_unload(f, args, n_args, false);
}

/* Gone from the registry and from every machine's unit states? */
static bool unit_gone(Fleetctl *f, const char *name) {
        _cleanup_(api_unit_done) ApiUnit u = {};
        ApiUnitState *s = NULL;
        size_t n = 0;
        int r;

        r = api_client_get_unit(f->client, name, &u);
        if (r != -ENOENT) {
                if (r < 0)
                        log_warning("Error retrieving Unit(%s) from Registry: %s", name,
                                    api_client_error(f->client));
                return false;
        }
        r = api_client_list_unit_states(f->client, name, NULL, &s, &n);
        api_unit_state_array_free(s, n);
        if (r < 0)
                log_warning("Error retrieving state of unit %s: %s", name,
                            api_client_error(f->client));
        return r >= 0 && n == 0;
}

static int wait_gone(Fleetctl *f, const char *name) {
        for (int attempt = 1;; attempt++) {
                for (int poll = 0; poll < WAIT_ATTEMPT_USEC / WAIT_POLL_USEC; poll++) {
                        if (unit_gone(f, name))
                                return 0;
                        fleetctl_sleep_usec(WAIT_POLL_USEC);
                }
                if (f->block_attempts > 0 && attempt >= f->block_attempts)
                        break;
        }
        fleetctl_stderr("Error destroying units: timed out waiting for unit %s to disappear", name);
        return 1;
}

static int run_destroy(Fleetctl *f, char **args, size_t n_args) {
        ApiUnit *units = NULL;
        size_t n = 0;
        int r, ret = 0;

        r = find_or_complain(f, args, n_args, &units, &n);
        if (r <= 0)
                return r < 0;
        for (size_t i = 0; i < n; i++) {
                const char *name = units[i].name;

                r = api_client_delete_unit(f->client, name);
                if (r == -ENOENT)
                        continue; /* gone meanwhile: fleet ignores it too */
                if (r < 0) {
                        fleetctl_stderr("Error destroying units: %s", api_client_error(f->client));
                        ret = 1;
                        continue;
                }
                if (!f->no_block && wait_gone(f, name) != 0) {
                        ret = 1;
                        continue;
                }
                fleetctl_stdout("Destroyed %s", name);
        }
        api_unit_array_free(units, n);
        return ret;
}

/* A global unit: systemctl restart on every machine that reports it. */
static int restart_global(Fleetctl *f, const ApiUnit *u) {
        _cleanup_strv_free_ char **argv = NULL;
        ApiUnitState *s = NULL;
        size_t n = 0;
        int ret = 0;

        if (api_client_list_unit_states(f->client, u->name, NULL, &s, &n) < 0) {
                fleetctl_stderr("Error retrieving state of unit %s: %s", u->name,
                                api_client_error(f->client));
                return 1;
        }
        if (strv_extend(&argv, "systemctl") < 0 || strv_extend(&argv, "restart") < 0 ||
            strv_extend(&argv, u->name) < 0) {
                api_unit_state_array_free(s, n);
                return fleetctl_oom();
        }
        if (n == 0)
                fleetctl_stderr("Unit %s is not running on any machine", u->name);
        for (size_t i = 0; i < n; i++) {
                int r = fleetctl_run_on_machine(f, s[i].machine_id, argv);
                if (r != 0) {
                        ret = r;
                        continue;
                }
                fleetctl_stdout("Restarted global unit %s on %s", u->name,
                                strempty(s[i].machine_id));
        }
        api_unit_state_array_free(s, n);
        return ret;
}

/* 0 when restarted or skipped (an inactive unit is reported, not a failure: fleet goes on
 * with the next unit and exits 0), 1 when a step failed. */
static int restart_one(Fleetctl *f, const ApiUnit *u) {
        char *names[] = {u->name, NULL};
        const char *cur = strempty(u->current_state);

        if (streq(cur, "inactive") || !*cur) {
                fleetctl_stderr("Unable to restart unit %s in state inactive", u->name);
                return 0;
        }
        if (streq(cur, "launched")) {
                if (set_state(f, u->name, "loaded") < 0)
                        return 1;
                if (fleetctl_wait_for_units(f, names, "loaded", "Error waiting for units") != 0)
                        return 1;
        }
        if (set_state(f, u->name, "launched") < 0)
                return 1;
        return fleetctl_wait_for_units(f, names, "launched", "Error waiting for units");
}

/* fleet's restart looks the units up, then runs the lazy create of submit/load/start on its
 * arguments: a name that is neither in the cluster nor a local file fails there (exit 1), one
 * that is a local file is submitted (and not started). */
static int run_restart(Fleetctl *f, char **args, size_t n_args) {
        _cleanup_free_ char *msg = NULL;
        ApiUnit *units = NULL;
        size_t n = 0;
        int r, ret = 0;

        if (n_args == 0)
                return no_units();
        r = fleetctl_find_units(f, args, n_args, &units, &n);
        if (r < 0) {
                fleetctl_stderr("%s",
                                r == -ENOMEM ? "Out of memory." : api_client_error(f->client));
                return 1;
        }
        r = fleetctl_lazy_create_units(f, args, n_args, &msg);
        if (r < 0) {
                api_unit_array_free(units, n);
                if (r == -ENOMEM)
                        return fleetctl_oom();
                fleetctl_stderr("Error creating units: %s", strempty(msg));
                return 1;
        }
        for (size_t i = 0; i < n; i++) {
                r = api_unit_is_global(&units[i]) ? restart_global(f, &units[i])
                                                  : restart_one(f, &units[i]);
                if (r != 0) {
                        ret = r;
                        if (!api_unit_is_global(&units[i]))
                                break; /* fleet stops at the first failed wait */
                }
        }
        api_unit_array_free(units, n);
        return ret;
}

static const FlagSpec submit_flags[] = {
        {"replace", 0, FLAG_BOOL, offsetof(Fleetctl, replace), NULL,
         "Replace the already submitted units in the cluster with new versions.", false},
        {"sign", 0, FLAG_BOOL, offsetof(Fleetctl, sign), NULL,
         "DEPRECATED - this option cannot be used", false},
};

static const FlagSpec load_flags[] = {
        FLAG_BLOCK_ATTEMPTS,
        FLAG_NO_BLOCK,
        {"replace", 0, FLAG_BOOL, offsetof(Fleetctl, replace), NULL,
         "Replace the old scheduled units in the cluster with new versions.", false},
        {"sign", 0, FLAG_BOOL, offsetof(Fleetctl, sign), NULL,
         "DEPRECATED - this option cannot be used", false},
};

static const FlagSpec start_flags[] = {
        FLAG_BLOCK_ATTEMPTS,
        FLAG_NO_BLOCK,
        {"replace", 0, FLAG_BOOL, offsetof(Fleetctl, replace), NULL,
         "Replace the old scheduled units in the cluster with new versions.", false},
        {"sign", 0, FLAG_BOOL, offsetof(Fleetctl, sign), NULL,
         "DEPRECATED - this option cannot be used", false},
        {"rolling", 0, FLAG_BOOL, offsetof(Fleetctl, rolling), NULL,
         "fleet-c: with --replace, update running units one at a time (see --max-unavailable, "
         "--min-healthy)",
         false},
        {"max-unavailable", 0, FLAG_INT, offsetof(Fleetctl, max_unavailable), "1",
         "fleet-c: with --rolling, update at most N units at a time.", false},
        {"min-healthy", 0, FLAG_DOUBLE, offsetof(Fleetctl, min_healthy), "0",
         "fleet-c: with --rolling, seconds each updated unit must stay active before the next.",
         false},
};

static const FlagSpec block_flags[] = {FLAG_BLOCK_ATTEMPTS, FLAG_NO_BLOCK};
static const FlagSpec restart_flags[] = {FLAG_BLOCK_ATTEMPTS, FLAG_SSH_PORT};

const Command fleetctl_unit_commands[] = {
        {"destroy", "UNIT...", "Destroy one or more units in the cluster",
         "Completely remove one or more running or submitted units from the cluster.\n\n"
         "Instructs systemd on the host machine to stop the unit, deferring to systemd\n"
         "completely for any custom stop directives (i.e. ExecStop option in the unit\n"
         "file). fleetctl waits until the unit is gone from the cluster unless --no-block\n"
         "is given.\n\nDestroyed units are impossible to start unless re-submitted.",
         block_flags, ELEMENTSOF(block_flags), run_destroy, true},
        {"load", "[--no-block|--block-attempts=N] UNIT...",
         "Schedule one or more units in the cluster, first submitting them if necessary.",
         "Load one or many units in the cluster into systemd, but do not start.\n\n"
         "Select units to load by glob matching for units in the current working directory\n"
         "or matching the names of previously submitted units.\n\n"
         "For units which are not global, load operations are performed synchronously,\n"
         "which means fleetctl will block until it detects that the unit(s) have\n"
         "transitioned to a loaded state. This behaviour can be configured with the\n"
         "respective --block-attempts and --no-block options. Load operations on global\n"
         "units are always non-blocking.",
         load_flags, ELEMENTSOF(load_flags), run_load, true},
        {"restart", "[--block-attempts=N] UNIT...",
         "Instruct systemd to restart one or more units in the cluster.",
         "Restart one or more units running in the cluster.\n\n"
         "A unit that is not global is stopped (loaded) and started (launched) again, and\n"
         "fleetctl waits for each step. A global unit is restarted with systemctl restart on\n"
         "every machine that runs it.",
         restart_flags, ELEMENTSOF(restart_flags), run_restart, true},
        {"start", "[--no-block|--block-attempts=N] UNIT...",
         "Instruct systemd to start one or more units in the cluster, first submitting and "
         "loading if necessary.",
         "Start one or many units on the cluster. Select units to start by glob matching\n"
         "for units in the current working directory or matching names of previously\n"
         "submitted units.\n\n"
         "For units which are not global, start operations are performed synchronously,\n"
         "which means fleetctl will block until it detects that the unit(s) have\n"
         "transitioned to a started state. This behaviour can be configured with the\n"
         "respective --block-attempts and --no-block options. Start operations on global\n"
         "units are always non-blocking.\n\n"
         "Start a single unit:\n\tfleetctl start foo.service\n\n"
         "Start an entire directory of units with glob matching:\n\tfleetctl start myservice/*\n\n"
         "fleet-c: --replace --rolling replaces running units one at a time: each FILE's\n"
         "new content goes to the unit of that name, or, for a template, to every running\n"
         "instance of it, at most --max-unavailable at a time, each active in its new version\n"
         "for --min-healthy seconds before the next; it stops at the first that fails. A\n"
         "global unit is updated machine by machine the same way: the machines not reached\n"
         "yet keep the old content (pinned) until their turn, and stay on it after a failure.",
         start_flags, ELEMENTSOF(start_flags), run_start, true},
        {"stop", "[--no-block|--block-attempts=N] UNIT...",
         "Instruct systemd to stop one or more units in the cluster.",
         "Stop one or more units from running in the cluster, but allow them to be\n"
         "started again in the future.\n\n"
         "Instructs systemd on the host machine to stop the unit, deferring to systemd\n"
         "completely for any custom stop directives (i.e. ExecStop option in the unit\n"
         "file).\n\n"
         "For units which are not global, stop operations are performed synchronously,\n"
         "which means fleetctl will block until it detects that the unit(s) have\n"
         "transitioned to a stopped state. This behaviour can be configured with the\n"
         "respective --block-attempts and --no-block options. Stop operations on global\n"
         "units are always non-blocking.",
         block_flags, ELEMENTSOF(block_flags), run_stop, true},
        {"submit", "UNIT...", "Upload one or more units to the cluster without starting them",
         "Upload one or more units to the cluster without starting them. Useful\n"
         "for validating units before they are started.\n\n"
         "This operation is idempotent; if a named unit already exists in the cluster, it will\n"
         "not be resubmitted, unless --replace is given.",
         submit_flags, ELEMENTSOF(submit_flags), run_submit, true},
        {"unload", "[--no-block|--block-attempts=N] UNIT...",
         "Unschedule one or more units in the cluster.",
         "Unload one or more units from the machines they are scheduled on, keeping them in\n"
         "the cluster.",
         block_flags, ELEMENTSOF(block_flags), run_unload, true},
};
const size_t fleetctl_n_unit_commands = ELEMENTSOF(fleetctl_unit_commands);
