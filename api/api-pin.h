/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * PURE half of fleet-c's pin API (rolling updates of global units; an extension outside
 * fleet's namespaces):
 *   GET    /fleet-c/v1/pins                 200 {"pins":[{"machineID":"...","name":"...",
 *                                           "hash":"..."}]} (sorted by machine ID, then name)
 *   PUT    /fleet-c/v1/pins/<id>/<name>     body {"hash":"<sha1>"}: machine <id> keeps running
 *                                           that content of global unit <name>; 204, 400 for a
 *                                           bad body or a unit that is not global, 404 for a
 *                                           machine, unit or content that does not exist
 *   DELETE /fleet-c/v1/pins/<id>/<name>     204 (also when there was no pin)
 * No I/O; unit-tested.
 */

#include <stddef.h>

#include "registry-json.h"

/* The PUT body: the hash in ret (REGISTRY_HASH_LEN + 1 bytes), or -EINVAL with a malloc'd
 * message in *reterr_message. */
int api_pin_body_decode(const char *body, size_t len, char ret[static REGISTRY_HASH_LEN + 1],
                        char **reterr_message);

/* "<machineID>/<name>" (the route's item) split into two malloc'd key components; -EINVAL for
 * anything else, -ENOMEM. */
int api_pin_item_split(const char *item, char **ret_machine, char **ret_name);

/* The list of n pin/<id>/<name> entries (any order; entries without a value are skipped).
 * Malloc'd compact JSON in *ret. 0 or -ENOMEM. */
int api_pins_format(const RegistryEntry *const *entries, size_t n, char **ret);
