/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-event.h>

#include "api-model.h"
#include "api-validate.h"
#include "etcd-driver.h"
#include "etcd.h"
#include "fleetctl-util.h"
#include "macro.h"
#include "registry.h"

#define DEFAULT_REQUEST_TIMEOUT 3.0
/* as the API's PUT: a write that loses a race is decided again from a fresh read */
#define PUT_ATTEMPTS_MAX 5

struct EtcdDriver {
        sd_event *event;
        EtcdClient *etcd;
        Registry *registry;
};

EtcdDriver *etcd_driver_free(EtcdDriver *d) {
        if (!d)
                return NULL;
        registry_free(d->registry);
        etcd_client_free(d->etcd);
        sd_event_unref(d->event);
        free(d);
        return NULL;
}

/* "<what> <arg>: <strerror(r)>" into *reterr; returns r. */
static int fail(char **reterr, int r, const char *what, const char *arg) {
        if (reterr && asprintf(reterr, "%s %s: %s", what, arg, strerror(-r)) < 0)
                *reterr = NULL;
        return r;
}

int etcd_driver_new(const EtcdDriverOptions *o, EtcdDriver **ret, char **reterr_message) {
        _cleanup_(etcd_driver_freep) EtcdDriver *d = calloc(1, sizeof(EtcdDriver));
        double t = o->request_timeout > 0 ? o->request_timeout : DEFAULT_REQUEST_TIMEOUT;
        bool client_cert = o->cert_file && *o->cert_file;
        EtcdClientConfig cc = {
                .endpoints = o->endpoints,
                .request_timeout_usec = t < 86400.0 ? (uint64_t) (t * 1e6) : 86400ULL * 1000000,
                .ca_file = o->ca_file && *o->ca_file ? o->ca_file : NULL,
                .cert_file = client_cert ? o->cert_file : NULL,
                .key_file = client_cert && o->key_file && *o->key_file ? o->key_file : NULL,
                /* reference 2.4: without a client certificate fleet did not verify etcd; as
                 * fleetd, fleet-c does when a CA file is given */
                .insecure_skip_verify = !client_cert && !(o->ca_file && *o->ca_file),
                .unix_sockets = o->unix_sockets,
        };
        int r;

        if (!d)
                return -ENOMEM;
        r = sd_event_new(&d->event);
        if (r < 0)
                return r;
        r = etcd_client_new(&d->etcd, d->event, &cc);
        if (r == -EINVAL)
                return fail(reterr_message, r, "invalid etcd endpoint in",
                            o->endpoints && o->endpoints[0] ? o->endpoints[0] : "(none)");
        if (r < 0)
                return r;
        r = registry_new(&d->registry, d->etcd, o->key_prefix);
        if (r == -EINVAL)
                return fail(reterr_message, r, "invalid etcd key prefix",
                            o->key_prefix ? o->key_prefix : "(none)");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

/* The whole prefix at one revision, indexed. */
static int snapshot(EtcdDriver *d, RegistryList **ret_list, ApiIndex *ret, char **reterr) {
        _cleanup_(registry_list_freep) RegistryList *l = NULL;
        ApiIndex x = {};
        int r;

        r = registry_list_sync(d->registry, _REGISTRY_KEY_KIND_INVALID, NULL, 0, false, &l);
        if (r < 0)
                return fail(reterr, r, "unable to read the fleet registry from etcd at",
                            strempty(etcd_client_get_endpoint(d->etcd)));
        r = api_index_add(&x, l->entries, l->n_entries);
        if (r < 0) {
                api_index_done(&x);
                return r;
        }
        api_index_sort(&x);
        *ret_list = TAKE_PTR(l);
        *ret = x;
        return 0;
}

static int model_failed(int r, const char *name, char **reterr) {
        if (r == -EBADMSG)
                return fail(reterr, r, "unparsable stored content of unit", name);
        return r;
}

int etcd_driver_get_unit(EtcdDriver *d, const char *name, ApiUnit *ret, char **reterr_message) {
        _cleanup_(registry_list_freep) RegistryList *l = NULL;
        _cleanup_(api_index_done) ApiIndex x = {};
        const RegistryJob *job;
        int r;

        r = snapshot(d, &l, &x, reterr_message);
        if (r < 0)
                return r;
        job = api_index_job(&x, name);
        if (!job)
                return -ENOENT;
        r = api_index_unit(&x, job, false, ret);
        return r == -ENOENT ? r : model_failed(r, name, reterr_message);
}

int etcd_driver_list_units(EtcdDriver *d, ApiUnit **ret, size_t *ret_n, char **reterr_message) {
        _cleanup_(registry_list_freep) RegistryList *l = NULL;
        _cleanup_(api_index_done) ApiIndex x = {};
        _cleanup_free_ const RegistryJob **jobs = NULL;
        ApiUnit *units;
        size_t n = 0;
        int r;

        r = snapshot(d, &l, &x, reterr_message);
        if (r < 0)
                return r;
        r = api_index_visible_jobs(&x, &jobs, &n);
        if (r < 0)
                return r;
        units = calloc(MAX(n, 1u), sizeof(ApiUnit));
        if (!units)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = api_index_unit(&x, jobs[i], true, &units[i]);
                if (r < 0) {
                        api_unit_array_free(units, i);
                        return model_failed(r, jobs[i]->name, reterr_message);
                }
        }
        *ret = units;
        *ret_n = n;
        return 0;
}

int etcd_driver_list_unit_states(EtcdDriver *d, const char *unit_name, const char *machine_id,
                                 ApiUnitState **ret, size_t *ret_n, char **reterr_message) {
        _cleanup_(registry_list_freep) RegistryList *l = NULL;
        _cleanup_(api_index_done) ApiIndex x = {};
        int r;

        r = snapshot(d, &l, &x, reterr_message);
        if (r < 0)
                return r;
        return api_index_unit_states(&x, machine_id, unit_name, ret, ret_n);
}

int etcd_driver_list_machines(EtcdDriver *d, ApiMachine **ret, size_t *ret_n,
                              char **reterr_message) {
        _cleanup_(registry_list_freep) RegistryList *l = NULL;
        _cleanup_(api_index_done) ApiIndex x = {};
        int r;

        r = snapshot(d, &l, &x, reterr_message);
        if (r < 0)
                return r;
        return api_index_machines(&x, ret, ret_n);
}

/* ---- writes: the API server's PUT and DELETE /units/<name> (api/routes-units.c), with the
 * same checks (common/api-validate.h) and, for what the API refuses, its error in the API
 * client's words ("googleapi: Error <status>: <message>"). */

static int api_error(char **reterr, unsigned status, const char *msg) {
        if (reterr && asprintf(reterr, "googleapi: Error %u: %s", status, msg) < 0)
                *reterr = NULL;
        return -EIO;
}

static int write_failed(EtcdDriver *d, int r, char **reterr) {
        return fail(reterr, r, "unable to write the fleet registry in etcd at",
                    strempty(etcd_client_get_endpoint(d->etcd)));
}

/* The unit's job (entry moved to *ret), or -ENOENT. */
static int get_job(EtcdDriver *d, const char *name, RegistryEntry *ret, char **reterr) {
        RegistryKey k = {.kind = REGISTRY_KEY_JOB, .name = (char *) name};
        int r = registry_get_sync(d->registry, &k, ret);

        if (r < 0 && r != -ENOENT)
                return fail(reterr, r, "unable to read the fleet registry from etcd at",
                            strempty(etcd_client_get_endpoint(d->etcd)));
        return r;
}

/* One decision and its write; -EAGAIN when the write lost a race. */
static int put_once(EtcdDriver *d, const ApiUnit *u, JobState desired, ApiUnitContent *content,
                    bool has_content, char **reterr) {
        _cleanup_(registry_entry_done) RegistryEntry existing = {};
        _cleanup_free_ char *msg = NULL;
        unsigned status = 500;
        RegistryJob job;
        int r, action;

        r = get_job(d, u->name, &existing, reterr);
        if (r < 0 && r != -ENOENT)
                return r;
        action = api_put_decide(u->name, r >= 0 ? existing.job.hash : NULL,
                                has_content ? content->hash : NULL, desired, &status, &msg);
        if (action == API_PUT_FAIL)
                return api_error(reterr, status, msg);
        if (action < 0)
                return action;
        if (action == API_PUT_SET_STATE) {
                if (existing.job.desired_state == desired)
                        return 0;
                job = existing.job;
                job.desired_state = desired;
                r = registry_update_job_sync(d->registry, &job, NULL, existing.mod_revision, NULL);
        } else {
                r = api_unit_content_validate(content, &msg);
                if (r >= 0)
                        r = api_check_template(u->name, desired, &msg);
                if (r == -EINVAL || r == -EFBIG)
                        return api_error(reterr, 400, msg);
                if (r < 0)
                        return r;
                job = (RegistryJob){.name = u->name,
                                    .desired_state = desired < 0 ? JOB_STATE_INACTIVE : desired,
                                    .global = content->global};
                memcpy(job.hash, content->hash, sizeof(job.hash));
                if (action == API_PUT_REPLACE)
                        r = registry_update_job_sync(d->registry, &job, content->text,
                                                     existing.mod_revision, NULL);
                else
                        r = registry_create_job_sync(d->registry, &job, content->text, NULL);
        }
        if (r == -EEXIST || r == -ESTALE || r == -ENOENT)
                return -EAGAIN;
        return r < 0 ? write_failed(d, r, reterr) : 0;
}

int etcd_driver_put_unit(EtcdDriver *d, const char *name, const ApiUnit *body,
                         char **reterr_message) {
        _cleanup_(api_unit_content_done) ApiUnitContent content = {};
        _cleanup_(api_unit_done) ApiUnit u = {};
        _cleanup_free_ char *json = NULL, *msg = NULL;
        JobState desired = _JOB_STATE_INVALID;
        bool has_content = false;
        int r;

        /* the API's decoding of the very body the API client would send */
        r = api_unit_format(body, &json);
        if (r < 0)
                return r;
        r = api_unit_body_decode(json, strlen(json), name, &u, &desired, &msg);
        if (r == -EINVAL)
                return api_error(reterr_message, 400, msg);
        if (r < 0)
                return r;
        if (u.n_options > 0) {
                r = api_unit_content_new(u.options, u.n_options, &content);
                if (r < 0)
                        return r;
                has_content = true;
        }
        for (unsigned attempt = 1;; attempt++) {
                r = put_once(d, &u, desired, &content, has_content, reterr_message);
                if (r != -EAGAIN)
                        return r;
                if (attempt >= PUT_ATTEMPTS_MAX)
                        return write_failed(d, -EBUSY, reterr_message);
        }
}

int etcd_driver_delete_unit(EtcdDriver *d, const char *name, char **reterr_message) {
        int r;

        if (!api_key_component_is_valid(name))
                return -ENOENT;
        r = registry_destroy_job_sync(d->registry, name, NULL);
        if (r == -ENOENT)
                return r;
        return r < 0 ? write_failed(d, r, reterr_message) : 0;
}

int etcd_driver_latest_version(EtcdDriver *d, char **ret, char **reterr_message) {
        _cleanup_(registry_list_freep) RegistryList *l = NULL;
        const char *latest = NULL;
        int r;

        r = registry_list_sync(d->registry, REGISTRY_KEY_MACHINE, NULL, 0, false, &l);
        if (r < 0)
                return fail(reterr_message, r, "unable to read the fleet registry from etcd at",
                            strempty(etcd_client_get_endpoint(d->etcd)));
        for (size_t i = 0; i < l->n_entries; i++) {
                const char *v = l->entries[i].has_value ? l->entries[i].machine.version : NULL;
                int c;

                /* fleet skips what is not a version */
                if (!v || fleetctl_semver_compare(v, v, &c) < 0)
                        continue;
                if (!latest || (fleetctl_semver_compare(latest, v, &c) >= 0 && c < 0))
                        latest = v;
        }
        if (!latest) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(latest);
        return *ret ? 0 : -ENOMEM;
}
