/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * ClusterSnapshot: what the scheduler sees of the cluster at one instant -- live machines with
 * their merged metadata, jobs (units) with their desired state and parsed [X-Fleet] options,
 * and the current schedule (which job is on which machine). Pure: the engine fills it from its
 * etcd mirror, tests fill it by hand. The scheduler only reads it.
 *
 * The add functions copy their string arguments and append; order does not matter, since the
 * scheduler sorts everything itself. Uniqueness (machine IDs, job names, job+machine schedule
 * pairs) is the caller's business; etcd keys guarantee it, and scheduler_run() rejects a
 * snapshot that breaks it with -EEXIST. Fields are public for reading; change them only
 * through these functions.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "job-state.h"
#include "macro.h"
#include "xfleet.h"

typedef struct SnapshotMetadata {
        char *key;
        char *value;
} SnapshotMetadata;

/* fleet-c's cordon of a machine (cordon/<machineID> in etcd). */
typedef enum SnapshotCordon {
        SNAPSHOT_CORDON_NONE,
        SNAPSHOT_CORDON_CORDONED, /* no new units; those there stay */
        SNAPSHOT_CORDON_DRAINING, /* no new units; non-global units move away */
        _SNAPSHOT_CORDON_MAX,
        _SNAPSHOT_CORDON_INVALID = -EINVAL,
} SnapshotCordon;

typedef struct SnapshotMachine {
        char *id;
        SnapshotMetadata *metadata; /* sorted by key, unique keys */
        size_t n_metadata;
        SnapshotCordon cordon;
} SnapshotMachine;

typedef struct SnapshotJob {
        char *name;
        char *hash;     /* unit content hash; may be NULL */
        JobState state; /* desired state */
        XFleet *xfleet; /* owned; NULL means no [X-Fleet] options (not global) */
} SnapshotJob;

typedef struct SnapshotSchedule {
        char *job;
        char *machine;
        JobState state; /* target state stored in the schedule entry */
        char *hash;     /* hash stored in the schedule entry; may be NULL */
} SnapshotSchedule;

/* A unit that still has a copy on a draining machine (its agent reports a state there). */
typedef struct SnapshotRunning {
        char *job;
        char *machine;
} SnapshotRunning;

typedef struct ClusterSnapshot {
        SnapshotMachine *machines;
        size_t n_machines;
        SnapshotJob *jobs;
        size_t n_jobs;
        SnapshotSchedule *schedule;
        size_t n_schedule;
        SnapshotRunning *running;
        size_t n_running;

        size_t machines_allocated, jobs_allocated, schedule_allocated, running_allocated;
} ClusterSnapshot;

/* An empty snapshot. 0 or -ENOMEM. */
int snapshot_new(ClusterSnapshot **ret);
/* Frees everything, including the jobs' XFleet objects. Accepts NULL, returns NULL. */
ClusterSnapshot *snapshot_free(ClusterSnapshot *s);
DEFINE_CLEANUP(ClusterSnapshot *, snapshot_free);

/*
 * A live machine. metadata is a strv of alternating key, value (as metadata_parse_config()
 * returns it; NULL = none); it is copied and sorted by key, and for a repeated key the later
 * value wins. 0, -EINVAL (odd number of strings), -ENOMEM.
 */
int snapshot_add_machine(ClusterSnapshot *s, const char *id, char *const *metadata);

/*
 * A job. xfleet (may be NULL) must have been parsed with the job's name, so that specifiers are
 * applied; the job is global iff xfleet->global. Takes ownership of xfleet, also on failure.
 * A job whose unit content could not be read should not be added at all. 0, -EINVAL (state out
 * of range), -ENOMEM.
 */
int snapshot_add_job(ClusterSnapshot *s, const char *name, const char *hash, JobState state,
                     XFleet *xfleet);

/* A schedule entry: job (which need not exist any more) is scheduled on machine (which need not
 * be live any more) with this target state and hash (may be NULL). 0, -EINVAL, -ENOMEM. */
int snapshot_add_schedule(ClusterSnapshot *s, const char *job, const char *machine, JobState state,
                          const char *hash);

/* Cordon machine id (added before): 0, -ENOENT (no such machine), -EINVAL (bad state). */
int snapshot_cordon_machine(ClusterSnapshot *s, const char *id, SnapshotCordon cordon);
/* job (which need not exist) still has a copy on machine, as its agent reports: the scheduler
 * starts it nowhere else while that machine is draining (stop before start). Only entries for
 * draining machines matter. 0, -EINVAL, -ENOMEM. */
int snapshot_add_running(ClusterSnapshot *s, const char *job, const char *machine);

/* True if the job is a global unit (never scheduled by the engine). */
bool snapshot_job_is_global(const SnapshotJob *j);

/* The machine's value for key (borrowed) or NULL. O(log n_metadata). */
const char *snapshot_machine_get_metadata(const SnapshotMachine *m, const char *key);
