/* SPDX-License-Identifier: MIT */
/*
 * The HTTP API v1 against a real etcd and the real server: the Api runs in this thread's
 * sd-event loop on a loopback port, a libcurl client runs each request from a second thread.
 * A contract table per route: status codes, headers, exact JSON bodies, paging, PUT
 * create/replace/desiredState, templates, bad input of every kind (each leaves etcd exactly as
 * it was), metadata PATCH, /metrics, and 503 once etcd is gone.
 */
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "api-discovery.h"
#include "api.h"
#include "etcd-launcher.h"
#include "registry.h"
#include "test-net.h"
#include "test-util.h"
#include "unit-file.h"

#define SEC 1000000ULL
#define VERSION "9.8.7-test"
#define TOKEN_LIMIT 2

static char *scratch;
static EtcdLauncher *shared_etcd;

/* per test */
static EtcdLauncher *own_etcd; /* a test that kills etcd starts its own */
static sd_event *event;
static EtcdClient *client;
static Registry *registry;
static Api *api;
static char prefix[128];
static char base_url[64];
static char *unix_path; /* set: requests go over this unix socket */
static unsigned extra_calls;

/* ---- fixtures ------------------------------------------------------------------------------ */

static void shared_setup(void) {
        EtcdLauncherOptions o = {};

        ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
        ck_assert_int_eq(etcd_launcher_mkdtemp(&scratch), 0);
        o.base_dir = scratch;
        ck_assert_int_eq(etcd_launcher_start(&o, &shared_etcd), 0);
}

static void shared_teardown(void) {
        shared_etcd = etcd_launcher_free(shared_etcd);
        (void) etcd_launcher_rm_rf(scratch);
        free(scratch);
        scratch = NULL;
        curl_global_cleanup();
}

static void metrics_extra(FILE *f, void *userdata) {
        unsigned *calls = userdata;

        (*calls)++;
        fputs("# TYPE fleet_test_extra gauge\nfleet_test_extra 42\n", f);
}

static void start_api(EtcdLauncher *l) {
        EtcdClientConfig cc = {.endpoints = etcd_launcher_endpoints(l),
                               .request_timeout_usec = 2 * SEC};
        ApiConfig ac = {.version = VERSION,
                        .token_limit = TOKEN_LIMIT,
                        .metrics_extra = metrics_extra,
                        .metrics_userdata = &extra_calls};
        static unsigned counter;
        int port;

        ck_assert_int_eq(sd_event_new(&event), 0);
        ck_assert_int_eq(etcd_client_new(&client, event, &cc), 0);
        snprintf(prefix, sizeof(prefix), "/t-api-%d-%u/", (int) getpid(), counter++);
        ck_assert_int_eq(registry_new(&registry, client, prefix), 0);
        ck_assert_int_eq(api_new(&api, event, registry, &ac), 0);
        ck_assert_int_eq(api_listen_fd(api, test_listen_loopback(&port)), 0);
        snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", port);
}

static void setup(void) {
        start_api(shared_etcd);
}

static void teardown(void) {
        api = api_free(api);
        registry = registry_free(registry);
        client = etcd_client_free(client);
        event = sd_event_unref(event);
        own_etcd = etcd_launcher_free(own_etcd);
}

/* ---- the client thread --------------------------------------------------------------------- */

typedef struct Resp {
        long status;
        char *body;
        size_t len;
        char content_type[128];
        char server[64];
        char location[256];
} Resp;

typedef struct Req {
        const char *method;
        const char *path;         /* appended to base_url, already escaped */
        const char *content_type; /* NULL: no Content-Type header */
        const char *body;
        size_t len;
        Resp *resp;
        int done_fd;
} Req;

static void resp_done(Resp *r) {
        free(r->body);
        *r = (Resp){};
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
        Resp *r = ud;
        char *b = realloc(r->body, r->len + sz * n + 1);

        if (!b)
                return 0;
        memcpy(b + r->len, p, sz * n);
        r->len += sz * n;
        b[r->len] = '\0';
        r->body = b;
        return sz * n;
}

static void copy_header(char *dst, size_t size, const char *v, size_t len) {
        while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n'))
                len--;
        snprintf(dst, size, "%.*s", (int) len, v);
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
        Resp *r = ud;
        size_t len = sz * n;

        if (len > 14 && strncasecmp(p, "Content-Type: ", 14) == 0)
                copy_header(r->content_type, sizeof(r->content_type), p + 14, len - 14);
        else if (len > 8 && strncasecmp(p, "Server: ", 8) == 0)
                copy_header(r->server, sizeof(r->server), p + 8, len - 8);
        else if (len > 10 && strncasecmp(p, "Location: ", 10) == 0)
                copy_header(r->location, sizeof(r->location), p + 10, len - 10);
        return len;
}

static void *client_thread(void *p) {
        Req *q = p;
        CURL *h = curl_easy_init();
        struct curl_slist *hdrs = NULL;
        char url[4096], ct[256];

        snprintf(url, sizeof(url), "%s%s", base_url, q->path);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, q->resp);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, q->resp);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
        curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
        curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, unix_path);
        if (q->body) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long) q->len);
        }
        if (streq(q->method, "HEAD"))
                curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        else
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
        /* "Content-Type:" removes curl's default form type */
        snprintf(ct, sizeof(ct), "Content-Type:%s%s", q->content_type ? " " : "",
                 strempty(q->content_type));
        hdrs = curl_slist_append(hdrs, ct);
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        if (curl_easy_perform(h) == CURLE_OK)
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &q->resp->status);
        else
                q->resp->status = -1;
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        (void) !write(q->done_fd, "x", 1);
        return NULL;
}

static atomic_bool client_done;

static int on_client_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        char c;

        (void) !read(fd, &c, 1);
        client_done = true;
        return 0;
}

static bool is_client_done(void *userdata) {
        return client_done;
}

/* Perform one request while the API runs in this thread's loop. */
/* A request in flight: the client thread runs it while this thread runs the loop. */
typedef struct Flight {
        Req q;
        Resp r;
        sd_event_source *s;
        pthread_t t;
        int pfd[2];
} Flight;

static void flight_start(Flight *f) {
        ck_assert_int_eq(pipe2(f->pfd, O_CLOEXEC), 0);
        f->q.done_fd = f->pfd[1];
        f->q.resp = &f->r;
        client_done = false;
        ck_assert_int_ge(sd_event_add_io(event, &f->s, f->pfd[0], EPOLLIN, on_client_done, NULL),
                         0);
        ck_assert_int_eq(pthread_create(&f->t, NULL, client_thread, &f->q), 0);
}

static Resp flight_finish(Flight *f) {
        ck_assert_int_eq(etcd_launcher_run_until(event, is_client_done, NULL, 30 * SEC), 0);
        pthread_join(f->t, NULL);
        sd_event_source_disable_unref(f->s);
        close(f->pfd[0]);
        close(f->pfd[1]);
        if (!f->r.body)
                f->r.body = strdup("");
        return f->r;
}

static Resp request_full(const char *method, const char *path, const char *content_type,
                         const char *body, size_t len) {
        Flight f = {.q = {method, path, content_type, body, len}};

        flight_start(&f);
        return flight_finish(&f);
}

static Resp request(const char *method, const char *path, const char *body) {
        return request_full(method, path, body ? "application/json" : NULL, body,
                            body ? strlen(body) : 0);
}

/* Assert status and exact body (NULL: empty), then release the response. */
static void expect(Resp r, long status, const char *body) {
        ck_assert_msg(r.status == status, "status %ld, expected %ld (body %s)", r.status, status,
                      r.body);
        ck_assert_str_eq(r.body, strempty(body));
        ck_assert_str_eq(r.server, "fleetd/" VERSION);
        if (body && body[0] == '{')
                ck_assert_str_eq(r.content_type, "application/json");
        resp_done(&r);
}

static char *error_body(int code, const char *message) {
        char *s = NULL;

        ck_assert_int_ge(
                asprintf(&s, "{\"error\":{\"code\":%d,\"message\":\"%s\"}}", code, message), 0);
        return s;
}

static void expect_error(Resp r, long status, const char *message) {
        _cleanup_free_ char *b = error_body((int) status, message);

        expect(r, status, b);
}

/* ---- etcd helpers -------------------------------------------------------------------------- */

/* Every key=value under the test prefix, in key order. */
static char *dump(void) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        EtcdRangeRequest q = {.key = prefix, .prefix = true};
        char *s = NULL;
        size_t len = 0;
        FILE *f;

        ck_assert_int_eq(etcd_range_sync(client, &q, &resp), 0);
        f = open_memstream(&s, &len);
        for (size_t i = 0; i < resp->kv.n_kvs; i++)
                fprintf(f, "%s=%s\n", resp->kv.kvs[i].key, resp->kv.kvs[i].value);
        fclose(f);
        return s;
}

static char *get_key(const char *rel) {
        _cleanup_free_ char *key = NULL;
        char *v = NULL;
        int r;

        ck_assert_int_ge(asprintf(&key, "%s%s", prefix, rel), 0);
        r = etcd_get_sync(client, key, &v, NULL);
        if (r == -ENOENT)
                return NULL;
        ck_assert_int_eq(r, 0);
        return v;
}

static void put_key(const char *rel, const char *value) {
        _cleanup_free_ char *key = NULL;
        EtcdPutRequest q = {.value = value};

        ck_assert_int_ge(asprintf(&key, "%s%s", prefix, rel), 0);
        q.key = key;
        ck_assert_int_eq(etcd_put_sync(client, &q, NULL), 0);
}

/* The engine's schedule entry: unit name on machine, with desiredState launched. */
static void put_schedule(const char *machine, const char *name, const char *text) {
        RegistryTarget t = {.desired_state = JOB_STATE_LAUNCHED};
        _cleanup_free_ char *json = NULL, *key = NULL;

        unit_hash_bytes(text, strlen(text), t.hash);
        ck_assert_int_eq(registry_target_to_json(&t, &json), 0);
        ck_assert_int_ge(asprintf(&key, "schedule/%s/%s", machine, name), 0);
        put_key(key, json);
}

static void put_state(const char *name, const char *machine, const char *hash, JobState fs) {
        RegistryUnitState s = {.name = (char *) name,
                               .machine_id = (char *) machine,
                               .load_state = (char *) "loaded",
                               .active_state = (char *) "active",
                               .sub_state = (char *) "running",
                               .fleet_state = fs};

        strcpy(s.unit_hash, hash);
        ck_assert_int_eq(registry_put_state_sync(registry, &s, 0, NULL), 0);
}

static void put_machine(const char *id, const char *ip, RegistryMetadata *md, size_t n) {
        RegistryMachine m = {.id = (char *) id,
                             .public_ip = (char *) ip,
                             .metadata = md,
                             .n_metadata = n,
                             .version = (char *) "1.0.0"};

        ck_assert_int_eq(registry_put_machine_sync(registry, &m, 0, NULL), 0);
}

/* ---- units --------------------------------------------------------------------------------- */

#define HELLO_OPTIONS                                                                              \
        "[{\"section\":\"Unit\",\"name\":\"Description\",\"value\":\"Hello\"},"                    \
        "{\"section\":\"Service\",\"name\":\"ExecStart\",\"value\":\"/bin/sleep 1000\"}]"
/* as the API renders them: fields in Go's order */
#define HELLO_OPTIONS_OUT                                                                          \
        "[{\"name\":\"Description\",\"section\":\"Unit\",\"value\":\"Hello\"},"                    \
        "{\"name\":\"ExecStart\",\"section\":\"Service\",\"value\":\"/bin/sleep 1000\"}]"
#define HELLO_TEXT "[Unit]\nDescription=Hello\n\n[Service]\nExecStart=/bin/sleep 1000\n"
#define OTHER_OPTIONS "[{\"section\":\"Service\",\"name\":\"ExecStart\",\"value\":\"/bin/true\"}]"
#define OTHER_TEXT "[Service]\nExecStart=/bin/true\n"

START_TEST(test_unit_lifecycle) {
        char hello[UNIT_HASH_HEX_LEN + 1], other[UNIT_HASH_HEX_LEN + 1];
        _cleanup_free_ char *job = NULL, *content = NULL, *job2 = NULL, *unit_key = NULL,
                            *global = NULL;

        unit_hash_bytes(HELLO_TEXT, strlen(HELLO_TEXT), hello);
        unit_hash_bytes(OTHER_TEXT, strlen(OTHER_TEXT), other);
        expect(request("GET", "/fleet/v1/units", NULL), 200, "{}");

        /* create: no desiredState means inactive; one txn writes content + job */
        expect(request("PUT", "/fleet/v1/units/hello.service",
                       "{\"name\":\"hello.service\",\"options\":" HELLO_OPTIONS "}"),
               201, NULL);
        job = get_key("job/hello.service");
        ck_assert_ptr_nonnull(job);
        ck_assert_ptr_nonnull(strstr(job, hello));
        ck_assert_ptr_nonnull(strstr(job, "\"desiredState\":\"inactive\""));
        ck_assert_int_ge(asprintf(&unit_key, "unit/%s", hello), 0);
        content = get_key(unit_key);
        ck_assert_str_eq(content, HELLO_TEXT);
        global = get_key("global/hello.service");
        ck_assert_ptr_null(global);

        expect(request("GET", "/fleet/v1/units/hello.service", NULL), 200,
               "{\"currentState\":\"inactive\",\"desiredState\":\"inactive\",\"name\":"
               "\"hello.service\",\"options\":" HELLO_OPTIONS_OUT "}");
        expect(request("GET", "/v1-alpha/units", NULL), 200,
               "{\"units\":[{\"currentState\":\"inactive\",\"desiredState\":\"inactive\","
               "\"name\":\"hello.service\",\"options\":" HELLO_OPTIONS_OUT "}]}");

        /* desiredState changes */
        expect(request("PUT", "/fleet/v1/units/hello.service", "{\"desiredState\":\"launched\"}"),
               204, NULL);
        expect(request("PUT", "/fleet/v1/units/hello.service", "{\"desiredState\":\"launched\"}"),
               204, NULL);
        expect(request("GET", "/fleet/v1/units/hello.service", NULL), 200,
               "{\"currentState\":\"inactive\",\"desiredState\":\"launched\",\"name\":"
               "\"hello.service\",\"options\":" HELLO_OPTIONS_OUT "}");
        /* same content without desiredState: nothing to do but fleet's 409 */
        expect_error(
                request("PUT", "/fleet/v1/units/hello.service", "{\"options\":" HELLO_OPTIONS "}"),
                409, "must provide DesiredState to update existing unit");
        /* same content with desiredState: a state change */
        expect(request("PUT", "/fleet/v1/units/hello.service",
                       "{\"options\":" HELLO_OPTIONS ",\"desiredState\":\"loaded\"}"),
               204, NULL);

        /* replace: new content, desiredState from the body (none = inactive, as fleet) */
        expect(request("PUT", "/fleet/v1/units/hello.service", "{\"options\":" OTHER_OPTIONS "}"),
               201, NULL);
        job2 = get_key("job/hello.service");
        ck_assert_ptr_nonnull(strstr(job2, other));
        ck_assert_ptr_nonnull(strstr(job2, "\"desiredState\":\"inactive\""));
        expect(request("PUT", "/fleet/v1/units/hello.service",
                       "{\"options\":" HELLO_OPTIONS ",\"desiredState\":\"launched\"}"),
               201, NULL);
        expect(request("GET", "/fleet/v1/units/hello.service", NULL), 200,
               "{\"currentState\":\"inactive\",\"desiredState\":\"launched\",\"name\":"
               "\"hello.service\",\"options\":" HELLO_OPTIONS_OUT "}");

        /* destroy */
        expect(request("DELETE", "/fleet/v1/units/hello.service", NULL), 204, NULL);
        expect_error(request("GET", "/fleet/v1/units/hello.service", NULL), 404,
                     "unit does not exist");
        expect_error(request("DELETE", "/fleet/v1/units/hello.service", NULL), 404,
                     "unit does not exist");
        expect(request("GET", "/fleet/v1/units", NULL), 200, "{}");
        free(job);
        job = get_key("job/hello.service");
        ck_assert_ptr_null(job);
}
END_TEST

START_TEST(test_global_unit) {
        _cleanup_free_ char *global = NULL, *job = NULL;

        expect(request("PUT", "/fleet/v1/units/g.service",
                       "{\"desiredState\":\"launched\",\"options\":[{\"section\":\"X-Fleet\","
                       "\"name\":\"Global\",\"value\":\"true\"}]}"),
               201, NULL);
        global = get_key("global/g.service");
        ck_assert_ptr_nonnull(global);
        ck_assert_ptr_nonnull(strstr(global, "\"desiredState\":\"launched\""));
        job = get_key("job/g.service");
        ck_assert_ptr_nonnull(strstr(job, "\"global\":true"));
        /* no machineID; no currentState alone, "inactive" in lists */
        expect(request("GET", "/fleet/v1/units/g.service", NULL), 200,
               "{\"desiredState\":\"launched\",\"name\":\"g.service\",\"options\":[{\"name\":"
               "\"Global\",\"section\":\"X-Fleet\",\"value\":\"true\"}]}");
        expect(request("GET", "/fleet/v1/units", NULL), 200,
               "{\"units\":[{\"currentState\":\"inactive\",\"desiredState\":\"launched\","
               "\"name\":\"g.service\",\"options\":[{\"name\":\"Global\",\"section\":"
               "\"X-Fleet\",\"value\":\"true\"}]}]}");
        /* a replacement that is no longer global drops the global entry */
        expect(request("PUT", "/fleet/v1/units/g.service", "{\"options\":" OTHER_OPTIONS "}"), 201,
               NULL);
        free(global);
        global = get_key("global/g.service");
        ck_assert_ptr_null(global);
}
END_TEST

START_TEST(test_templates) {
        _cleanup_free_ char *before = NULL, *after = NULL;

        before = dump();
        /* fleet-c: a template is never created active */
        expect_error(request("PUT", "/fleet/v1/units/web@.service",
                             "{\"desiredState\":\"launched\",\"options\":" HELLO_OPTIONS "}"),
                     400, "cannot activate template \\\"web@.service\\\"");
        after = dump();
        ck_assert_str_eq(before, after);

        expect(request("PUT", "/fleet/v1/units/web@.service", "{\"options\":" HELLO_OPTIONS "}"),
               201, NULL);
        expect_error(
                request("PUT", "/fleet/v1/units/web@.service", "{\"desiredState\":\"loaded\"}"),
                400, "cannot activate template \\\"web@.service\\\"");
        expect_error(
                request("PUT", "/fleet/v1/units/web@.service", "{\"desiredState\":\"launched\"}"),
                400, "cannot activate template \\\"web@.service\\\"");
        expect(request("PUT", "/fleet/v1/units/web@.service", "{\"desiredState\":\"inactive\"}"),
               204, NULL);
        /* instances are ordinary units */
        expect(request("PUT", "/fleet/v1/units/web@1.service",
                       "{\"desiredState\":\"launched\",\"options\":" HELLO_OPTIONS "}"),
               201, NULL);
        expect(request("GET", "/fleet/v1/units/web@1.service", NULL), 200,
               "{\"currentState\":\"inactive\",\"desiredState\":\"launched\",\"name\":"
               "\"web@1.service\",\"options\":" HELLO_OPTIONS_OUT "}");
}
END_TEST

/* ---- bad requests change nothing ----------------------------------------------------------- */

typedef struct BadCase {
        const char *method;
        const char *path;
        const char *content_type;
        const char *body;
        long status;
        const char *message;  /* NULL: don't check the body; '*' suffix: a prefix */
        const char *location; /* 301 */
} BadCase;

#define JSON "application/json"
#define U "/fleet/v1/units/"
#define X50 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static const BadCase bad_cases[] = {
        /* content type */
        {"PUT", U "hello.service", NULL, "{}", 415, "expected 1 Content-Type, got 0"},
        {"PUT", U "hello.service", "text/plain", "{}", 415,
         "only acceptable Content-Type is application/json"},
        {"PUT", U "new.service", "application/x-www-form-urlencoded",
         "{\"options\":" HELLO_OPTIONS "}", 415,
         "only acceptable Content-Type is application/json"},
        /* bodies */
        {"PUT", U "hello.service", JSON, "", 400, "unable to decode body: EOF"},
        {"PUT", U "hello.service", JSON, "{", 400, "unable to decode body: *"},
        {"PUT", U "hello.service", JSON, "{\"desiredState\":\"launched\"", 400,
         "unable to decode body: *"},
        {"PUT", U "hello.service", JSON, "[]", 400,
         "unable to decode body: json: cannot unmarshal array into Go value of type "
         "schema.Unit"},
        {"PUT", U "hello.service", JSON, "{\"desiredState\":1}", 400,
         "unable to decode body: json: cannot unmarshal number into Go value of type string"},
        {"PUT", U "new.service", JSON, "{\"options\":\"x\"}", 400,
         "unable to decode body: json: cannot unmarshal string into Go value of type "
         "[]*schema.UnitOption"},
        {"PUT", U "new.service", JSON,
         "{\"options\":[{\"section\":\"S\",\"name\":\"N\",\"value\":\"a\\u0000b\"}]}", 400,
         "unable to decode body: NUL character in JSON string"},
        {"PUT", U "hello.service", JSON, "{\"name\":\"other.service\"}", 400,
         "name in URL \\\"hello.service\\\" differs from unit name in request body "
         "\\\"other.service\\\""},
        /* names in the URL */
        {"PUT", U "hello", JSON, "{\"options\":" HELLO_OPTIONS "}", 400,
         "unit name must contain \\\".\\\""},
        {"PUT", U "a%20b.service", JSON, "{\"options\":" HELLO_OPTIONS "}", 400,
         "invalid character ' ' in unit name"},
        {"PUT", U "a%01b.service", JSON, "{\"options\":" HELLO_OPTIONS "}", 400,
         "invalid character '\\\\x01' in unit name"},
        {"PUT", U "a%5C%22.service", JSON, "{\"options\":" HELLO_OPTIONS "}", 400,
         "invalid character '\\\"' in unit name"},
        {"PUT", U "%40a.service", JSON, "{\"options\":" HELLO_OPTIONS "}", 400,
         "unit name cannot start in \\\"@\\\""},
        {"PUT", U "a.bogus", JSON, "{\"options\":" HELLO_OPTIONS "}", 400,
         "invalid unit type: \\\"bogus\\\""},
        {"PUT", U X50 X50 X50 X50 X50 "a.service", JSON, "{\"options\":" HELLO_OPTIONS "}", 400,
         "unit name exceeds maximum length (256)"},
        /* names fleet v1 took and systemd refuses (issue 12: ".service" wedged an agent) */
        {"PUT", U ".service", JSON, "{\"options\":" HELLO_OPTIONS "}", 400,
         "unit name has nothing before its type: \\\".service\\\""},
        {"PUT", U "a.snapshot", JSON, "{\"options\":" HELLO_OPTIONS "}", 400,
         "invalid unit type: \\\"snapshot\\\""},
        {"PUT", U "a%2Fb.service", JSON, "{\"options\":" HELLO_OPTIONS "}", 404, ""},
        {"PUT", U "..", JSON, "{\"options\":" HELLO_OPTIONS "}", 301, NULL, "/fleet/v1"},
        {"PUT", U "../units/x.service", JSON, "{\"options\":" HELLO_OPTIONS "}", 301, NULL,
         "/fleet/v1/units/x.service"},
        {"DELETE", U "..", NULL, NULL, 301, NULL, "/fleet/v1"},
        {"DELETE", U "%2E%2E", NULL, NULL, 301, NULL, "/fleet/v1"},
        {"GET", U "./a%20b.service", NULL, NULL, 301, NULL, "/fleet/v1/units/a%20b.service"},
        {"PUT", U "a%00.service", JSON, "{\"options\":" HELLO_OPTIONS "}", 400, NULL},
        /* desiredState (fleet-c: rejected, never stored) */
        {"PUT", U "hello.service", JSON, "{\"desiredState\":\"started\"}", 400,
         "invalid desiredState \\\"started\\\": must be inactive, loaded or launched"},
        {"PUT", U "new.service", JSON,
         "{\"desiredState\":\"LAUNCHED\",\"options\":" HELLO_OPTIONS "}", 400,
         "invalid desiredState \\\"LAUNCHED\\\": must be inactive, loaded or launched"},
        /* existence and options */
        {"PUT", U "new.service", JSON, "{\"desiredState\":\"launched\"}", 409,
         "unit does not exist and options field empty"},
        {"PUT", U "new.service", JSON, "{\"options\":[]}", 409,
         "unit does not exist and options field empty"},
        {"PUT", U "hello.service", JSON, "{}", 409,
         "must provide DesiredState to update existing unit"},
        {"PUT", U "new.service", JSON,
         "{\"options\":[{\"section\":\"X-Fleet\",\"name\":\"MachineID\",\"value\":\"a\"},"
         "{\"section\":\"X-Fleet\",\"name\":\"Global\",\"value\":\"true\"}]}",
         400, "MachineID cannot be used with Global"},
        {"PUT", U "new.service", JSON,
         "{\"options\":[{\"section\":\"X-Fleet\",\"name\":\"MachineOf\",\"value\":\"a.service\"},"
         "{\"section\":\"X-Fleet\",\"name\":\"Conflicts\",\"value\":\"a*\"}]}",
         400, "unresolvable requirements: peer \\\"a.service\\\" matches conflict \\\"a*\\\""},
        /* fleet-c: replacements are validated too */
        {"PUT", U "hello.service", JSON,
         "{\"options\":[{\"section\":\"X-Fleet\",\"name\":\"Conflicts\",\"value\":\"a*\"},"
         "{\"section\":\"X-Fleet\",\"name\":\"Replaces\",\"value\":\"b\"}]}",
         400, "Conflicts cannot be used with Replaces"},
        /* methods */
        {"POST", U "hello.service", JSON, "{}", 405,
         "only GET, PUT and DELETE supported against this resource"},
        {"POST", "/fleet/v1/units", JSON, "{}", 405, "only GET supported against this resource"},
        {"DELETE", U "missing.service", NULL, NULL, 404, "unit does not exist"},
        {"DELETE", U "a%01.service", NULL, NULL, 404, "unit does not exist"},
        {"GET", U "missing.service", NULL, NULL, 404, "unit does not exist"},
        {"GET", "/fleet/v1/state/missing.service", NULL, NULL, 404, "unit state does not exist"},
        /* page tokens */
        {"GET", "/fleet/v1/units?nextPageToken=ZAACAA%3D%3D", NULL, NULL, 400,
         "token limit must be 2"},
        {"GET", "/fleet/v1/units?nextPageToken=AgAAAA%3D%3D", NULL, NULL, 400,
         "token page must be greater than zero"},
        {"GET", "/fleet/v1/state?nextPageToken=%21%21%21%21", NULL, NULL, 400,
         "illegal base64 data at input byte 0"},
        {"GET", "/fleet/v1/machines?nextPageToken=", NULL, NULL, 400, "EOF"},
        {"GET", "/fleet/v1/machines?nextPageToken=AgA%3D", NULL, NULL, 400, "unexpected EOF"},
        /* PATCH /machines */
        {"PATCH", "/fleet/v1/machines", JSON, "", 400, "EOF"},
        {"PATCH", "/fleet/v1/machines", JSON, "{}", 400,
         "json: cannot unmarshal object into Go value of type []machineMetadataOp"},
        {"PATCH", "/fleet/v1/machines", NULL, "[{\"op\":\"delete\",\"path\":\"/m1/metadata/a\"}]",
         400, "invalid op: expect add, remove, or replace"},
        {"PATCH", "/fleet/v1/machines", JSON,
         "[{\"op\":\"add\",\"path\":\"/m1/metadata/a\",\"value\":{\"value\":\"1\"}},"
         "{\"op\":\"add\",\"path\":\"/m1/metadata/a/b\",\"value\":{\"value\":\"1\"}}]",
         400, "machine metadata path invalid"},
        {"PATCH", "/fleet/v1/machines", JSON,
         "[{\"op\":\"add\",\"path\":\"/../metadata/a\",\"value\":{\"value\":\"1\"}}]", 400,
         "machine metadata path invalid"},
        {"PATCH", "/fleet/v1/machines", JSON, "[{\"op\":\"replace\",\"path\":\"/m1/metadata/a\"}]",
         400, "invalid value: add and replace require a value"},
        {"PUT", "/fleet/v1/machines", JSON, "[]", 405,
         "only GET and PATCH supported against this resource"},
        /* elsewhere */
        {"GET", "/", NULL, NULL, 405, ""},
        {"GET", "/fleet/v1", NULL, NULL, 405, ""},
        {"GET", "/nothing", NULL, NULL, 404, ""},
        {"DELETE", "/fleet/v1/discovery", NULL, NULL, 400,
         "only HTTP GET supported against this resource"},
};

START_TEST(test_bad_requests) {
        const BadCase *t = &bad_cases[_i];
        _cleanup_free_ char *before = NULL, *after = NULL;
        Resp r;

        /* one existing unit and one machine to tempt the handlers */
        expect(request("PUT", U "hello.service", "{\"options\":" HELLO_OPTIONS "}"), 201, NULL);
        put_machine("m1", "10.0.0.1", NULL, 0);
        before = dump();

        r = request_full(t->method, t->path, t->content_type, t->body,
                         t->body ? strlen(t->body) : 0);
        ck_assert_msg(r.status == t->status, "%s %s: status %ld, expected %ld (body %s)", t->method,
                      t->path, r.status, t->status, r.body);
        ck_assert_str_eq(r.server, "fleetd/" VERSION);
        if (t->message) {
                _cleanup_free_ char *want = error_body((int) t->status, t->message);
                size_t l = strlen(want);

                ck_assert_str_eq(r.content_type, "application/json");
                if (strstr(want, "*\"}}"))
                        ck_assert_msg(strneq(r.body, want, l - strlen("*\"}}")), "body %s", r.body);
                else
                        ck_assert_str_eq(r.body, want);
        }
        if (t->status == 301)
                ck_assert_str_eq(r.location, t->location);
        resp_done(&r);

        after = dump();
        ck_assert_str_eq(before, after);
}
END_TEST

START_TEST(test_body_too_large) {
        _cleanup_free_ char *before = dump(), *after = NULL;
        size_t n = 1024 * 1024 + 1;
        char *big = malloc(n);
        Resp r;

        memset(big, ' ', n);
        r = request_full("PUT", U "big.service", JSON, big, n);
        ck_assert_int_eq(r.status, 413);
        resp_done(&r);
        free(big);
        after = dump();
        ck_assert_str_eq(before, after);
}
END_TEST

/* ---- paging -------------------------------------------------------------------------------- */

static void create(const char *name) {
        _cleanup_free_ char *path = NULL;

        ck_assert_int_ge(asprintf(&path, U "%s", name), 0);
        expect(request("PUT", path, "{\"options\":" OTHER_OPTIONS "}"), 201, NULL);
}

#define UNIT_OUT(n)                                                                                \
        "{\"currentState\":\"inactive\",\"desiredState\":\"inactive\",\"name\":\"" n "\","         \
        "\"options\":[{\"name\":\"ExecStart\",\"section\":\"Service\",\"value\":\"/bin/true\"}]}"

START_TEST(test_units_paging) {
        /* token limit 2: page 2 = "AgACAA==", page 3 = "AgADAA==" */
        create("u4.service");
        create("u1.service");
        create("u3.service");
        create("u2.service");
        expect(request("GET", "/fleet/v1/units", NULL), 200,
               "{\"nextPageToken\":\"AgACAA==\",\"units\":[" UNIT_OUT("u1.service") "," UNIT_OUT(
                       "u2.service") "]}");
        expect(request("GET", "/fleet/v1/units?alt=json&nextPageToken=AgACAA%3D%3D", NULL), 200,
               "{\"nextPageToken\":\"AgADAA==\",\"units\":[" UNIT_OUT("u3.service") "," UNIT_OUT(
                       "u4.service") "]}");
        /* an exact multiple: the last full page carried a token, the next one is empty */
        expect(request("GET", "/fleet/v1/units?nextPageToken=AgADAA==", NULL), 200, "{}");
        create("u5.service");
        expect(request("GET", "/fleet/v1/units?nextPageToken=AgADAA==", NULL), 200,
               "{\"units\":[" UNIT_OUT("u5.service") "]}");
        expect(request("GET", "/fleet/v1/units?nextPageToken=AgAEAA==", NULL), 200, "{}");
}
END_TEST

/* ---- states and the derived current state -------------------------------------------------- */

#define STATE_OUT(n, m, h)                                                                         \
        "{\"hash\":\"" h "\",\"machineID\":\"" m "\",\"name\":\"" n "\",\"systemdActiveState\":"   \
        "\"active\",\"systemdLoadState\":\"loaded\",\"systemdSubState\":\"running\"}"
#define HX "0123456789012345678901234567890123456789"

START_TEST(test_states) {
        expect(request("PUT", U "a.service",
                       "{\"desiredState\":\"launched\",\"options\":" HELLO_OPTIONS "}"),
               201, NULL);
        expect(request("GET", "/fleet/v1/state", NULL), 200, "{}");

        /* scheduled on m2 (the engine's key), no state there yet: inactive, machineID m2 */
        put_schedule("m2", "a.service", HELLO_TEXT);
        expect(request("GET", U "a.service", NULL), 200,
               "{\"currentState\":\"inactive\",\"desiredState\":\"launched\",\"machineID\":"
               "\"m2\",\"name\":\"a.service\",\"options\":" HELLO_OPTIONS_OUT "}");
        /* a state on another machine does not count */
        put_state("a.service", "m1", HX, JOB_STATE_LAUNCHED);
        expect(request("GET", U "a.service", NULL), 200,
               "{\"currentState\":\"inactive\",\"desiredState\":\"launched\",\"machineID\":"
               "\"m2\",\"name\":\"a.service\",\"options\":" HELLO_OPTIONS_OUT "}");
        put_state("a.service", "m2", HX, JOB_STATE_LOADED);
        expect(request("GET", U "a.service", NULL), 200,
               "{\"currentState\":\"loaded\",\"desiredState\":\"launched\",\"machineID\":"
               "\"m2\",\"name\":\"a.service\",\"options\":" HELLO_OPTIONS_OUT "}");
        put_state("a.service", "m2", HX, JOB_STATE_LAUNCHED);
        expect(request("GET", "/fleet/v1/units", NULL), 200,
               "{\"units\":[{\"currentState\":\"launched\",\"desiredState\":\"launched\","
               "\"machineID\":\"m2\",\"name\":\"a.service\",\"options\":" HELLO_OPTIONS_OUT "}]}");

        /* state listing, sorted by (name, machine), filters, paging by 2 */
        put_state("b.service", "m1", HX, JOB_STATE_LOADED);
        expect(request("GET", "/fleet/v1/state", NULL), 200,
               "{\"nextPageToken\":\"AgACAA==\",\"states\":[" STATE_OUT(
                       "a.service", "m1", HX) "," STATE_OUT("a.service", "m2", HX) "]}");
        expect(request("GET", "/fleet/v1/state?nextPageToken=AgACAA%3D%3D", NULL), 200,
               "{\"states\":[" STATE_OUT("b.service", "m1", HX) "]}");
        expect(request("GET", "/fleet/v1/state?machineID=m1", NULL), 200,
               "{\"nextPageToken\":\"AgACAA==\",\"states\":[" STATE_OUT(
                       "a.service", "m1", HX) "," STATE_OUT("b.service", "m1", HX) "]}");
        expect(request("GET", "/fleet/v1/state?unitName=b.service", NULL), 200,
               "{\"states\":[" STATE_OUT("b.service", "m1", HX) "]}");
        expect(request("GET", "/fleet/v1/state?unitName=a.service&machineID=m2", NULL), 200,
               "{\"states\":[" STATE_OUT("a.service", "m2", HX) "]}");
        expect(request("GET", "/fleet/v1/state?machineID=m9", NULL), 200, "{}");
        expect(request("GET", "/fleet/v1/state/a.service", NULL), 200,
               STATE_OUT("a.service", "m1", HX));
        expect(request("GET", "/v1-alpha/state/b.service", NULL), 200,
               STATE_OUT("b.service", "m1", HX));
}
END_TEST

/* ---- machines ------------------------------------------------------------------------------ */

START_TEST(test_machines) {
        static const char patch[] =
                "[{\"op\":\"add\",\"path\":\"/m1/metadata/zone\",\"value\":{\"value\":\"z1\"}},"
                "{\"op\":\"remove\",\"path\":\"/m1/metadata/region\"},"
                "{\"op\":\"replace\",\"path\":\"/m2/metadata/disk\",\"value\":{\"value\":\"ssd\"}},"
                "{\"op\":\"add\",\"path\":\"/m9/metadata/x\",\"value\":{\"value\":\"y\"}}]";
        RegistryMetadata md[] = {{(char *) "region", (char *) "us"},
                                 {(char *) "role", (char *) "web"}};
        _cleanup_free_ char *zone = NULL, *region = NULL;

        expect(request("GET", "/fleet/v1/machines", NULL), 200, "{}");
        put_machine("m1", "10.0.0.1", md, ELEMENTSOF(md));
        put_machine("m2", "", NULL, 0);
        expect(request("GET", "/fleet/v1/machines", NULL), 200,
               "{\"machines\":[{\"id\":\"m1\",\"metadata\":{\"region\":\"us\",\"role\":\"web\"},"
               "\"primaryIP\":\"10.0.0.1\"},{\"id\":\"m2\"}],\"nextPageToken\":\"AgACAA==\"}");
        expect(request("GET", "/fleet/v1/machines?nextPageToken=AgACAA%3D%3D", NULL), 200, "{}");

        /* add, replace, remove (the empty tombstone); PATCH does not check the content type */
        expect(request_full("PATCH", "/fleet/v1/machines", NULL, patch, strlen(patch)), 204, NULL);
        zone = get_key("metadata/m1/zone");
        ck_assert_str_eq(zone, "z1");
        region = get_key("metadata/m1/region");
        ck_assert_str_eq(region, "");
        expect(request("GET", "/fleet/v1/machines", NULL), 200,
               "{\"machines\":[{\"id\":\"m1\",\"metadata\":{\"role\":\"web\",\"zone\":\"z1\"},"
               "\"primaryIP\":\"10.0.0.1\"},{\"id\":\"m2\",\"metadata\":{\"disk\":\"ssd\"}}],"
               "\"nextPageToken\":\"AgACAA==\"}");
        expect(request("PATCH", "/fleet/v1/machines", "[]"), 204, NULL);
        expect(request("PATCH", "/fleet/v1/machines", "null"), 204, NULL);
}
END_TEST

/* fleet-c's cordons, and the unit's reason field, against the real etcd. */
START_TEST(test_cordons_and_reasons) {
        _cleanup_free_ char *c = NULL, *job = NULL;

        expect(request("GET", "/fleet-c/v1/cordons", NULL), 200, "{\"cordons\":[]}");
        expect_error(request("PUT", "/fleet-c/v1/cordons/m1", NULL), 404, "machine does not exist");
        /* a machine whose lease expired but that still has units scheduled can be drained (the
         * engine may hold its units) */
        put_key("schedule/m9/x.service", "{\"hash\":\"0123456789abcdef0123456789abcdef01234567\","
                                         "\"desiredState\":\"launched\"}");
        expect(request("PUT", "/fleet-c/v1/cordons/m9", "{\"draining\":true}"), 204, NULL);
        expect(request("DELETE", "/fleet-c/v1/cordons/m9", NULL), 204, NULL);
        put_machine("m1", "10.0.0.1", NULL, 0);
        put_machine("m2", "10.0.0.2", NULL, 0);
        expect(request("PUT", "/fleet-c/v1/cordons/m1", NULL), 204, NULL);
        expect(request("PUT", "/fleet-c/v1/cordons/m2", "{\"draining\":true}"), 204, NULL);
        expect_error(request("PUT", "/fleet-c/v1/cordons/m2", "{\"draining\":1}"), 400,
                     "invalid request body: draining must be true or false");
        c = get_key("cordon/m2");
        ck_assert_str_eq(c, "{\"draining\":true}");
        expect(request("GET", "/fleet-c/v1/cordons", NULL), 200,
               "{\"cordons\":[{\"machineID\":\"m1\",\"state\":\"cordoned\"},"
               "{\"machineID\":\"m2\",\"state\":\"draining\"}]}");
        expect(request("DELETE", "/fleet-c/v1/cordons/m1", NULL), 204, NULL);
        expect(request("DELETE", "/fleet-c/v1/cordons/m1", NULL), 204, NULL);
        expect(request("GET", "/fleet-c/v1/cordons", NULL), 200,
               "{\"cordons\":[{\"machineID\":\"m2\",\"state\":\"draining\"}]}");
        expect_error(request("GET", "/fleet-c/v1/cordons/m1", NULL), 405,
                     "only PUT and DELETE supported against this resource");

        /* a reason for the current job version is served; a stale one is not */
        expect(request("PUT", "/fleet/v1/units/db.service",
                       "{\"desiredState\":\"launched\",\"options\":[{\"section\":\"Service\","
                       "\"name\":\"ExecStart\",\"value\":\"/bin/true\"}]}"),
               201, NULL);
        {
                _cleanup_(registry_entry_done) RegistryEntry e = {};
                RegistryKey k = {.kind = REGISTRY_KEY_JOB, .name = (char *) "db.service"};
                char value[128];

                ck_assert_int_eq(registry_get_sync(registry, &k, &e), 0);
                (void) snprintf(value, sizeof(value), "{\"jobRevision\":%lld,\"reason\":\"why\"}",
                                (long long) e.mod_revision);
                put_key("reason/db.service", value);
        }
        job = request("GET", "/fleet/v1/units/db.service", NULL).body;
        ck_assert_ptr_nonnull(strstr(job, ",\"reason\":\"why\"}"));
        free(job);
        put_key("reason/db.service", "{\"jobRevision\":1,\"reason\":\"stale\"}");
        job = request("GET", "/fleet/v1/units", NULL).body;
        ck_assert_ptr_null(strstr(job, "reason"));
}
END_TEST

/* fleet-c's pins (rolling updates of global units) against the real etcd. */
START_TEST(test_pins) {
        _cleanup_(registry_entry_done) RegistryEntry job = {};
        RegistryKey jk = {.kind = REGISTRY_KEY_JOB, .name = (char *) "g.service"};
        _cleanup_free_ char *pin = NULL, *list = NULL;
        char body[128], want[256];

        expect(request("GET", "/fleet-c/v1/pins", NULL), 200, "{\"pins\":[]}");
        expect(request("PUT", "/fleet/v1/units/g.service",
                       "{\"desiredState\":\"launched\",\"options\":[{\"section\":\"X-Fleet\","
                       "\"name\":\"Global\",\"value\":\"true\"}]}"),
               201, NULL);
        expect(request("PUT", "/fleet/v1/units/db.service",
                       "{\"desiredState\":\"launched\",\"options\":" OTHER_OPTIONS "}"),
               201, NULL);
        ck_assert_int_eq(registry_get_sync(registry, &jk, &job), 0);
        (void) snprintf(body, sizeof(body), "{\"hash\":\"%s\"}", job.job.hash);

        /* bad input changes nothing */
        expect_error(request("PUT", "/fleet-c/v1/pins/m1/g.service", body), 404,
                     "machine does not exist");
        put_machine("m1", "10.0.0.1", NULL, 0);
        put_machine("m2", "10.0.0.2", NULL, 0);
        expect_error(request("PUT", "/fleet-c/v1/pins/m1/g.service", NULL), 400,
                     "invalid request body: a hash is required");
        expect_error(request("PUT", "/fleet-c/v1/pins/m1/g.service", "{\"hash\":\"abc\"}"), 400,
                     "invalid request body: hash must be 40 lowercase hex digits");
        expect_error(request("PUT", "/fleet-c/v1/pins/m1/g.service", "{"), 400,
                     "invalid request body: expected a JSON object");
        expect_error(request("PUT", "/fleet-c/v1/pins/m1/nope.service", body), 404,
                     "unit does not exist");
        expect_error(request("PUT", "/fleet-c/v1/pins/m1/db.service", body), 400,
                     "unit db.service is not global: only global units are pinned");
        expect_error(request("PUT", "/fleet-c/v1/pins/m1/g.service",
                             "{\"hash\":\"0000000000000000000000000000000000000000\"}"),
                     404, "unit content does not exist");
        expect_error(request("PUT", "/fleet-c/v1/pins/m1", body), 404, "");
        expect(request("GET", "/fleet-c/v1/pins", NULL), 200, "{\"pins\":[]}");

        /* pin, list, unpin */
        expect(request("PUT", "/fleet-c/v1/pins/m2/g.service", body), 204, NULL);
        expect(request("PUT", "/fleet-c/v1/pins/m1/g.service", body), 204, NULL);
        pin = get_key("pin/m1/g.service");
        ck_assert_str_eq(pin, body);
        (void) snprintf(want, sizeof(want),
                        "{\"pins\":[{\"machineID\":\"m1\",\"name\":\"g.service\",\"hash\":"
                        "\"%s\"},{\"machineID\":\"m2\",\"name\":\"g.service\",\"hash\":\"%s\"}]}",
                        job.job.hash, job.job.hash);
        expect(request("GET", "/fleet-c/v1/pins", NULL), 200, want);
        expect(request("DELETE", "/fleet-c/v1/pins/m1/g.service", NULL), 204, NULL);
        expect(request("DELETE", "/fleet-c/v1/pins/m1/g.service", NULL), 204, NULL);
        free(pin);
        pin = get_key("pin/m1/g.service");
        ck_assert_ptr_null(pin);
        list = request("GET", "/fleet-c/v1/pins", NULL).body;
        ck_assert_ptr_null(strstr(list, "\"m1\""));
        ck_assert_ptr_nonnull(strstr(list, "\"m2\""));
        expect_error(request("GET", "/fleet-c/v1/pins/m2/g.service", NULL), 405,
                     "only PUT and DELETE supported against this resource");
}
END_TEST

/* ---- discovery, metrics -------------------------------------------------------------------- */

START_TEST(test_discovery) {
        Resp r = request("GET", "/fleet/v1/discovery", NULL);

        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.content_type, "application/json");
        ck_assert_str_eq(r.body, api_discovery_json);
        resp_done(&r);

        /* fleetd's api_listen entries: a unix socket too */
        ck_assert_int_ge(asprintf(&unix_path, "%s/api-%d.sock", scratch, (int) getpid()), 0);
        ck_assert_int_eq(api_listen(api, unix_path), 0);
        ck_assert_int_eq(api_listen(api, "not an address"), -EINVAL);
        r = request("GET", "/v1-alpha/discovery?alt=json", NULL);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, api_discovery_json);
        resp_done(&r);
        unlink(unix_path);
        free(unix_path);
        unix_path = NULL;
}
END_TEST

START_TEST(test_metrics) {
        static const char *const lines[] = {
                "\nfleet_registry_up 1\n",
                "\nfleet_units 2\n",
                "\nfleet_units_desired_state{state=\"launched\"} 1\n",
                "\nfleet_units_desired_state{state=\"inactive\"} 1\n",
                "\nfleet_units_current_state{state=\"launched\"} 1\n",
                "\nfleet_units_current_state{state=\"inactive\"} 1\n",
                "\nfleet_machines 1\n",
                "\nfleet_etcd_requests_total{op=\"txn\"} ",
                "\nfleet_api_requests_total{code=\"201\"} 2\n",
                "\nfleet_api_requests_total{code=\"404\"} 1\n",
                /* fleetd's engine and agent metrics come last */
                "\nfleet_test_extra 42\n",
        };
        Resp r;

        expect(request("PUT", U "a.service",
                       "{\"desiredState\":\"launched\",\"options\":" HELLO_OPTIONS "}"),
               201, NULL);
        expect(request("PUT", U "b.service", "{\"options\":" HELLO_OPTIONS "}"), 201, NULL);
        put_schedule("m1", "a.service", HELLO_TEXT);
        put_state("a.service", "m1", HX, JOB_STATE_LAUNCHED);
        put_machine("m1", "", NULL, 0);
        expect_error(request("GET", U "nope.service", NULL), 404, "unit does not exist");

        r = request("GET", "/metrics", NULL);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.content_type, "text/plain; version=0.0.4");
        for (size_t i = 0; i < ELEMENTSOF(lines); i++)
                ck_assert_msg(strstr(r.body, lines[i]), "missing %s", lines[i]);
        ck_assert_uint_eq(extra_calls, 1);
        resp_done(&r);
}
END_TEST

/* ---- etcd unavailable ---------------------------------------------------------------------- */

#define UNAVAILABLE "fleet server unable to communicate with etcd"

START_TEST(test_etcd_unavailable) {
        static const char *const need_etcd[][3] = {
                {"GET", "/fleet/v1/units", NULL},
                {"GET", "/fleet/v1/units/a.service", NULL},
                {"PUT", U "a.service", "{\"desiredState\":\"launched\"}"},
                {"DELETE", U "a.service", NULL},
                {"GET", "/fleet/v1/state", NULL},
                {"GET", "/fleet/v1/machines", NULL},
                {"PATCH", "/fleet/v1/machines", "[{\"op\":\"remove\",\"path\":\"/m/metadata/a\"}]"},
        };
        EtcdLauncherOptions o = {.base_dir = scratch};
        Resp r;

        /* the API's own etcd, since this test kills it */
        teardown();
        ck_assert_int_eq(etcd_launcher_start(&o, &own_etcd), 0);
        start_api(own_etcd);
        expect(request("PUT", U "a.service", "{\"options\":" HELLO_OPTIONS "}"), 201, NULL);

        /* fleetd's switch: every API request is a 503, before any routing */
        api_set_etcd_available(api, false);
        expect_error(request("GET", "/fleet/v1/units", NULL), 503, UNAVAILABLE);
        expect_error(request("GET", "/nothing", NULL), 503, UNAVAILABLE);
        r = request("GET", "/metrics", NULL);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.body, "fleet_registry_up 0\n"));
        resp_done(&r);
        api_set_etcd_available(api, true);
        expect(request("GET", "/fleet/v1/units/a.service", NULL), 200,
               "{\"currentState\":\"inactive\",\"desiredState\":\"inactive\",\"name\":"
               "\"a.service\",\"options\":" HELLO_OPTIONS_OUT "}");

        /* etcd dies: requests that need it are answered 503 */
        ck_assert_int_eq(etcd_launcher_kill_member(own_etcd, 0), 0);
        for (size_t i = 0; i < ELEMENTSOF(need_etcd); i++)
                expect_error(request(need_etcd[i][0], need_etcd[i][1], need_etcd[i][2]), 503,
                             UNAVAILABLE);
        /* what needs no etcd still works */
        expect_error(request("PUT", U "a.service", "{\"desiredState\":\"x\"}"), 400,
                     "invalid desiredState \\\"x\\\": must be inactive, loaded or launched");
        r = request("GET", "/fleet/v1/discovery", NULL);
        ck_assert_int_eq(r.status, 200);
        resp_done(&r);
        r = request("GET", "/metrics", NULL);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.body, "fleet_registry_up 0\n"));
        ck_assert_ptr_nonnull(strstr(r.body, "fleet_api_requests_total{code=\"503\"} 9\n"));
        resp_done(&r);
        ck_assert_uint_eq(api_n_pending(api), 0);
}
END_TEST

/* ---- reads from memory ---------------------------------------------------------------------- */

/* fleet_api_registry_reads_total{source="<source>"} of a /metrics scrape. */
static uint64_t reads_from(const char *source) {
        _cleanup_free_ char *needle = NULL;
        Resp r = request("GET", "/metrics", NULL);
        unsigned long long n = 0;
        const char *p;

        ck_assert_int_eq(r.status, 200);
        ck_assert_int_ge(
                asprintf(&needle, "fleet_api_registry_reads_total{source=\"%s\"} ", source), 0);
        p = strstr(r.body, needle);
        ck_assert_msg(p, "no %s in /metrics", needle);
        ck_assert_int_eq(sscanf(p + strlen(needle), "%llu", &n), 1);
        resp_done(&r);
        return n;
}

static bool never(void *userdata) {
        return false;
}

/* Let the event loop run for usec (the API's watch delivers meanwhile). */
static void run_for(uint64_t usec) {
        (void) etcd_launcher_run_until(event, never, NULL, usec);
}

/* GET /fleet/v1/units until one is answered from the registry copy (the first read starts it,
 * etcd answers until it is listed). */
static void read_until_from_memory(void) {
        uint64_t memory0 = reads_from("memory");
        int i;

        for (i = 0; i < 100 && reads_from("memory") == memory0; i++) {
                Resp r = request("GET", "/fleet/v1/units", NULL);

                ck_assert_int_eq(r.status, 200);
                resp_done(&r);
                run_for(20 * 1000);
        }
        ck_assert_msg(i < 100, "GETs never came from memory");
}

START_TEST(test_reads_from_memory) {
        EtcdLauncherOptions o = {.base_dir = scratch};
        uint64_t memory0, memory1;
        int i;

        teardown();
        ck_assert_int_eq(etcd_launcher_start(&o, &own_etcd), 0);
        start_api(own_etcd);
        expect(request("PUT", U "a.service", "{\"options\":" HELLO_OPTIONS "}"), 201, NULL);

        /* The first read starts the copy (etcd answers it); once listed, memory does. */
        read_until_from_memory();

        /* Read your writes: a GET right after this API's PUT sees it, every time. */
        memory0 = reads_from("memory");
        for (i = 0; i < 20; i++) {
                _cleanup_free_ char *path = NULL, *want = NULL;

                ck_assert_int_ge(asprintf(&path, U "b%d.service", i), 0);
                ck_assert_int_ge(
                        asprintf(&want,
                                 "{\"currentState\":\"inactive\",\"desiredState\":\"inactive\","
                                 "\"name\":\"b%d.service\",\"options\":" HELLO_OPTIONS_OUT "}",
                                 i),
                        0);
                expect(request("PUT", path, "{\"options\":" HELLO_OPTIONS "}"), 201, NULL);
                expect(request("GET", path, NULL), 200, want);
                expect(request("DELETE", path, NULL), 204, NULL);
                expect_error(request("GET", path, NULL), 404, "unit does not exist");
        }
        memory1 = reads_from("memory");
        ck_assert_uint_gt(memory1, memory0);

        /* A write made around this API (straight to the registry) shows once the watch brings
         * it, with no etcd read. */
        ck_assert_int_eq(registry_destroy_job_sync(registry, "a.service", NULL), 0);
        for (i = 0; i < 100; i++) {
                Resp r = request("GET", U "a.service", NULL);
                long status = r.status;

                resp_done(&r);
                if (status == 404)
                        break;
                ck_assert_int_eq(status, 200);
                run_for(20 * 1000);
        }
        ck_assert_msg(i < 100, "a.service never disappeared from the copy");

        /* etcd dies: the copy's watch is no longer live, reads go to etcd again and fail */
        ck_assert_int_eq(etcd_launcher_kill_member(own_etcd, 0), 0);
        run_for(200 * 1000);
        expect_error(request("GET", "/fleet/v1/units", NULL), 503, UNAVAILABLE);
        expect_error(request("GET", "/fleet/v1/state", NULL), 503, UNAVAILABLE);
}
END_TEST

/* fleet_api_list_answers_total{answer="<answer>"} of a /metrics scrape. */
static uint64_t list_answers(const char *answer) {
        _cleanup_free_ char *needle = NULL;
        Resp r = request("GET", "/metrics", NULL);
        unsigned long long n = 0;
        const char *p;

        ck_assert_int_eq(r.status, 200);
        ck_assert_int_ge(asprintf(&needle, "fleet_api_list_answers_total{answer=\"%s\"} ", answer),
                         0);
        p = strstr(r.body, needle);
        ck_assert_msg(p, "no %s in /metrics", needle);
        ck_assert_int_eq(sscanf(p + strlen(needle), "%llu", &n), 1);
        resp_done(&r);
        return n;
}

/* List answers from the copy are rendered once per revision and reused byte for byte; every
 * page and filter has its own; a write (read your writes) and a change made around this API
 * give a new answer. */
/* A /metrics scrape alone never starts the registry copy (a whole-prefix watch on every scraped
 * fleetd); once other reads keep it, scrapes read from it too. */
START_TEST(test_metrics_do_not_start_copy) {
        uint64_t memory0;
        int i;

        expect(request("PUT", U "a.service", "{\"options\":" HELLO_OPTIONS "}"), 201, NULL);
        for (i = 0; i < 10; i++) {
                ck_assert_uint_eq(reads_from("memory"), 0);
                run_for(20 * 1000);
        }
        read_until_from_memory();
        memory0 = reads_from("memory");
        ck_assert_uint_gt(reads_from("memory"), memory0); /* the scrape itself, from the copy */
}
END_TEST

START_TEST(test_rendered_answers) {
        static const char *const paths[] = {
                "/fleet/v1/units",
                "/fleet/v1/units?nextPageToken=AgACAA%3D%3D",
                "/fleet/v1/state",
                "/fleet/v1/state?nextPageToken=AgACAA%3D%3D",
                "/fleet/v1/state?machineID=m1",
                "/fleet/v1/state?unitName=m1",
                "/fleet/v1/state?machineID=m1&unitName=b.service",
                "/fleet/v1/state?machineID=m1%20&unitName=b.service",
                "/fleet/v1/machines",
        };
        char *first[ELEMENTSOF(paths)] = {};
        uint64_t reused0, built0;
        int i;

        expect(request("PUT", U "a.service", "{\"options\":" HELLO_OPTIONS "}"), 201, NULL);
        expect(request("PUT", U "b.service", "{\"options\":" HELLO_OPTIONS "}"), 201, NULL);
        expect(request("PUT", U "c.service", "{\"options\":" HELLO_OPTIONS "}"), 201, NULL);
        put_state("a.service", "m1", HX, JOB_STATE_LAUNCHED);
        put_state("a.service", "m2", HX, JOB_STATE_LAUNCHED);
        put_state("b.service", "m1", HX, JOB_STATE_LOADED);
        put_machine("m1", "10.0.0.1", NULL, 0);

        read_until_from_memory();

        /* twice each: built once, then reused, the same bytes */
        built0 = list_answers("built");
        reused0 = list_answers("reused");
        for (size_t k = 0; k < ELEMENTSOF(paths); k++) {
                Resp r = request("GET", paths[k], NULL);

                ck_assert_int_eq(r.status, 200);
                first[k] = TAKE_PTR(r.body);
        }
        for (size_t k = 0; k < ELEMENTSOF(paths); k++)
                expect(request("GET", paths[k], NULL), 200, first[k]);
        ck_assert_uint_eq(list_answers("built") - built0, ELEMENTSOF(paths));
        ck_assert_uint_eq(list_answers("reused") - reused0, ELEMENTSOF(paths));
        /* each page and filter its own answer */
        ck_assert_str_eq(first[0],
                         "{\"nextPageToken\":\"AgACAA==\",\"units\":[{\"currentState\":"
                         "\"inactive\",\"desiredState\":\"inactive\",\"name\":"
                         "\"a.service\",\"options\":" HELLO_OPTIONS_OUT
                         "},{\"currentState\":\"inactive\",\"desiredState\":"
                         "\"inactive\",\"name\":\"b.service\",\"options\":" HELLO_OPTIONS_OUT
                         "}]}");
        ck_assert_str_eq(first[1],
                         "{\"units\":[{\"currentState\":\"inactive\",\"desiredState\":"
                         "\"inactive\",\"name\":\"c.service\",\"options\":" HELLO_OPTIONS_OUT
                         "}]}");
        ck_assert_str_eq(first[4],
                         "{\"nextPageToken\":\"AgACAA==\",\"states\":[" STATE_OUT(
                                 "a.service", "m1", HX) "," STATE_OUT("b.service", "m1", HX) "]}");
        ck_assert_str_eq(first[5], "{}");
        ck_assert_str_eq(first[6], "{\"states\":[" STATE_OUT("b.service", "m1", HX) "]}");
        ck_assert_str_eq(first[7], "{}");
        ck_assert_str_eq(first[8], "{\"machines\":[{\"id\":\"m1\",\"primaryIP\":\"10.0.0.1\"}]}");

        /* read your writes: this API's PUT shows on the next page read at once */
        expect(request("PUT", U "d.service", "{\"options\":" HELLO_OPTIONS "}"), 201, NULL);
        expect(request("GET", paths[1], NULL), 200,
               "{\"nextPageToken\":\"AgADAA==\",\"units\":[{\"currentState\":\"inactive\","
               "\"desiredState\":\"inactive\","
               "\"name\":\"c.service\",\"options\":" HELLO_OPTIONS_OUT
               "},{\"currentState\":\"inactive\",\"desiredState\":\"inactive\",\"name\":"
               "\"d.service\",\"options\":" HELLO_OPTIONS_OUT "}]}");
        /* a change made around this API shows once the watch brings it */
        put_state("c.service", "m1", HX, JOB_STATE_LOADED);
        for (i = 0; i < 100; i++) {
                Resp r = request("GET", paths[3], NULL);
                bool changed = r.status == 200 && !streq(r.body, first[3]);

                resp_done(&r);
                if (changed)
                        break;
                run_for(20 * 1000);
        }
        ck_assert_msg(i < 100, "the state listing never changed");
        expect(request("GET", paths[4], NULL), 200,
               "{\"nextPageToken\":\"AgACAA==\",\"states\":[" STATE_OUT(
                       "a.service", "m1", HX) "," STATE_OUT("b.service", "m1", HX) "]}");
        expect(request("GET", "/fleet/v1/state?machineID=m1&nextPageToken=AgACAA%3D%3D", NULL), 200,
               "{\"states\":[" STATE_OUT("c.service", "m1", HX) "]}");
        for (size_t k = 0; k < ELEMENTSOF(paths); k++)
                free(first[k]);
}
END_TEST

static bool api_has_pending(void *userdata) {
        return api_n_pending(api) > 0;
}

START_TEST(test_free_with_pending) {
        ApiConfig ac = {.version = VERSION};
        _cleanup_free_ char *endpoint = NULL;
        char *endpoints[2] = {};
        EtcdClientConfig cc = {.endpoints = endpoints, .request_timeout_usec = 20 * SEC};
        Flight f = {.q = {"GET", "/fleet/v1/units"}};
        int port, blackhole;

        /* an "etcd" that accepts connections and never answers keeps requests pending */
        teardown();
        blackhole = test_listen_loopback(&port);
        ck_assert_int_ge(blackhole, 0);
        ck_assert_int_ge(asprintf(&endpoint, "http://127.0.0.1:%d", port), 0);
        endpoints[0] = endpoint;
        ck_assert_int_eq(sd_event_new(&event), 0);
        ck_assert_int_eq(etcd_client_new(&client, event, &cc), 0);
        ck_assert_int_eq(registry_new(&registry, client, "/x/"), 0);
        ck_assert_int_eq(api_new(&api, event, registry, &ac), 0);
        ck_assert_int_eq(api_listen_fd(api, test_listen_loopback(&port)), 0);
        snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", port);

        flight_start(&f);
        ck_assert_int_eq(etcd_launcher_run_until(event, api_has_pending, NULL, 10 * SEC), 0);
        /* freeing the API answers (or drops) what is pending and cancels its etcd call */
        api = api_free(api);
        f.r = flight_finish(&f);
        ck_assert_msg(f.r.status == 503 || f.r.status == -1, "status %ld", f.r.status);
        resp_done(&f.r);
        close(blackhole);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("api");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, shared_setup, shared_teardown);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_unit_lifecycle);
        tcase_add_test(tc, test_cordons_and_reasons);
        tcase_add_test(tc, test_pins);
        tcase_add_test(tc, test_global_unit);
        tcase_add_test(tc, test_templates);
        tcase_add_loop_test(tc, test_bad_requests, 0, ELEMENTSOF(bad_cases));
        tcase_add_test(tc, test_body_too_large);
        tcase_add_test(tc, test_units_paging);
        tcase_add_test(tc, test_states);
        tcase_add_test(tc, test_machines);
        tcase_add_test(tc, test_discovery);
        tcase_add_test(tc, test_metrics);
        tcase_add_test(tc, test_etcd_unavailable);
        tcase_add_test(tc, test_reads_from_memory);
        tcase_add_test(tc, test_metrics_do_not_start_copy);
        tcase_add_test(tc, test_rendered_answers);
        tcase_add_test(tc, test_free_with_pending);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(suite)
