/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Mirror: the engine leader's in-memory copy of the registry, fed by one watch over the whole
 * key prefix (a resync replaces it, events update it in O(1) each), from which every pass
 * builds a ClusterSnapshot. Pure: entries in, snapshots out; no etcd, no clock.
 *
 * What it keeps, per DESIGN.md section 3:
 *   job/<name>                 name, hash, desired state, and the [X-Fleet] options parsed
 *                              with the job's name (cached per job until its hash changes)
 *   unit/<hash>                mod_revision (garbage collection) and the [X-Fleet] options of
 *                              the content only, parsed once per content
 *   machine/<id>               the machine is live; its configured metadata
 *   metadata/<id>/<key>        dynamic metadata overlays (kept also for machines not live)
 *   schedule/<machine>/<name>  the current schedule
 *   reason/<name>              the stored reasons (fleet-c; the engine's own output, so a
 *                              change never calls for a pass)
 *   cordon/<id>                fleet-c's cordons (of live machines, into the snapshot)
 *   state/<name>/<machine>     only whether it exists: on a draining machine it means the
 *                              unit still runs there (a change matters only there)
 *   pin/<machine>/<name>       the content hash (fleet-c's rolling updates of global units):
 *                              the garbage collector keeps every pinned content
 * global/ and engine/ keys and the states' values are ignored (the job record says everything
 * the engine needs; the leader key has its own watch).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "reconciler.h"
#include "registry-json.h"
#include "snapshot.h"

typedef struct Mirror Mirror;

int mirror_new(Mirror **ret);
Mirror *mirror_free(Mirror *m);
DEFINE_CLEANUP(Mirror *, mirror_free);

/* Forget everything (before a resync's entries are put). */
void mirror_clear(Mirror *m);

/*
 * Apply a PUT of e (a listing entry or a watch event; an entry without value counts as a
 * delete). Returns 1 if the change can alter the schedule (jobs, machines, metadata, schedule
 * entries, or content some job waits for) or leave a content unused (a pin deleted), 0 if not
 * (or the key is ignored), -ENOMEM.
 */
int mirror_put(Mirror *m, const RegistryEntry *e);
/* Apply a DELETE of key. 1/0 as mirror_put(). */
int mirror_delete(Mirror *m, const RegistryKey *key);

/*
 * The machines whose units the majority rule holds (majority.h): jobs scheduled on them are left
 * out of every view and listed among its held jobs, so that nothing moves or rewrites them.
 * ids is copied (NULL: none). 0 or -ENOMEM.
 */
int mirror_set_held_machines(Mirror *m, char *const *ids);

/* The machines with a draining cordon, live or not, sorted (strv, NULL if none). 0 or -ENOMEM. */
int mirror_draining_ids(const Mirror *m, char ***ret);

/* The live machines and the machines owning schedule entries (two strvs, empty when none),
 * in O(machines). 0 or -ENOMEM. */
int mirror_machine_ids(const Mirror *m, char ***ret_live, char ***ret_scheduled);

/*
 * What one pass works on, all owned (strings copied out of the mirror, so the mirror may
 * change while the pass's writes are in flight): the snapshot, the stored contents garbage
 * collection should look at, and the jobs held out of the snapshot because their content is
 * missing or unreadable.
 *
 * Contents: with one content per unit, sorting and searching all of them on every pass cost
 * more than the scheduler (100,000 units). So a view lists only the "suspects": contents that
 * may have lost their last reference since the last view (a new content; the old hash of a job,
 * or of a schedule entry, that changed or went away), or every content after a resync (and
 * after a failed view). Building a view forgets the suspects; mirror_gc_suspect() puts back
 * one whose collection did not finish.
 */
typedef struct MirrorView {
        ClusterSnapshot *snapshot;
        ReconcileUnit *units; /* the suspects that exist, see above */
        size_t n_units;
        ReconcileHeldJob *held; /* content missing or unreadable, or on a held machine */
        size_t n_held;
        char (*unit_hashes)[REGISTRY_HASH_LEN + 1]; /* storage behind units[].hash */
        ReconcileReason *reasons;                   /* stored reasons (strings owned) */
        size_t n_reasons;
        ReconcileReason *job_revisions; /* mod_revision of each job (names owned) */
        size_t n_job_revisions;
        const char **pinned; /* the content of every pin/ entry (into pinned_hashes) */
        size_t n_pinned;
        char (*pinned_hashes)[REGISTRY_HASH_LEN + 1];
} MirrorView;

/* Build a view of the current state. Parses [X-Fleet] options of jobs that need it (cached).
 * 0, -ENOMEM. */
int mirror_build_view(Mirror *m, MirrorView **ret);
MirrorView *mirror_view_free(MirrorView *v);

/* Let the next view list content hash (NULL/"" ignored) / every content among its suspects. */
void mirror_gc_suspect(Mirror *m, const char *hash);
void mirror_gc_suspect_all(Mirror *m);
DEFINE_CLEANUP(MirrorView *, mirror_view_free);

size_t mirror_n_jobs(const Mirror *m);
size_t mirror_n_machines(const Mirror *m); /* live ones */
size_t mirror_n_schedule(const Mirror *m);
size_t mirror_n_units(const Mirror *m);

/* A job as the mirror knows it (borrowed, valid until the mirror changes). */
typedef struct MirrorJobInfo {
        const char *name;
        const char *hash;
        JobState state;
        bool global;
        bool held; /* content missing or unreadable at the last view */
} MirrorJobInfo;

/* 0 and *ret filled, or -ENOENT. */
int mirror_get_job(const Mirror *m, const char *name, MirrorJobInfo *ret);

/* The machines job is scheduled on, sorted, as a new strv (an empty one when none; free with
 * strv_free). 0, -ENOMEM. O(schedule entries): for queries, not for passes. */
int mirror_get_job_machines(const Mirror *m, const char *job, char ***ret);

/* Whether machine id is live. */
bool mirror_has_machine(const Mirror *m, const char *id);
