/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Cluster-level unit states (reference 7.1): the desired state of a job and the target state of
 * a schedule entry. Pure.
 *   inactive  known to fleet, not scheduled
 *   loaded    scheduled, file written and linked in systemd, not started
 *   launched  loaded, and StartUnit issued
 */

#include <errno.h>

typedef enum JobState {
        JOB_STATE_INACTIVE,
        JOB_STATE_LOADED,
        JOB_STATE_LAUNCHED,
        _JOB_STATE_MAX,
        _JOB_STATE_INVALID = -EINVAL,
} JobState;

/* "inactive", "loaded", "launched"; NULL for a value out of range. */
const char *job_state_to_string(JobState s);

/* Exact, case-sensitive match of the strings above; -EINVAL (_JOB_STATE_INVALID) otherwise,
 * including for NULL. */
JobState job_state_from_string(const char *s);
