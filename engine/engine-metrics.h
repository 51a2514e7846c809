/* SPDX-License-Identifier: MIT */
#pragma once

/* The engine's part of /metrics, in Prometheus text format (fleet_engine_*, reference 10,
 * plus fleet-c's own counters). */

#include <stdio.h>

#include "engine.h"

void metrics_write_engine(const EngineStats *s, FILE *f);
