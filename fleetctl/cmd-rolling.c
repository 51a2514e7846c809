/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleetctl-rolling.h"
#include "unit-file.h"
#include "unit-name.h"
#include "fleetctl-util.h"
#include "fleetctl.h"
#include "log.h"
#include "strv.h"

/*
 * rolling-restart (fleet-c): restart units a few at a time, each active for a while before the
 * next, stopping at the first failure. Units that are not global are stopped and started
 * through fleet (desired state loaded, then launched), global units with systemctl restart on
 * one machine after another (over ssh, as fleetctl restart does).
 */

/* systemd's active state of name on machine (NULL: any machine), as its agent reports it:
 * 1 active, 0 not (yet), -EIO failed. */
static int state_of(Fleetctl *f, const char *name, const char *machine) {
        ApiUnitState *s = NULL;
        size_t n = 0;
        int r = 0;

        if (api_client_list_unit_states(f->client, name, machine, &s, &n) < 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                const char *a = strempty(s[i].systemd_active_state);

                if (streq(a, "failed"))
                        r = -EIO;
                else if (r == 0 && streq(a, "active"))
                        r = 1;
        }
        api_unit_state_array_free(s, n);
        return r;
}

/* Wait until each of names is active (on machine, if given), then hold it active for
 * min-healthy seconds. 0, or <0 with *ret_why. */
static int wait_healthy(Fleetctl *f, char **names, const char *machine, const char **ret_why,
                        const char **ret_unit) {
        uint64_t start = clock_now_usec(CLOCK_MONOTONIC);

        STRV_FOREACH(n, names) {
                bool seen_other = false;

                for (;;) {
                        int r = state_of(f, *n, machine);

                        if (r > 0)
                                break;
                        if (r == 0)
                                seen_other = true;
                        else if (!fleetctl_failed_counts(seen_other,
                                                         clock_now_usec(CLOCK_MONOTONIC) - start))
                                r = 0; /* still the failure of before this start */
                        if (r < 0 || (f->block_attempts > 0 &&
                                      clock_now_usec(CLOCK_MONOTONIC) - start >
                                              (uint64_t) f->block_attempts * WAIT_ATTEMPT_USEC)) {
                                *ret_why = r < 0 ? "failed to start" : "timed out becoming active";
                                *ret_unit = *n;
                                return -EIO;
                        }
                        fleetctl_sleep_usec(WAIT_POLL_USEC);
                }
        }
        start = clock_now_usec(CLOCK_MONOTONIC);
        while (clock_now_usec(CLOCK_MONOTONIC) - start < (uint64_t) (f->min_healthy * 1e6)) {
                STRV_FOREACH(n, names)
                        if (state_of(f, *n, machine) <= 0) {
                                *ret_why = "did not stay active for --min-healthy";
                                *ret_unit = *n;
                                return -EIO;
                        }
                fleetctl_sleep_usec(WAIT_POLL_USEC);
        }
        return 0;
}

static int set_states(Fleetctl *f, char **names, const char *state) {
        STRV_FOREACH(n, names)
                if (api_client_set_desired_state(f->client, *n, state) < 0) {
                        fleetctl_stderr("Error setting target state of unit %s: %s", *n,
                                        api_client_error(f->client));
                        return -EIO;
                }
        return 0;
}

/* One wave of units that are not global: stop them all, start them all, let them settle. */
static int restart_wave(Fleetctl *f, char **wave) {
        const char *why = NULL, *unit = NULL;

        STRV_FOREACH(n, wave)
                fleetctl_stdout("Restarting unit %s", *n);
        if (set_states(f, wave, "loaded") < 0 ||
            fleetctl_wait_for_units(f, wave, "loaded", "Error waiting for units") != 0)
                return -EIO;
        if (set_states(f, wave, "launched") < 0 ||
            fleetctl_wait_for_units(f, wave, "launched", "Error waiting for units") != 0)
                return -EIO;
        if (wait_healthy(f, wave, NULL, &why, &unit) < 0) {
                fleetctl_stderr("Unit %s %s", unit, why);
                return -EIO;
        }
        STRV_FOREACH(n, wave)
                fleetctl_stdout("Unit %s active again", *n);
        return 0;
}

/* A global unit, machine by machine (at most --max-unavailable at once). */
static int restart_global_rolling(Fleetctl *f, const char *name, char ***done) {
        _cleanup_strv_free_ char **machines = NULL, **argv = NULL;
        char *one[] = {(char *) name, NULL};
        ApiUnitState *s = NULL;
        size_t n = 0;

        if (api_client_list_unit_states(f->client, name, NULL, &s, &n) < 0) {
                fleetctl_stderr("Error retrieving state of unit %s: %s", name,
                                api_client_error(f->client));
                return -EIO;
        }
        for (size_t i = 0; i < n; i++)
                if (s[i].machine_id && strv_extend(&machines, s[i].machine_id) < 0) {
                        api_unit_state_array_free(s, n);
                        return log_oom();
                }
        api_unit_state_array_free(s, n);
        strv_sort(machines);
        if (strv_extend(&argv, "systemctl") < 0 || strv_extend(&argv, "restart") < 0 ||
            strv_extend(&argv, name) < 0)
                return log_oom();
        for (size_t i = 0; machines && machines[i]; i += (size_t) f->max_unavailable) {
                for (size_t k = i; k < i + (size_t) f->max_unavailable && machines[k]; k++) {
                        fleetctl_stdout("Restarting global unit %s on %s", name, machines[k]);
                        if (fleetctl_run_on_machine(f, machines[k], argv) != 0) {
                                fleetctl_stderr("Unit %s failed to restart on %s", name,
                                                machines[k]);
                                return -EIO;
                        }
                }
                for (size_t k = i; k < i + (size_t) f->max_unavailable && machines[k]; k++) {
                        const char *why = NULL, *unit = NULL;

                        if (wait_healthy(f, one, machines[k], &why, &unit) < 0) {
                                fleetctl_stderr("Unit %s %s on %s", name, why, machines[k]);
                                return -EIO;
                        }
                        fleetctl_stdout("Global unit %s active again on %s", name, machines[k]);
                }
        }
        return strv_extend(done, name);
}

/* Check the targets and split them: every unit that is not global must be launched. */
static int classify(Fleetctl *f, const ApiUnit *all, size_t n_all, char **targets,
                    char ***ret_plain, char ***ret_global) {
        for (size_t i = 0; i < n_all; i++) {
                const ApiUnit *u = &all[i];

                if (!strv_contains(targets, strempty(u->name)))
                        continue;
                if (api_unit_is_global(u)) {
                        if (strv_extend(ret_global, u->name) < 0)
                                return log_oom();
                        continue;
                }
                if (!streq(strempty(u->desired_state), "launched") ||
                    !streq(strempty(u->current_state), "launched")) {
                        fleetctl_stderr("Unit %s is not running (%s), nothing restarted", u->name,
                                        strempty(u->current_state));
                        return -EINVAL;
                }
                if (strv_extend(ret_plain, u->name) < 0)
                        return log_oom();
        }
        return 0;
}

/* "Rolling restart stopped. Restarted: [a]; not restarted: [b c]" (what: "restart"/"update",
 * past: "restarted"/"updated"). */
static void report(const char *what, const char *past, char **done, char **all) {
        _cleanup_free_ char *d = NULL, *rest = NULL;
        _cleanup_strv_free_ char **left = NULL;

        STRV_FOREACH(n, all)
                if (!strv_contains(done, *n) && strv_extend(&left, *n) < 0)
                        return;
        if (fleetctl_go_strv(done, &d) < 0 || fleetctl_go_strv(left, &rest) < 0)
                return;
        fleetctl_stderr("Rolling %s stopped. %c%s: %s; not %s: %s", what, past[0] - 'a' + 'A',
                        past + 1, d, past, rest);
}

static int rolling(Fleetctl *f, char **plain, char **global, char **all) {
        _cleanup_strv_free_ char **done = NULL;
        size_t n = strv_length(plain);

        for (size_t i = 0; i < n; i += (size_t) f->max_unavailable) {
                _cleanup_strv_free_ char **wave = NULL;

                for (size_t k = i; k < n && k < i + (size_t) f->max_unavailable; k++)
                        if (strv_extend(&wave, plain[k]) < 0)
                                return fleetctl_oom();
                if (restart_wave(f, wave) < 0) {
                        report("restart", "restarted", done, all);
                        return 1;
                }
                STRV_FOREACH(w, wave)
                        if (strv_extend(&done, *w) < 0)
                                return fleetctl_oom();
        }
        STRV_FOREACH(g, global)
                if (restart_global_rolling(f, *g, &done) < 0) {
                        report("restart", "restarted", done, all);
                        return 1;
                }
        fleetctl_stdout("Restarted %zu unit%s", strv_length(done),
                        strv_length(done) == 1 ? "" : "s");
        return 0;
}

static int run_rolling_restart(Fleetctl *f, char **args, size_t n_args) {
        _cleanup_strv_free_ char **names = NULL, **targets = NULL, **plain = NULL, **global = NULL;
        _cleanup_free_ char *msg = NULL;
        ApiUnit *all = NULL;
        size_t n_all = 0;
        int r;

        if (n_args == 0) {
                fleetctl_stderr("No units given");
                return 1;
        }
        if (f->max_unavailable < 1) {
                fleetctl_stderr("--max-unavailable must be at least 1");
                return 1;
        }
        if (!(f->min_healthy >= 0)) {
                fleetctl_stderr("--min-healthy must not be negative");
                return 1;
        }
        r = api_client_list_units(f->client, &all, &n_all);
        if (r < 0) {
                fleetctl_stderr("Error retrieving units: %s", api_client_error(f->client));
                return 1;
        }
        for (size_t i = 0; r >= 0 && i < n_all; i++)
                r = strv_extend(&names, strempty(all[i].name));
        if (r >= 0)
                r = fleetctl_rolling_select(names, args, n_args, &targets, &msg);
        if (r >= 0)
                r = classify(f, all, n_all, targets, &plain, &global);
        api_unit_array_free(all, n_all);
        if (r == -ENOMEM)
                return fleetctl_oom();
        if (r < 0) {
                if (msg)
                        fleetctl_stderr("%s", msg);
                return 1;
        }
        return rolling(f, plain, global, targets);
}

/* ---- start --replace --rolling ---- */

/* Is name running the content hash on its machine (on machine, if given: its agent reports
 * that hash, active)? 1 yes, 0 not yet, -EIO failed with that hash. */
static int runs_version(Fleetctl *f, const char *name, const char *machine, const char *hash) {
        ApiUnitState *s = NULL;
        size_t n = 0;
        int r = 0;

        if (api_client_list_unit_states(f->client, name, machine, &s, &n) < 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                const char *a = strempty(s[i].systemd_active_state);

                if (!streq(strempty(s[i].hash), hash))
                        continue;
                if (streq(a, "failed"))
                        r = -EIO;
                else if (r == 0 && streq(a, "active"))
                        r = 1;
        }
        api_unit_state_array_free(s, n);
        return r;
}

/* Replace the content of one wave of units and wait until each runs it, healthy. */
static int update_wave(Fleetctl *f, char **wave, const UnitFile *uf, const char *hash) {
        uint64_t start = clock_now_usec(CLOCK_MONOTONIC);
        const char *why = NULL, *unit = NULL;

        STRV_FOREACH(n, wave) {
                _cleanup_free_ char *msg = NULL;

                fleetctl_stdout("Updating unit %s to %.7s", *n, hash);
                if (fleetctl_put_unit_file(f, *n, uf, "launched", &msg) < 0) {
                        fleetctl_stderr("Error replacing unit %s: %s", *n, strempty(msg));
                        return -EIO;
                }
        }
        STRV_FOREACH(n, wave)
                for (;;) {
                        int r = runs_version(f, *n, NULL, hash);

                        if (r > 0)
                                break;
                        if (r < 0 || (f->block_attempts > 0 &&
                                      clock_now_usec(CLOCK_MONOTONIC) - start >
                                              (uint64_t) f->block_attempts * WAIT_ATTEMPT_USEC)) {
                                fleetctl_stderr("Unit %s %s in its new version", *n,
                                                r < 0 ? "failed to start"
                                                      : "timed out becoming active");
                                return -EIO;
                        }
                        fleetctl_sleep_usec(WAIT_POLL_USEC);
                }
        if (wait_healthy(f, wave, NULL, &why, &unit) < 0) {
                fleetctl_stderr("Unit %s %s", unit, why);
                return -EIO;
        }
        STRV_FOREACH(n, wave)
                fleetctl_stdout("Unit %s runs %.7s", *n, hash);
        return 0;
}

/* The running units a FILE's content goes to: the unit itself, or a template's instances;
 * global ones go to *ret_global (updated machine by machine). */
static int update_targets(Fleetctl *f, const char *name, const ApiUnit *all, size_t n_all,
                          char ***ret, char ***ret_global) {
        _cleanup_free_ char *prefix = NULL;
        const char *at = strchr(name, '@');
        bool tmpl = unit_name_is_template(name);

        if (tmpl && !(prefix = strndup(name, at - name + 1)))
                return -ENOMEM;
        for (size_t i = 0; i < n_all; i++) {
                const char *n = strempty(all[i].name);

                if (tmpl ? !strneq(n, prefix, strlen(prefix)) || unit_name_is_template(n)
                         : !streq(n, name))
                        continue;
                if (api_unit_is_global(&all[i])) {
                        if (!streq(strempty(all[i].desired_state), "launched")) {
                                fleetctl_stderr("Unit %s is not running (%s), nothing updated", n,
                                                strempty(all[i].desired_state));
                                return -EINVAL;
                        }
                        if (strv_extend(ret_global, n) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (!streq(strempty(all[i].current_state), "launched")) {
                        fleetctl_stderr("Unit %s is not running (%s), nothing updated", n,
                                        strempty(all[i].current_state));
                        return -EINVAL;
                }
                if (strv_extend(ret, n) < 0)
                        return -ENOMEM;
        }
        if (!*ret && !*ret_global) {
                fleetctl_stderr("No running unit to update for %s", name);
                return -ENOENT;
        }
        return 0;
}

static const ApiUnit *find_unit(const ApiUnit *all, size_t n_all, const char *name) {
        for (size_t i = 0; i < n_all; i++)
                if (streq(strempty(all[i].name), name))
                        return &all[i];
        return NULL;
}

static bool in_registry(const ApiUnit *all, size_t n_all, const char *name) {
        return find_unit(all, n_all, name) != NULL;
}

/*
 * A global unit, machine by machine (fleet-c's pins, README "Rolling out a new version"): every
 * machine that reports the unit is pinned to the old content, the unit gets the new content
 * (job/ and global/, the pinned agents keep the old one), then the pins go, --max-unavailable
 * machines at a time, each machine running the new content, active for --min-healthy, before
 * the next ones. A failure leaves the machines not reached yet pinned to the old content.
 * The copies are named "<name>/<machineID>" in the report (unit names never hold a '/').
 */
static int update_global(Fleetctl *f, const ApiUnit *u, const UnitFile *uf, const char *hash,
                         char ***done, char ***todo) {
        _cleanup_strv_free_ char **machines = NULL, **pinned = NULL, **olds = NULL;
        _cleanup_free_ char *msg = NULL;
        char old[UNIT_HASH_HEX_LEN + 1];
        char *one[] = {u->name, NULL};
        ApiUnitState *s = NULL;
        size_t n = 0;
        int r;

        r = api_unit_hash(u, old);
        if (r < 0)
                return r;
        if (api_client_list_unit_states(f->client, u->name, NULL, &s, &n) < 0) {
                fleetctl_stderr("Error retrieving state of unit %s: %s", u->name,
                                api_client_error(f->client));
                return -EIO;
        }
        /* Each machine keeps the content it runs (that of a pin left by an interrupted rollout
         * included), or the unit's current content if it reports none. */
        for (size_t i = 0; i < n && r >= 0; i++)
                if (s[i].machine_id && !strv_contains(machines, s[i].machine_id)) {
                        const char *h = unit_hash_is_valid(s[i].hash) ? s[i].hash : old;
                        _cleanup_free_ char *e = NULL;

                        r = asprintf(&e, "%s %s", s[i].machine_id, h) < 0 ? -ENOMEM : 0;
                        r = r < 0 ? r : strv_extend(&olds, e);
                        r = r < 0 ? r : strv_extend(&machines, s[i].machine_id);
                }
        api_unit_state_array_free(s, n);
        if (r < 0)
                return r;
        if (!machines) {
                fleetctl_stderr("Global unit %s runs on no machine, nothing updated", u->name);
                return -ENOENT;
        }
        strv_sort(machines);
        STRV_FOREACH(m, machines) {
                _cleanup_free_ char *e = NULL;

                if (asprintf(&e, "%s/%s", u->name, *m) < 0 || strv_extend(todo, e) < 0)
                        return -ENOMEM;
        }

        /* Pin every machine to the old content, then give the unit the new one. */
        for (size_t i = 0; machines[i]; i++) {
                const char *m = machines[i], *h = old;

                STRV_FOREACH(o, olds)
                        if (strneq(*o, m, strlen(m)) && (*o)[strlen(m)] == ' ')
                                h = *o + strlen(m) + 1;

                if (api_client_put_pin(f->client, m, u->name, h) < 0) {
                        fleetctl_stderr("Error pinning unit %s to %.7s on %s: %s", u->name, h, m,
                                        api_client_error(f->client));
                        STRV_FOREACH(p, pinned)
                                (void) api_client_delete_pin(f->client, *p, u->name);
                        return -EIO;
                }
                if (strv_extend(&pinned, m) < 0)
                        return -ENOMEM;
                fleetctl_stdout("Pinned global unit %s to %.7s on %s", u->name, h, m);
        }
        if (fleetctl_put_unit_file(f, u->name, uf, "launched", &msg) < 0) {
                fleetctl_stderr("Error replacing unit %s: %s", u->name, strempty(msg));
                STRV_FOREACH(p, pinned)
                        (void) api_client_delete_pin(f->client, *p, u->name);
                return -EIO;
        }

        for (size_t i = 0; machines[i]; i += (size_t) f->max_unavailable) {
                uint64_t start = clock_now_usec(CLOCK_MONOTONIC);

                for (size_t k = i; k < i + (size_t) f->max_unavailable && machines[k]; k++) {
                        fleetctl_stdout("Updating global unit %s on %s to %.7s", u->name,
                                        machines[k], hash);
                        if (api_client_delete_pin(f->client, machines[k], u->name) < 0) {
                                fleetctl_stderr("Error unpinning unit %s on %s: %s", u->name,
                                                machines[k], api_client_error(f->client));
                                return -EIO;
                        }
                }
                for (size_t k = i; k < i + (size_t) f->max_unavailable && machines[k]; k++) {
                        const char *why = NULL, *unit = NULL;

                        for (;;) {
                                r = runs_version(f, u->name, machines[k], hash);
                                if (r > 0)
                                        break;
                                if (r < 0 ||
                                    (f->block_attempts > 0 &&
                                     clock_now_usec(CLOCK_MONOTONIC) - start >
                                             (uint64_t) f->block_attempts * WAIT_ATTEMPT_USEC)) {
                                        fleetctl_stderr("Unit %s %s in its new version on %s",
                                                        u->name,
                                                        r < 0 ? "failed to start"
                                                              : "timed out becoming active",
                                                        machines[k]);
                                        return -EIO;
                                }
                                fleetctl_sleep_usec(WAIT_POLL_USEC);
                        }
                        if (wait_healthy(f, one, machines[k], &why, &unit) < 0) {
                                fleetctl_stderr("Unit %s %s on %s", u->name, why, machines[k]);
                                return -EIO;
                        }
                }
                for (size_t k = i; k < i + (size_t) f->max_unavailable && machines[k]; k++) {
                        _cleanup_free_ char *e = NULL;

                        fleetctl_stdout("Global unit %s runs %.7s on %s", u->name, hash,
                                        machines[k]);
                        if (asprintf(&e, "%s/%s", u->name, machines[k]) < 0 ||
                            strv_extend(done, e) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

static int update_one_file(Fleetctl *f, const char *arg, const ApiUnit *all, size_t n_all,
                           char ***done, char ***todo) {
        _cleanup_(unit_file_freep) UnitFile *uf = NULL;
        _cleanup_free_ char *path = NULL, *name = NULL, *msg = NULL;
        _cleanup_strv_free_ char **targets = NULL, **globals = NULL;
        char hash[UNIT_HASH_HEX_LEN + 1];
        size_t n;
        int r;

        if (fleetctl_append_default_type(arg, &path) < 0 ||
            fleetctl_unit_name_mangle(path, &name) < 0)
                return -ENOMEM;
        r = fleetctl_read_unit_file(path, &uf, &msg);
        if (r < 0) {
                fleetctl_stderr("Error reading unit file %s: %s", path, strempty(msg));
                return r;
        }
        r = unit_file_hash(uf, hash);
        if (r >= 0)
                r = update_targets(f, name, all, n_all, &targets, &globals);
        if (r < 0)
                return r;
        /* A template in the registry gets the new content too (instances created later). */
        if (unit_name_is_template(name) && in_registry(all, n_all, name) &&
            fleetctl_put_unit_file(f, name, uf, NULL, &msg) < 0) {
                fleetctl_stderr("Error replacing template %s: %s", name, strempty(msg));
                return -EIO;
        }
        STRV_FOREACH(t, targets)
                if (strv_extend(todo, *t) < 0)
                        return -ENOMEM;
        n = strv_length(targets);
        for (size_t i = 0; i < n; i += (size_t) f->max_unavailable) {
                _cleanup_strv_free_ char **wave = NULL;

                for (size_t k = i; k < n && k < i + (size_t) f->max_unavailable; k++)
                        if (strv_extend(&wave, targets[k]) < 0)
                                return -ENOMEM;
                r = update_wave(f, wave, uf, hash);
                if (r < 0)
                        return r;
                STRV_FOREACH(w, wave)
                        if (strv_extend(done, *w) < 0)
                                return -ENOMEM;
        }
        STRV_FOREACH(g, globals) {
                r = update_global(f, find_unit(all, n_all, *g), uf, hash, done, todo);
                if (r < 0)
                        return r;
        }
        return 0;
}

int fleetctl_rolling_update(Fleetctl *f, char **args, size_t n_args) {
        _cleanup_strv_free_ char **done = NULL, **todo = NULL;
        ApiUnit *all = NULL;
        size_t n_all = 0, n;
        int r = 0;

        if (!f->replace) {
                fleetctl_stderr("--rolling needs --replace");
                return 1;
        }
        if (n_args == 0) {
                fleetctl_stderr("No units given");
                return 1;
        }
        if (f->max_unavailable < 1) {
                fleetctl_stderr("--max-unavailable must be at least 1");
                return 1;
        }
        if (!(f->min_healthy >= 0)) {
                fleetctl_stderr("--min-healthy must not be negative");
                return 1;
        }
        if (api_client_list_units(f->client, &all, &n_all) < 0) {
                fleetctl_stderr("Error retrieving units: %s", api_client_error(f->client));
                return 1;
        }
        for (size_t i = 0; r >= 0 && i < n_args; i++)
                r = update_one_file(f, args[i], all, n_all, &done, &todo);
        api_unit_array_free(all, n_all);
        if (r == -ENOMEM)
                return fleetctl_oom();
        if (r < 0) {
                if (done)
                        report("update", "updated", done, todo);
                return 1;
        }
        n = fleetctl_rolling_count_units(done);
        fleetctl_stdout("Updated %zu unit%s", n, n == 1 ? "" : "s");
        return 0;
}

static const FlagSpec rolling_flags[] = {
        {"max-unavailable", 0, FLAG_INT, offsetof(Fleetctl, max_unavailable), "1",
         "Restart at most N units (or machines of a global unit) at a time.", false},
        {"min-healthy", 0, FLAG_DOUBLE, offsetof(Fleetctl, min_healthy), "0",
         "Seconds each restarted unit must stay active before the next ones restart.", false},
        FLAG_BLOCK_ATTEMPTS,
        FLAG_SSH_PORT,
};

const Command fleetctl_rolling_commands[] = {
        {"rolling-restart", "[--max-unavailable N] [--min-healthy SECONDS] UNIT|GLOB...",
         "Restart units a few at a time (fleet-c)",
         "Restart the named units (names or globs such as 'web@*', which match instances,\n"
         "never the template) at most --max-unavailable at a time (default 1): each is\n"
         "stopped and started again through fleet, and must be active, and stay active for\n"
         "--min-healthy seconds, before the next ones restart. A global unit restarts\n"
         "machine by machine (systemctl restart, over ssh as fleetctl restart does).\n\n"
         "It stops at the first unit that fails to come back, and reports which units were\n"
         "restarted and which were not (exit 1). Every unit that is not global must be\n"
         "running (launched); otherwise nothing is restarted.\n\n"
         "\tfleetctl rolling-restart --min-healthy 5 'web@*'",
         rolling_flags, ELEMENTSOF(rolling_flags), run_rolling_restart, true},
};
const size_t fleetctl_n_rolling_commands = ELEMENTSOF(fleetctl_rolling_commands);
