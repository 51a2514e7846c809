/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine-metrics.h"
#include "engine.h"
#include "leader.h"
#include "log.h"
#include "majority.h"
#include "mirror.h"
#include "reconciler.h"
#include "scheduler.h"
#include "strmap.h"
#include "strv.h"

_Static_assert(RECONCILE_MAX_BATCH == REGISTRY_MAX_TXN_OPS, "batch size is etcd's txn limit");

#define DEFAULT_RECONCILE_INTERVAL (2 * USEC_PER_SEC)
#define DEFAULT_AGENT_TTL (30 * USEC_PER_SEC)
/* How long a machine just gone is held, so that leases revoked together count together, and a
 * new leader's wait for machines that own schedule entries to register (majority.h). */
#define MAJORITY_SETTLE_USEC (500 * USEC_PER_MSEC)
#define MAJORITY_GRACE_USEC (2 * USEC_PER_SEC)
#define MIN_LEASE_TTL (2 * USEC_PER_SEC)
#define GC_MAX_IN_FLIGHT 64
/* The registry is listed in pages of this many keys, each put into the mirror as it arrives:
 * the engine never holds the listing besides the mirror (100,000 units: 310,000 keys), and
 * etcd 3.4, which walks the rest of the range for every page, walks it 10 times less often
 * than with pages of 1,000. */
#define LIST_PAGE_SIZE 10000
#define TIMER_ACCURACY_USEC USEC_PER_MSEC

/* A reason text, shared by the placements that give it (100,000 placements, a few reasons). */
typedef struct Reason {
        size_t refs;
        char text[];
} Reason;

/* Where and why a job was placed (for engine_explain); one allocation per placed job. */
typedef struct Placement {
        Reason *reason;
        const char *machine; /* in job's buffer */
        char job[];          /* job NUL machine NUL */
} Placement;

/* One pass whose writes are in flight. Strings in plan borrow from view and result. */
typedef struct Pass {
        MirrorView *view;
        SchedulerResult *result;
        ReconcilePlan *plan;
        int64_t term;
        size_t batch, n_batches;
        EtcdCall *call;
        RegistryScheduleOp ops[RECONCILE_MAX_BATCH];
        RegistryReason reasons[RECONCILE_MAX_BATCH];
} Pass;

typedef struct GcCall {
        Engine *engine;
        EtcdCall *call;
} GcCall;

struct Engine {
        sd_event *event;
        Registry *registry;
        char *machine_id;
        usec_t reconcile_interval;
        Leader *leader;
        EngineStats stats;
        usec_t agent_ttl;
        MajorityTracker *majority; /* leader only; reset when leadership ends */
        char **majority_released;  /* held machines released by a draining cordon, as logged */
        sd_event_source *majority_timer;
        bool started, stopping;

        /* Leader only. */
        Mirror *mirror;
        RegistryWatch *watch;
        bool mirror_synced, watch_failed;
        bool listing; /* a listing in pages is being put into the mirror */
        int64_t mirror_revision;
        int64_t awaited_revision; /* our last write: no pass before the mirror has it */
        usec_t awaiting_since;
        int64_t *own_revisions; /* revisions of the running pass's txns, ascending */
        size_t n_own, own_allocated;
        bool pass_wanted;
        uint64_t generation;      /* bumped by every change of the mirror */
        uint64_t pass_generation; /* the generation the last pass computed from */
        bool pass_clean;          /* it found nothing to write or delete, and nothing failed */
        Pass *pass;
        SchedulerResult *last_result; /* the last pass's unscheduled jobs only */
        StrMap placements;            /* job -> Placement */
        StrMap reasons;               /* text -> Reason, the placements' */
        GcCall gc[GC_MAX_IN_FLIGHT];
        size_t n_gc;

        sd_event_source *kick_source, *tick_timer;

        void (*stop_done)(Engine *e, void *userdata);
        void *stop_userdata;
};

static void kick(Engine *e);

/* ---- helpers ------------------------------------------------------------------------------ */

static usec_t loop_now(Engine *e) {
        uint64_t t = 0;

        (void) sd_event_now(e->event, CLOCK_MONOTONIC, &t);
        return t;
}

static Reason *reason_get(Engine *e, const char *text) {
        Reason *r = strmap_get(&e->reasons, text);
        size_t len;

        if (r) {
                r->refs++;
                return r;
        }
        len = strlen(text);
        r = malloc(sizeof(*r) + len + 1);
        if (!r)
                return NULL;
        r->refs = 1;
        memcpy(r->text, text, len + 1);
        if (strmap_put(&e->reasons, r->text, r, NULL) < 0) {
                free(r);
                return NULL;
        }
        return r;
}

static void reason_put(Engine *e, Reason *r) {
        if (r && --r->refs == 0)
                free(strmap_remove(&e->reasons, r->text));
}

static Placement *placement_free(Engine *e, Placement *p) {
        if (!p)
                return NULL;
        reason_put(e, p->reason);
        free(p);
        return NULL;
}

static void placements_clear(Engine *e) {
        Placement *p;
        StrMapIter i = {};

        while (strmap_next(&e->placements, &i, NULL, (void **) &p))
                placement_free(e, p);
        strmap_done(&e->placements);
        strmap_done(&e->reasons); /* empty by now */
}

/* Remember where job went and why. Failure only costs an explanation. */
static void placement_set(Engine *e, const char *job, const char *machine, const char *reason) {
        size_t lj = strlen(job), lm = strlen(machine);
        Placement *p = malloc(sizeof(*p) + lj + 1 + lm + 1), *old = NULL;

        if (!p)
                return;
        memcpy(p->job, job, lj + 1);
        memcpy(p->job + lj + 1, machine, lm + 1);
        p->machine = p->job + lj + 1;
        p->reason = reason_get(e, reason);
        if (!p->reason || strmap_put(&e->placements, p->job, p, (void **) &old) < 0) {
                placement_free(e, p);
                return;
        }
        placement_free(e, old);
}

static void placement_drop(Engine *e, const char *job, const char *machine) {
        Placement *p = strmap_get(&e->placements, job);

        if (p && streq(p->machine, machine))
                placement_free(e, strmap_remove(&e->placements, job));
}

static int own_revision_add(Engine *e, int64_t rev) {
        if (e->n_own >= e->own_allocated) {
                size_t a = MAX(e->own_allocated * 2, (size_t) 16);
                int64_t *p = reallocarray(e->own_revisions, a, sizeof(*p));

                if (!p)
                        return -ENOMEM;
                e->own_revisions = p;
                e->own_allocated = a;
        }
        e->own_revisions[e->n_own++] = rev;
        return 0;
}

static bool own_revision_has(const Engine *e, int64_t rev) {
        size_t lo = 0, hi = e->n_own;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (e->own_revisions[mid] == rev)
                        return true;
                if (e->own_revisions[mid] < rev)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return false;
}

/* ---- garbage collection ------------------------------------------------------------------- */

static void gc_done(Registry *r, int error, int64_t revision, void *userdata) {
        GcCall *g = userdata;
        Engine *e = g->engine;

        g->call = NULL;
        g->engine = NULL;
        e->n_gc--;
        if (error >= 0)
                e->stats.units_collected++;
        else if (error != -ESTALE && error != -ENOENT)
                log_warning_errno(error, "Failed to delete unreferenced unit content, "
                                         "retrying in a later pass: %m");
}

static void gc_cancel(Engine *e) {
        for (size_t i = 0; i < GC_MAX_IN_FLIGHT; i++)
                if (e->gc[i].engine) {
                        etcd_call_cancel(e->gc[i].call);
                        e->gc[i] = (GcCall){};
                }
        e->n_gc = 0;
}

/* Delete contents nothing referenced in the pass's snapshot; a later pass takes the rest.
 * Returns how many deletions were started. */
static size_t gc_start(Engine *e, const ReconcilePlan *plan) {
        size_t slot = 0;
        int r;

        if (e->n_gc > 0)
                return 0; /* the previous round is still running */
        for (size_t i = 0; i < plan->n_garbage && slot < GC_MAX_IN_FLIGHT; i++, slot++) {
                GcCall *g = &e->gc[slot];

                g->engine = e;
                r = registry_delete_unit(e->registry, plan->garbage[i].hash,
                                         plan->garbage[i].mod_revision, gc_done, g, &g->call);
                if (r < 0) {
                        *g = (GcCall){};
                        log_warning_errno(r, "Failed to delete unit content %s, ignoring: %m",
                                          plan->garbage[i].hash);
                        continue;
                }
                e->n_gc++;
                log_info("Deleting unit content %s: no unit references it", plan->garbage[i].hash);
        }
        return e->n_gc;
}

/* ---- applying a pass ---------------------------------------------------------------------- */

static Pass *pass_free(Pass *p) {
        if (!p)
                return NULL;
        etcd_call_cancel(p->call);
        mirror_view_free(p->view);
        reconcile_plan_free(p->plan);
        scheduler_result_free(p->result);
        free(p);
        return NULL;
}

static void log_op(const ReconcileOp *op) {
        switch (op->kind) {
        case RECONCILE_OP_SCHEDULE:
                log_info("Scheduled %s on machine %s: %s", op->name, op->machine_id, op->reason);
                break;
        case RECONCILE_OP_UNSCHEDULE:
                log_info("Unscheduled %s from machine %s: %s", op->name, op->machine_id,
                         op->reason);
                break;
        case RECONCILE_OP_REASON:
                /* "Unable to schedule" was logged when the pass found it. */
                log_debug("%s the reason of %s: %s", op->put ? "Stored" : "Deleted", op->name,
                          op->reason);
                break;
        default:
                log_info("Updated %s on machine %s to %s/%.7s: %s", op->name, op->machine_id,
                         job_state_to_string(op->target.desired_state), op->target.hash,
                         op->reason);
        }
}

/* A batch is committed: count, log and remember its operations. */
static void batch_committed(Engine *e, const ReconcileOp *ops, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const ReconcileOp *op = &ops[i];

                log_op(op);
                if (op->kind == RECONCILE_OP_SCHEDULE) {
                        e->stats.schedules_applied++;
                        e->stats.decisions_applied++;
                        placement_set(e, op->name, op->machine_id, op->reason);
                } else if (op->kind == RECONCILE_OP_UNSCHEDULE) {
                        e->stats.unschedules_applied++;
                        e->stats.decisions_applied++;
                        placement_drop(e, op->name, op->machine_id);
                } else if (op->kind == RECONCILE_OP_UPDATE)
                        e->stats.updates_applied++;
        }
}

static void pass_finish(Engine *e) {
        Pass *p = TAKE_PTR(e->pass);

        e->pass_clean = p->plan->n_ops == 0 && gc_start(e, p->plan) == p->plan->n_garbage;
        pass_free(p);
        if (e->pass_wanted)
                kick(e);
}

static void resync(Engine *e, const char *why);
static int send_batch(Engine *e);

static void batch_done(Registry *r, int error, int64_t revision, void *userdata) {
        Engine *e = userdata;
        Pass *p = e->pass;
        size_t start, n;

        p->call = NULL;
        reconcile_plan_batch(p->plan, p->batch, &start, &n);
        if (error < 0)
                engine_stats_count_failed_batch(&e->stats, p->plan->ops + start, n);
        if (error == -ESTALE) {
                e->stats.fenced_rejections++;
                log_warning("Schedule write refused: term %" PRIi64 " is no longer the "
                            "leader's; stepping down",
                            p->term);
                e->pass = pass_free(e->pass);
                leader_step_down(e->leader, "a fenced schedule write was refused");
                return;
        }
        if (error < 0) {
                e->stats.txn_failures++;
                log_warning_errno(error,
                                  "Failed to write %zu schedule changes, re-listing the "
                                  "registry before the next pass: %m",
                                  n);
                e->pass = pass_free(e->pass);
                e->pass_wanted = true;
                resync(e, "a schedule write failed");
                return;
        }
        if (own_revision_add(e, revision) < 0) {
                /* Without it our own events would only cause one more (empty) pass. */
                log_oom();
        }
        e->awaited_revision = revision;
        e->awaiting_since = loop_now(e);
        batch_committed(e, p->plan->ops + start, n);
        p->batch++;
        if (p->batch < p->n_batches) {
                if (send_batch(e) < 0) {
                        e->pass = pass_free(e->pass);
                        e->pass_wanted = true;
                }
                return;
        }
        pass_finish(e);
}

static int send_batch(Engine *e) {
        Pass *p = e->pass;
        size_t start, n;
        int r;

        reconcile_plan_batch(p->plan, p->batch, &start, &n);
        for (size_t i = 0; i < n; i++) {
                const ReconcileOp *op = &p->plan->ops[start + i];

                p->ops[i] = (RegistryScheduleOp){
                        .machine_id = op->machine_id,
                        .name = op->name,
                        .target = op->put ? &op->target : NULL,
                };
                if (op->kind == RECONCILE_OP_REASON) {
                        p->reasons[i] = (RegistryReason){(char *) op->reason, op->job_revision};
                        p->ops[i].target = NULL;
                        p->ops[i].reason = op->put ? &p->reasons[i] : NULL;
                }
        }
        r = registry_apply_schedule(e->registry, p->term, p->ops, n, batch_done, e, &p->call);
        if (r < 0)
                return log_error_errno(r, "Failed to send schedule changes: %m");
        return 0;
}

/* ---- computing a pass --------------------------------------------------------------------- */

/* Log the jobs whose reason for staying unscheduled is new since the last pass. */
static void log_unscheduled(const Engine *e, const SchedulerResult *res) {
        for (size_t i = 0; i < res->n_unscheduled; i++) {
                const SchedulerUnscheduled *u = &res->unscheduled[i];
                const SchedulerUnscheduled *old =
                        e->last_result ? scheduler_result_find_unscheduled(e->last_result, u->job)
                                       : NULL;

                if (!old || !streq(old->reason, u->reason))
                        log_info("Unable to schedule %s: %s", u->job, u->reason);
        }
}

/* "a b c" of l (NULL on OOM). */
static char *join_ids(char *const *l) {
        size_t n = 1, off = 0;
        char *s;

        STRV_FOREACH(i, l)
                n += strlen(*i) + 1;
        s = malloc(n);
        if (!s)
                return NULL;
        s[0] = '\0';
        STRV_FOREACH(i, l)
                off += (size_t) sprintf(s + off, "%s%s", off ? " " : "", *i);
        return s;
}

static int majority_timer_fired(sd_event_source *s, uint64_t usec, void *userdata) {
        kick(userdata);
        return 0;
}

/* Pass again when a hold for the settle time or the new leader's grace ends. */
static void majority_timer_arm(Engine *e) {
        usec_t next = majority_tracker_next_change(e->majority);
        int r;

        if (next == 0) {
                if (e->majority_timer)
                        (void) sd_event_source_set_enabled(e->majority_timer, SD_EVENT_OFF);
                return;
        }
        if (!e->majority_timer) {
                r = sd_event_add_time(e->event, &e->majority_timer, CLOCK_MONOTONIC, next,
                                      TIMER_ACCURACY_USEC, majority_timer_fired, e);
                if (r < 0) {
                        log_error_errno(r, "Failed to add the majority rule timer: %m");
                        return; /* the safety tick passes again */
                }
                (void) sd_event_source_set_description(e->majority_timer, "engine-majority");
        } else
                (void) sd_event_source_set_time(e->majority_timer, next);
        (void) sd_event_source_set_enabled(e->majority_timer, SD_EVENT_ONESHOT);
}

/* The majority rule (majority.h): hold the units of machines that expired together with more
 * than half of the machines known. */
static int majority_apply(Engine *e) {
        _cleanup_strv_free_ char **live = NULL, **scheduled = NULL, **held = NULL,
                                 **draining = NULL, **released = NULL;
        size_t before = majority_tracker_n_held(e->majority), known, expired, n_held;
        int r, n_new;

        r = mirror_machine_ids(e->mirror, &live, &scheduled);
        if (r >= 0)
                r = mirror_draining_ids(e->mirror, &draining);
        if (r < 0)
                return r;
        n_new = majority_tracker_observe(e->majority, loop_now(e), live, scheduled);
        if (n_new < 0)
                return n_new;
        /* A draining cordon on a held machine (fleetctl drain) releases its units. */
        r = majority_tracker_set_released(e->majority, draining);
        STRV_FOREACH(id, draining)
                if (r >= 0 && majority_tracker_is_released(e->majority, *id))
                        r = strv_extend(&released, *id);
        if (r < 0)
                return r;
        STRV_FOREACH(id, released)
                if (!strv_contains(e->majority_released, *id))
                        log_warning("Majority rule: machine %s is being drained: releasing the "
                                    "units held there, placing them elsewhere",
                                    *id);
        strv_free(e->majority_released);
        e->majority_released = TAKE_PTR(released);
        r = majority_tracker_held(e->majority, &held);
        if (r < 0)
                return r;
        majority_tracker_counts(e->majority, &known, &expired);
        n_held = majority_tracker_n_held(e->majority);
        if (n_new > 0) {
                _cleanup_free_ char *list = join_ids(held);

                log_warning("Majority rule: %zu of the %zu machines known have no lease; holding "
                            "the units of %s where they are until the machines come back or an "
                            "operator removes their schedule entries",
                            expired, known, strempty(list));
        } else if (n_held < before)
                log_info("Majority rule: %zu machine(s) held now (%zu before)", n_held, before);
        e->stats.machines_held = n_held;
        majority_timer_arm(e);
        return mirror_set_held_machines(e->mirror, held);
}

static int pass_compute(Engine *e, Pass *p) {
        _cleanup_(scheduler_result_freep) SchedulerResult *unscheduled = NULL;
        SchedulerResult *res;
        usec_t t0 = clock_now_usec(CLOCK_MONOTONIC);
        ReconcileInput in;
        int r;

        r = majority_apply(e);
        if (r < 0)
                return log_error_errno(r, "Failed to apply the majority rule: %m");
        r = mirror_build_view(e->mirror, &p->view);
        if (r < 0)
                return log_error_errno(r, "Failed to build the cluster snapshot: %m");
        r = scheduler_run(p->view->snapshot, &p->result);
        res = p->result;
        if (r >= 0)
                r = scheduler_result_copy_unscheduled(res, &unscheduled);
        if (r < 0) {
                mirror_gc_suspect_all(e->mirror); /* the view took the suspects */
                return log_error_errno(r, "Scheduler pass failed: %m");
        }
        in = (ReconcileInput){
                .snapshot = p->view->snapshot,
                .result = res,
                .units = p->view->units,
                .n_units = p->view->n_units,
                .held = p->view->held,
                .n_held = p->view->n_held,
                .reasons = p->view->reasons,
                .n_reasons = p->view->n_reasons,
                .job_revisions = p->view->job_revisions,
                .n_job_revisions = p->view->n_job_revisions,
                .pinned = p->view->pinned,
                .n_pinned = p->view->n_pinned,
        };
        r = reconcile_plan(&in, &p->plan);
        if (r < 0) {
                mirror_gc_suspect_all(e->mirror);
                return log_error_errno(r, "Failed to plan schedule changes: %m");
        }
        /* Until their deletion shows in the mirror, look at them again in each pass. */
        for (size_t i = 0; i < p->plan->n_garbage; i++)
                mirror_gc_suspect(e->mirror, p->plan->garbage[i].hash);
        for (size_t i = 0; i < p->view->n_held; i++)
                log_debug("Leaving %s alone: its unit content %s is missing or unreadable",
                          p->view->held[i].name, p->view->held[i].hash);
        log_unscheduled(e, res);
        if (engine_stats_count_pass(&e->stats, p->view->snapshot, res) < 0)
                log_oom(); /* only a metric is lost */
        scheduler_result_free(e->last_result);
        e->last_result = TAKE_PTR(unscheduled);
        e->stats.passes++;
        e->stats.unscheduled_jobs = e->last_result->n_unscheduled;
        e->stats.last_pass_at = loop_now(e);
        e->stats.last_pass_usec = clock_now_usec(CLOCK_MONOTONIC) - t0;
        log_debug("Engine pass: %zu jobs, %zu machines, %zu changes, %zu unscheduled, "
                  "%zu unreferenced contents, %" PRIu64 " us",
                  p->view->snapshot->n_jobs, p->view->snapshot->n_machines, p->plan->n_ops,
                  e->last_result->n_unscheduled, p->plan->n_garbage, e->stats.last_pass_usec);
        return 0;
}

static bool pass_possible(const Engine *e) {
        return leader_is_leader(e->leader) && !e->stopping && e->mirror_synced && !e->pass &&
               e->mirror_revision >= e->awaited_revision;
}

static void run_pass(Engine *e) {
        Pass *p;
        int r;

        if (!e->pass_wanted || !pass_possible(e))
                return;
        e->pass_wanted = false;
        p = calloc(1, sizeof(*p));
        if (!p) {
                log_oom();
                return;
        }
        e->pass = p;
        p->term = leader_get_term(e->leader);
        e->n_own = 0;
        e->pass_generation = e->generation;
        e->pass_clean = false;
        r = pass_compute(e, p);
        if (r < 0) {
                e->pass = pass_free(e->pass); /* the safety tick tries again */
                return;
        }
        p->n_batches = reconcile_plan_n_batches(p->plan);
        if (p->n_batches == 0) {
                pass_finish(e);
                return;
        }
        if (send_batch(e) < 0)
                e->pass = pass_free(e->pass);
}

static int kick_fired(sd_event_source *s, void *userdata) {
        run_pass(userdata);
        return 0;
}

/* Ask for a pass; it runs once the loop is idle (so a burst of events gives one pass) and
 * the conditions of pass_possible() hold. */
static void kick(Engine *e) {
        int r;

        e->pass_wanted = true;
        if (!pass_possible(e))
                return;
        r = sd_event_source_set_enabled(e->kick_source, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Failed to schedule an engine pass: %m");
}

/* ---- the mirror watch --------------------------------------------------------------------- */

static void resync(Engine *e, const char *why) {
        int r;

        if (!e->watch)
                return;
        log_info("Re-listing the registry: %s", why);
        e->mirror_synced = e->listing = false;
        r = registry_watch_restart(e->watch, 0);
        if (r < 0) {
                log_error_errno(r, "Failed to restart the registry watch, retrying: %m");
                e->watch_failed = true;
        }
}

/* One page of a listing: 0 (more to come), 1 (the mirror is complete), < 0. */
static int apply_listing(Engine *e, const RegistryWatchUpdate *u) {
        int r;

        if (u->resync) {
                mirror_clear(e->mirror);
                e->mirror_synced = false;
                e->listing = true;
        }
        for (size_t i = 0; i < u->n_entries; i++) {
                r = mirror_put(e->mirror, &u->entries[i]);
                if (r < 0)
                        return r;
        }
        if (u->more)
                return 0;
        e->listing = false;
        e->stats.resyncs++;
        e->mirror_synced = true;
        e->awaited_revision = 0; /* the listing has everything up to its revision */
        log_info("Engine mirror loaded: %zu jobs, %zu machines, %zu schedule entries, "
                 "%zu unit contents (revision %" PRIi64 ")",
                 mirror_n_jobs(e->mirror), mirror_n_machines(e->mirror),
                 mirror_n_schedule(e->mirror), mirror_n_units(e->mirror), u->revision);
        return 1;
}

/* Whether a schedule event is this engine's own write: its revision is one of the running
 * pass's txns, or it matches an operation of the batch in flight (the watch may deliver the
 * change before the txn's answer arrives). Only the leader writes schedule entries. */
static bool is_own_write(const Engine *e, const RegistryEvent *ev) {
        const RegistryKey *k = &ev->entry.key;
        size_t start, n;

        if (own_revision_has(e, ev->entry.mod_revision))
                return true;
        if (!e->pass || !e->pass->call)
                return false;
        reconcile_plan_batch(e->pass->plan, e->pass->batch, &start, &n);
        for (size_t i = start; i < start + n; i++) {
                const ReconcileOp *op = &e->pass->plan->ops[i];

                if (op->put == (ev->type == REGISTRY_EVENT_PUT) &&
                    streq(op->machine_id, k->machine_id) && streq(op->name, k->name))
                        return true;
        }
        return false;
}

static int apply_event(Engine *e, const RegistryEvent *ev) {
        const RegistryEntry *en = &ev->entry;
        int r;

        if (ev->type == REGISTRY_EVENT_PUT)
                r = mirror_put(e->mirror, en);
        else {
                r = mirror_delete(e->mirror, &en->key);
                if (r > 0 && en->key.kind == REGISTRY_KEY_MACHINE)
                        log_info("Machine %s went away, rescheduling its units",
                                 en->key.machine_id);
        }
        if (r > 0 && en->key.kind == REGISTRY_KEY_SCHEDULE && is_own_write(e, ev))
                return 2; /* a change, but the pass that made it already knew */
        return r;
}

static void on_watch(RegistryWatch *w, int error, const RegistryWatchUpdate *u, void *userdata) {
        Engine *e = userdata;
        bool relevant = false, changed = false;
        int r = 0;

        if (error < 0) {
                log_error_errno(error, "Registry watch stopped, restarting: %m");
                e->mirror_synced = e->listing = false;
                e->watch_failed = true;
                return;
        }
        if (u->resync || e->listing) {
                r = apply_listing(e, u);
                relevant = changed = r > 0;
        }
        for (size_t i = 0; r >= 0 && i < u->n_events; i++) {
                r = apply_event(e, &u->events[i]);
                relevant = relevant || r == 1;
                changed = changed || r > 0;
        }
        if (changed)
                e->generation++;
        if (r < 0) {
                log_error_errno(r, "Failed to update the engine mirror: %m");
                resync(e, "the mirror is incomplete");
                return;
        }
        e->mirror_revision = u->revision;
        if (relevant || e->pass_wanted)
                kick(e); /* or: perhaps the mirror caught up with our writes */
}

/* ---- leadership --------------------------------------------------------------------------- */

static void leadership_drop(Engine *e) {
        e->pass = pass_free(e->pass);
        gc_cancel(e);
        e->watch = registry_watch_free(e->watch);
        e->mirror = mirror_free(e->mirror);
        e->last_result = scheduler_result_free(e->last_result);
        placements_clear(e);
        if (e->majority)
                majority_tracker_reset(e->majority);
        e->majority_released = strv_free(e->majority_released);
        if (e->majority_timer)
                (void) sd_event_source_set_enabled(e->majority_timer, SD_EVENT_OFF);
        e->stats.machines_held = 0;
        e->mirror_synced = e->watch_failed = e->pass_wanted = e->pass_clean = false;
        e->listing = false;
        e->mirror_revision = e->awaited_revision = 0;
        e->n_own = 0;
        if (e->tick_timer)
                (void) sd_event_source_set_enabled(e->tick_timer, SD_EVENT_OFF);
        if (e->kick_source)
                (void) sd_event_source_set_enabled(e->kick_source, SD_EVENT_OFF);
        e->stats.is_leader = false;
        e->stats.term = 0;
}

static int watch_start(Engine *e) {
        RegistryWatchOptions opts = {.resync = true, .page_size = LIST_PAGE_SIZE};
        int r;

        if (!e->mirror) {
                r = mirror_new(&e->mirror);
                if (r < 0)
                        return log_oom();
        }
        r = registry_watch_new(e->registry, _REGISTRY_KEY_KIND_INVALID, NULL, &opts, on_watch, e,
                               &e->watch);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the registry: %m");
        return 0;
}

static void on_leader_change(Leader *l, bool is_leader, int64_t term, void *userdata) {
        Engine *e = userdata;
        int r;

        leadership_drop(e); /* nothing of an earlier term carries over */
        if (!is_leader)
                return;
        e->stats.is_leader = true;
        e->stats.term = term;
        (void) sd_event_now(e->event, CLOCK_REALTIME, &e->stats.leader_start_realtime);
        e->stats.terms_won = leader_get_terms_won(l);
        r = watch_start(e);
        if (r < 0)
                e->watch_failed = true; /* the tick retries */
        r = sd_event_source_set_enabled(e->tick_timer, SD_EVENT_ON);
        if (r < 0)
                log_error_errno(r, "Failed to enable the engine tick: %m");
}

/* The safety net: a pass every reconcile interval, and recovery of a stuck watch. */
static int tick_fired(sd_event_source *s, uint64_t usec, void *userdata) {
        Engine *e = userdata;
        usec_t now = loop_now(e);
        int r;

        r = sd_event_source_set_time(s, now + e->reconcile_interval);
        if (r < 0)
                log_error_errno(r, "Failed to re-arm the engine tick: %m");
        if (!leader_is_leader(e->leader))
                return 0;
        if (e->watch_failed) {
                e->watch_failed = false;
                if (!e->watch && watch_start(e) < 0)
                        e->watch_failed = true;
                else if (e->watch)
                        resync(e, "the registry watch stopped");
        } else if (e->mirror_synced && e->mirror_revision < e->awaited_revision &&
                   now - e->awaiting_since > 2 * e->reconcile_interval)
                resync(e, "the watch has not shown this engine's last write");
        /* A pass is a pure function of the mirror: over an unchanged mirror, after a pass that
         * had nothing left to do, another one would find nothing either. */
        if (e->generation != e->pass_generation || !e->pass_clean)
                kick(e);
        return 0;
}

/* ---- explain ------------------------------------------------------------------------------ */

static int explain_scheduled(const Engine *e, const char *job, char *const *machines, char **ret) {
        const Placement *p = strmap_get(&e->placements, job);
        const char *m = machines[0];
        int r;

        if (p && streq(p->machine, m))
                r = asprintf(ret, "scheduled on Machine(%s): %s", m, p->reason->text);
        else
                r = asprintf(ret, "scheduled on Machine(%s): it still can run there%s", m,
                             mirror_has_machine(e->mirror, m) ? "" : " (machine gone, moving)");
        if (r >= 0 && machines[1]) {
                char *s = NULL;

                if (asprintf(&s, "%s; also on Machine(%s)", *ret, machines[1]) < 0)
                        r = -1;
                free(*ret);
                *ret = s;
        }
        return r < 0 ? -ENOMEM : 0;
}

int engine_explain(const Engine *e, const char *job_name, char **ret) {
        _cleanup_strv_free_ char **machines = NULL;
        const SchedulerUnscheduled *u;
        MirrorJobInfo info;
        int r;

        assert(e);
        assert(job_name);
        assert(ret);
        if (!leader_is_leader(e->leader))
                return -EREMOTE;
        if (!e->mirror || !e->mirror_synced)
                return -EAGAIN;
        r = mirror_get_job(e->mirror, job_name, &info);
        if (r < 0)
                return r;
        if (info.global)
                return (*ret = strdup("global unit: every machine whose metadata matches runs "
                                      "it; the engine does not schedule it"))
                               ? 0
                               : -ENOMEM;
        if (info.state == JOB_STATE_INACTIVE)
                return (*ret = strdup("not scheduled: desired state inactive")) ? 0 : -ENOMEM;
        if (info.held)
                return asprintf(ret, "left as it is: unit content %s is missing or unreadable",
                                info.hash) < 0
                               ? -ENOMEM
                               : 0;
        r = mirror_get_job_machines(e->mirror, job_name, &machines);
        if (r < 0)
                return r;
        if (machines[0])
                return explain_scheduled(e, job_name, machines, ret);
        u = e->last_result ? scheduler_result_find_unscheduled(e->last_result, job_name) : NULL;
        if (u)
                return asprintf(ret, "not scheduled: %s", u->reason) < 0 ? -ENOMEM : 0;
        return (*ret = strdup("not scheduled yet: waiting for the next pass")) ? 0 : -ENOMEM;
}

/* ---- object ------------------------------------------------------------------------------- */

int engine_new(Engine **ret, sd_event *event, Registry *registry, const EngineConfig *cfg) {
        _cleanup_(engine_freep) Engine *e = NULL;
        LeaderConfig lc;
        int r;

        assert(ret);
        if (!registry || !cfg || !cfg->machine_id || !*cfg->machine_id)
                return -EINVAL;
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->event =
                sd_event_ref(event ? event : etcd_client_get_event(registry_get_client(registry)));
        e->registry = registry;
        e->machine_id = strdup(cfg->machine_id);
        if (!e->machine_id)
                return -ENOMEM;
        e->reconcile_interval = cfg->reconcile_interval ?: DEFAULT_RECONCILE_INTERVAL;
        e->agent_ttl = cfg->agent_ttl ?: DEFAULT_AGENT_TTL;
        r = majority_tracker_new(&e->majority, e->agent_ttl,
                                 MIN(e->agent_ttl, MAJORITY_SETTLE_USEC),
                                 MIN(e->agent_ttl, MAJORITY_GRACE_USEC));
        if (r < 0)
                return r;
        lc = (LeaderConfig){
                .machine_id = cfg->machine_id,
                .version = cfg->version,
                .lease_ttl = MAX(cfg->lease_ttl ?: 5 * e->reconcile_interval, MIN_LEASE_TTL),
                .machine_lease = cfg->machine_lease,
        };
        r = leader_new(&e->leader, e->event, registry, &lc, on_leader_change, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(e);
        return 0;
}

static int add_sources(Engine *e) {
        int r;

        r = sd_event_add_defer(e->event, &e->kick_source, kick_fired, e);
        if (r >= 0)
                r = sd_event_source_set_priority(e->kick_source, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_event_source_set_enabled(e->kick_source, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "Failed to add the engine pass source: %m");
        (void) sd_event_source_set_description(e->kick_source, "engine-pass");
        r = sd_event_add_time_relative(e->event, &e->tick_timer, CLOCK_MONOTONIC,
                                       e->reconcile_interval, TIMER_ACCURACY_USEC, tick_fired, e);
        if (r >= 0)
                r = sd_event_source_set_enabled(e->tick_timer, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "Failed to add the engine tick: %m");
        (void) sd_event_source_set_description(e->tick_timer, "engine-tick");
        return 0;
}

int engine_start(Engine *e) {
        int r;

        assert(e);
        if (e->started)
                return -EALREADY;
        r = add_sources(e);
        if (r < 0)
                return r;
        r = leader_start(e->leader);
        if (r < 0)
                return r;
        e->started = true;
        log_info("Engine started on machine %s", e->machine_id);
        return 0;
}

static void resign_done(Leader *l, void *userdata) {
        Engine *e = userdata;

        log_info("Engine stopped");
        if (e->stop_done)
                e->stop_done(e, e->stop_userdata);
}

int engine_stop(Engine *e, void (*done)(Engine *e, void *userdata), void *userdata) {
        assert(e);
        if (e->stopping)
                return -EALREADY;
        e->stopping = true;
        e->stop_done = done;
        e->stop_userdata = userdata;
        leadership_drop(e);
        return leader_resign(e->leader, resign_done, e);
}

Engine *engine_free(Engine *e) {
        if (!e)
                return NULL;
        leadership_drop(e);
        leader_free(e->leader);
        majority_tracker_free(e->majority);
        strv_free(e->majority_released);
        sd_event_source_disable_unref(e->majority_timer);
        sd_event_source_disable_unref(e->kick_source);
        sd_event_source_disable_unref(e->tick_timer);
        sd_event_unref(e->event);
        free(e->own_revisions);
        free(e->machine_id);
        free(e);
        return NULL;
}

int engine_set_lease(Engine *e, int64_t lease) {
        assert(e);
        return leader_set_lease(e->leader, lease);
}

const EngineStats *engine_get_stats(const Engine *e) {
        assert(e);
        return &e->stats;
}

const char *engine_get_leader(const Engine *e) {
        assert(e);
        return leader_get_current(e->leader);
}
