/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * PURE: the agent's side of the majority rule and its wire format, shared by the agent (which
 * asks) and the API (which answers) (issue 12, docs/failure-behaviour.md). At its
 * fencing deadline the agent asks the other machines it knows whether they reach etcd
 * (GET /fleet-c/v1/etcd-health on their API port). Only when a strict majority of all the
 * machines it knows, itself included, say they do not is etcd down for the majority: then no
 * engine can move anything and the agent keeps its units running. Any answer short of that
 * (no answer, an error, a malformed body, a machine without a TCP API) counts for freezing.
 */

#include <stdbool.h>
#include <stddef.h>

/* The path of the health endpoint, under a fleet-c prefix that never collides with fleet's API. */
#define QUORUM_HEALTH_PATH "/fleet-c/v1/etcd-health"

/* The endpoint's body: {"reachable":true} or {"reachable":false}. Malloc'd, NULL on OOM. */
char *quorum_health_json(bool reachable);

/*
 * Parse a peer's answer: HTTP status and body. 1 with *ret_reachable set when it is a valid
 * answer (status 200, a JSON object with a boolean "reachable"), 0 when it is not (counts as
 * no answer).
 */
int quorum_parse_answer(long status, const char *body, size_t len, bool *ret_reachable);

/*
 * n_known machines (this one included), n_down of them (this one included) answered that they
 * do not reach etcd: true if that is a strict majority, i.e. etcd is down for the majority.
 */
bool quorum_etcd_down_for_majority(size_t n_known, size_t n_down);
