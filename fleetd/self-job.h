/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What systemd is doing to fleetd's own unit, asked when SIGTERM arrives: `systemctl restart
 * fleet` queues a restart job (JobType "restart" while the stop half runs), `systemctl stop
 * fleet` or a shutdown a stop job. fleetd keeps its units and lease through a restart, as on
 * its SIGUSR2 upgrade exit, and hands them over on a stop.
 *
 * Asynchronous (fleetd never blocks): the unit is found with sd_pid_get_unit() (or
 * sd_pid_get_user_unit() under a user manager), then Manager.GetUnit, the unit's Job property
 * and the job's JobType are read over a private bus connection attached to the caller's loop.
 */

#include <stdbool.h>

#include <systemd/sd-event.h>

#include "macro.h"
#include "time-util.h"

typedef struct SelfJob SelfJob;

typedef enum SelfJobVerdict {
        SELF_JOB_STOP,    /* a stop job, or no job at all (a plain SIGTERM) */
        SELF_JOB_RESTART, /* a restart job ("restart", "try-restart", "reload-or-restart", ...)
                           * or a start job already queued: fleetd comes back at once */
        SELF_JOB_UNKNOWN, /* not run by systemd, or systemd did not answer in time */
} SelfJobVerdict;

/* Called once from the loop with the verdict and systemd's job type (NULL if none or unknown;
 * borrowed, valid during the call). The callback may free the query. */
typedef void (*SelfJobCallback)(SelfJob *q, SelfJobVerdict verdict, const char *job_type,
                                void *userdata);

/* The verdict for systemd's JobType string of our unit's job (NULL: no job). Pure. */
SelfJobVerdict self_job_verdict_from_type(const char *job_type);

/*
 * Start the query on event; cb runs once from the loop (SELF_JOB_UNKNOWN after timeout or any
 * error on the way). 0 with *ret, -ENOMEM, or the errno of opening the bus or sending the first
 * call (then nothing runs; treat as SELF_JOB_UNKNOWN).
 */
int self_job_query(sd_event *event, usec_t timeout, SelfJobCallback cb, void *userdata,
                   SelfJob **ret);

/* Cancel (no callback) and free. NULL ok; returns NULL. */
SelfJob *self_job_free(SelfJob *q);
DEFINE_CLEANUP(SelfJob *, self_job_free);
