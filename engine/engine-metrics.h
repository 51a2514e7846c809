/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The engine's part of /metrics, in Prometheus text format: fleet_engine_* (reference 10) plus
 * fleet-c's own counters. PURE: formats the stats given, no I/O but the FILE.
 */

#include <stdio.h>

#include "engine.h"

void engine_metrics_write(const EngineStats *s, FILE *f);
