/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "executor.h"
#include "log.h"
#include "time-util.h"

/* Longer than systemd's default stop timeout (90 s, then SIGKILL) plus a reload. */
#define EXECUTOR_PHASE_TIMEOUT_USEC (150 * USEC_PER_SEC)

struct Executor {
        sd_event *event;
        SystemdManager *manager;
        ExecutorTaskCallback task_cb;
        ExecutorDoneCallback done_cb;
        void *userdata;

        ExecTask *tasks;
        size_t n_tasks;
        unsigned *steps; /* per task: next step to issue */
        bool running;
        bool aborted;
        int phase;          /* AgentTaskType being run */
        size_t n_in_flight; /* tasks of the phase not finished */
        size_t n_failed;
        sd_event_source *advance_source;
        sd_event_source *phase_timer; /* a phase that takes too long fails its stragglers */
        uint64_t generation;          /* of the list; stale callbacks are ignored */
        ExecutorStats stats;
};

/* Context of one asynchronous step (the manager's userdata). */
typedef struct StepRef {
        Executor *executor;
        uint64_t generation;
        size_t index;
} StepRef;

void exec_task_done(ExecTask *t) {
        free(t->name);
        free(t->hash);
        free(t->text);
        *t = (ExecTask){};
}

static void free_tasks(Executor *x) {
        for (size_t i = 0; i < x->n_tasks; i++)
                exec_task_done(&x->tasks[i]);
        free(x->tasks);
        free(x->steps);
        x->tasks = NULL;
        x->steps = NULL;
        x->n_tasks = 0;
}

static void schedule_advance(Executor *x) {
        (void) sd_event_source_set_enabled(x->advance_source, SD_EVENT_ONESHOT);
}

static void task_finish(Executor *x, size_t i, int error) {
        ExecTask *t = &x->tasks[i];
        const char *type = agent_task_type_to_string(t->type);

        assert(!t->finished);
        t->finished = true;
        t->error = error;
        if (error >= 0) {
                x->stats.tasks[t->type]++;
                log_info("Completed task: %s%s%s (%s)", type, t->name ? " " : "", strempty(t->name),
                         t->reason);
        } else {
                x->n_failed++;
                if (error != -ECANCELED) {
                        x->stats.failed[t->type]++;
                        log_warning_errno(error, "Task failed: %s%s%s (%s): %m", type,
                                          t->name ? " " : "", strempty(t->name), t->reason);
                }
        }
        if (x->task_cb)
                x->task_cb(x, t, x->userdata);
}

static void step_issue(Executor *x, size_t i);

static void on_step(SystemdManager *m, const SystemdResult *res, void *userdata) {
        StepRef *ref = userdata;
        Executor *x = ref->executor;
        size_t i = ref->index;
        bool stale = ref->generation != x->generation || !x->running;
        ExecTask *t = stale ? NULL : &x->tasks[i];
        unsigned step;
        int error = res->error;

        free(ref);
        if (stale || t->finished) {
                /* The phase timed out without it: nothing waits for this answer any more. */
                log_debug("systemd answered a timed-out step, ignoring");
                return;
        }
        step = x->steps[i] - 1; /* the step that completed */
        /* NoSuchUnit while unloading, or stopping for a restart: nothing to do. */
        if (error == -ENOENT &&
            (t->type == AGENT_TASK_UNLOAD || (t->type == AGENT_TASK_RESTART && step == 0)))
                error = 0;
        if (error >= 0 && res->job_result && !streq(res->job_result, "done") &&
            !streq(res->job_result, "skipped")) {
                log_warning("Job for %s finished with result '%s'", t->name, res->job_result);
                error = -EIO;
        }
        if (error < 0 && t->type == AGENT_TASK_UNLOAD && step == 2) {
                log_debug_errno(error, "ResetFailedUnit(%s) failed, ignoring: %m", t->name);
                error = 0;
        }
        if (error >= 0 && t->type == AGENT_TASK_LOAD && step == 2 && !res->carries_install_info) {
                log_warning("Failed to enable systemd unit %s: its [Install] section installs "
                            "nothing",
                            t->name);
                error = -ENOEXEC;
        }
        if (error < 0 && res->message)
                log_warning("systemd: %s: %s", t->name, res->message);
        x->n_in_flight--;
        if (error < 0 || x->aborted) {
                task_finish(x, i, error < 0 ? error : -ECANCELED);
                if (x->n_in_flight == 0)
                        schedule_advance(x);
                return;
        }
        x->n_in_flight++;
        step_issue(x, i);
}

/* Issue step `step` of task t: 0 = an asynchronous call is in flight (on_step follows),
 * 1 = done synchronously or nothing to do (go on), 2 = no such step (the task is complete),
 * < 0 = failed. */
static int step_start(Executor *x, ExecTask *t, unsigned step, StepRef *ref) {
        SystemdManager *m = x->manager;
        int r;

        switch (t->type) {
        case AGENT_TASK_UNLOAD:
                if (step == 0)
                        return systemd_manager_stop_unit(m, t->name, SYSTEMD_JOB_WAIT, on_step,
                                                         ref);
                if (step == 1)
                        return systemd_manager_disable_unit(m, t->name, on_step, ref);
                if (step == 2)
                        return systemd_manager_reset_failed_unit(m, t->name, on_step, ref);
                if (step == 3) {
                        r = systemd_manager_remove_unit_file(m, t->name);
                        return r < 0 && r != -ENOENT ? r : 1;
                }
                return 2;
        case AGENT_TASK_LOAD:
                if (step == 0) {
                        if (!t->write_file)
                                return 1;
                        r = systemd_manager_write_unit_file(m, t->name, t->text, t->len);
                        return r < 0 ? r : 1;
                }
                if (step == 1)
                        return systemd_manager_link_unit(m, t->name, on_step, ref);
                if (step == 2)
                        return t->enable ? systemd_manager_enable_unit(m, t->name, on_step, ref)
                                         : 1;
                if (step == 3) {
                        /* A new unit is loaded without a daemon-reload (reconcile.h): systemd
                         * loads it on the next read, and its LoadState changes without a
                         * PropertiesChanged signal. Read it again. */
                        (void) systemd_manager_refresh_unit(m, t->name);
                        return 1;
                }
                return 2;
        case AGENT_TASK_RELOAD:
                return step == 0 ? systemd_manager_reload(m, on_step, ref) : 2;
        case AGENT_TASK_STOP:
                return step == 0 ? systemd_manager_stop_unit(m, t->name, 0, on_step, ref) : 2;
        case AGENT_TASK_START:
                return step == 0 ? systemd_manager_start_unit(m, t->name, 0, on_step, ref) : 2;
        case AGENT_TASK_RESTART:
                if (step == 0)
                        return systemd_manager_stop_unit(m, t->name, SYSTEMD_JOB_WAIT, on_step,
                                                         ref);
                if (step == 1)
                        return systemd_manager_start_unit(m, t->name, 0, on_step, ref);
                return 2;
        default:
                return -EINVAL;
        }
}

/* Issue the next steps of task i until one is in flight, or finish the task (all steps done,
 * or one failed). The task counts in n_in_flight on entry. */
static void step_issue(Executor *x, size_t i) {
        int r;

        for (;;) {
                StepRef *ref = malloc(sizeof(StepRef));

                if (!ref) {
                        r = -ENOMEM;
                        break;
                }
                *ref = (StepRef){x, x->generation, i};
                r = step_start(x, &x->tasks[i], x->steps[i]++, ref);
                if (r == 0)
                        return;
                free(ref);
                if (r != 1)
                        break;
        }
        x->n_in_flight--;
        task_finish(x, i, r < 0 ? r : 0);
        if (x->n_in_flight == 0)
                schedule_advance(x);
}

/* Did an earlier task of this list fail for this unit? */
static bool unit_failed(const Executor *x, const ExecTask *t) {
        for (const ExecTask *o = x->tasks; o < t; o++)
                if (o->finished && o->error < 0 && o->name && t->name && streq(o->name, t->name))
                        return true;
        return false;
}

/* Start the next phase that has tasks, or finish the list. */
static int on_advance(sd_event_source *s, void *userdata) {
        Executor *x = userdata;

        if (x->n_in_flight > 0)
                return 0;
        (void) sd_event_source_set_enabled(x->phase_timer, SD_EVENT_OFF);
        for (; x->phase < _AGENT_TASK_TYPE_MAX; x->phase++) {
                size_t started = 0;

                for (size_t i = 0; i < x->n_tasks; i++) {
                        ExecTask *t = &x->tasks[i];

                        if ((int) t->type != x->phase || t->finished)
                                continue;
                        if (x->aborted || unit_failed(x, t)) {
                                task_finish(x, i, -ECANCELED);
                                continue;
                        }
                        x->n_in_flight++;
                        started++;
                }
                if (started == 0)
                        continue;
                /* Issue after counting, so a task finishing synchronously cannot end the
                 * phase early. */
                x->n_in_flight++;
                for (size_t i = 0; i < x->n_tasks; i++)
                        if ((int) x->tasks[i].type == x->phase && !x->tasks[i].finished &&
                            x->steps[i] == 0)
                                step_issue(x, i);
                x->n_in_flight--;
                if (x->n_in_flight > 0) {
                        x->phase++;
                        (void) sd_event_source_set_time_relative(x->phase_timer,
                                                                 EXECUTOR_PHASE_TIMEOUT_USEC);
                        (void) sd_event_source_set_enabled(x->phase_timer, SD_EVENT_ONESHOT);
                        return 0;
                }
        }
        /* All phases done. */
        {
                size_t n_failed = x->n_failed;
                bool aborted = x->aborted;

                x->running = false;
                free_tasks(x);
                if (x->done_cb)
                        x->done_cb(x, n_failed, aborted, x->userdata);
        }
        return 0;
}

/* The phase that was started last (x->phase - 1) has stragglers: fail them and move on. */
static int on_phase_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Executor *x = userdata;
        char buf[FORMAT_TIMESPAN_MAX];

        if (!x->running || x->n_in_flight == 0)
                return 0;
        log_warning("systemd did not finish %zu task(s) within %s: giving up on them for now",
                    x->n_in_flight, format_timespan(buf, EXECUTOR_PHASE_TIMEOUT_USEC));
        for (size_t i = 0; i < x->n_tasks; i++)
                if ((int) x->tasks[i].type == x->phase - 1 && !x->tasks[i].finished &&
                    x->steps[i] > 0)
                        task_finish(x, i, -ETIMEDOUT);
        x->n_in_flight = 0;
        schedule_advance(x);
        return 0;
}

int executor_run(Executor *x, ExecTask *tasks, size_t n) {
        if (x->running) {
                for (size_t i = 0; i < n; i++)
                        exec_task_done(&tasks[i]);
                free(tasks);
                return -EBUSY;
        }
        x->steps = calloc(MAX(n, (size_t) 1), sizeof(unsigned));
        if (!x->steps) {
                for (size_t i = 0; i < n; i++)
                        exec_task_done(&tasks[i]);
                free(tasks);
                return -ENOMEM;
        }
        x->tasks = tasks;
        x->n_tasks = n;
        x->generation++;
        x->running = true;
        x->aborted = false;
        x->phase = 0;
        x->n_in_flight = 0;
        x->n_failed = 0;
        x->stats.runs++;
        schedule_advance(x);
        return 0;
}

bool executor_is_running(const Executor *x) {
        return x->running;
}

void executor_abort(Executor *x) {
        if (!x->running)
                return;
        x->aborted = true;
        if (x->n_in_flight == 0)
                schedule_advance(x);
}

const ExecutorStats *executor_get_stats(const Executor *x) {
        return &x->stats;
}

int executor_new(Executor **ret, sd_event *event, SystemdManager *manager,
                 ExecutorTaskCallback task_cb, ExecutorDoneCallback done_cb, void *userdata) {
        Executor *x;
        int r;

        x = calloc(1, sizeof(Executor));
        if (!x)
                return -ENOMEM;
        x->event = sd_event_ref(event);
        x->manager = manager;
        x->task_cb = task_cb;
        x->done_cb = done_cb;
        x->userdata = userdata;
        r = sd_event_add_defer(event, &x->advance_source, on_advance, x);
        if (r < 0) {
                executor_free(x);
                return r;
        }
        (void) sd_event_source_set_enabled(x->advance_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(x->advance_source, "agent-executor");
        r = sd_event_add_time_relative(event, &x->phase_timer, CLOCK_MONOTONIC, 0, 0,
                                       on_phase_timeout, x);
        if (r < 0) {
                executor_free(x);
                return r;
        }
        (void) sd_event_source_set_enabled(x->phase_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(x->phase_timer, "agent-executor-timeout");
        *ret = x;
        return 0;
}

Executor *executor_free(Executor *x) {
        if (!x)
                return NULL;
        free_tasks(x);
        sd_event_source_disable_unref(x->advance_source);
        sd_event_source_disable_unref(x->phase_timer);
        sd_event_unref(x->event);
        free(x);
        return NULL;
}
