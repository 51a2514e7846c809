/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * State shared by fleetctl's commands: the parsed options, the API client and the machine list
 * fetched once per invocation. main.c owns it; each cmd-*.c implements a command group.
 */

#include <stdbool.h>
#include <stddef.h>

#include "api-client.h"
#include "api-json.h"
#include "fleetctl-args.h"
#include "fleetctl-wait.h"
#include "log.h"
#include "macro.h"
#include "unit-file.h"

typedef struct Fleetctl {
        /* global flags (reference 11.1) */
        bool help;
        bool debug;
        bool version;
        char *driver;
        char *endpoint;
        char *etcd_key_prefix;
        char *key_file;
        char *cert_file;
        char *ca_file;
        char *known_hosts_file;
        bool strict_host_key_checking;
        double ssh_timeout;
        char *tunnel;
        double request_timeout;
        char *ssh_username;
        bool experimental_api;

        /* command flags */
        bool full;
        bool no_legend;
        char *fields;
        bool no_block;
        int block_attempts;
        bool replace;
        bool sign;
        int ssh_port;
        char *machine;
        char *unit;
        bool forward_agent;
        int lines;
        bool follow;
        bool sudo;
        char *output;
        bool rolling;        /* start --rolling (fleet-c) */
        int max_unavailable; /* rolling-restart, start --rolling (fleet-c) */
        double min_healthy;

        /* runtime */
        const char *command; /* name of the running command */
        ApiClient *client;
        ApiMachine *machines;
        size_t n_machines;
        bool machines_loaded;
        char *local_machine_id; /* /etc/machine-id, loaded lazily */
        bool local_machine_id_loaded;
} Fleetctl;

typedef int (*CommandRun)(Fleetctl *f, char **args, size_t n_args);

typedef struct Command {
        const char *name;
        const char *usage;
        const char *summary;
        const char *description;
        const FlagSpec *flags;
        size_t n_flags;
        CommandRun run;
        bool needs_client;
} Command;

/* The command tables of each group. */
extern const Command fleetctl_unit_commands[];
extern const size_t fleetctl_n_unit_commands;
extern const Command fleetctl_list_commands[];
extern const size_t fleetctl_n_list_commands;
extern const Command fleetctl_cat_commands[];
extern const size_t fleetctl_n_cat_commands;
extern const Command fleetctl_remote_commands[];
extern const size_t fleetctl_n_remote_commands;
extern const Command fleetctl_ops_commands[];
extern const size_t fleetctl_n_ops_commands;
extern const Command fleetctl_rolling_commands[];
extern const size_t fleetctl_n_rolling_commands;

/* Flags shared by several commands, defined in cmd-units.c. */
#define FLAG_NO_BLOCK                                                                              \
        {                                                                                          \
                "no-block", 0, FLAG_BOOL, offsetof(Fleetctl, no_block), NULL,                      \
                        "Do not wait until the units have reached their target state before "      \
                        "exiting.",                                                                \
                        false                                                                      \
        }
#define FLAG_BLOCK_ATTEMPTS                                                                        \
        {                                                                                          \
                "block-attempts", 0, FLAG_INT, offsetof(Fleetctl, block_attempts), "0",            \
                        "Wait until the units reach their target state, performing up to N "       \
                        "attempts before "                                                         \
                        "giving up. A value of 0 indicates no limit. Does not apply to global "    \
                        "units.",                                                                  \
                        false                                                                      \
        }
#define FLAG_SSH_PORT                                                                              \
        {                                                                                          \
                "ssh-port", 0, FLAG_INT, offsetof(Fleetctl, ssh_port), "22",                       \
                        "Connect to remote hosts over SSH using this TCP port.", false             \
        }

/* printf to stdout/stderr with a newline appended unless the text ends in one (fleet's
 * stdout()/stderr() helpers). */
void fleetctl_stdout(const char *fmt, ...) _printf_(1, 2);
void fleetctl_stderr(const char *fmt, ...) _printf_(1, 2);

/* Report an allocation failure; returns exit status 1. */
static inline int fleetctl_oom(void) {
        (void) log_oom();
        return 1;
}

/* The machine list, fetched on first use; errors leave it empty (fleet ignores them too). */
const ApiMachine *fleetctl_machine_lookup(const char *id, void *userdata);

/* Machine legend with IP for a unit's machine ("113f16a7.../10.0.0.1"), or NULL when
 * unknown. */
char *fleetctl_machine_legend_of(Fleetctl *f, const char *machine_id);

/* ---- unit helpers (units.c) ---- */

/* The options of an API unit as a UnitFile. */
int api_unit_to_unit_file(const ApiUnit *u, UnitFile **ret);
/* Fill u's options from a unit file. */
int api_unit_set_options(ApiUnit *u, const UnitFile *uf);
/* [X-Fleet] Global=true (fleet's suToGlobal). */
bool api_unit_is_global(const ApiUnit *u);
/* SHA-1 of the options as sent. */
int api_unit_hash(const ApiUnit *u, char ret[static UNIT_HASH_HEX_LEN + 1]);

/* The units of the registry named by args (mangled); missing ones are skipped silently. */
int fleetctl_find_units(Fleetctl *f, char **args, size_t n_args, ApiUnit **ret, size_t *ret_n);

/* submit/load/start: make sure each unit exists, creating it from local files or templates
 * (reference 11.3). On failure prints nothing; returns <0 with *reterr set. */
int fleetctl_lazy_create_units(Fleetctl *f, char **args, size_t n_args, char **reterr);

/* Read and parse a local unit file (fleet's messages in *reterr on failure). */
int fleetctl_read_unit_file(const char *path, UnitFile **ret, char **reterr);
/* Validate uf as createUnit does and PUT it as name's content (create or replace), with the
 * desired state desired in the same request (NULL: none, i.e. inactive). */
int fleetctl_put_unit_file(Fleetctl *f, const char *name, const UnitFile *uf, const char *desired,
                           char **reterr);
/* start --replace --rolling (cmd-rolling.c). Returns the exit status. */
int fleetctl_rolling_update(Fleetctl *f, char **args, size_t n_args);

/* Set the desired state of each (mangled) unit; units already there are skipped. The changed
 * units are returned. */
int fleetctl_set_target_states(Fleetctl *f, char **args, size_t n_args, const char *state,
                               ApiUnit **ret, size_t *ret_n, char **reterr);

/* Block until each named unit reports state (desired state for global units, current state
 * otherwise), printing "Unit <n> <state>[ on <machine>]". Honours --block-attempts (not
 * --no-block: callers decide whether to wait). Stops waiting for a unit that was destroyed,
 * whose desired state someone else changed, or that the engine cannot place (its reason
 * unchanged for a second), printing why (fleetctl-wait.h). Returns 0, or 1 after printing
 * "<error_prefix>: timed out waiting for unit ..." for each unit that did not get there, or
 * why it stopped waiting. */
int fleetctl_wait_for_units(Fleetctl *f, char **names, const char *state, const char *error_prefix);

/* ---- remote commands (cmd-remote.c) ---- */

/* Set in ssh's environment: a fleetctl started with it and one argument is ssh's askpass. */
#define FLEETCTL_ASKPASS_ENV "_FLEETCTL_ASKPASS"

/* As ssh's askpass program: answer prompt (fleet's host-key question from stdin, anything else
 * on the terminal without echo) on stdout. Returns the exit status. */
int fleetctl_askpass_main(const char *prompt);

/* Run argv on machine_id: locally when it is this machine, else over ssh to its public IP.
 * Returns the command's exit code (255 when it could not be run). */
int fleetctl_run_on_machine(Fleetctl *f, const char *machine_id, char **argv);
