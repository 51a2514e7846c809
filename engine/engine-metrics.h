/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The engine's part of /metrics, in Prometheus text format: fleet's fleet_engine_* metrics with
 * fleet's names, labels and meanings (reference 10), plus fleet-c's own. PURE: formats and
 * counts the stats given, no I/O but the FILE.
 *
 * fleet's task types, lower-cased as fleet exports them: "attemptscheduleunit" (a placement)
 * and "unscheduleunit" (a removal). Its reconcile failure types: "machine_away" (a unit's
 * machine went away), "run" (its machine can no longer run it), "schedule" (no machine can
 * run a unit that should run).
 */

#include <stddef.h>
#include <stdio.h>

#include "engine.h"
#include "reconciler.h"
#include "scheduler.h"
#include "snapshot.h"

void engine_metrics_write(const EngineStats *s, FILE *f);

/*
 * Count one computed pass into s's reconcile failures: each UNSCHEDULE decision of res whose
 * machine is not among snap's machines is a machine_away, one whose job still wants to run
 * (exists, not inactive) is a run, and each job left unscheduled is a schedule failure.
 * 0, or -ENOMEM (nothing counted).
 */
int engine_stats_count_pass(EngineStats *s, const ClusterSnapshot *snap,
                            const SchedulerResult *res);

/* Count the n ops of a schedule batch that failed (or was fenced) as task failures. */
void engine_stats_count_failed_batch(EngineStats *s, const ReconcileOp *ops, size_t n);
