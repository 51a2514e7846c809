/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errmsg.h"
#include "fileio.h"
#include "fleetctl-util.h"
#include "fleetctl-wait.h"
#include "fleetctl.h"
#include "log.h"
#include "strv.h"
#include "unit-name.h"
#include "xfleet.h"

/* Go's os error text: "open foo: no such file or directory". */
static int fail_errno(char **reterr, int error, const char *op, const char *path) {
        char buf[256];

        snprintf(buf, sizeof(buf), "%s", strerror(abs(error)));
        buf[0] = (char) tolower((unsigned char) buf[0]);
        return errmsg_set(reterr, -abs(error), "%s %s: %s", op, path, buf);
}

int api_unit_to_unit_file(const ApiUnit *u, UnitFile **ret) {
        _cleanup_(unit_file_freep) UnitFile *uf = NULL;
        int r = unit_file_new(&uf);

        if (r < 0)
                return r;
        for (size_t i = 0; i < u->n_options; i++) {
                r = unit_file_add(uf, strempty(u->options[i].section), strempty(u->options[i].name),
                                  strempty(u->options[i].value));
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(uf);
        return 0;
}

int api_unit_set_options(ApiUnit *u, const UnitFile *uf) {
        for (size_t i = 0; i < uf->n_options; i++) {
                int r = api_unit_add_option(u, uf->options[i].section, uf->options[i].name,
                                            uf->options[i].value);
                if (r < 0)
                        return r;
        }
        return 0;
}

bool api_unit_is_global(const ApiUnit *u) {
        _cleanup_(unit_file_freep) UnitFile *uf = NULL;
        _cleanup_(xfleet_freep) XFleet *x = NULL;

        if (api_unit_to_unit_file(u, &uf) < 0 || xfleet_parse(uf, NULL, &x) < 0)
                return false;
        return x->global;
}

int api_unit_hash(const ApiUnit *u, char ret[static UNIT_HASH_HEX_LEN + 1]) {
        _cleanup_(unit_file_freep) UnitFile *uf = NULL;
        int r = api_unit_to_unit_file(u, &uf);

        return r < 0 ? r : unit_file_hash(uf, ret);
}

int fleetctl_find_units(Fleetctl *f, char **args, size_t n_args, ApiUnit **ret, size_t *ret_n) {
        ApiUnit *all = NULL, *found = NULL;
        size_t n_all = 0, n_found = 0;
        int r;

        r = api_client_list_units(f->client, &all, &n_all);
        if (r < 0)
                return r;
        found = calloc(MAX(n_args, 1u), sizeof(ApiUnit));
        if (!found) {
                api_unit_array_free(all, n_all);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_args && r >= 0; i++) {
                _cleanup_free_ char *name = NULL;

                r = fleetctl_unit_name_mangle(args[i], &name);
                for (size_t j = 0; r >= 0 && j < n_all; j++)
                        if (streq(strempty(all[j].name), name)) {
                                r = api_unit_copy(&all[j], &found[n_found]);
                                if (r >= 0)
                                        n_found++;
                                break;
                        }
        }
        api_unit_array_free(all, n_all);
        if (r < 0) {
                api_unit_array_free(found, n_found);
                return r;
        }
        *ret = found;
        *ret_n = n_found;
        return 0;
}

/* ---- local unit files ---- */

static bool path_exists(const char *path) {
        struct stat st;

        /* Go's !os.IsNotExist(err): any error other than ENOENT counts as present */
        return stat(path, &st) == 0 || errno != ENOENT;
}

static int read_unit_file(const char *path, UnitFile **ret, char **reterr) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL, *msg = NULL;
        size_t len = 0;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return fail_errno(reterr, errno, "open", path);
        r = read_fd_bounded(fd, UNIT_FILE_MAX_SIZE, 0, &buf, &len);
        if (r == -EFBIG)
                return errmsg_set(reterr, -EINVAL, "%s: unit file too large (max %d bytes)", path,
                                  UNIT_FILE_MAX_SIZE);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail_errno(reterr, -r, "read", path);
        log_debug("Unit(%s) found in local filesystem", path);
        r = unit_file_parse(buf, len, ret, &msg);
        if (r < 0 && r != -ENOMEM)
                return errmsg_set(reterr, -EINVAL, "%s", msg ? msg : "invalid unit file");
        return r;
}

/* Is the local file's content identical to the registry unit's? 0/1, or <0 when the file
 * cannot be stat'ed (a parse error counts as "different", as in fleet). */
static int match_local_file(const char *file, const ApiUnit *su, char **reterr) {
        _cleanup_(unit_file_freep) UnitFile *local = NULL;
        _cleanup_free_ char *msg = NULL;
        char a[UNIT_HASH_HEX_LEN + 1], b[UNIT_HASH_HEX_LEN + 1];
        struct stat st;
        int r;

        if (stat(file, &st) < 0)
                return fail_errno(reterr, errno, "stat", file);
        if (read_unit_file(file, &local, &msg) < 0)
                return 0;
        r = api_unit_hash(su, a);
        if (r < 0)
                return r;
        r = unit_file_hash(local, b);
        if (r < 0)
                return r;
        return streq(a, b);
}

static int template_path(const char *file, char **ret, char **reterr) {
        _cleanup_free_ char *base = NULL, *dir = NULL, *tmpl = NULL;

        if (fleetctl_path_base(file, &base) < 0)
                return -ENOMEM;
        if (!unit_name_is_instance(base))
                return errmsg_set(reterr, -EINVAL,
                                  "error Unit %s does not seem to be a template unit", file);
        if (unit_name_template_of(base, &tmpl) < 0 || fleetctl_path_dir(file, &dir) < 0)
                return -ENOMEM;
        if (streq(dir, "."))
                *ret = TAKE_PTR(tmpl);
        else if (asprintf(ret, "%s%s%s", dir, streq(dir, "/") ? "" : "/", tmpl) < 0)
                return -ENOMEM;
        return 0;
}

/* fleet's isLocalUnitDifferent (not fatal): compare with the local file, or else with the
 * local template of an instance, warning when they differ and --replace is not given.
 * 1 different, 0 same, <0 no local file to compare with. */
static int local_unit_different(Fleetctl *f, const char *file, const ApiUnit *su, char **reterr) {
        _cleanup_free_ char *tmpl = NULL;
        int r;

        r = match_local_file(file, su, reterr);
        if (r >= 0) {
                if (r == 0 && !f->replace)
                        fleetctl_stderr("WARNING: Unit %s in registry differs from local unit file "
                                        "%s. Add --replace to override.",
                                        su->name, file);
                return !r;
        }
        if (r == -ENOMEM)
                return r;
        r = template_path(file, &tmpl, reterr);
        if (r < 0)
                return r;
        r = match_local_file(tmpl, su, reterr);
        if (r < 0)
                return r;
        if (r == 0 && !f->replace)
                fleetctl_stderr("WARNING: Unit %s in registry differs from local template unit "
                                "file %s. Add --replace to override.",
                                su->name, tmpl);
        return !r;
}

/* checkUnitCreation: 1 create, 0 skip, <0 error. */
static int check_unit_creation(Fleetctl *f, const char *arg, const char *name, char **reterr) {
        _cleanup_(api_unit_done) ApiUnit u = {};
        _cleanup_free_ char *ignored = NULL;
        int r, different;

        r = api_client_get_unit(f->client, name, &u);
        if (r == -ENOENT)
                return 1;
        if (r < 0)
                return errmsg_set(reterr, -EINVAL, "error retrieving Unit(%s) from Registry: %s",
                                  name, api_client_error(f->client));

        different = local_unit_different(f, arg, &u, f->replace ? reterr : &ignored);
        if (!f->replace) {
                if (different == 0)
                        log_debug("Found same Unit(%s) in Registry, no need to recreate it", name);
                return 0;
        }
        if (different < 0)
                return different;
        if (different == 0) {
                fleetctl_stdout("Found same Unit(%s) in Registry, nothing to do", u.name);
                return 0;
        }
        if (fleetctl_replace_allowed(f->command, u.desired_state))
                return 1;
        fleetctl_stderr("Warning: can not replace Unit(%s) in state '%s', use the appropriate "
                        "command",
                        u.name, strempty(u.desired_state));
        return 0;
}

/* getUnitFile: the local file, else the template (registry first, then next to the arg). */
static int get_unit_file(Fleetctl *f, const char *arg, const char *name, UnitFile **ret,
                         char **reterr) {
        _cleanup_(api_unit_done) ApiUnit tmpl = {};
        _cleanup_free_ char *tmpl_name = NULL, *tmpl_file = NULL, *msg = NULL, *ignored = NULL;
        int r;

        if (path_exists(arg)) {
                r = read_unit_file(arg, ret, &msg);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return errmsg_set(reterr, -EINVAL, "failed getting Unit(%s) from file: %s",
                                          arg, msg);
                return 0;
        }
        if (!unit_name_is_instance(name))
                return errmsg_set(reterr, -EINVAL,
                                  "unable to find Unit(%s) in Registry or on filesystem", name);
        if (unit_name_template_of(name, &tmpl_name) < 0)
                return -ENOMEM;

        r = api_client_get_unit(f->client, tmpl_name, &tmpl);
        if (r < 0 && r != -ENOENT)
                return errmsg_set(reterr, -EINVAL,
                                  "failed getting Unit(%s) from template: error retrieving "
                                  "template Unit(%s) from Registry: %s",
                                  arg, tmpl_name, api_client_error(f->client));
        if (r >= 0) {
                (void) local_unit_different(f, arg, &tmpl, &ignored);
                log_debug("Template Unit(%s) found in registry", tmpl_name);
                return api_unit_to_unit_file(&tmpl, ret);
        }

        r = template_path(arg, &tmpl_file, &msg);
        if (r < 0)
                return r == -ENOMEM ? r : errmsg_set(reterr, -EINVAL, "%s", msg);
        if (!path_exists(tmpl_file))
                return errmsg_set(reterr, -EINVAL,
                                  "failed getting Unit(%s) from template: unable to find "
                                  "template Unit(%s) in Registry or on filesystem",
                                  arg, tmpl_name);
        r = read_unit_file(tmpl_file, ret, &msg);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return errmsg_set(reterr, -EINVAL,
                                  "failed getting Unit(%s) from template: unable to load "
                                  "template Unit(%s) from file: %s",
                                  arg, tmpl_name, msg);
        return 0;
}

/* createUnit: client-side validation (reference 6.7), warnings for unknown [X-Fleet] keys,
 * then PUT without a desired state. */
static int create_unit(Fleetctl *f, const char *name, const UnitFile *uf, const char *desired,
                       char **reterr) {
        _cleanup_(xfleet_freep) XFleet *x = NULL;
        _cleanup_free_ char *msg = NULL;
        ApiUnit u = {.name = (char *) name, .desired_state = (char *) desired};
        int r;

        if (unit_name_validate(name, &msg) < 0)
                return errmsg_set(reterr, -EINVAL, "%s", strempty(msg));
        r = unit_file_validate(uf, &msg);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return errmsg_set(reterr, -EINVAL, "%s", strempty(msg));
        r = xfleet_parse(uf, NULL, &x);
        if (r < 0)
                return r;
        if (xfleet_validate(x, &msg) < 0)
                return errmsg_set(reterr, -EINVAL, "%s", strempty(msg));
        STRV_FOREACH(k, x->unknown)
                log_warning("Unit %s: unrecognized requirement in [X-Fleet] section: \"%s\"", name,
                            *k);

        r = api_unit_set_options(&u, uf);
        if (r >= 0)
                r = desired ? api_client_replace_unit(f->client, &u)
                            : api_client_create_unit(f->client, &u);
        u.name = NULL;
        u.desired_state = NULL;
        api_unit_done(&u);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return errmsg_set(reterr, -EINVAL, "failed creating unit %s: %s", name,
                                  api_client_error(f->client));
        log_debug("Created Unit(%s) in Registry", name);
        return 0;
}

static int wait_for_units(Fleetctl *f, char **names, const char *state, const char *error_prefix,
                          bool creation);

int fleetctl_read_unit_file(const char *path, UnitFile **ret, char **reterr) {
        return read_unit_file(path, ret, reterr);
}

int fleetctl_put_unit_file(Fleetctl *f, const char *name, const UnitFile *uf, const char *desired,
                           char **reterr) {
        return create_unit(f, name, uf, desired, reterr);
}

int fleetctl_lazy_create_units(Fleetctl *f, char **args, size_t n_args, char **reterr) {
        _cleanup_strv_free_ char **created = NULL;
        int r;

        for (size_t i = 0; i < n_args; i++) {
                _cleanup_free_ char *arg = NULL, *name = NULL;
                _cleanup_(unit_file_freep) UnitFile *uf = NULL;

                if (fleetctl_append_default_type(args[i], &arg) < 0 ||
                    fleetctl_unit_name_mangle(arg, &name) < 0)
                        return -ENOMEM;
                r = check_unit_creation(f, arg, name, reterr);
                if (r <= 0) {
                        if (r < 0)
                                return r;
                        continue;
                }
                r = get_unit_file(f, arg, name, &uf, reterr);
                if (r < 0)
                        return r;
                r = create_unit(f, name, uf, NULL, reterr);
                if (r < 0)
                        return r;
                if (strv_extend(&created, name) < 0)
                        return -ENOMEM;
        }
        if (created &&
            wait_for_units(f, created, "inactive", "Error waiting on unit creation", true) != 0)
                return errmsg_set(reterr, -EINVAL, "One or more errors creating units");
        return 0;
}

int fleetctl_set_target_states(Fleetctl *f, char **args, size_t n_args, const char *state,
                               ApiUnit **ret, size_t *ret_n, char **reterr) {
        ApiUnit *changed = calloc(MAX(n_args, 1u), sizeof(ApiUnit));
        size_t n = 0;
        int r = 0;

        if (!changed)
                return -ENOMEM;
        for (size_t i = 0; i < n_args && r >= 0; i++) {
                _cleanup_free_ char *name = NULL;
                ApiUnit u = {};

                r = fleetctl_unit_name_mangle(args[i], &name);
                if (r < 0)
                        break;
                r = api_client_get_unit(f->client, name, &u);
                if (r == -ENOENT) {
                        r = errmsg_set(reterr, -EINVAL, "unable to find unit %s", name);
                        break;
                }
                if (r < 0) {
                        r = errmsg_set(reterr, -EINVAL,
                                       "error retrieving unit %s from registry: %s", name,
                                       api_client_error(f->client));
                        break;
                }
                if (streq(strempty(u.desired_state), state)) {
                        log_debug("Unit(%s) already %s, skipping.", name, state);
                        api_unit_done(&u);
                        continue;
                }
                log_debug("Setting Unit(%s) target state to %s", name, state);
                r = api_client_set_desired_state(f->client, name, state);
                if (r < 0) {
                        if (r != -ENOMEM)
                                r = errmsg_set(reterr, -EINVAL, "%s", api_client_error(f->client));
                        api_unit_done(&u);
                        break;
                }
                changed[n++] = u;
        }
        if (r < 0) {
                api_unit_array_free(changed, n);
                return r;
        }
        *ret = changed;
        *ret_n = n;
        return 0;
}

/* ---- blocking (reference 11.4) ---- */

/* A reason must stay the same this long before fleetctl believes it: a unit whose MachineOf
 * leader is started by the same command, a moment later, is unplaceable until the engine's
 * next pass, a few milliseconds later. */
#define REASON_SETTLE_USEC (1000 * 1000)

typedef struct Awaited {
        char *name;
        char *reason;   /* the reason seen at the last poll, or NULL */
        uint64_t since; /* when it was first seen */
} Awaited;

/* Print the line of a unit that reached state ("Unit <n> <state>[ on <m>]"). */
static void print_reached(Fleetctl *f, const ApiUnit *u, const char *state) {
        _cleanup_free_ char *legend = NULL;

        legend = u->machine_id && *u->machine_id ? fleetctl_machine_legend_of(f, u->machine_id)
                                                 : NULL;
        fleetctl_stdout("Unit %s %s%s%s", u->name,
                        u->current_state && *u->current_state ? u->current_state : state,
                        legend ? " on " : "", strempty(legend));
}

/* assertUnitState, plus fleet-c's reasons to stop waiting. REACHED (printed), PENDING, or a
 * verdict to stop on (printed to stderr). */
static FleetctlWaitVerdict poll_unit(Fleetctl *f, Awaited *a, const char *state, bool creation) {
        _cleanup_(api_unit_done) ApiUnit u = {};
        _cleanup_free_ char *msg = NULL;
        FleetctlWaitVerdict v;
        int r;

        r = api_client_get_unit(f->client, a->name, &u);
        if (r < 0 && r != -ENOENT) {
                log_warning("Error retrieving Unit(%s) from Registry: %s", a->name,
                            api_client_error(f->client));
                return FLEETCTL_WAIT_PENDING;
        }
        v = fleetctl_wait_judge(r == -ENOENT ? NULL : &u, r >= 0 && api_unit_is_global(&u), state,
                                creation);
        if (v == FLEETCTL_WAIT_REACHED) {
                print_reached(f, &u, state);
                return v;
        }
        if (v == FLEETCTL_WAIT_UNPLACEABLE) {
                if (!a->reason || !streq(a->reason, u.reason)) {
                        free(a->reason);
                        a->reason = strdup(u.reason);
                        a->since = clock_now_usec(CLOCK_MONOTONIC);
                }
                if (!a->reason || clock_now_usec(CLOCK_MONOTONIC) - a->since < REASON_SETTLE_USEC)
                        return FLEETCTL_WAIT_PENDING;
        } else {
                free(a->reason);
                a->reason = NULL;
        }
        if (v == FLEETCTL_WAIT_PENDING) {
                log_debug("Waiting for Unit(%s) state(%s) to be %s", a->name,
                          strempty(u.current_state), state);
                return v;
        }
        if (fleetctl_wait_message(a->name, &u, state, v, &msg) < 0)
                (void) log_oom();
        else
                fleetctl_stderr("%s", msg);
        return v;
}

static int wait_for_units(Fleetctl *f, char **names, const char *state, const char *error_prefix,
                          bool creation) {
        size_t n = strv_length(names), k = n;
        Awaited *a = calloc(MAX(n, (size_t) 1), sizeof(*a));
        unsigned poll = 0;
        int ret = 0;

        if (!a)
                return fleetctl_oom();
        for (size_t i = 0; i < n; i++)
                a[i].name = names[i];
        for (int attempt = 1; k > 0; attempt++) {
                uint64_t deadline = clock_now_usec(CLOCK_MONOTONIC) + WAIT_ATTEMPT_USEC;

                for (; k > 0; poll++) {
                        size_t j = 0;

                        for (size_t i = 0; i < k; i++) {
                                FleetctlWaitVerdict v = poll_unit(f, &a[i], state, creation);

                                if (v == FLEETCTL_WAIT_PENDING) {
                                        a[j++] = a[i];
                                        continue;
                                }
                                free(a[i].reason);
                                if (v != FLEETCTL_WAIT_REACHED)
                                        ret = 1;
                        }
                        k = j;
                        if (k == 0 ||
                            clock_now_usec(CLOCK_MONOTONIC) + fleetctl_poll_delay(poll) > deadline)
                                break;
                        fleetctl_sleep_usec(fleetctl_poll_delay(poll));
                }
                if (k > 0 && f->block_attempts > 0 && attempt >= f->block_attempts)
                        break;
        }
        for (size_t i = 0; i < k; i++) {
                fleetctl_stderr("%s: timed out waiting for unit %s to report state %s",
                                error_prefix, a[i].name, state);
                free(a[i].reason);
                ret = 1;
        }
        free(a);
        return ret;
}

int fleetctl_wait_for_units(Fleetctl *f, char **names, const char *state,
                            const char *error_prefix) {
        return wait_for_units(f, names, state, error_prefix, false);
}
