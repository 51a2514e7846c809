/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>

#include "fleetctl-util.h"
#include "fleetctl.h"
#include "log.h"
#include "unit-file.h"

/* cat UNIT: the unit's normalized serialization (reference 5.4, 11.5). */
static int run_cat(Fleetctl *f, char **args, size_t n_args) {
        _cleanup_(api_unit_done) ApiUnit u = {};
        _cleanup_(unit_file_freep) UnitFile *uf = NULL;
        _cleanup_free_ char *name = NULL, *text = NULL;
        int r;

        if (n_args != 1) {
                fleetctl_stderr("One unit file must be provided");
                return 1;
        }
        if (fleetctl_unit_name_mangle(args[0], &name) < 0)
                return fleetctl_oom();
        r = api_client_get_unit(f->client, name, &u);
        if (r == -ENOENT) {
                fleetctl_stderr("Unit %s not found", name);
                return 1;
        }
        if (r < 0) {
                fleetctl_stderr("Error retrieving Unit %s: %s", name, api_client_error(f->client));
                return 1;
        }
        if (api_unit_to_unit_file(&u, &uf) < 0 || unit_file_serialize(uf, &text) < 0)
                return fleetctl_oom();
        fputs(text, stdout);
        return 0;
}

const Command fleetctl_cat_commands[] = {
        {"cat", "UNIT", "Output the contents of a submitted unit",
         "Outputs the unit file that is currently loaded in the cluster. Useful to verify\n"
         "the correct version of a unit is running.",
         NULL, 0, run_cat, true},
};
const size_t fleetctl_n_cat_commands = ELEMENTSOF(fleetctl_cat_commands);
