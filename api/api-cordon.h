/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * PURE half of fleet-c's cordon API (an extension outside fleet's namespaces):
 *   GET    /fleet-c/v1/cordons        200 {"cordons":[{"machineID":"...","state":"cordoned"}]}
 *                                     (state "cordoned" or "draining"; sorted by machine ID)
 *   PUT    /fleet-c/v1/cordons/<id>   body {"draining":true|false} (may be empty: false);
 *                                     204, 400 for a bad body, 404 for a machine that is not
 *                                     in the cluster and has no units scheduled (one whose
 *                                     lease expired may be drained: the engine releases the
 *                                     units it holds there)
 *   DELETE /fleet-c/v1/cordons/<id>   204 (uncordon; also when there was no cordon)
 * No I/O; unit-tested.
 */

#include <stdbool.h>
#include <stddef.h>

#include "registry-json.h"

/* The PUT body: *ret_draining, or -EINVAL with a malloc'd message in *reterr_message. */
int api_cordon_body_decode(const char *body, size_t len, bool *ret_draining, char **reterr_message);

/* The list of n cordon/<id> entries (any order; entries without a value are skipped).
 * Malloc'd compact JSON in *ret. 0 or -ENOMEM. */
int api_cordons_format(const RegistryEntry *const *entries, size_t n, char **ret);
