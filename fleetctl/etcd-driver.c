/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-event.h>

#include "api-model.h"
#include "etcd-driver.h"
#include "etcd.h"
#include "macro.h"
#include "registry.h"

#define DEFAULT_REQUEST_TIMEOUT 3.0

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
                /* reference 2.4: without a client certificate, fleet did not verify etcd */
                .insecure_skip_verify = !client_cert,
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
