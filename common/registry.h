/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The fleet registry: typed operations over the etcd key schema of DESIGN.md section 3
 * (keys and values: registry-json.h), on top of the asynchronous EtcdClient (etcd.h).
 *
 * Conventions are the client's: every operation is asynchronous with one completion callback
 * (called from the event loop, never from inside the starting call; never after cancel or
 * registry_free); an optional EtcdCall handle cancels it with etcd_call_cancel() (do not
 * etcd_call_set_destroy() it: the registry uses that hook); arguments are borrowed only during
 * the call. Each *_sync variant drives the same client until completion
 * (short-lived programs and tests; never inside a callback of the loop).
 *
 * Multi-key writes are one etcd txn each: creating a job writes its unit content, the job and
 * its global entry atomically; schedule writes are fenced by the leader's term.
 *
 * Errors: those of etcd.h, plus per operation: -EEXIST, -ENOENT, -ESTALE (a condition such as
 * an expected mod_revision or the leader term no longer holds), -EBUSY, -E2BIG, -EINVAL
 * (invalid name/hash/machine ID: nothing is sent).
 */

#include <stdbool.h>
#include <stdint.h>

#include "etcd.h"
#include "macro.h"
#include "registry-json.h"

/* etcd's default --max-txn-ops: the most schedule operations one txn may carry. */
#define REGISTRY_MAX_TXN_OPS 128

typedef struct Registry Registry;
typedef struct RegistryWatch RegistryWatch;

/*
 * A registry over client (borrowed: it must outlive the registry) with key prefix (NULL =
 * REGISTRY_DEFAULT_PREFIX; a missing trailing '/' is added). 0, -EINVAL, -ENOMEM.
 */
int registry_new(Registry **ret, EtcdClient *client, const char *prefix);
/*
 * Cancel every operation without calling its callback and stop every watch (no more handler
 * calls); RegistryWatch objects stay allocated for their owners to registry_watch_free(), in
 * any order. NULL ok. May be called from inside a registry callback.
 */
Registry *registry_free(Registry *r);
DEFINE_CLEANUP(Registry *, registry_free);

const char *registry_get_prefix(const Registry *r);
EtcdClient *registry_get_client(Registry *r);

/* A consistent listing: every entry of a directory at one revision, sorted by key. */
typedef struct RegistryList {
        int64_t revision; /* etcd revision of the snapshot */
        RegistryEntry *entries;
        size_t n_entries;
        size_t n_skipped; /* keys outside the schema or with undecodable values */
} RegistryList;

RegistryList *registry_list_free(RegistryList *l);
DEFINE_CLEANUP(RegistryList *, registry_list_free);

/*
 * Read completion: error 0 and list (BORROWED: freed after the callback returns; the callback
 * may steal entries, e.g. TAKE_PTR(list->entries) with n_entries = 0), or error < 0 and NULL.
 */
typedef void (*registry_list_callback_t)(Registry *r, int error, RegistryList *list,
                                         void *userdata);
/* Write completion: revision = the etcd revision of the write (campaign: the term). */
typedef void (*registry_write_callback_t)(Registry *r, int error, int64_t revision, void *userdata);

/* ---- reads ------------------------------------------------------------------------------ */

/*
 * List every entry under registry_key_dir(kind, sub) -- kind < 0: the whole prefix, i.e. a
 * full snapshot -- at revision (0 = latest), in pages, values decoded (keys_only: keys and
 * revisions only, has_value false). Undecodable entries are skipped and counted.
 */
int registry_list(Registry *r, RegistryKeyKind kind, const char *sub, int64_t revision,
                  bool keys_only, registry_list_callback_t cb, void *userdata, EtcdCall **ret_call);
int registry_list_sync(Registry *r, RegistryKeyKind kind, const char *sub, int64_t revision,
                       bool keys_only, RegistryList **ret);

/* Read one key: a list of exactly one entry, or -ENOENT (absent), -EBADMSG (undecodable). */
int registry_get(Registry *r, const RegistryKey *key, registry_list_callback_t cb, void *userdata,
                 EtcdCall **ret_call);
/* Synchronous get: the entry is moved into *ret (registry_entry_done() it). */
int registry_get_sync(Registry *r, const RegistryKey *key, RegistryEntry *ret);

/* ---- jobs (API) ------------------------------------------------------------------------- */

/*
 * Create a job in one txn: if job/<name> does not exist, put unit/<hash> = unit_text, the job
 * and, if job->global, global/<name>. -EEXIST if the job exists (nothing written).
 */
int registry_create_job(Registry *r, const RegistryJob *job, const char *unit_text,
                        registry_write_callback_t cb, void *userdata, EtcdCall **ret_call);
int registry_create_job_sync(Registry *r, const RegistryJob *job, const char *unit_text,
                             int64_t *ret_revision);

/*
 * Replace an existing job in one txn: put the job (and unit/<hash> = unit_text unless NULL;
 * with NULL the content at job->hash must already be stored), put global/<name> when global,
 * delete it otherwise. if_mod_revision > 0: only if the job's mod_revision still equals it
 * (read-modify-write, e.g. changing desiredState), else -ESTALE. -ENOENT if no such job.
 */
int registry_update_job(Registry *r, const RegistryJob *job, const char *unit_text,
                        int64_t if_mod_revision, registry_write_callback_t cb, void *userdata,
                        EtcdCall **ret_call);
int registry_update_job_sync(Registry *r, const RegistryJob *job, const char *unit_text,
                             int64_t if_mod_revision, int64_t *ret_revision);

/* Delete job/<name> and global/<name> in one txn. -ENOENT if no such job. The engine then
 * unschedules it and garbage-collects its content. */
int registry_destroy_job(Registry *r, const char *name, registry_write_callback_t cb,
                         void *userdata, EtcdCall **ret_call);
int registry_destroy_job_sync(Registry *r, const char *name, int64_t *ret_revision);

/*
 * Garbage-collect unit/<hash> if its mod_revision still equals mod_revision (a concurrent job
 * creation re-puts the content and so bumps it): -ESTALE otherwise, -ENOENT if absent.
 */
int registry_delete_unit(Registry *r, const char *hash, int64_t mod_revision,
                         registry_write_callback_t cb, void *userdata, EtcdCall **ret_call);
int registry_delete_unit_sync(Registry *r, const char *hash, int64_t mod_revision,
                              int64_t *ret_revision);

/* ---- machines, metadata, states (agent, API) -------------------------------------------- */

/* Put machine/<m->id> attached to lease (0 = none). */
int registry_put_machine(Registry *r, const RegistryMachine *m, int64_t lease,
                         registry_write_callback_t cb, void *userdata, EtcdCall **ret_call);
int registry_put_machine_sync(Registry *r, const RegistryMachine *m, int64_t lease,
                              int64_t *ret_revision);

/*
 * Apply metadata changes of one machine in one txn: each change puts metadata/<id>/<key> =
 * value, or deletes it when value is NULL. (fleet's API "remove" is value "".) n may be 0.
 */
int registry_patch_metadata(Registry *r, const char *machine_id, const RegistryMetadata *changes,
                            size_t n, registry_write_callback_t cb, void *userdata,
                            EtcdCall **ret_call);
int registry_patch_metadata_sync(Registry *r, const char *machine_id,
                                 const RegistryMetadata *changes, size_t n, int64_t *ret_revision);

/* Put state/<s->name>/<s->machine_id> attached to lease (0 = none). */
int registry_put_state(Registry *r, const RegistryUnitState *s, int64_t lease,
                       registry_write_callback_t cb, void *userdata, EtcdCall **ret_call);
int registry_put_state_sync(Registry *r, const RegistryUnitState *s, int64_t lease,
                            int64_t *ret_revision);

/* Put cordon/<machine_id> (fleet-c; no lease: a cordon outlives restarts) = *c. */
int registry_put_cordon(Registry *r, const char *machine_id, const RegistryCordon *c,
                        registry_write_callback_t cb, void *userdata, EtcdCall **ret_call);
int registry_put_cordon_sync(Registry *r, const char *machine_id, const RegistryCordon *c,
                             int64_t *ret_revision);

/* Put pin/<machine_id>/<name> (fleet-c; no lease: a rollout's pins outlive restarts) = *p. */
int registry_put_pin(Registry *r, const char *machine_id, const char *name, const RegistryPin *p,
                     registry_write_callback_t cb, void *userdata, EtcdCall **ret_call);
int registry_put_pin_sync(Registry *r, const char *machine_id, const char *name,
                          const RegistryPin *p, int64_t *ret_revision);

/* Delete one key (any kind, e.g. one machine's state). An absent key is not an error. */
int registry_delete(Registry *r, const RegistryKey *key, registry_write_callback_t cb,
                    void *userdata, EtcdCall **ret_call);
int registry_delete_sync(Registry *r, const RegistryKey *key, int64_t *ret_revision);

/* ---- engine: election and fenced schedule writes ---------------------------------------- */

/*
 * Become leader: create engine/leader = l attached to lease if absent. Success: revision =
 * the key's create_revision, the leader's TERM. If the key exists attached to this same lease
 * (a restarted engine reusing its lease), that is success too, with the existing term.
 * Otherwise -EBUSY.
 */
int registry_campaign(Registry *r, const RegistryLeader *l, int64_t lease,
                      registry_write_callback_t cb, void *userdata, EtcdCall **ret_call);
int registry_campaign_sync(Registry *r, const RegistryLeader *l, int64_t lease, int64_t *ret_term);

/* Delete engine/leader if its create_revision is term; -ESTALE otherwise. */
int registry_resign(Registry *r, int64_t term, registry_write_callback_t cb, void *userdata,
                    EtcdCall **ret_call);
int registry_resign_sync(Registry *r, int64_t term, int64_t *ret_revision);

/*
 * One schedule change: put schedule/<machine_id>/<name> = *target, or delete it (NULL).
 * machine_id NULL: the change is to reason/<name> instead: put *reason, or delete it (NULL).
 */
typedef struct RegistryScheduleOp {
        const char *machine_id;
        const char *name;
        const RegistryTarget *target;
        const RegistryReason *reason;
} RegistryScheduleOp;

/*
 * Apply n (1..REGISTRY_MAX_TXN_OPS, else -E2BIG) schedule changes in one txn, only while
 * engine/leader's create_revision equals term: -ESTALE when this engine has been deposed.
 */
int registry_apply_schedule(Registry *r, int64_t term, const RegistryScheduleOp *ops, size_t n,
                            registry_write_callback_t cb, void *userdata, EtcdCall **ret_call);
int registry_apply_schedule_sync(Registry *r, int64_t term, const RegistryScheduleOp *ops, size_t n,
                                 int64_t *ret_revision);

/* ---- watches ------------------------------------------------------------------------------ */

typedef enum RegistryEventType {
        REGISTRY_EVENT_PUT,
        REGISTRY_EVENT_DELETE, /* also a put whose value does not decode (treated as absent) */
        _REGISTRY_EVENT_TYPE_MAX,
        _REGISTRY_EVENT_TYPE_INVALID = -EINVAL,
} RegistryEventType;

typedef struct RegistryEvent {
        RegistryEventType type;
        RegistryEntry entry; /* PUT: decoded value; DELETE: key + mod_revision only */
        RegistryEntry *prev; /* previous entry if options.prev_kv and it existed/decoded */
} RegistryEvent;

/*
 * What one handler call brings:
 *   resync:  entries = the complete current contents of the watched directory at revision
 *            (first call in resync mode, and again after a compaction): REPLACE all state.
 *            With options.page_size > 0, only the first page of it: more is set, and the
 *            following calls bring the next pages (resync false, more set but on the last),
 *            all at the same revision; a listing that fails midway starts over with a resync.
 *   else:    events in revision order since the previous call (n_events may be 0: created
 *            or progress), revision = the revision they bring the caller up to.
 * Everything is borrowed for the duration of the call.
 */
typedef struct RegistryWatchUpdate {
        bool resync;
        bool more; /* a listing in pages: more pages follow (no events before the last) */
        int64_t revision;
        const RegistryEntry *entries;
        size_t n_entries;
        const RegistryEvent *events;
        size_t n_events;
} RegistryWatchUpdate;

typedef struct RegistryWatchOptions {
        /*
         * true: list first, deliver the listing (resync), watch from its revision + 1, and on a
         * compaction re-list and deliver a new resync automatically; list failures are retried
         * with backoff. The handler then sees errors only for -EACCES/-EPERM, after which the
         * watch is stopped until registry_watch_restart().
         * false: watch from start_revision (0 = now); -ERANGE and the other ends of etcd.h's
         * watch contract reach the handler (transport errors are resumed automatically).
         */
        bool resync;
        int64_t start_revision;
        bool prev_kv;
        /* resync mode: > 0 delivers each listing in pages of this many keys (see
         * RegistryWatchUpdate.more), so that the caller never holds the whole listing twice,
         * and etcd 3.4, which walks the rest of the range for every page, walks it less often
         * with large pages. 0: the whole listing in one call. */
        int64_t page_size;
} RegistryWatchOptions;

/* error 0: u non-NULL. error < 0: the watch stopped (u NULL); see RegistryWatchOptions. The
 * handler may free or restart the watch. */
typedef void (*registry_watch_handler_t)(RegistryWatch *w, int error, const RegistryWatchUpdate *u,
                                         void *userdata);

/*
 * Watch the directory registry_key_dir(kind, sub) (kind < 0: the whole prefix; e.g. the agent
 * watches SCHEDULE/<its id>, GLOBAL/NULL and METADATA/<its id>; the engine the whole prefix).
 * Keys outside the schema are ignored. opts NULL = { .resync = true }. 0, -EINVAL, -ENOMEM.
 */
int registry_watch_new(Registry *r, RegistryKeyKind kind, const char *sub,
                       const RegistryWatchOptions *opts, registry_watch_handler_t handler,
                       void *userdata, RegistryWatch **ret);
/* Stop and free; the handler is not called any more. NULL ok; safe inside the handler and
 * after registry_free(). */
RegistryWatch *registry_watch_free(RegistryWatch *w);
DEFINE_CLEANUP(RegistryWatch *, registry_watch_free);

/* Restart: in resync mode re-list (start_revision ignored); else watch from start_revision.
 * 0, -ENOMEM, -ENOTCONN (registry freed). */
int registry_watch_restart(RegistryWatch *w, int64_t start_revision);
/* Whether the watch's stream is open and confirmed, with no re-listing under way: what it has
 * delivered is etcd's state as of now, give or take the stream's delay. */
bool registry_watch_is_live(RegistryWatch *w);
/* Revision the caller is up to date with (last delivered revision), 0 before any delivery. */
int64_t registry_watch_get_revision(RegistryWatch *w);
