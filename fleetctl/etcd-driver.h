/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * fleetctl's etcd driver (`--driver=etcd`, reference 11.1): the cluster read straight from etcd
 * with common/'s registry (etcd v3, `--etcd-key-prefix`), its entities derived by the same pure
 * model as the API server's (common/api-model.h), so that both drivers print the same. Each
 * read lists the whole prefix at one revision, as the API does per request.
 *
 * Writes take the API server's path: the same decoding, validation and create/replace/state
 * decision (common/api-validate.h), the same one-transaction registry writes, the same retry
 * when a concurrent writer wins, and the API's refusals in the API client's words.
 */

#include <stddef.h>

#include "api-json.h"
#include "macro.h"

typedef struct EtcdDriver EtcdDriver;

typedef struct EtcdDriverOptions {
        char *const *endpoints; /* etcd URLs (http:// or https://), at least one */
        const char *key_prefix; /* --etcd-key-prefix */
        const char *ca_file;    /* TLS; without a client certificate nor a CA file the
                                 * server is not verified (fleet's rule, reference 2.4) */
        const char *cert_file;
        const char *key_file;
        double request_timeout;    /* --request-timeout, seconds; <= 0: 3 s */
        char *const *unix_sockets; /* NULL, or per endpoint the socket of its ssh relay */
} EtcdDriverOptions;

/* A driver (no connection is made yet). 0; -EINVAL with a message (bad endpoint); -ENOMEM. */
int etcd_driver_new(const EtcdDriverOptions *o, EtcdDriver **ret, char **reterr_message);
EtcdDriver *etcd_driver_free(EtcdDriver *d);
DEFINE_CLEANUP(EtcdDriver *, etcd_driver_free);

/* The reads of api-client.h, with its return values: 0 (-ENOENT for a missing unit), or <0 with
 * a message in *reterr_message (etcd unreachable, an undecodable unit). */
int etcd_driver_get_unit(EtcdDriver *d, const char *name, ApiUnit *ret, char **reterr_message);
int etcd_driver_list_units(EtcdDriver *d, ApiUnit **ret, size_t *ret_n, char **reterr_message);
int etcd_driver_list_unit_states(EtcdDriver *d, const char *unit_name, const char *machine_id,
                                 ApiUnitState **ret, size_t *ret_n, char **reterr_message);
int etcd_driver_list_machines(EtcdDriver *d, ApiMachine **ret, size_t *ret_n,
                              char **reterr_message);

/*
 * PUT /units/<name> with body (options to create or replace, and/or a desiredState): 0; -EIO
 * with "googleapi: Error <status>: <message>" when the API would refuse it (400, 409); other
 * errors with a message.
 */
int etcd_driver_put_unit(EtcdDriver *d, const char *name, const ApiUnit *body,
                         char **reterr_message);
/* DELETE /units/<name>: 0, -ENOENT (no such unit), or <0 with a message. */
int etcd_driver_delete_unit(EtcdDriver *d, const char *name, char **reterr_message);

/* The highest version among the registered machines (fleet's LatestDaemonVersion; entries that
 * are not versions are skipped), malloc'd, or NULL when there is none. 0, or <0 with a
 * message. */
int etcd_driver_latest_version(EtcdDriver *d, char **ret, char **reterr_message);
