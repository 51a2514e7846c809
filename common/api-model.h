/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * PURE derivation of the API's entities from registry entries (DESIGN.md section 3 keys):
 * Unit (options from the stored content, desiredState from the job, machineID and the derived
 * currentState of reference 4.6 from the schedule and the unit states), UnitState and Machine
 * (metadata merged with the dynamic overlay, reference 4.4). No I/O; unit-tested.
 *
 * currentState of a non-global unit: "inactive" when it is not scheduled, or when no state
 * record exists for it on its target machine; otherwise the record's fleetState (loaded or
 * launched, as the agent reports it). Global units have no machineID, and their currentState
 * is "inactive" in lists and absent from a single GET (reference 6.5).
 */

#include <stdbool.h>
#include <stddef.h>

#include "api-json.h"
#include "job-state.h"
#include "macro.h"
#include "registry-json.h"

/* Sorted views over borrowed entries (they must outlive the index). */
typedef struct ApiIndex {
        const RegistryEntry **jobs; /* JOB with a value, by name */
        size_t n_jobs;
        const RegistryEntry **units; /* UNIT (values optional), by hash */
        size_t n_units;
        const RegistryEntry **schedule; /* SCHEDULE (values optional), by (name, machine) */
        size_t n_schedule;
        const RegistryEntry **states; /* STATE with a value, by (name, machine) */
        size_t n_states;
        const RegistryEntry **machines; /* MACHINE (values optional), by ID */
        size_t n_machines;
        const RegistryEntry **metadata; /* METADATA with a value, by (machine, key) */
        size_t n_metadata;
        const RegistryEntry **reasons; /* REASON with a value, by name */
        size_t n_reasons;
} ApiIndex;

void api_index_done(ApiIndex *x);

/* Add n entries (of any kinds; others are ignored). May be called several times; then call
 * api_index_sort(). 0 or -ENOMEM. */
int api_index_add(ApiIndex *x, const RegistryEntry *entries, size_t n);
void api_index_sort(ApiIndex *x);

/* The job of name, or NULL. */
const RegistryJob *api_index_job(const ApiIndex *x, const char *name);
/* The stored content of hash, or NULL (also when it was listed keys-only). */
const char *api_index_unit_text(const ApiIndex *x, const char *hash);
/* Whether content is stored under hash (keys-only listings suffice). */
bool api_index_has_unit(const ApiIndex *x, const char *hash);
/* The machine a unit is scheduled on (the first by machine ID), or NULL. */
const char *api_index_target(const ApiIndex *x, const char *name);
/* Derived currentState of a non-global unit (see above); *ret_machine = its target or NULL. */
JobState api_index_current_state(const ApiIndex *x, const char *name, const char **ret_machine);

/*
 * The jobs whose content is stored (fleet skips the others), in name order: a malloc'd array
 * of borrowed pointers. 0 or -ENOMEM.
 */
int api_index_visible_jobs(const ApiIndex *x, const RegistryJob ***ret, size_t *ret_n);

/* The engine's reason for job, if one is stored for the job's current version (the
 * reason's jobRevision is the job entry's mod_revision), else NULL. Borrowed. */
const char *api_index_reason(const ApiIndex *x, const char *name);

/*
 * The Unit entity of job (with fleet-c's reason, see api_index_reason). in_list: a global unit gets
 * currentState "inactive" (lists) instead of none (single GET). -ENOENT if its content is not
 * stored, -EBADMSG if the content does not parse, -ENOMEM.
 */
int api_index_unit(const ApiIndex *x, const RegistryJob *job, bool in_list, ApiUnit *ret);

/* Every UnitState, sorted by (name, machine ID), optionally filtered by exact machine ID and
 * unit name (NULL or "" = no filter). Array malloc'd (may be NULL when *ret_n is 0). */
int api_index_unit_states(const ApiIndex *x, const char *machine_id, const char *name,
                          ApiUnitState **ret, size_t *ret_n);

/* Every machine with merged metadata, sorted by ID. Array malloc'd (NULL when none). */
int api_index_machines(const ApiIndex *x, ApiMachine **ret, size_t *ret_n);

/* Unit counts for /metrics: by desired state and by derived current state (global units are
 * counted as current "inactive", as lists show them), and the number of global units. */
typedef struct ApiUnitCounts {
        size_t desired[_JOB_STATE_MAX];
        size_t current[_JOB_STATE_MAX];
        size_t global;
        size_t total;
} ApiUnitCounts;

void api_index_count_units(const ApiIndex *x, ApiUnitCounts *ret);
