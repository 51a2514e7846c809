/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The agent's task executor: carries out one list of reconcile tasks (reconcile.h) through
 * the asynchronous systemd manager (systemd.h), never blocking the loop.
 *
 * Tasks run by type in the order of AgentTaskType (unload, load, reload, stop, start,
 * restart): every task of a type is issued at once and the next type starts when all of them
 * have finished. A unit whose task failed gets no further task in this list (no start after a
 * failed load). What each task does:
 *   unload   StopUnit, waiting for the job (so ExecStop= runs while the file exists), then
 *            DisableUnitFiles (runtime), ResetFailedUnit, unlink the file
 *   load     write the file (if write_file), LinkUnitFiles (runtime, force), EnableUnitFiles
 *            (runtime, force) when the unit has an [Install] section
 *   reload   Manager.Reload
 *   stop     StopUnit            start   StartUnit          (queued jobs, not awaited)
 *   restart  StopUnit, waiting for the job, then StartUnit
 *
 * A phase whose steps systemd has not finished after 150 s (a stop job that hangs) fails its
 * remaining tasks with -ETIMEDOUT, so one stuck unit cannot wedge the agent; their late answers
 * are ignored.
 *
 * The caller sees every task's outcome (task callback) and the end of the list (done
 * callback), both from the event loop. Retrying failed tasks is the caller's business.
 *
 * Lifetime: the systemd manager is borrowed. Free the manager BEFORE the executor if
 * operations may be in flight (freeing the manager drops their callbacks).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "macro.h"
#include "reconcile.h"
#include "systemd.h"

typedef struct Executor Executor;

typedef struct ExecTask {
        AgentTaskType type;
        char *name;      /* NULL for reload */
        char *hash;      /* load: the content's hash */
        bool write_file; /* load: write text first */
        char *text;      /* load with write_file: the normalized unit text */
        size_t len;
        bool enable;        /* load: the unit has an [Install] section */
        const char *reason; /* static, for the log */
        /* outcome */
        int error; /* 0 or a negative errno; -ECANCELED if skipped or aborted */
        bool finished;
} ExecTask;

void exec_task_done(ExecTask *t);

typedef struct ExecutorStats {
        uint64_t tasks[_AGENT_TASK_TYPE_MAX];  /* finished successfully */
        uint64_t failed[_AGENT_TASK_TYPE_MAX]; /* failed (skipped ones not counted) */
        uint64_t runs;
} ExecutorStats;

typedef void (*ExecutorTaskCallback)(Executor *x, const ExecTask *t, void *userdata);
/* The list is finished: n_failed tasks failed or were skipped; aborted if
 * executor_abort() cut it short. */
typedef void (*ExecutorDoneCallback)(Executor *x, size_t n_failed, bool aborted, void *userdata);

int executor_new(Executor **ret, sd_event *event, SystemdManager *manager,
                 ExecutorTaskCallback task_cb, ExecutorDoneCallback done_cb, void *userdata);
/* See the lifetime note above. NULL ok; returns NULL. */
Executor *executor_free(Executor *x);
DEFINE_CLEANUP(Executor *, executor_free);

/*
 * Run n tasks (the array and its contents are taken over, also on failure). The first step is
 * issued from the event loop. -EBUSY if a list is running, -ENOMEM.
 */
int executor_run(Executor *x, ExecTask *tasks, size_t n);

bool executor_is_running(const Executor *x);

/* Issue no further step; the done callback follows when the steps in flight have finished.
 * No-op when idle. */
void executor_abort(Executor *x);

const ExecutorStats *executor_get_stats(const Executor *x);
