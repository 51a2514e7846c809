/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>

#include <time.h>

#include "fleetctl-cordon.h"
#include "fleetctl-util.h"
#include "fleetctl-wait.h"
#include "fleetctl.h"
#include "log.h"
#include "strv.h"

/* fleet-c's operations commands, which fleet never had: why, cordon, uncordon, drain. */

/* why UNIT...: where each unit runs, or why it does not (the engine's reason). */
static int run_why(Fleetctl *f, char **args, size_t n_args) {
        int ret = 0;

        if (n_args == 0) {
                fleetctl_stderr("No units given");
                return 1;
        }
        for (size_t i = 0; i < n_args; i++) {
                _cleanup_(api_unit_done) ApiUnit u = {};
                _cleanup_free_ char *name = NULL, *line = NULL;
                ApiUnitState *s = NULL;
                size_t n = 0;
                int r;

                if (fleetctl_unit_name_mangle(args[i], &name) < 0)
                        return fleetctl_oom();
                r = api_client_get_unit(f->client, name, &u);
                if (r == -ENOENT) {
                        fleetctl_stderr("Unit %s not found", name);
                        ret = 1;
                        continue;
                }
                if (r >= 0)
                        r = api_client_list_unit_states(f->client, name, NULL, &s, &n);
                if (r < 0) {
                        fleetctl_stderr("Error retrieving Unit %s: %s", name,
                                        api_client_error(f->client));
                        ret = 1;
                        continue;
                }
                r = fleetctl_why_line(&u, api_unit_is_global(&u), s, n, f->full,
                                      fleetctl_machine_lookup, f, &line);
                api_unit_state_array_free(s, n);
                if (r < 0)
                        return fleetctl_oom();
                fleetctl_stdout("%s", line);
        }
        return ret;
}

/* ---- cordon, uncordon, drain ---- */

/* The machine named by arg (ID or unique prefix), in *ret (borrowed from f's machine list);
 * prints the error. */
static int resolve_machine(Fleetctl *f, const char *verb, const char *arg, const ApiMachine **ret) {
        _cleanup_free_ char *msg = NULL;
        int r;

        (void) fleetctl_machine_lookup("", f); /* loads the list */
        r = fleetctl_machine_resolve(f->machines, f->n_machines, arg, ret, &msg);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                fleetctl_stderr("Error %s machine: %s", verb, strempty(msg));
        return r;
}

/* As resolve_machine(), but also a machine whose lease expired and that still has units
 * scheduled (drain releases the units the engine holds there) or a cordon (uncordon lifts
 * it): a malloc'd ID in *ret_id, *ret_live whether it is in the machine list. */
static int resolve_machine_or_expired(Fleetctl *f, const char *verb, const char *arg, char **ret_id,
                                      bool *ret_live) {
        _cleanup_strv_free_ char **scheduled = NULL;
        _cleanup_free_ ApiMachine *all = NULL;
        _cleanup_free_ char *msg = NULL;
        const ApiMachine *m;
        ApiUnit *u = NULL;
        size_t n = 0, n_all = 0;
        int r;

        (void) fleetctl_machine_lookup("", f); /* loads the list */
        r = fleetctl_machine_resolve(f->machines, f->n_machines, arg, &m, &msg);
        if (r == -ENOENT || r == -EEXIST) {
                _cleanup_strv_free_ char **cordons = NULL;

                if (api_client_list_units(f->client, &u, &n) < 0) {
                        fleetctl_stderr("Error %s machine: %s", verb, api_client_error(f->client));
                        return -EIO;
                }
                for (size_t i = 0; r != -ENOMEM && i < n; i++)
                        if (u[i].machine_id && !strv_contains(scheduled, u[i].machine_id) &&
                            strv_extend(&scheduled, u[i].machine_id) < 0)
                                r = -ENOMEM;
                /* alternating ID, state */
                if (api_client_list_cordons(f->client, &cordons) >= 0)
                        for (size_t i = 0; r != -ENOMEM && cordons[i] && cordons[i + 1]; i += 2)
                                if (!strv_contains(scheduled, cordons[i]) &&
                                    strv_extend(&scheduled, cordons[i]) < 0)
                                        r = -ENOMEM;
                if (r != -ENOMEM)
                        r = fleetctl_machines_with(f->machines, f->n_machines, scheduled, &all,
                                                   &n_all);
                if (r >= 0) {
                        free(msg);
                        msg = NULL;
                        r = fleetctl_machine_resolve(all, n_all, arg, &m, &msg);
                }
        }
        if (r >= 0) {
                *ret_live = false;
                for (size_t i = 0; !*ret_live && i < f->n_machines; i++)
                        *ret_live = streq(strempty(f->machines[i].id), m->id);
                *ret_id = strdup(m->id);
                if (!*ret_id)
                        r = -ENOMEM;
        }
        api_unit_array_free(u, n);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                fleetctl_stderr("Error %s machine: %s", verb, strempty(msg));
        return r;
}

static int set_cordon(Fleetctl *f, const char *verb, const char *arg, bool draining,
                      const ApiMachine **ret) {
        const ApiMachine *m;
        int r;

        r = resolve_machine(f, verb, arg, &m);
        if (r < 0)
                return r;
        r = api_client_put_cordon(f->client, m->id, draining);
        if (r < 0) {
                fleetctl_stderr("Error %s machine %s: %s", verb, m->id,
                                r == -ENOENT ? "machine does not exist"
                                             : api_client_error(f->client));
                return r;
        }
        if (ret)
                *ret = m;
        return 0;
}

static int run_cordon(Fleetctl *f, char **args, size_t n_args) {
        int ret = 0;

        if (n_args == 0) {
                fleetctl_stderr("No machines given");
                return 1;
        }
        for (size_t i = 0; i < n_args; i++) {
                const ApiMachine *m;

                if (set_cordon(f, "cordoning", args[i], false, &m) < 0) {
                        ret = 1;
                        continue;
                }
                fleetctl_stdout("Machine %s cordoned", m->id);
        }
        return ret;
}

static int run_uncordon(Fleetctl *f, char **args, size_t n_args) {
        int ret = 0;

        if (n_args == 0) {
                fleetctl_stderr("No machines given");
                return 1;
        }
        for (size_t i = 0; i < n_args; i++) {
                _cleanup_free_ char *id = NULL;
                bool live;
                int r;

                if (resolve_machine_or_expired(f, "uncordoning", args[i], &id, &live) < 0) {
                        ret = 1;
                        continue;
                }
                r = api_client_delete_cordon(f->client, id);
                if (r < 0) {
                        fleetctl_stderr("Error uncordoning machine %s: %s", id,
                                        api_client_error(f->client));
                        ret = 1;
                        continue;
                }
                fleetctl_stdout("Machine %s uncordoned", id);
        }
        return ret;
}

/* One unit being moved off the drained machine. */
typedef struct Moving {
        char *name;
        FleetctlDrainStep step;
        bool left; /* its copy on the machine has stopped */
} Moving;

/* The non-global units scheduled on machine id, or still reported there. */
static int units_to_move(Fleetctl *f, const char *id, Moving **ret, size_t *ret_n) {
        ApiUnit *u = NULL;
        size_t n = 0, k = 0;
        Moving *mv;
        int r;

        r = api_client_list_units(f->client, &u, &n);
        if (r < 0)
                return r;
        mv = calloc(MAX(n, (size_t) 1), sizeof(*mv));
        if (!mv) {
                api_unit_array_free(u, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                if (!streq(strempty(u[i].machine_id), id) || api_unit_is_global(&u[i]))
                        continue;
                mv[k].name = TAKE_PTR(u[i].name);
                mv[k++].step = FLEETCTL_DRAIN_WAITING;
        }
        api_unit_array_free(u, n);
        *ret = mv;
        *ret_n = k;
        return 0;
}

/* Is unit name still reported on machine id? */
static bool reported_on(const ApiUnitState *s, size_t n, const char *name, const char *id) {
        for (size_t i = 0; i < n; i++)
                if (streq(strempty(s[i].name), name) && streq(strempty(s[i].machine_id), id))
                        return true;
        return false;
}

/* Poll once: update and print each unit's progress. Returns how many are still waiting. */
static size_t drain_poll(Fleetctl *f, const char *id, bool live, Moving *mv, size_t n,
                         size_t *failed) {
        ApiUnitState *s = NULL;
        size_t ns = 0, waiting = 0;

        if (api_client_list_unit_states(f->client, NULL, id, &s, &ns) < 0) {
                log_warning("Error retrieving unit states: %s", api_client_error(f->client));
                return n;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_(api_unit_done) ApiUnit u = {};
                _cleanup_free_ char *legend = NULL;
                bool on = reported_on(s, ns, mv[i].name, id);
                int r;

                if (mv[i].step != FLEETCTL_DRAIN_WAITING)
                        continue;
                r = api_client_get_unit(f->client, mv[i].name, &u);
                if (r < 0 && r != -ENOENT) {
                        waiting++;
                        continue;
                }
                if (!on && !mv[i].left) {
                        mv[i].left = true;
                        if (live)
                                fleetctl_stdout("Unit %s stopped on the drained machine",
                                                mv[i].name);
                }
                mv[i].step = fleetctl_drain_step(r == -ENOENT ? NULL : &u, id, on);
                switch (mv[i].step) {
                case FLEETCTL_DRAIN_MOVED:
                        legend = fleetctl_machine_legend_of(f, u.machine_id);
                        fleetctl_stdout("Unit %s %s on %s", mv[i].name, strempty(u.current_state),
                                        legend ? legend : u.machine_id);
                        break;
                case FLEETCTL_DRAIN_UNPLACED:
                        fleetctl_stderr("Unit %s cannot be placed elsewhere: %s", mv[i].name,
                                        strempty(u.reason));
                        (*failed)++;
                        break;
                case FLEETCTL_DRAIN_DESTROYED:
                        fleetctl_stdout("Unit %s was destroyed meanwhile", mv[i].name);
                        break;
                case FLEETCTL_DRAIN_DEACTIVATED:
                        fleetctl_stdout("Unit %s was unloaded meanwhile", mv[i].name);
                        break;
                default:
                        waiting++;
                }
        }
        api_unit_state_array_free(s, ns);
        return waiting;
}

/* Wait until every unit has moved (or cannot): 0, or 1 after saying why not. */
static int drain_wait(Fleetctl *f, const char *id, bool live, Moving *mv, size_t n) {
        size_t failed = 0, waiting = n;

        for (int attempt = 1; waiting > 0; attempt++) {
                uint64_t deadline = clock_now_usec(CLOCK_MONOTONIC) + WAIT_ATTEMPT_USEC;

                do {
                        waiting = drain_poll(f, id, live, mv, n, &failed);
                        if (waiting == 0)
                                break;
                        fleetctl_sleep_usec(WAIT_POLL_USEC);
                } while (clock_now_usec(CLOCK_MONOTONIC) < deadline);
                if (f->block_attempts > 0 && attempt >= f->block_attempts)
                        break;
        }
        if (waiting > 0) {
                fleetctl_stderr("Error draining machine %s: timed out with %zu unit%s still to "
                                "move",
                                id, waiting, waiting == 1 ? "" : "s");
                return 1;
        }
        if (failed > 0) {
                fleetctl_stderr("Machine %s drained, but %zu unit%s could not be placed elsewhere",
                                id, failed, failed == 1 ? "" : "s");
                return 1;
        }
        fleetctl_stdout("Machine %s drained", id);
        return 0;
}

static int run_drain(Fleetctl *f, char **args, size_t n_args) {
        _cleanup_free_ char *id = NULL;
        Moving *mv = NULL;
        size_t n = 0;
        bool live;
        int r, ret;

        if (n_args != 1) {
                fleetctl_stderr("One machine must be given");
                return 1;
        }
        if (resolve_machine_or_expired(f, "draining", args[0], &id, &live) < 0)
                return 1;
        /* Before the cordon: the engine unschedules them as soon as it sees it. */
        r = units_to_move(f, id, &mv, &n);
        if (r < 0) {
                fleetctl_stderr("Error listing units: %s",
                                r == -ENOMEM ? "out of memory" : api_client_error(f->client));
                return 1;
        }
        r = api_client_put_cordon(f->client, id, true);
        if (r < 0) {
                fleetctl_stderr("Error draining machine %s: %s", id,
                                r == -ENOENT ? "machine does not exist"
                                             : api_client_error(f->client));
                ret = 1;
        } else {
                /* A machine whose lease expired: its units are released where the engine held
                 * them (the majority rule), or were moving already. */
                fleetctl_stdout("Draining %smachine %s: %zu unit%s to move", live ? "" : "expired ",
                                id, n, n == 1 ? "" : "s");
                ret = f->no_block ? 0 : drain_wait(f, id, live, mv, n);
        }
        for (size_t i = 0; i < n; i++)
                free(mv[i].name);
        free(mv);
        return ret;
}

static const FlagSpec why_flags[] = {
        {"full", 0, FLAG_BOOL, offsetof(Fleetctl, full), NULL,
         "Do not ellipsize machine IDs in the output", false},
        {"l", 0, FLAG_BOOL, offsetof(Fleetctl, full), NULL, "Shorthand for --full", true},
};

static const FlagSpec drain_flags[] = {
        {"block-attempts", 0, FLAG_INT, offsetof(Fleetctl, block_attempts), "0",
         "Wait until the units have moved, performing up to N attempts (2 s each) before "
         "giving up. A value of 0 indicates no limit.",
         false},
        {"no-block", 0, FLAG_BOOL, offsetof(Fleetctl, no_block), NULL,
         "Cordon the machine and start the drain, but do not wait for the units to move.", false},
};

const Command fleetctl_ops_commands[] = {
        {"why", "[-l|--full] UNIT...", "Explain where units run, or why they do not (fleet-c)",
         "For each unit, print where it runs and what systemd there reports, or why it\n"
         "does not run: the engine's reason for a unit it cannot place (the constraint\n"
         "that fails, how many machines were checked, an example conflict), a desired\n"
         "state of inactive, or a unit still waiting for the engine. Global units list\n"
         "every machine that reports them.\n\n"
         "Exits 1 if a unit does not exist.\n\n"
         "\tfleetctl why db.service\n"
         "\tdb.service: not scheduled: no machine satisfies MachineMetadata region=ap "
         "(3 machines checked)",
         why_flags, ELEMENTSOF(why_flags), run_why, true},
        {"cordon", "MACHINE...", "Keep new units off one or more machines (fleet-c)",
         "Mark machines unschedulable: the engine places no new unit there, while the units\n"
         "already there keep running and global units still run there. The cordon is kept\n"
         "in etcd and survives restarts of fleetd and of the machine, until uncordon.\n\n"
         "MACHINE is a machine ID or a unique prefix of one, as fleetctl ssh takes it.\n\n"
         "\tfleetctl cordon 586c13e0",
         NULL, 0, run_cordon, true},
        {"drain", "[--no-block|--block-attempts=N] MACHINE",
         "Move every non-global unit off a machine, and cordon it (fleet-c)",
         "Cordon the machine and move every unit that is not global to other machines.\n"
         "Each unit is stopped on the drained machine (ExecStop= runs) before it starts\n"
         "elsewhere; Conflicts and MachineOf are respected, a unit and its MachineOf\n"
         "sidekick move together. Global units keep running there.\n\n"
         "fleetctl waits until every unit has moved, printing each step, unless --no-block.\n"
         "It exits 1 if a unit cannot be placed on any other machine (it is stopped and its\n"
         "reason printed) or if --block-attempts runs out. uncordon lets units come back.\n\n"
         "MACHINE is a machine ID or a unique prefix of one. It may be a machine whose\n"
         "lease expired and that still has units scheduled: when the engine holds them\n"
         "there (more than half of the machines expired together), draining it releases\n"
         "them and they are placed elsewhere now.\n\n"
         "\tfleetctl drain 586c13e0",
         drain_flags, ELEMENTSOF(drain_flags), run_drain, true},
        {"uncordon", "MACHINE...", "Let the engine place units on machines again (fleet-c)",
         "Lift the cordon (or the drain) of machines: the engine may place new units there\n"
         "again. Units that moved away do not move back (units never move for balance).\n\n"
         "MACHINE is a machine ID or a unique prefix of one.",
         NULL, 0, run_uncordon, true},
};
const size_t fleetctl_n_ops_commands = ELEMENTSOF(fleetctl_ops_commands);
