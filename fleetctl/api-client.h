/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * fleetctl's client of fleet's HTTP API v1 (reference 9), over libcurl's blocking easy
 * interface. Endpoints are tried in order; a connection failure moves on to the next one and the
 * one that answered is used first from then on. With a tunnel, every connection is an ssh
 * process: "fleetctl fd-forward <socket>" on the tunnel host for a unix endpoint, "ssh -W
 * host:port" for a TCP one.
 *
 * Every call returns 0 or a negative errno; after a failure api_client_error() holds a message
 * in fleet's words ("googleapi: Error 404: unit does not exist", "Get http://...: dial unix
 * ...: connect: no such file or directory").
 */

#include <stdbool.h>
#include <stddef.h>

#include "api-json.h"
#include "etcd-driver.h"
#include "fleetctl-util.h"
#include "macro.h"

typedef struct ApiClient ApiClient;

typedef struct ApiClientOptions {
        char *const *endpoints; /* strv of endpoint URLs, at least one */
        const char *ca_file;
        const char *cert_file;
        const char *key_file;
        double connect_timeout;   /* seconds; 0 = curl's default */
        const SshOptions *tunnel; /* non-NULL with tunnel->tunnel set: connect through ssh */
} ApiClientOptions;

/* Parses every endpoint up front. -EINVAL with a message for a malformed one. */
int api_client_new(const ApiClientOptions *o, ApiClient **ret, char **reterr_message);
/*
 * A client that talks to etcd directly (fleet's --driver=etcd; etcd-driver.h), answering as
 * the API does. tunnel (NULL or tunnel->tunnel NULL: none): every etcd connection goes through
 * ssh to the tunnel host (ssh -W to the endpoint's host:port). Errors as api_client_new().
 */
int api_client_new_etcd(const EtcdDriverOptions *o, const SshOptions *tunnel, ApiClient **ret,
                        char **reterr_message);

/* etcd driver only: the newest fleetd version registered (NULL if none) in *ret, as
 * etcd_driver_latest_version(). -EOPNOTSUPP with the API driver. */
int api_client_latest_daemon_version(ApiClient *c, char **ret);

ApiClient *api_client_free(ApiClient *c);
DEFINE_CLEANUP(ApiClient *, api_client_free);

/* Message of the last failed call (borrowed), or "". */
const char *api_client_error(const ApiClient *c);

/* GET /units/<name>: 0 and *ret filled, -ENOENT if the unit does not exist. */
int api_client_get_unit(ApiClient *c, const char *name, ApiUnit *ret);
/* GET /units, every page. */
int api_client_list_units(ApiClient *c, ApiUnit **ret, size_t *ret_n);
/* PUT /units/<name> with name and options (create or replace). */
int api_client_create_unit(ApiClient *c, const ApiUnit *u);
/* PUT /units/<name> with name, options and desiredState in one request (fleet-c's rolling
 * update: new content without passing through inactive). */
int api_client_replace_unit(ApiClient *c, const ApiUnit *u);
/* PUT /units/<name> with {"desiredState": state}. */
int api_client_set_desired_state(ApiClient *c, const char *name, const char *state);
/* DELETE /units/<name>: -ENOENT if it does not exist. */
int api_client_delete_unit(ApiClient *c, const char *name);
/* GET /state, every page, optionally filtered (NULL = no filter). */
int api_client_list_unit_states(ApiClient *c, const char *unit_name, const char *machine_id,
                                ApiUnitState **ret, size_t *ret_n);
/* GET /machines, every page. */
int api_client_list_machines(ApiClient *c, ApiMachine **ret, size_t *ret_n);

/* fleet-c's extension (GET /fleet-c/v1/cordons): a strv of alternating machine ID, state
 * ("cordoned", "draining"). -EOPNOTSUPP from an API without it (fleet's own). */
int api_client_list_cordons(ApiClient *c, char ***ret);
/* PUT /fleet-c/v1/cordons/<id>: cordon (or drain) a machine; -ENOENT if it is not in the
 * cluster. */
int api_client_put_cordon(ApiClient *c, const char *machine_id, bool draining);
/* DELETE /fleet-c/v1/cordons/<id>: uncordon. */
int api_client_delete_cordon(ApiClient *c, const char *machine_id);

/* PUT /fleet-c/v1/pins/<id>/<name> {"hash":...}: machine_id keeps running that content of
 * global unit name (fleet-c's rolling updates); -ENOENT for a machine, unit or content that
 * does not exist, -EIO for another refusal (api_client_error() says why). */
int api_client_put_pin(ApiClient *c, const char *machine_id, const char *name, const char *hash);
/* DELETE /fleet-c/v1/pins/<id>/<name>: the machine takes global/<name>'s content. */
int api_client_delete_pin(ApiClient *c, const char *machine_id, const char *name);
