/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The scheduler's human-readable reasons (internal to engine/scheduler*.c): why one machine
 * cannot run a job, in fleet's words where fleet has them (reference 8.3), and a summary of why
 * no machine can, e.g. "no machine satisfies MachineMetadata region=us (3 machines checked)".
 * Pure. The sched_reason_* functions with ret return 0 and a malloc'd string in *ret, or
 * -ENOMEM.
 */

#include <stdint.h>

#include "macro.h"
#include "scheduler-state.h"
#include "xfleet.h"

/* "region=us and (disk=ssd or disk=nvme) and rack!=r1". */
int sched_reason_metadata(const XFleet *x, char **ret);

/* Why c->machine cannot run job j, e.g. "local Machine metadata insufficient (MachineMetadata
 * region=us)", "found conflict with locally-scheduled Unit(b.service)". */
int sched_reason_check(const Sched *s, uint32_t j, const SchedCheck *c, char **ret);

/* Failures over the machines considered for one job: a count and the first example of each. */
typedef struct SchedTally {
        uint32_t count[_SCHED_FAIL_MAX];
        SchedCheck first[_SCHED_FAIL_MAX];
} SchedTally;

/* Count n machines failing as c describes (c->machine may be SCHED_NONE for machines that an
 * index excluded without looking at them). */
void sched_tally_add(SchedTally *t, const SchedCheck *c, uint32_t n);

/* "no machine satisfies <constraint> (N machines checked)" when one constraint failed
 * everywhere, "no machine able to run it (N machines checked: a fail <x>, b fail <y>)"
 * otherwise, and "no machines available" for an empty cluster. */
int sched_reason_tally(const Sched *s, uint32_t j, const SchedTally *t, char **ret);

/* A malloc'd string from a format, or NULL on OOM. */
char *sched_strdup_printf(const char *format, ...) _printf_(1, 2);

/* prefix + " (load N)" without printf, the reason of most decisions; NULL on OOM. */
char *sched_reason_with_load(const char *prefix, uint32_t load);
