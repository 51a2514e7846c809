/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The unit-state publisher (DESIGN.md section 4; reference 7.6 without its polling): the agent
 * tells it each unit's current state as it changes, and it keeps state/<name>/<machine> in
 * etcd equal to that, attached to the agent's lease, writing only what changed.
 *
 * Per unit only the latest state counts: a change that arrives while a write is in flight is
 * written after it. Failed writes are retried with backoff. While there is no lease (not
 * registered, fenced) nothing is put; when the lease changes every state is put again under
 * the new one. A state set to NULL is deleted (also when this process never wrote it: a
 * previous fleetd on the same lease may have).
 */

#include <stdint.h>

#include <systemd/sd-event.h>

#include "macro.h"
#include "registry.h"

typedef struct Publisher Publisher;

typedef struct PublisherStats {
        uint64_t puts;
        uint64_t deletes;
        uint64_t errors;
} PublisherStats;

/* registry is borrowed and must outlive the publisher. 0, -ENOMEM. */
int publisher_new(Publisher **ret, sd_event *event, Registry *registry, const char *machine_id);
/* Cancels writes in flight (what etcd holds stays as it is). NULL ok; returns NULL. */
Publisher *publisher_free(Publisher *p);
DEFINE_CLEANUP(Publisher *, publisher_free);

/* The lease states are attached to; 0 = hold every write until there is one. */
void publisher_set_lease(Publisher *p, int64_t lease);

/*
 * The state of unit name is now s (copied; s->name and s->machine_id are ignored), or NULL
 * when the unit is gone from this machine. 0, -ENOMEM.
 */
int publisher_set(Publisher *p, const char *name, const RegistryUnitState *s);

/* Number of units whose etcd state is not (known to be) up to date. */
size_t publisher_n_pending(const Publisher *p);
const PublisherStats *publisher_get_stats(const Publisher *p);
