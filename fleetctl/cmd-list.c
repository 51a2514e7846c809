/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleetctl-cordon.h"
#include "fleetctl-table.h"
#include "fleetctl-util.h"
#include "fleetctl.h"
#include "log.h"
#include "strv.h"

/* list-machines, list-units, list-unit-files (reference 11.6). */

static int parse_fields(Fleetctl *f, const char *const *valid, char ***ret) {
        _cleanup_free_ char *msg = NULL;
        int r = fleetctl_fields_parse(f->fields, valid, ret, &msg);

        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                fleetctl_stderr("%s", msg);
        return r;
}

static int add_header(Table *t, char **cols, bool no_legend) {
        _cleanup_strv_free_ char **upper = strv_copy(cols);

        if (!upper)
                return -ENOMEM;
        if (no_legend)
                return 0;
        STRV_FOREACH(c, upper)
                for (char *p = *c; *p; p++)
                        *p = (char) (*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        return table_add_row(t, (const char *const *) upper, strv_length(upper));
}

static int print_table(Table *t) {
        _cleanup_free_ char *text = NULL;
        int r = table_format(t, &text);

        table_done(t);
        if (r < 0)
                return log_oom();
        fputs(text, stdout);
        return 0;
}

/* A row of cells produced by a callback per column. */
typedef int (*CellFn)(const void *item, const char *field, Fleetctl *f, void *extra, char **ret);

static int add_row(Table *t, char **cols, CellFn cell, const void *item, Fleetctl *f, void *extra) {
        _cleanup_strv_free_ char **cells = NULL;

        STRV_FOREACH(c, cols) {
                char *s = NULL;
                int r = cell(item, *c, f, extra, &s);
                if (r < 0 || strv_consume(&cells, s) < 0)
                        return -ENOMEM;
        }
        return table_add_row(t, (const char *const *) cells, strv_length(cells));
}

static int machine_cell(const void *item, const char *field, Fleetctl *f, void *extra, char **ret) {
        const char *state;

        if (!streq(field, "state"))
                return fleetctl_machine_field(item, field, f->full, ret);
        /* fleet-c: the machine's cordon ("cordoned", "draining"), "-" without one */
        state = fleetctl_cordon_state(extra, ((const ApiMachine *) item)->id);
        *ret = strdup(state ? state : "-");
        return *ret ? 0 : -ENOMEM;
}

static int run_list_machines(Fleetctl *f, char **args, size_t n_args) {
        _cleanup_strv_free_ char **cols = NULL, **cordons = NULL;
        ApiMachine *m = NULL;
        size_t n = 0;
        Table t = {};
        int r;

        if (parse_fields(f, fleetctl_list_machines_fields, &cols) < 0)
                return 1;
        r = api_client_list_machines(f->client, &m, &n);
        if (r < 0) {
                fleetctl_stderr("Error retrieving list of active machines from fleet API (%s)\n"
                                "Possible issues:\n"
                                "  etcd is unhealthy and/or lost quorum\n"
                                "  connection cannot be established to any etcd servers",
                                r == -ENOMEM ? "out of memory" : api_client_error(f->client));
                return 1;
        }
        /* Only when asked for: fleet's own API has no cordons. */
        if (strv_contains(cols, "state") && api_client_list_cordons(f->client, &cordons) < 0) {
                fleetctl_stderr("Error retrieving cordons from fleet API: %s",
                                api_client_error(f->client));
                api_machine_array_free(m, n);
                return 1;
        }
        fleetctl_sort_machines(m, n);
        r = add_header(&t, cols, f->no_legend);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = add_row(&t, cols, machine_cell, &m[i], f, cordons);
        api_machine_array_free(m, n);
        if (r < 0) {
                table_done(&t);
                return fleetctl_oom();
        }
        return print_table(&t) < 0;
}

static int state_cell(const void *item, const char *field, Fleetctl *f, void *extra, char **ret) {
        return fleetctl_unit_state_field(item, field, f->full, fleetctl_machine_lookup, f, ret);
}

static int run_list_units(Fleetctl *f, char **args, size_t n_args) {
        _cleanup_strv_free_ char **cols = NULL;
        ApiUnitState *s = NULL;
        size_t n = 0;
        Table t = {};
        int r;

        if (parse_fields(f, fleetctl_list_units_fields, &cols) < 0)
                return 1;
        r = api_client_list_unit_states(f->client, NULL, NULL, &s, &n);
        if (r < 0) {
                fleetctl_stderr("Error retrieving list of units from repository: %s",
                                r == -ENOMEM ? "out of memory" : api_client_error(f->client));
                return 1;
        }
        fleetctl_sort_unit_states(s, n);
        r = add_header(&t, cols, f->no_legend);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = add_row(&t, cols, state_cell, &s[i], f, NULL);
        api_unit_state_array_free(s, n);
        if (r < 0) {
                table_done(&t);
                return fleetctl_oom();
        }
        return print_table(&t) < 0;
}

static int unit_file_cell(const void *item, const char *field, Fleetctl *f, void *extra,
                          char **ret) {
        return fleetctl_unit_file_field(item, extra, field, f->full, fleetctl_machine_lookup, f,
                                        ret);
}

/* What list-unit-files derives from a unit's options: Global, hash, Description. */
static int unit_file_info(const ApiUnit *u, char hash[static UNIT_HASH_HEX_LEN + 1],
                          UnitFileInfo *ret) {
        int r = api_unit_hash(u, hash);

        if (r < 0)
                return r;
        *ret = (UnitFileInfo){.global = api_unit_is_global(u), .hash = hash};
        for (size_t i = 0; i < u->n_options; i++)
                if (streq(strempty(u->options[i].section), "Unit") &&
                    streq(strempty(u->options[i].name), "Description")) {
                        ret->description = u->options[i].value;
                        break;
                }
        return 0;
}

static int run_list_unit_files(Fleetctl *f, char **args, size_t n_args) {
        _cleanup_strv_free_ char **cols = NULL;
        ApiUnit *u = NULL;
        size_t n = 0;
        Table t = {};
        int r;

        if (parse_fields(f, fleetctl_list_unit_files_fields, &cols) < 0)
                return 1;
        if (strv_contains(cols, "tmachine"))
                fleetctl_stderr("WARNING: The \"tmachine\" field is deprecated. Use \"target\" "
                                "instead");
        r = api_client_list_units(f->client, &u, &n);
        if (r < 0) {
                fleetctl_stderr("Error retrieving list of units from repository: %s",
                                r == -ENOMEM ? "out of memory" : api_client_error(f->client));
                return 1;
        }
        fleetctl_sort_units(u, n);
        r = add_header(&t, cols, f->no_legend);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char hash[UNIT_HASH_HEX_LEN + 1];
                UnitFileInfo info;

                r = unit_file_info(&u[i], hash, &info);
                if (r >= 0)
                        r = add_row(&t, cols, unit_file_cell, &u[i], f, &info);
        }
        api_unit_array_free(u, n);
        if (r < 0) {
                table_done(&t);
                return fleetctl_oom();
        }
        return print_table(&t) < 0;
}

#define FLAG_FULL(what)                                                                            \
        {"full",    'l',                                                                           \
         FLAG_BOOL, offsetof(Fleetctl, full),                                                      \
         NULL,      "Do not ellipsize fields on output",                                           \
         false},                                                                                   \
        {                                                                                          \
                "l", 0, FLAG_BOOL, offsetof(Fleetctl, full), NULL, "Shorthand for --full", true    \
        }
#define FLAG_NO_LEGEND                                                                             \
        {                                                                                          \
                "no-legend", 0, FLAG_BOOL, offsetof(Fleetctl, no_legend), NULL,                    \
                        "Do not print a legend (column headers)", false                            \
        }

static const FlagSpec machines_flags[] = {
        FLAG_FULL(machines),
        FLAG_NO_LEGEND,
        {"fields", 0, FLAG_STRING, offsetof(Fleetctl, fields), FLEETCTL_LIST_MACHINES_DEFAULT,
         "Columns to print for each Machine. Valid fields are \"machine,ip,metadata,state\"",
         false},
};

static const FlagSpec units_flags[] = {
        FLAG_FULL(units),
        FLAG_NO_LEGEND,
        {"fields", 0, FLAG_STRING, offsetof(Fleetctl, fields), FLEETCTL_LIST_UNITS_DEFAULT,
         "Columns to print for each Unit. Valid fields are "
         "\"active,hash,load,machine,sub,unit\"",
         false},
};

static const FlagSpec unit_files_flags[] = {
        FLAG_FULL(unit_files),
        FLAG_NO_LEGEND,
        {"fields", 0, FLAG_STRING, offsetof(Fleetctl, fields), FLEETCTL_LIST_UNIT_FILES_DEFAULT,
         "Columns to print for each Unit file. Valid fields are "
         "\"desc,dstate,global,hash,reason,state,target,tmachine,unit\"",
         false},
};

const Command fleetctl_list_commands[] = {
        {"list-machines", "[-l|--full] [--no-legend] [--fields=...]",
         "Enumerate the current hosts in the cluster",
         "Lists all active machines within the cluster. Previously active machines will not "
         "appear in this list.\n\n"
         "For easily parsable output, you can remove the column headers:\n"
         "\tfleetctl list-machines --no-legend\n\n"
         "Output the list without truncation:\n\tfleetctl list-machines --full",
         machines_flags, ELEMENTSOF(machines_flags), run_list_machines, true},
        {"list-unit-files", "[-l|--full] [--no-legend] [--fields=...]",
         "List the units that exist in the cluster.",
         "Lists all unit files that exist in the cluster (whether or not they are loaded onto a "
         "machine).",
         unit_files_flags, ELEMENTSOF(unit_files_flags), run_list_unit_files, true},
        {"list-units", "[-l|--full] [--no-legend] [--fields=...]",
         "List the current state of units in the cluster",
         "Lists the state of all units in the cluster loaded onto a machine.\n\n"
         "For easily parsable output, you can remove the column headers:\n"
         "\tfleetctl list-units --no-legend\n\n"
         "Output the list without ellipses:\n\tfleetctl list-units --full\n\n"
         "Or, choose the columns to display:\n\tfleetctl list-units --fields=unit,machine",
         units_flags, ELEMENTSOF(units_flags), run_list_units, true},
};
const size_t fleetctl_n_list_commands = ELEMENTSOF(fleetctl_list_commands);
