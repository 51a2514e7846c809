/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "job-state.h"
#include "macro.h"

static const char *const job_state_table[_JOB_STATE_MAX] = {
        [JOB_STATE_INACTIVE] = "inactive",
        [JOB_STATE_LOADED] = "loaded",
        [JOB_STATE_LAUNCHED] = "launched",
};

const char *job_state_to_string(JobState s) {
        if (s < 0 || s >= _JOB_STATE_MAX)
                return NULL;
        return job_state_table[s];
}

JobState job_state_from_string(const char *s) {
        if (!s)
                return _JOB_STATE_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(job_state_table); i++)
                if (streq(s, job_state_table[i]))
                        return (JobState) i;
        return _JOB_STATE_INVALID;
}
