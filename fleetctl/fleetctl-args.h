/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * fleetctl's command line, parsed the way fleet's cobra/pflag parser does (reference 11.1):
 * long flags "--name", "--name=value" or "--name value", bool flags "--name" or
 * "--name=false" (Go's strconv.ParseBool spellings), shorthand clusters "-Af", flags anywhere
 * among the arguments, "--" ends the flags. Global flags may also come from FLEETCTL_<NAME>
 * environment variables (name upper-cased, '-' -> '_'; empty values ignored; the command line
 * wins). Unlike fleet, every parse error is reported to the caller, so fleetctl exits non-zero.
 *
 * Values are stored into a caller-owned options struct at the offsets the specs name. Pure.
 */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

typedef enum FlagType {
        FLAG_BOOL,   /* bool */
        FLAG_STRING, /* char *, malloc'd; freed by flags_free() */
        FLAG_INT,    /* int */
        FLAG_DOUBLE, /* double */
} FlagType;

typedef struct FlagSpec {
        const char *name; /* long name without dashes */
        char shorthand;   /* single-dash letter, or 0 */
        FlagType type;
        size_t offset;     /* of the member in the options struct */
        const char *def;   /* default value as text; NULL means false / NULL / 0 */
        const char *usage; /* one line for help */
        bool hidden;       /* deprecated alias: accepted, not listed in help */
} FlagSpec;

/* A set of flags: a command's own, or the global ones. */
typedef struct FlagSet {
        const FlagSpec *specs;
        size_t n;
} FlagSet;

/* Store text as the value of spec (parsing it per type). 0, or -EINVAL with a pflag-style
 * message ("invalid argument \"x\" for --block-attempts: ..."), or -ENOMEM. */
int flag_set_value(const FlagSpec *spec, const char *text, void *opts, char **reterr_message);

/* Apply every spec's default. 0 or -ENOMEM. */
int flags_set_defaults(const FlagSet *set, void *opts);

/* Free the strings the specs point at in opts and NULL them. */
void flags_free(const FlagSet *set, void *opts);

/* Environment lookup, getenv() in production. */
typedef const char *(*EnvLookup)(const char *name);

/* "FLEETCTL" + "ssh-username" -> "FLEETCTL_SSH_USERNAME" (malloc'd), or NULL on OOM. */
char *flag_env_name(const char *prefix, const char *flag_name);

/* For each spec, if <prefix>_<NAME> is set and non-empty, store it. A bad value is -EINVAL
 * with a message naming the variable. */
int flags_apply_env(const FlagSet *set, const char *prefix, EnvLookup lookup, void *opts,
                    char **reterr_message);

/*
 * Index (into argv, 1..argc-1) of the first positional argument, i.e. the command name,
 * skipping global flags and their values; -1 if there is none. A "--" ends the search.
 */
int args_find_command(int argc, char *const *argv, const FlagSet *global);

/*
 * The same, where a command's flag may come before the command name, as fleet's cobra parser
 * allows (`fleetctl --ssh-port 2222 ssh X`): a flag that is not global but takes a value in
 * any of the n_cmds command flag sets has its value skipped.
 */
int args_find_command_in(int argc, char *const *argv, const FlagSet *global, const FlagSet *cmds,
                         size_t n_cmds);

/*
 * Parse argv[1..argc-1] against the global and the command's flags (cmd may be NULL).
 * skip_index (or -1) names one argv entry to drop, the command name. Positional arguments are
 * returned in order as a NULL-terminated array of borrowed argv pointers (free only the array).
 * Errors are -EINVAL with cobra/pflag's wording: "unknown flag: --x",
 * "unknown shorthand flag: 'x' in -x", "flag needs an argument: --fields",
 * "invalid argument ...". -ENOMEM on OOM.
 */
int args_parse(int argc, char *const *argv, int skip_index, const FlagSet *global,
               const FlagSet *cmd, void *opts, char ***ret_args, size_t *ret_n_args,
               char **reterr_message);

/* Go's strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False. -EINVAL otherwise. */
int parse_go_bool(const char *s, bool *ret);
