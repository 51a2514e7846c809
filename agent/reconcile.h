/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The agent's pure reconcile core (DESIGN.md section 4, reference 7.3/7.4): desired units x
 * current units -> an ordered task list, and the selection of the global units that apply to
 * this machine. No I/O, no clock: the executor (agent.c) gathers the inputs from the registry,
 * the units directory and systemd, and carries the tasks out.
 *
 * Differences from fleet, on purpose:
 *  - A changed unit is rewritten in place, systemd is reloaded once, and only that unit is
 *    restarted (if it was running); fleet unloaded and reloaded it.
 *  - A unit new to this machine needs no daemon-reload: systemd loads a unit file it has not
 *    seen on demand, and loads again a unit it found missing once its unit directories have
 *    changed (the link we add changes them). A reload (100-300 ms of systemd's time, during
 *    which it answers nothing) is planned only when systemd may hold an older copy of the
 *    unit, when it still reports a linked unit as not found, when units were unloaded, or
 *    when an [Install] section adds links. fleet reloaded on every load.
 *  - A unit that already runs with the desired content is adopted (no task), so a restarted
 *    fleetd never restarts units.
 *  - A launched unit that stopped or failed on its own is not started again while the agent
 *    remembers launching it: restarting is systemd's Restart= business, and starting it from
 *    every reconcile pass would defeat systemd's start limits. (fleet behaves the same way.)
 *  - Unload stops the unit and waits for the stop job before it disables and unlinks it, so
 *    ExecStop= still runs (fleet issue #1000).
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job-state.h"
#include "registry-json.h"
#include "xfleet.h"

/* systemd's ActiveState, folded to what the diff needs. */
typedef enum AgentUnitActivity {
        AGENT_UNIT_STOPPED,  /* "inactive", "failed", "maintenance", or unknown */
        AGENT_UNIT_RUNNING,  /* "active", "activating", "reloading", "refreshing" */
        AGENT_UNIT_STOPPING, /* "deactivating" */
        _AGENT_UNIT_ACTIVITY_MAX,
        _AGENT_UNIT_ACTIVITY_INVALID = -EINVAL,
} AgentUnitActivity;

/* Map systemd's ActiveState string (NULL = unknown -> AGENT_UNIT_STOPPED). */
AgentUnitActivity agent_unit_activity_from_active_state(const char *active_state);

/* What should be here. A unit with target JOB_STATE_INACTIVE counts as not desired. */
typedef struct AgentDesiredUnit {
        const char *name;
        const char *hash; /* unit hash (40 hex) of the content the file must have */
        JobState target;  /* JOB_STATE_LOADED or JOB_STATE_LAUNCHED (or INACTIVE, see above) */
        bool install;     /* the content has an [Install] section: its links need a reload */
} AgentDesiredUnit;

/*
 * What is here: every unit with a file in the units directory, plus every unit the agent has a
 * record of or systemd still has linked from there.
 */
typedef struct AgentCurrentUnit {
        const char *name;
        const char *file_hash; /* hash of <units_directory>/<name>; NULL: no (readable) file */
        bool linked;           /* systemd's runtime link to our file is in place */
        bool systemd_stale;    /* systemd has not read the current file yet (LoadState
                                * "not-found" although linked, or NeedDaemonReload) */
        bool systemd_loaded;   /* systemd holds a copy of the unit in memory (any LoadState
                                * but "not-found"), from our file or an earlier one */
        AgentUnitActivity activity;
        JobState recorded;        /* what this agent last made of the unit in this process:
                                   * LOADED/LAUNCHED after it loaded/started/adopted it;
                                   * INACTIVE when it knows nothing (e.g. after a restart) */
        const char *started_hash; /* content the agent last started or adopted the unit with;
                                   * NULL = unknown, assume file_hash */
} AgentCurrentUnit;

/* In execution order: all unloads, all loads, one reload, stops, starts, restarts. */
typedef enum AgentTaskType {
        AGENT_TASK_UNLOAD,  /* StopUnit (wait for the job), DisableUnitFiles, ResetFailedUnit,
                             * unlink the file */
        AGENT_TASK_LOAD,    /* write the file if write_file, LinkUnitFiles, EnableUnitFiles if
                             * it has an [Install] section */
        AGENT_TASK_RELOAD,  /* Manager.Reload, at most once per list */
        AGENT_TASK_STOP,    /* StopUnit */
        AGENT_TASK_START,   /* StartUnit */
        AGENT_TASK_RESTART, /* RestartUnit: new content for a running unit */
        _AGENT_TASK_TYPE_MAX,
        _AGENT_TASK_TYPE_INVALID = -EINVAL,
} AgentTaskType;

/* "unload", "load", "reload", "stop", "start", "restart"; NULL if out of range. */
const char *agent_task_type_to_string(AgentTaskType t);

typedef struct AgentTask {
        AgentTaskType type;
        const char *name;   /* borrowed from the inputs; NULL for RELOAD */
        const char *hash;   /* LOAD: the desired hash (borrowed); NULL otherwise */
        bool write_file;    /* LOAD: the file is missing or has other content */
        const char *reason; /* static, for the log: "unit scheduled here but not loaded", ... */
} AgentTask;

/*
 * Compute the tasks that take the current state to the desired one. Within a type, tasks are
 * sorted by unit name. Per unit (d = desired with target loaded/launched, c = current):
 *  - no d: UNLOAD if c has a file, a link, a record or is running;
 *  - d, and the file is missing, differs from d->hash, or is not linked: LOAD;
 *  - RELOAD once if anything was loaded or unloaded, or systemd is stale for a desired unit;
 *  - d launched: running with other content than d->hash -> RESTART; not running, and either
 *    not recorded as launched or loaded with new content -> START;
 *  - d loaded and running -> STOP.
 * After every task of a list succeeded, the executor records each desired unit as its target,
 * and started_hash = d->hash for units it (re)started or found running with that content.
 *
 * *ret is a malloc'd array (free()) whose name/hash pointers borrow from the inputs; NULL with
 * *ret_n == 0 when there is nothing to do. 0, -EINVAL (a NULL name or hash, a target out of
 * range, or a name twice in desired or twice in current), -ENOMEM.
 */
int agent_reconcile(const AgentDesiredUnit *desired, size_t n_desired,
                    const AgentCurrentUnit *current, size_t n_current, AgentTask **ret,
                    size_t *ret_n);

/* "load a.service", "reload", ... as the tests and logs write a task. malloc'd, or NULL on
 * OOM. */
char *agent_task_to_string(const AgentTask *t);

/* --- global units ------------------------------------------------------------------------- */

/* A global unit as the registry describes it. */
typedef struct AgentGlobalUnit {
        const char *name;
        const XFleet *xfleet; /* its [X-Fleet] options, parsed with its name; NULL = none */
        JobState target;
} AgentGlobalUnit;

/* A non-global unit the engine scheduled on this machine. */
typedef struct AgentScheduledUnit {
        const char *name;
        const XFleet *xfleet; /* NULL = no options */
} AgentScheduledUnit;

/*
 * The global units that apply to this machine (reference 6.5, DESIGN.md section 4). In
 * unit-name order, a global unit is accepted if its target is not inactive, this machine's
 * merged metadata (lookup, userdata; see xfleet.h) satisfies its MachineMetadata, its name is
 * not one of the scheduled units', and it conflicts (reference 6.4, symmetric) with none of
 * the scheduled units and none of the global units accepted before it. So of two mutually
 * conflicting global units the alphabetically first wins on every machine.
 *
 * The scheduled units are accepted first, whatever their names: the engine placed them,
 * checking conflicts against the global units that apply here. (fleet's agent instead
 * processed both kinds in one name-ordered pass and could drop a scheduled unit.)
 *
 * *ret is a malloc'd array of indices into globals, ascending by name; NULL with *ret_n == 0
 * if none applies. 0, -EINVAL (a NULL name, or a name twice in globals), -ENOMEM.
 */
int agent_select_global_units(const AgentGlobalUnit *globals, size_t n_globals,
                              const AgentScheduledUnit *scheduled, size_t n_scheduled,
                              MetadataLookup lookup, void *userdata, size_t **ret, size_t *ret_n);

/*
 * The target of a global unit on this machine (fleet-c's rolling updates of global units):
 * global/<name>'s, except that a pin/<this machine>/<name> (pin_hash, NULL = none) keeps the
 * pinned content while a rollout has not reached this machine. The desired state is always
 * global/<name>'s: a pin holds back a content, never a start or a stop. 1 if the pin chose the
 * content, 0 if global/<name> did; a pin that is not a valid hash is -EINVAL, and *ret is then
 * global/<name>'s target too, so that a bad pin never stops a unit.
 */
int agent_global_target(const RegistryTarget *global, const char *pin_hash, RegistryTarget *ret);

/*
 * Whether a unit can take part in a pass, judged from systemd's view of it. A unit whose name
 * systemd refuses (unit_name_validate()) never gets a state: ListUnitsByNames silently leaves
 * it out. One whose state has not come max_wait after the agent started waiting for it
 * (waiting_since, CLOCK_MONOTONIC; 0 = not waiting yet) may never get one. Either is isolated:
 * left out of the pass, so that the other units go on. An isolated unit stays isolated (no
 * new wait) until its state comes.
 */
typedef enum AgentStateVerdict {
        AGENT_STATE_READY,        /* its state is known */
        AGENT_STATE_WAIT,         /* not yet: wait until waiting_since + max_wait */
        AGENT_STATE_INVALID_NAME, /* isolated: systemd refuses the name */
        AGENT_STATE_NO_STATE,     /* isolated: systemd did not report its state in time */
        _AGENT_STATE_VERDICT_MAX,
} AgentStateVerdict;

AgentStateVerdict agent_state_verdict(const char *name, bool known, bool isolated,
                                      uint64_t waiting_since, uint64_t now, uint64_t max_wait);

/* The subState published for an isolated unit ("invalid-name", "no-state"); NULL otherwise. */
const char *agent_state_verdict_to_sub_state(AgentStateVerdict v);
