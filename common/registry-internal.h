/* SPDX-License-Identifier: MIT */
#pragma once

/* Internals shared by registry.c (operations) and registry-watch.c. Not for other modules. */

#include "registry.h"

struct Registry {
        EtcdClient *client;
        char *prefix; /* always ends in '/' */
        RegistryWatch *watches;
        struct RegistryOp *ops; /* in-flight operations, cancelled by registry_free() */
};

/* Decode every kv of a range result into a list (undecodable ones skipped and counted). */
int registry_list_from_result(Registry *r, const EtcdResult *res, int64_t revision, bool keys_only,
                              RegistryList **ret);

/* registry-watch.c: stop every watch of r and detach it (owners still free them). */
void registry_watch_detach_all(Registry *r);
