/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * fleetctl's pure helpers (reference 11): unit-argument mangling, endpoint and tunnel
 * parsing, machine legends, --fields selection and the cells of list-units, list-unit-files and
 * list-machines, the --replace state matrix, Go-style formatting of messages, and the command
 * lines fleetctl hands to ssh or runs locally. No I/O except where a function says so.
 */

#include <stdbool.h>
#include <stddef.h>

#include "api-json.h"
#include "macro.h"

/* ---- unit arguments (reference 11.3) ---- */

/* True if name ends in ".<t>" for a type the agent runs: service socket timer path device mount
 * automount. */
bool fleetctl_unit_type_recognized(const char *name);

/* Append ".service" unless the type is recognized (applied to a path, it keeps the directory). */
int fleetctl_append_default_type(const char *arg, char **ret);

/* Go's path.Base: "" -> ".", trailing slashes dropped, "///" -> "/". */
int fleetctl_path_base(const char *path, char **ret);
/* Go's path.Dir on the argument (used to find a template next to an instance argument). */
int fleetctl_path_dir(const char *path, char **ret);

/* unitNameMangle: base name of the argument plus the default type. */
int fleetctl_unit_name_mangle(const char *arg, char **ret);

/* --replace: may a unit whose desired state is state be replaced by command ("submit",
 * "load", "start")? submit: inactive; load: + loaded; start: + launched. */
bool fleetctl_replace_allowed(const char *command, const char *desired_state);

/* ---- endpoints (reference 11.1) ---- */

typedef struct FleetctlEndpoint {
        bool unix_socket;
        char *socket_path; /* unix_socket */
        char *base_url;    /* "http://host:port" without trailing slash, or "http://domain-sock" */
        char *host;        /* host for a TCP endpoint (for ssh -W), else NULL */
        int port;          /* port for a TCP endpoint (default 80 / 443) */
} FleetctlEndpoint;

void fleetctl_endpoint_done(FleetctlEndpoint *e);

/* Parse one endpoint: "unix:///path", "file:///path", "http://host[:port]", "https://...".
 * Errors (-EINVAL, with fleet's messages): "URL scheme undefined",
 * "unable to connect to host \"var\" with scheme \"unix\"", "unsupported URL scheme \"x\"". */
int fleetctl_endpoint_parse(const char *s, FleetctlEndpoint *ret, char **reterr_message);

/* Split a comma-separated endpoint list (empty items dropped). */
int fleetctl_endpoint_list(const char *s, char ***ret);

/* --tunnel: ":22" appended when there is no colon. */
int fleetctl_tunnel_normalize(const char *tunnel, char **ret);

/* Split "host:port" (or "[v6]:port"); the port defaults to def. */
int fleetctl_split_host_port(const char *s, int def, char **ret_host, int *ret_port);

/* "~" and "~user" at the start of a path, as fleet expands --known-hosts-file. home is $HOME;
 * other users are looked up with getpwnam(). */
int fleetctl_expand_tilde(const char *path, const char *home, char **ret);

/* ---- output helpers (reference 11.6) ---- */

/* "0123abcd..." or the full ID; "/<ip>" appended when ip is non-empty and with_ip is set. */
int fleetctl_machine_legend(const char *id, const char *ip, bool full, bool with_ip, char **ret);

/* "k=v,k2=v2" sorted by key from a key/value strv, or "-" when empty. */
int fleetctl_format_metadata(char *const *kv, char **ret);

/* Go's %q of a plain string (quotes, backslash escapes). */
int fleetctl_go_quote(const char *s, char **ret);

/* Go's %v of a []string: "[a b c]". */
int fleetctl_go_strv(char *const *l, char **ret);

/* Look up a machine (from the machine list fetched once per invocation); NULL if unknown. */
typedef const ApiMachine *(*MachineLookup)(const char *id, void *userdata);

/* --fields: split on ',' and check every name against valid (NULL-terminated). Errors with
 * fleet's messages: "Must define output format", "Invalid key in output format: \"x\"". */
int fleetctl_fields_parse(const char *spec, const char *const *valid, char ***ret,
                          char **reterr_message);

extern const char *const fleetctl_list_units_fields[];
extern const char *const fleetctl_list_unit_files_fields[];
extern const char *const fleetctl_list_machines_fields[];
#define FLEETCTL_LIST_UNITS_DEFAULT "unit,machine,active,sub"
#define FLEETCTL_LIST_UNIT_FILES_DEFAULT "unit,hash,dstate,state,target"
#define FLEETCTL_LIST_MACHINES_DEFAULT "machine,ip,metadata"

/* The cell of one list-units field for state s. */
int fleetctl_unit_state_field(const ApiUnitState *s, const char *field, bool full,
                              MachineLookup lookup, void *userdata, char **ret);

/* What list-unit-files derives from a unit's options (computed by the caller). */
typedef struct UnitFileInfo {
        bool global;
        const char *hash;        /* 40 hex */
        const char *description; /* first [Unit] Description, or NULL */
} UnitFileInfo;

int fleetctl_unit_file_field(const ApiUnit *u, const UnitFileInfo *info, const char *field,
                             bool full, MachineLookup lookup, void *userdata, char **ret);

int fleetctl_machine_field(const ApiMachine *m, const char *field, bool full, char **ret);

/* Sorters for the list commands: states by (name, machine), units by name, machines by ID. */
void fleetctl_sort_unit_states(ApiUnitState *s, size_t n);
void fleetctl_sort_units(ApiUnit *u, size_t n);
void fleetctl_sort_machines(ApiMachine *m, size_t n);

/* ---- remote commands (reference 11.7) ---- */

/* Quote one word for a POSIX shell: unchanged if it only has safe characters, else in single
 * quotes. */
int fleetctl_shell_quote(const char *s, char **ret);

/* argv joined with spaces, every word shell-quoted: the command string ssh sends. */
int fleetctl_shell_join(char *const *argv, char **ret);

typedef struct SshOptions {
        const char *user; /* --ssh-username */
        int port;         /* --ssh-port */
        double timeout;   /* --ssh-timeout, seconds */
        bool strict_host_key_checking;
        const char *known_hosts_file; /* already expanded */
        const char *tunnel;           /* normalized "host:port", or NULL */
        bool forward_agent;
        int tty; /* 1: -t, 0: -T, -1: neither */
} SshOptions;

/*
 * The argv for the system ssh client that reaches host (an IP or name) and runs command (NULL:
 * an interactive shell). A tunnel becomes a ProxyCommand ssh -W through the tunnel host with the
 * same options. forward (NULL or "host:port") replaces the command by "-W forward" (stdio
 * forwarding, for --tunnel to a TCP endpoint).
 */
int fleetctl_ssh_argv(const SshOptions *o, const char *host, const char *command,
                      const char *forward, char ***ret);

/*
 * fleetctl is ssh's SSH_ASKPASS program (SSH_ASKPASS_REQUIRE=force) so that, as in fleet, the
 * answer to an unknown host key's "Are you sure you want to continue connecting" comes from
 * stdin. For that prompt and the line read, *ret is what to tell ssh: "yes" for "yes" or "y"
 * (fleet's answers), "no" for anything else; 0. -EOPNOTSUPP for any other prompt (a
 * passphrase: asked on the terminal instead).
 */
int fleetctl_askpass_answer(const char *prompt, const char *line, const char **ret);

/*
 * Semantic versions (semver 2.0.0 precedence, as fleet's go-semver): "1.2.3", "1.0.0-rc.1",
 * build metadata ("+abc") ignored. *ret is <0, 0 or >0 as a is lower, equal or higher.
 * -EINVAL if either is not a version.
 */
int fleetctl_semver_compare(const char *a, const char *b, int *ret);

/* fleet's warning (stderr, etcd driver) when fleetctl is older than the newest fleetd that
 * registered: the text with both versions, malloc'd. */
int fleetctl_old_version_warning(const char *mine, const char *latest, char **ret);

/* The commands status and journal run on the unit's machine. */
int fleetctl_status_argv(const char *unit, char ***ret);
int fleetctl_journal_argv(const char *unit, int lines, bool follow, bool sudo, const char *output,
                          char ***ret);
