/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>

#include "fleetctl-util.h"
#include "fleetctl-wait.h"
#include "fleetctl.h"
#include "log.h"

/* fleet-c's operations commands, which fleet never had: why. */

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

static const FlagSpec why_flags[] = {
        {"full", 0, FLAG_BOOL, offsetof(Fleetctl, full), NULL,
         "Do not ellipsize machine IDs in the output", false},
        {"l", 0, FLAG_BOOL, offsetof(Fleetctl, full), NULL, "Shorthand for --full", true},
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
};
const size_t fleetctl_n_ops_commands = ELEMENTSOF(fleetctl_ops_commands);
