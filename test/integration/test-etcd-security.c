/* SPDX-License-Identifier: MIT */
/* The etcd client against etcds with authentication and with TLS (each test starts its own). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>

#include "etcd-launcher.h"
#include "etcd.h"
#include "fleetctl-run.h"
#include "test-util.h"

#define SEC 1000000ULL

static char *scratch;
static sd_event *event;
static EtcdClient *client;

static void scratch_teardown(void) {
        (void) etcd_launcher_rm_rf(scratch);
        free(scratch);
        scratch = NULL;
}

static void put(EtcdClient *c, const char *key, const char *value) {
        EtcdPutRequest q = {.key = key, .value = value};

        ck_assert_int_eq(etcd_put_sync(c, &q, NULL), 0);
}

typedef struct Counter {
        int done;
} Counter;

static void count_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        ck_assert_int_eq(error, 0);
        ((Counter *) userdata)->done++;
}

static bool ten_done(void *userdata) {
        return ((Counter *) userdata)->done == 10;
}

static EtcdLauncher *own;

static void scratch_setup(void) {
        ck_assert_int_eq(etcd_launcher_mkdtemp(&scratch), 0);
}

static void own_teardown(void) {
        client = etcd_client_free(client);
        event = sd_event_unref(event);
        own = etcd_launcher_free(own);
}

static void loop_only_setup(void) {
        ck_assert_int_eq(sd_event_new(&event), 0);
}

/* etcdctl --endpoints=<endpoint> [--user=<user>] args... */
static void etcdctl(const char *endpoint, const char *user, const char *a, const char *b,
                    const char *c, const char *d) {
        _cleanup_free_ char *ep = NULL, *u = NULL;
        char *argv[9];
        size_t n = 0;

        ck_assert_int_ge(asprintf(&ep, "--endpoints=%s", endpoint), 0);
        argv[n++] = (char *) "etcdctl";
        argv[n++] = ep;
        if (user) {
                ck_assert_int_ge(asprintf(&u, "--user=%s", user), 0);
                argv[n++] = u;
        }
        argv[n++] = (char *) a;
        if (b)
                argv[n++] = (char *) b;
        if (c)
                argv[n++] = (char *) c;
        if (d)
                argv[n++] = (char *) d;
        argv[n] = NULL;
        ck_assert_int_eq(etcd_launcher_run(argv), 0);
}

static EtcdClient *auth_client(const char *user, const char *password) {
        EtcdClientConfig cfg = {.endpoints = etcd_launcher_endpoints(own),
                                .username = user,
                                .password = password,
                                .request_timeout_usec = 5 * SEC};
        EtcdClient *c = NULL;

        ck_assert_int_eq(etcd_client_new(&c, event, &cfg), 0);
        return c;
}

typedef struct AuthWatch {
        bool created;
        int events;
} AuthWatch;

static void auth_watch_cb(EtcdWatch *w, int error, const EtcdWatchMessage *m, void *userdata) {
        AuthWatch *aw = userdata;

        ck_assert_int_eq(error, 0);
        aw->created = aw->created || m->created;
        aw->events += (int) m->n_events;
}

static bool auth_watch_created(void *userdata) {
        return ((AuthWatch *) userdata)->created;
}

static bool auth_watch_saw(void *userdata) {
        return ((AuthWatch *) userdata)->events > 0;
}

START_TEST(test_auth) {
        EtcdLauncherOptions o = {.base_dir = scratch};
        _cleanup_(etcd_watch_freep) EtcdWatch *w = NULL;
        EtcdWatchRequest wq = {.key = "/auth/w/", .prefix = true};
        AuthWatch aw = {};
        Counter n = {};
        const EtcdOpStats *auth;
        const char *url;
        char key[32];

        ck_assert_int_eq(etcd_launcher_start(&o, &own), 0);
        url = etcd_launcher_endpoint(own, 0);
        etcdctl(url, NULL, "user", "add", "root:secret", NULL);
        etcdctl(url, NULL, "user", "grant-role", "root", "root");
        etcdctl(url, "root:secret", "auth", "enable", NULL, NULL);

        /* Ten requests at once share one authentication. */
        client = auth_client("root", "secret");
        auth = &etcd_client_get_stats(client)->ops[ETCD_REQUEST_AUTHENTICATE];
        for (int i = 0; i < 10; i++) {
                EtcdPutRequest q = {.key = key, .value = "v"};

                (void) snprintf(key, sizeof(key), "/auth/k%d", i);
                ck_assert_int_eq(etcd_put(client, &q, count_done, &n, NULL), 0);
        }
        ck_assert_int_eq(etcd_launcher_run_until(event, ten_done, &n, 20 * SEC), 0);
        ck_assert_uint_eq(auth->requests, 1);
        ck_assert_int_eq(etcd_watch_new(client, &wq, NULL, auth_watch_cb, &aw, &w), 0);
        ck_assert_int_eq(etcd_launcher_run_until(event, auth_watch_created, &aw, 20 * SEC), 0);
        put(client, "/auth/w/a", "1");
        ck_assert_int_eq(etcd_launcher_run_until(event, auth_watch_saw, &aw, 20 * SEC), 0);

        /* Disabling and re-enabling auth invalidates every token: re-authenticated once. */
        etcdctl(url, "root:secret", "auth", "disable", NULL, NULL);
        etcdctl(url, NULL, "auth", "enable", NULL, NULL);
        ck_assert_int_eq(etcd_get_sync(client, "/auth/k3", NULL, NULL), 0);
        ck_assert_uint_eq(auth->requests, 2);
        ck_assert_uint_eq(auth->errors, 0);

        _cleanup_(etcd_client_freep) EtcdClient *wrong = auth_client("root", "nope");
        ck_assert_int_eq(etcd_get_sync(wrong, "/auth/k3", NULL, NULL), -EACCES);
        _cleanup_(etcd_client_freep) EtcdClient *anon = auth_client(NULL, NULL);
        ck_assert_int_lt(etcd_get_sync(anon, "/auth/k3", NULL, NULL), 0);
}
END_TEST

static char *path_in(const char *dir, const char *name) {
        char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        return p;
}

/* A CA, a server certificate for 127.0.0.1 and a client certificate, signed by the CA. */
static void make_certs(const char *dir) {
        _cleanup_free_ char *ca_key = path_in(dir, "ca.key"), *ca = path_in(dir, "ca.crt"),
                            *ext = path_in(dir, "ext.cnf");
        const char *names[] = {"server", "client"};
        FILE *f;

        f = fopen(ext, "we");
        ck_assert_ptr_nonnull(f);
        fputs("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n", f);
        ck_assert_int_eq(fclose(f), 0);
        char *ca_argv[] = {(char *) "openssl",
                           (char *) "req",
                           (char *) "-x509",
                           (char *) "-newkey",
                           (char *) "ec",
                           (char *) "-pkeyopt",
                           (char *) "ec_paramgen_curve:prime256v1",
                           (char *) "-nodes",
                           (char *) "-keyout",
                           ca_key,
                           (char *) "-out",
                           ca,
                           (char *) "-days",
                           (char *) "1",
                           (char *) "-subj",
                           (char *) "/CN=fleet-test-ca",
                           NULL};
        ck_assert_int_eq(etcd_launcher_run(ca_argv), 0);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *key = NULL, *csr = NULL, *crt = NULL, *subj = NULL;

                ck_assert_int_ge(asprintf(&key, "%s/%s.key", dir, names[i]), 0);
                ck_assert_int_ge(asprintf(&csr, "%s/%s.csr", dir, names[i]), 0);
                ck_assert_int_ge(asprintf(&crt, "%s/%s.crt", dir, names[i]), 0);
                ck_assert_int_ge(asprintf(&subj, "/CN=%s", i == 0 ? "127.0.0.1" : "root"), 0);
                char *req[] = {(char *) "openssl",
                               (char *) "req",
                               (char *) "-newkey",
                               (char *) "ec",
                               (char *) "-pkeyopt",
                               (char *) "ec_paramgen_curve:prime256v1",
                               (char *) "-nodes",
                               (char *) "-keyout",
                               key,
                               (char *) "-out",
                               csr,
                               (char *) "-subj",
                               subj,
                               NULL};
                char *sign[] = {(char *) "openssl",
                                (char *) "x509",
                                (char *) "-req",
                                (char *) "-in",
                                csr,
                                (char *) "-CA",
                                ca,
                                (char *) "-CAkey",
                                ca_key,
                                (char *) "-CAcreateserial",
                                (char *) "-out",
                                crt,
                                (char *) "-days",
                                (char *) "1",
                                (char *) "-extfile",
                                ext,
                                NULL};
                ck_assert_int_eq(etcd_launcher_run(req), 0);
                ck_assert_int_eq(etcd_launcher_run(sign), 0);
        }
}

static EtcdClient *tls_client(const char *ca, const char *cert, const char *key, bool insecure) {
        EtcdClientConfig cfg = {.endpoints = etcd_launcher_endpoints(own),
                                .ca_file = ca,
                                .cert_file = cert,
                                .key_file = key,
                                .insecure_skip_verify = insecure,
                                .request_timeout_usec = 5 * SEC};
        EtcdClient *c = NULL;

        ck_assert_int_eq(etcd_client_new(&c, event, &cfg), 0);
        return c;
}

START_TEST(test_tls) {
        _cleanup_free_ char *dir = path_in(scratch, "certs");
        ck_assert_int_eq(mkdir(dir, 0700), 0);
        make_certs(dir);
        _cleanup_free_ char *ca = path_in(dir, "ca.crt"), *scrt = path_in(dir, "server.crt"),
                            *skey = path_in(dir, "server.key"), *ccrt = path_in(dir, "client.crt"),
                            *ckey = path_in(dir, "client.key");
        EtcdLauncherOptions o = {.base_dir = scratch,
                                 .cert_file = scrt,
                                 .key_file = skey,
                                 .client_ca_file = ca,
                                 .health_cert_file = ccrt,
                                 .health_key_file = ckey};
        _cleanup_free_ char *value = NULL;

        ck_assert_int_eq(etcd_launcher_start(&o, &own), 0);
        ck_assert(strneq(etcd_launcher_endpoint(own, 0), "https://", 8));

        /* Verified server, client certificate: works. */
        client = tls_client(ca, ccrt, ckey, false);
        put(client, "/tls/a", "secret");
        ck_assert_int_eq(etcd_get_sync(client, "/tls/a", &value, NULL), 0);
        ck_assert_str_eq(value, "secret");

        /* The server's certificate does not verify against the system CAs. */
        _cleanup_(etcd_client_freep) EtcdClient *noca = tls_client(NULL, ccrt, ckey, false);
        ck_assert_int_eq(etcd_get_sync(noca, "/tls/a", NULL, NULL), -EIO);
        /* ... unless verification is off. */
        _cleanup_(etcd_client_freep) EtcdClient *insecure = tls_client(NULL, ccrt, ckey, true);
        ck_assert_int_eq(etcd_get_sync(insecure, "/tls/a", NULL, NULL), 0);
        /* No client certificate: refused by etcd. */
        _cleanup_(etcd_client_freep) EtcdClient *nocert = tls_client(ca, NULL, NULL, false);
        ck_assert_int_lt(etcd_get_sync(nocert, "/tls/a", NULL, NULL), 0);

        /* fleetctl's etcd driver with the TLS flags: the same three cases. */
        _cleanup_free_ char *ep = NULL, *caf = NULL, *certf = NULL, *keyf = NULL;
        FleetctlRun *run = malloc(sizeof(FleetctlRun));
        ck_assert_ptr_nonnull(run);
        ck_assert_int_ge(asprintf(&ep, "--endpoint=%s", etcd_launcher_endpoint(own, 0)), 0);
        ck_assert_int_ge(asprintf(&caf, "--ca-file=%s", ca), 0);
        ck_assert_int_ge(asprintf(&certf, "--cert-file=%s", ccrt), 0);
        ck_assert_int_ge(asprintf(&keyf, "--key-file=%s", ckey), 0);
        char *good[] = {(char *) "--driver=etcd",   ep,  caf, certf, keyf,
                        (char *) "list-unit-files", NULL};
        ck_assert_int_eq(fleetctl_run(event, good, NULL, 60 * SEC, run), 0);
        ck_assert_msg(run->status == 0 && strstr(run->out, "UNIT"), "%s", run->out);
        char *unverified[] = {
                (char *) "--driver=etcd",   ep,  certf, keyf, (char *) "--request-timeout=2",
                (char *) "list-unit-files", NULL};
        ck_assert_int_eq(fleetctl_run(event, unverified, NULL, 60 * SEC, run), 0);
        ck_assert_msg(run->status == 1, "%s", run->out);
        char *no_cert[] = {(char *) "--driver=etcd",   ep,  caf, (char *) "--request-timeout=2",
                           (char *) "list-unit-files", NULL};
        ck_assert_int_eq(fleetctl_run(event, no_cert, NULL, 60 * SEC, run), 0);
        ck_assert_msg(run->status == 1, "%s", run->out);
        free(run);
}
END_TEST

static Suite *security_suite(void) {
        Suite *s = suite_create("etcd-security");
        TCase *tc = tcase_create("security");

        /* The unchecked fixture (Check's parent process) removes the scratch dir even when a
         * test crashes; the test's etcd dies with it (PR_SET_PDEATHSIG). */
        tcase_add_unchecked_fixture(tc, scratch_setup, scratch_teardown);
        tcase_add_checked_fixture(tc, loop_only_setup, own_teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_auth);
        tcase_add_test(tc, test_tls);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(security_suite)
