/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The agent's part of /metrics, in Prometheus text format (fleet_agent_*). PURE: formats the
 * stats given (agent_get_stats()), no I/O but the FILE.
 */

#include <stdio.h>

#include "agent.h"

void agent_metrics_write(const AgentStats *s, FILE *f);
