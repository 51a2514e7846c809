/* SPDX-License-Identifier: MIT */
/*
 * agent/systemd.c against the real systemd. Runs INSIDE a simulated machine (systemd is PID 1,
 * its system bus at /run/dbus/system_bus_socket): test/e2e/0100-systemd-manager.sh boots one
 * and runs this binary there. Every unit name carries the test's pid, so runs never collide.
 * The disconnect tests use a private dbus-daemon instead, because losing the machine's real
 * bus is not something a test can do to systemd.
 */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "log.h"
#include "strv.h"
#include "systemd.h"
#include "test-util.h"
#include "unit-dir.h"

#define SEC (1000ULL * 1000ULL)
#define OP_TIMEOUT (30 * SEC)

typedef struct StateEvent {
        char *name, *load, *active, *sub;
} StateEvent;

typedef struct Done {
        bool done;
        int error;
        char *message;
        char *job_result;
        uint32_t job_id;
        bool install;
} Done;

typedef struct Ctx {
        sd_event *event;
        SystemdManager *m;
        char dir[PATH_MAX];
        StateEvent *log;
        size_t n_log;
        bool failed;
        int failure_error;
        bool free_on_failure;
        pid_t dbus_pid; /* private dbus-daemon of the disconnect tests */
        char bus_dir[PATH_MAX];
} Ctx;

static Ctx ctx;

/* --- helpers ------------------------------------------------------------------------------ */

static void on_state(SystemdManager *m, const char *name, const SystemdUnitState *st, void *ud) {
        Ctx *c = ud;

        c->log = realloc(c->log, sizeof(StateEvent) * (c->n_log + 1));
        ck_assert_ptr_nonnull(c->log);
        c->log[c->n_log++] = (StateEvent){strdup(name), strdup(st->load_state),
                                          strdup(st->active_state), strdup(st->sub_state)};
        fprintf(stderr, "state: %s %s/%s/%s\n", name, st->load_state, st->active_state,
                st->sub_state);
}

static void on_failure(SystemdManager *m, int error, void *ud) {
        Ctx *c = ud;

        c->failed = true;
        c->failure_error = error;
        if (c->free_on_failure)
                c->m = systemd_manager_free(m);
}

static void on_done(SystemdManager *m, const SystemdResult *r, void *ud) {
        Done *d = ud;

        ck_assert(!d->done);
        d->done = true;
        d->error = r->error;
        d->message = r->message ? strdup(r->message) : NULL;
        d->job_result = r->job_result ? strdup(r->job_result) : NULL;
        d->job_id = r->job_id;
        d->install = r->carries_install_info;
}

static void done_clear(Done *d) {
        free(d->message);
        free(d->job_result);
        *d = (Done){};
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* Run the loop until pred() holds or timeout passes; returns pred(). */
static bool run_until(bool (*pred)(const void *), const void *arg, uint64_t timeout) {
        uint64_t deadline = now_usec() + timeout;

        while (!pred(arg)) {
                if (now_usec() > deadline)
                        return false;
                ck_assert_int_ge(sd_event_run(ctx.event, 100 * 1000), 0);
        }
        return true;
}

/* Run the loop for a while, for "nothing else happens" checks. */
static void run_for(uint64_t usec) {
        uint64_t deadline = now_usec() + usec;

        while (now_usec() < deadline)
                ck_assert_int_ge(sd_event_run(ctx.event, 50 * 1000), 0);
}

static bool pred_done(const void *arg) {
        return ((const Done *) arg)->done;
}

static void wait_done(Done *d) {
        ck_assert_msg(run_until(pred_done, d, OP_TIMEOUT), "operation did not complete");
}

typedef struct Want {
        const char *name, *load, *active, *sub;
} Want;

static bool pred_state(const void *arg) {
        const Want *w = arg;
        const SystemdUnitState *st = systemd_manager_get_unit_state(ctx.m, w->name);

        return st && (!w->load || streq(st->load_state, w->load)) &&
               streq(st->active_state, w->active) && streq(st->sub_state, w->sub);
}

static void wait_state(const char *name, const char *load, const char *active, const char *sub) {
        Want w = {name, load, active, sub};
        const SystemdUnitState *st;

        if (run_until(pred_state, &w, OP_TIMEOUT))
                return;
        st = systemd_manager_get_unit_state(ctx.m, name);
        ck_abort_msg("%s: wanted %s/%s/%s, have %s/%s/%s", name, strempty(load), active, sub,
                     st ? st->load_state : "?", st ? st->active_state : "?",
                     st ? st->sub_state : "?");
}

/* True if the state log shows name in active/sub at or after index from. */
static bool log_saw(size_t from, const char *name, const char *active, const char *sub) {
        for (size_t i = from; i < ctx.n_log; i++)
                if (streq(ctx.log[i].name, name) && streq(ctx.log[i].active, active) &&
                    streq(ctx.log[i].sub, sub))
                        return true;
        return false;
}

/* The state callback fires only on a change: no two consecutive events of a unit are equal. */
static void assert_log_has_no_repeats(void) {
        for (size_t i = 0; i < ctx.n_log; i++)
                for (size_t j = i + 1; j < ctx.n_log; j++) {
                        if (!streq(ctx.log[i].name, ctx.log[j].name))
                                continue;
                        ck_assert_msg(!streq(ctx.log[i].load, ctx.log[j].load) ||
                                              !streq(ctx.log[i].active, ctx.log[j].active) ||
                                              !streq(ctx.log[i].sub, ctx.log[j].sub),
                                      "repeated state event for %s: %s/%s/%s", ctx.log[i].name,
                                      ctx.log[i].load, ctx.log[i].active, ctx.log[i].sub);
                        break;
                }
}

static char *unit_name(const char *what, const char *suffix) {
        char *n;

        ck_assert_int_ge(asprintf(&n, "fleettest-%s-%d.%s", what, (int) getpid(), suffix), 0);
        return n;
}

static void require_machine(void) {
        ck_assert_msg(sd_booted() > 0 && getpid() != 1,
                      "test-systemd-manager must run inside a simulated machine whose PID 1 is "
                      "systemd; use test/e2e/0100-systemd-manager.sh");
}

static void setup_dir(void) {
        ck_assert_int_eq(unit_dir_ensure("/run/fleet"), 0);
        snprintf(ctx.dir, sizeof(ctx.dir), "/run/fleet/test-units-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(ctx.dir));
}

static void setup(void) {
        log_set_max_level(getenv("FLEET_TEST_DEBUG") ? LOG_DEBUG : LOG_INFO);
        require_machine();
        ck_assert_int_eq(sd_event_new(&ctx.event), 0);
        setup_dir();
        ck_assert_int_eq(systemd_manager_new(&ctx.m, ctx.event, ctx.dir, false), 0);
        systemd_manager_set_state_callback(ctx.m, on_state, &ctx);
        systemd_manager_set_failure_callback(ctx.m, on_failure, &ctx);
}

static void teardown(void) {
        ctx.m = systemd_manager_free(ctx.m);
        ctx.event = sd_event_unref(ctx.event);
        for (size_t i = 0; i < ctx.n_log; i++) {
                free(ctx.log[i].name);
                free(ctx.log[i].load);
                free(ctx.log[i].active);
                free(ctx.log[i].sub);
        }
        free(ctx.log);
        ctx.log = NULL;
        ctx.n_log = 0;
        ctx.failed = ctx.free_on_failure = false;
        (void) rmdir(ctx.dir);
}

/* Synchronous wrappers for the tests: issue, then drive the loop until the callback ran. */
typedef int (*UnitOpFn)(SystemdManager *, const char *, SystemdResultCallback, void *);

static void op(UnitOpFn fn, const char *name, Done *d) {
        done_clear(d);
        ck_assert_int_eq(fn(ctx.m, name, on_done, d), 0);
        ck_assert(!d->done); /* never completes synchronously */
        wait_done(d);
}

static void op_ok(UnitOpFn fn, const char *name) {
        Done d = {};

        op(fn, name, &d);
        ck_assert_msg(d.error == 0, "%s: %s", name, strempty(d.message));
        done_clear(&d);
}

static void reload_ok(void) {
        Done d = {};

        ck_assert_int_eq(systemd_manager_reload(ctx.m, on_done, &d), 0);
        wait_done(&d);
        ck_assert_msg(d.error == 0, "reload: %s", strempty(d.message));
        done_clear(&d);
}

static void job(bool start, const char *name, SystemdJobFlags flags, Done *d) {
        done_clear(d);
        if (start)
                ck_assert_int_eq(systemd_manager_start_unit(ctx.m, name, flags, on_done, d), 0);
        else
                ck_assert_int_eq(systemd_manager_stop_unit(ctx.m, name, flags, on_done, d), 0);
        wait_done(d);
}

static void job_expect(bool start, const char *name, const char *result) {
        Done d = {};

        job(start, name, SYSTEMD_JOB_WAIT, &d);
        ck_assert_msg(d.error == 0, "%s %s: %s", start ? "start" : "stop", name,
                      strempty(d.message));
        ck_assert_uint_gt(d.job_id, 0);
        ck_assert_str_eq(d.job_result, result);
        done_clear(&d);
}

static void write_unit(const char *name, const char *text) {
        ck_assert_int_eq(systemd_manager_write_unit_file(ctx.m, name, text, strlen(text)), 0);
}

/* fleet's LoadUnit: write, link, (enable). */
static void load_unit(const char *name, const char *text) {
        write_unit(name, text);
        op_ok(systemd_manager_link_unit, name);
}

/* fleet's UnloadUnit after the stop: disable, reset-failed (NoSuchUnit is fine: systemd may
 * have dropped an inactive unit already), unlink. */
static void unload_unit(const char *name) {
        Done d = {};

        op_ok(systemd_manager_disable_unit, name);
        op(systemd_manager_reset_failed_unit, name, &d);
        ck_assert_msg(d.error == 0 || d.error == -ENOENT, "reset-failed %s: %s", name,
                      strempty(d.message));
        done_clear(&d);
        ck_assert_int_eq(systemd_manager_remove_unit_file(ctx.m, name), 0);
}

static bool path_is_symlink_to(const char *path, const char *target) {
        char buf[PATH_MAX];
        ssize_t k = readlink(path, buf, sizeof(buf) - 1);

        if (k < 0)
                return false;
        buf[k] = '\0';
        return !target || streq(buf, target);
}

static char *read_file(const char *path) {
        char *s = NULL;
        char *dir = strdup(path), *slash = strrchr(dir, '/');

        *slash = '\0';
        if (unit_dir_read(dir, slash + 1, &s, NULL) < 0)
                s = NULL;
        free(dir);
        return s;
}

/* --- unit directory --------------------------------------------------------------------- */

static const char *const bad_names[] = {"", ".", "..", "a/b.service", "../x.service"};

START_TEST(test_unit_dir) {
        char dir[] = "/tmp/fleet-unit-dir-XXXXXX", path[PATH_MAX], *s = NULL, *big;
        UnitDirEntry *e = NULL;
        size_t n = 0, len = 0;
        mode_t old_umask;
        struct stat st;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        ck_assert(!unit_dir_name_is_safe(NULL));
        for (size_t i = 0; i < ELEMENTSOF(bad_names); i++) {
                ck_assert(!unit_dir_name_is_safe(bad_names[i]));
                ck_assert_int_eq(unit_dir_write(dir, bad_names[i], "x", 1), -EINVAL);
                ck_assert_int_eq(unit_dir_remove(dir, bad_names[i]), -EINVAL);
        }
        ck_assert(unit_dir_name_is_recognized("a.automount"));
        ck_assert(unit_dir_name_is_recognized("a.target"));
        ck_assert(!unit_dir_name_is_recognized("a.txt"));
        ck_assert(!unit_dir_name_is_recognized(".service"));

        ck_assert_int_eq(unit_dir_remove(dir, "/etc/passwd"), -EINVAL);

        old_umask = umask(077);
        ck_assert_int_eq(
                unit_dir_write_unit(dir, "b.service", "[Service]\nExecStart=/bin/true\n", 30), 0);
        ck_assert_int_eq(unit_dir_write_unit(dir, "a.socket", "old", 3), 0);
        ck_assert_int_eq(unit_dir_write_unit(dir, "a.socket", "new!", 4), 0);     /* replaces */
        ck_assert_int_eq(unit_dir_write(dir, "c.target", "", 0), 0);              /* not fleetd's */
        ck_assert_int_eq(unit_dir_write(dir, "d.service", "[Service]\n", 10), 0); /* neither */
        snprintf(path, sizeof(path), "%s/.#fleet-stale1", dir); /* crashed write */
        ck_assert_int_ge(creat(path, 0600), 0);
        umask(old_umask);
        snprintf(path, sizeof(path), "%s/b.service", dir);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_eq(st.st_mode & 07777, 0644);
        ck_assert_int_eq(unit_dir_read(dir, "a.socket", &s, &len), 0);
        ck_assert_str_eq(s, UNIT_DIR_MARKER "new!");
        ck_assert_uint_eq(len, strlen(UNIT_DIR_MARKER) + 4);
        free(s);

        /* Only the files fleetd wrote are listed, without the marker. */
        ck_assert_int_eq(unit_dir_scan(dir, &e, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(e[0].name, "a.socket");
        ck_assert_str_eq(e[0].content, "new!");
        ck_assert_str_eq(e[1].name, "b.service");
        ck_assert_str_eq(e[1].content, "[Service]\nExecStart=/bin/true\n");
        unit_dir_entries_free(e, n);
        snprintf(path, sizeof(path), "%s/.#fleet-stale1", dir);
        ck_assert_int_eq(access(path, F_OK), -1); /* the scan removed it */

        /* 1 MiB is the most a unit file may have; an unreadable file is not claimed. */
        big = calloc(1024 * 1024 + 1, 1);
        ck_assert_ptr_nonnull(big);
        memset(big, 'x', 1024 * 1024 + 1);
        ck_assert_int_eq(unit_dir_write(dir, "big.service", big, 1024 * 1024), 0);
        ck_assert_int_eq(unit_dir_read(dir, "big.service", &s, &len), 0);
        ck_assert_uint_eq(len, 1024 * 1024);
        free(s);
        ck_assert_int_eq(unit_dir_write(dir, "big.service", big, 1024 * 1024 + 1), 0);
        ck_assert_int_eq(unit_dir_read(dir, "big.service", &s, &len), -EFBIG);
        ck_assert_int_eq(unit_dir_scan(dir, &e, &n), 0);
        ck_assert_uint_eq(n, 2);
        unit_dir_entries_free(e, n);
        free(big);
        ck_assert_int_eq(unit_dir_remove(dir, "big.service"), 0);

        ck_assert_int_eq(unit_dir_remove(dir, "a.socket"), 0);
        ck_assert_int_eq(unit_dir_remove(dir, "a.socket"), -ENOENT);
        ck_assert_int_eq(unit_dir_remove(dir, "b.service"), 0);
        ck_assert_int_eq(unit_dir_remove(dir, "c.target"), 0);
        ck_assert_int_eq(unit_dir_remove(dir, "d.service"), 0);
        ck_assert_int_eq(rmdir(dir), 0);
        ck_assert_int_eq(unit_dir_scan(dir, &e, &n), 0); /* missing dir: empty */
        ck_assert_uint_eq(n, 0);
}
END_TEST

/* --- lifecycle against systemd ------------------------------------------------------------ */

START_TEST(test_lifecycle) {
        _cleanup_free_ char *name = unit_name("life", "service"), *link = NULL, *file = NULL;
        size_t mark;
        Done d = {};

        ck_assert_int_ge(asprintf(&link, "/run/systemd/system/%s", name), 0);
        ck_assert_int_ge(asprintf(&file, "%s/%s", ctx.dir, name), 0);

        /* Watching a unit systemd has never heard of. */
        ck_assert_int_eq(systemd_manager_watch_unit(ctx.m, name), 1);
        ck_assert_int_eq(systemd_manager_watch_unit(ctx.m, name), 0);
        ck_assert_ptr_null(systemd_manager_get_unit_state(ctx.m, name));
        wait_state(name, "not-found", "inactive", "dead");

        load_unit(name, "[Unit]\nDescription=fleet test\n\n[Service]\nExecStart=/bin/sleep 1000\n");
        ck_assert(path_is_symlink_to(link, file));
        reload_ok();
        wait_state(name, "loaded", "inactive", "dead");

        mark = ctx.n_log;
        job_expect(true, name, "done");
        wait_state(name, "loaded", "active", "running");
        ck_assert(log_saw(mark, name, "active", "running"));

        /* Starting a running unit is a no-op job: no state change, no callback. */
        mark = ctx.n_log;
        job_expect(true, name, "done");
        run_for(300 * 1000);
        ck_assert_uint_eq(ctx.n_log, mark);

        job_expect(false, name, "done");
        wait_state(name, "loaded", "inactive", "dead");

        unload_unit(name);
        ck_assert(!path_is_symlink_to(link, NULL));
        ck_assert_int_eq(access(file, F_OK), -1);
        reload_ok();
        wait_state(name, "not-found", "inactive", "dead");

        /* Stopping what systemd does not know is an error (fleet only warns). */
        job(false, name, SYSTEMD_JOB_WAIT, &d);
        ck_assert_int_eq(d.error, -ENOENT);
        ck_assert_ptr_nonnull(d.message);
        done_clear(&d);

        assert_log_has_no_repeats();
        ck_assert_int_eq(systemd_manager_unwatch_unit(ctx.m, name), 1);
        ck_assert_int_eq(systemd_manager_unwatch_unit(ctx.m, name), 0);
        ck_assert_ptr_null(systemd_manager_get_unit_state(ctx.m, name));
        ck_assert_uint_eq(systemd_manager_n_watched(ctx.m), 0);
}
END_TEST

START_TEST(test_failing_units) {
        _cleanup_free_ char *oneshot = unit_name("false-oneshot", "service");
        _cleanup_free_ char *simple = unit_name("false-simple", "service");
        size_t mark = ctx.n_log;

        ck_assert_int_eq(systemd_manager_watch_unit(ctx.m, oneshot), 1);
        ck_assert_int_eq(systemd_manager_watch_unit(ctx.m, simple), 1);
        load_unit(oneshot, "[Service]\nType=oneshot\nExecStart=/bin/false\n");
        load_unit(simple, "[Service]\nExecStart=/bin/false\n");
        reload_ok();

        /* A oneshot's start job waits for the process: the job itself fails. */
        job_expect(true, oneshot, "failed");
        wait_state(oneshot, "loaded", "failed", "failed");
        /* A simple service's start job is done once the process runs; then it fails. */
        job_expect(true, simple, "done");
        wait_state(simple, "loaded", "failed", "failed");
        ck_assert(log_saw(mark, oneshot, "failed", "failed"));
        ck_assert(log_saw(mark, simple, "failed", "failed"));

        op_ok(systemd_manager_reset_failed_unit, oneshot);
        wait_state(oneshot, "loaded", "inactive", "dead");
        op_ok(systemd_manager_reset_failed_unit, simple);
        wait_state(simple, "loaded", "inactive", "dead");

        unload_unit(oneshot);
        unload_unit(simple);
        reload_ok();
        wait_state(oneshot, "not-found", "inactive", "dead");
        wait_state(simple, "not-found", "inactive", "dead");
        assert_log_has_no_repeats();
}
END_TEST

typedef struct FileWant {
        const char *path, *content;
} FileWant;

static bool pred_file(const void *arg) {
        const FileWant *f = arg;
        _cleanup_free_ char *s = read_file(f->path);

        return s && streq(s, f->content);
}

/* A Type=simple service is "running" as soon as it is forked: wait for what it writes. */
static void wait_file(const char *path, const char *content) {
        FileWant f = {path, content};
        _cleanup_free_ char *s = NULL;

        if (run_until(pred_file, &f, OP_TIMEOUT))
                return;
        s = read_file(path);
        ck_abort_msg("%s: wanted \"%s\", have \"%s\"", path, content, strempty(s));
}

#define CONTENT_TEMPLATE "[Service]\nExecStart=/bin/sh -c 'echo %s > %s; exec sleep 1000'\n"

START_TEST(test_restart_changed_content) {
        _cleanup_free_ char *name = unit_name("content", "service"), *out = NULL, *text = NULL;
        size_t mark;

        ck_assert_int_ge(asprintf(&out, "%s/out", ctx.dir), 0);
        ck_assert_int_eq(systemd_manager_watch_unit(ctx.m, name), 1);
        ck_assert_int_ge(asprintf(&text, CONTENT_TEMPLATE, "first", out), 0);
        load_unit(name, text);
        reload_ok();
        job_expect(true, name, "done");
        wait_state(name, "loaded", "active", "running");
        wait_file(out, "first\n");

        /* fleet replaces content by unload + load + reload + start. */
        job_expect(false, name, "done");
        wait_state(name, "loaded", "inactive", "dead");
        free(text);
        ck_assert_int_ge(asprintf(&text, CONTENT_TEMPLATE, "second", out), 0);
        unload_unit(name);
        load_unit(name, text);
        reload_ok();
        mark = ctx.n_log;
        job_expect(true, name, "done");
        wait_state(name, "loaded", "active", "running");
        ck_assert(log_saw(mark, name, "active", "running"));
        wait_file(out, "second\n");

        job_expect(false, name, "done");
        wait_state(name, "loaded", "inactive", "dead");
        unload_unit(name);
        reload_ok();
        (void) unlink(out);
        assert_log_has_no_repeats();
}
END_TEST

START_TEST(test_install_enable) {
        _cleanup_free_ char *name = unit_name("install", "service"), *wants = NULL;
        _cleanup_free_ char *plain = unit_name("noinstall", "service");
        Done d = {};

        ck_assert_int_ge(asprintf(&wants, "/run/systemd/system/multi-user.target.wants/%s", name),
                         0);
        ck_assert_int_eq(systemd_manager_watch_unit(ctx.m, name), 1);
        load_unit(name, "[Service]\nExecStart=/bin/sleep 1000\n\n[Install]\n"
                        "WantedBy=multi-user.target\n");
        op(systemd_manager_enable_unit, name, &d);
        ck_assert_msg(d.error == 0, "enable: %s", strempty(d.message));
        ck_assert(d.install);
        done_clear(&d);
        ck_assert(path_is_symlink_to(wants, NULL));
        reload_ok();
        job_expect(true, name, "done");
        wait_state(name, "loaded", "active", "running");

        /* Without [Install] there is nothing to enable: fleet treats that as a failure. */
        load_unit(plain, "[Service]\nExecStart=/bin/sleep 1000\n");
        op(systemd_manager_enable_unit, plain, &d);
        ck_assert_int_eq(d.error, 0);
        ck_assert(!d.install);
        done_clear(&d);

        job_expect(false, name, "done");
        wait_state(name, "loaded", "inactive", "dead");
        unload_unit(name);
        unload_unit(plain);
        ck_assert(!path_is_symlink_to(wants, NULL));
        reload_ok();
        wait_state(name, "not-found", "inactive", "dead");
}
END_TEST

typedef struct Listed {
        bool done;
        int error;
        char **lines; /* "name load active sub" */
} Listed;

static void on_list(SystemdManager *m, int error, const SystemdUnitInfo *u, size_t n, void *ud) {
        Listed *l = ud;

        l->done = true;
        l->error = error;
        for (size_t i = 0; i < n; i++) {
                char *s;

                ck_assert_int_ge(asprintf(&s, "%s %s %s %s", u[i].name, u[i].load_state,
                                          u[i].active_state, u[i].sub_state),
                                 0);
                ck_assert_int_eq(strv_consume(&l->lines, s), 0);
        }
}

static bool pred_listed(const void *arg) {
        return ((const Listed *) arg)->done;
}

START_TEST(test_list_units_by_names) {
        _cleanup_free_ char *name = unit_name("list", "service");
        _cleanup_free_ char *missing = unit_name("missing", "service");
        _cleanup_free_ char *l1 = NULL, *l2 = NULL;
        char *names[] = {name, missing, NULL};
        Listed l = {};

        load_unit(name, "[Service]\nExecStart=/bin/sleep 1000\n");
        reload_ok();
        job_expect(true, name, "done");

        ck_assert_int_eq(systemd_manager_list_units_by_names(ctx.m, (char *[]){NULL}, on_list, &l),
                         -EINVAL);
        ck_assert_int_eq(systemd_manager_list_units_by_names(ctx.m, names, on_list, &l), 0);
        ck_assert(run_until(pred_listed, &l, OP_TIMEOUT));
        ck_assert_int_eq(l.error, 0);
        ck_assert_int_ge(asprintf(&l1, "%s loaded active running", name), 0);
        ck_assert_int_ge(asprintf(&l2, "%s not-found inactive dead", missing), 0);
        ck_assert_uint_eq(strv_length(l.lines), 2);
        ck_assert(strv_contains(l.lines, l1));
        ck_assert(strv_contains(l.lines, l2));
        strv_free(l.lines);

        job_expect(false, name, "done");
        unload_unit(name);
        reload_ok();
}
END_TEST

START_TEST(test_errors_and_nowait) {
        _cleanup_free_ char *name = unit_name("nowait", "service");
        _cleanup_free_ char *missing = unit_name("nothere", "service");
        Done d = {};

        /* Unsafe names are refused before anything is sent. */
        ck_assert_int_eq(systemd_manager_start_unit(ctx.m, "../x.service", 0, on_done, &d),
                         -EINVAL);
        ck_assert_int_eq(systemd_manager_link_unit(ctx.m, "a/b.service", on_done, &d), -EINVAL);
        ck_assert_int_eq(systemd_manager_disable_unit(ctx.m, "..", on_done, &d), -EINVAL);
        ck_assert_int_eq(systemd_manager_reset_failed_unit(ctx.m, "", on_done, &d), -EINVAL);
        ck_assert_int_eq(systemd_manager_watch_unit(ctx.m, "x/y.service"), -EINVAL);
        ck_assert_int_eq(systemd_manager_watch_unit(ctx.m, "tmpl@.service"), -EINVAL);
        ck_assert_int_eq(systemd_manager_write_unit_file(ctx.m, "../evil.service", "x", 1),
                         -EINVAL);
        ck_assert_int_eq(systemd_manager_remove_unit_file(ctx.m, "/etc/passwd"), -EINVAL);
        ck_assert(!d.done);

        /* systemd's errors come back with their errno and message. */
        job(true, missing, SYSTEMD_JOB_WAIT, &d);
        ck_assert_int_eq(d.error, -ENOENT);
        ck_assert_ptr_nonnull(d.message);
        ck_assert_ptr_null(d.job_result);
        done_clear(&d);
        op(systemd_manager_link_unit, missing, &d); /* no such file */
        ck_assert_int_lt(d.error, 0);
        done_clear(&d);

        /* Without SYSTEMD_JOB_WAIT a start completes once the job is queued. */
        ck_assert_int_eq(systemd_manager_watch_unit(ctx.m, name), 1);
        load_unit(name, "[Service]\nExecStart=/bin/sleep 1000\n");
        reload_ok();
        job(true, name, 0, &d);
        ck_assert_int_eq(d.error, 0);
        ck_assert_uint_gt(d.job_id, 0);
        ck_assert_ptr_null(d.job_result);
        done_clear(&d);
        wait_state(name, "loaded", "active", "running");
        job(false, name, 0, &d);
        ck_assert_int_eq(d.error, 0);
        done_clear(&d);
        wait_state(name, "loaded", "inactive", "dead");
        unload_unit(name);
        reload_ok();
}
END_TEST

START_TEST(test_replaced_job_is_canceled) {
        _cleanup_free_ char *name = unit_name("slow", "service");
        Done start = {}, stop = {};

        ck_assert_int_eq(systemd_manager_watch_unit(ctx.m, name), 1);
        /* "-": the killed ExecStartPre must not make the unit failed. */
        load_unit(name, "[Service]\nExecStartPre=-/bin/sleep 3\nExecStart=/bin/sleep 1000\n");
        reload_ok();
        ck_assert_int_eq(systemd_manager_start_unit(ctx.m, name, SYSTEMD_JOB_WAIT, on_done, &start),
                         0);
        wait_state(name, "loaded", "activating", "start-pre");
        ck_assert(!start.done);
        ck_assert_int_eq(systemd_manager_stop_unit(ctx.m, name, SYSTEMD_JOB_WAIT, on_done, &stop),
                         0);
        wait_done(&start);
        wait_done(&stop);
        ck_assert_int_eq(start.error, 0);
        ck_assert_str_eq(start.job_result, "canceled");
        ck_assert_str_eq(stop.job_result, "done");
        wait_state(name, "loaded", "inactive", "dead");
        done_clear(&start);
        done_clear(&stop);
        unload_unit(name);
        reload_ok();
}
END_TEST

#define N_MANY 24

static bool pred_all_done(const void *arg) {
        const Done *d = arg;

        for (size_t i = 0; i < N_MANY; i++)
                if (!d[i].done)
                        return false;
        return true;
}

/* Many units at once: pipelined calls, concurrent jobs, each JobRemoved to its own caller. */
START_TEST(test_many_units) {
        char *names[N_MANY] = {};
        Done d[N_MANY] = {};

        for (size_t i = 0; i < N_MANY; i++) {
                char what[32];

                snprintf(what, sizeof(what), "many%zu", i);
                names[i] = unit_name(what, "service");
                ck_assert_int_eq(systemd_manager_watch_unit(ctx.m, names[i]), 1);
                write_unit(names[i], "[Service]\nExecStart=/bin/sleep 1000\n");
                ck_assert_int_eq(systemd_manager_link_unit(ctx.m, names[i], on_done, &d[i]), 0);
        }
        ck_assert_uint_eq(systemd_manager_n_watched(ctx.m), N_MANY);
        ck_assert(run_until(pred_all_done, d, OP_TIMEOUT));
        reload_ok();
        for (int start = 1; start >= 0; start--) {
                for (size_t i = 0; i < N_MANY; i++) {
                        ck_assert_int_eq(d[i].error, 0);
                        done_clear(&d[i]);
                        ck_assert_int_eq(
                                start ? systemd_manager_start_unit(ctx.m, names[i],
                                                                   SYSTEMD_JOB_WAIT, on_done, &d[i])
                                      : systemd_manager_stop_unit(ctx.m, names[i], SYSTEMD_JOB_WAIT,
                                                                  on_done, &d[i]),
                                0);
                }
                ck_assert(run_until(pred_all_done, d, OP_TIMEOUT));
                for (size_t i = 0; i < N_MANY; i++) {
                        ck_assert_str_eq(d[i].job_result, "done");
                        wait_state(names[i], "loaded", start ? "active" : "inactive",
                                   start ? "running" : "dead");
                }
        }
        for (size_t i = 0; i < N_MANY; i++) {
                done_clear(&d[i]);
                unload_unit(names[i]);
                free(names[i]);
        }
        reload_ok();
        assert_log_has_no_repeats();
}
END_TEST

static void on_state_free(SystemdManager *m, const char *name, const SystemdUnitState *st,
                          void *ud) {
        Ctx *c = ud;

        on_state(m, name, st, ud);
        c->m = systemd_manager_free(m);
}

static bool pred_freed(const void *arg) {
        return !ctx.m;
}

/* A callback may free the manager, here in the middle of a batch of state updates. */
START_TEST(test_free_from_state_callback) {
        _cleanup_free_ char *a = unit_name("free-a", "service"),
                            *b = unit_name("free-b", "service");

        systemd_manager_set_state_callback(ctx.m, on_state_free, &ctx);
        ck_assert_int_eq(systemd_manager_watch_unit(ctx.m, a), 1);
        ck_assert_int_eq(systemd_manager_watch_unit(ctx.m, b), 1);
        ck_assert(run_until(pred_freed, NULL, OP_TIMEOUT));
        ck_assert_uint_eq(ctx.n_log, 1); /* nothing after the free */
        run_for(200 * 1000);
        ck_assert_uint_eq(ctx.n_log, 1);
}
END_TEST

START_TEST(test_external_reload) {
        _cleanup_free_ char *name = unit_name("extreload", "service");

        ck_assert_int_eq(systemd_manager_watch_unit(ctx.m, name), 1);
        wait_state(name, "not-found", "inactive", "dead");
        load_unit(name, "[Service]\nExecStart=/bin/sleep 1000\n");
        /* Someone else reloads: the Reloading signal makes us read the state again. */
        ck_assert_int_eq(system("systemctl daemon-reload"), 0);
        wait_state(name, "loaded", "inactive", "dead");
        unload_unit(name);
        ck_assert_int_eq(system("systemctl daemon-reload"), 0);
        wait_state(name, "not-found", "inactive", "dead");
}
END_TEST

START_TEST(test_startup_scan) {
        _cleanup_free_ char *a = unit_name("scan-a", "service"), *b = unit_name("scan-b", "timer");
        UnitDirEntry *e = NULL;
        size_t n = 0;

        write_unit(a, "[Service]\nExecStart=/bin/true\n");
        write_unit(b, "[Timer]\nOnActiveSec=1h\n");
        write_unit("ignored.txt", "[Unit]\n"); /* not a unit name */
        ck_assert_int_eq(unit_dir_scan(systemd_manager_get_units_directory(ctx.m), &e, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(e[0].name, a);
        ck_assert_str_eq(e[1].name, b);
        ck_assert_str_eq(e[1].content, "[Timer]\nOnActiveSec=1h\n");
        unit_dir_entries_free(e, n);
        ck_assert_int_eq(systemd_manager_remove_unit_file(ctx.m, a), 0);
        ck_assert_int_eq(systemd_manager_remove_unit_file(ctx.m, b), 0);
        ck_assert_int_eq(systemd_manager_remove_unit_file(ctx.m, "ignored.txt"), 0);
}
END_TEST

/* --- disconnection (private dbus-daemon) --------------------------------------------------- */

/* A stand-in for systemd's bus name with just enough to accept Subscribe and to hold a Reload
 * call open; it exists only so that the bus can be taken away under the manager. */
static sd_bus_message *held_call;

static int fake_subscribe(sd_bus_message *msg, void *ud, sd_bus_error *e) {
        return sd_bus_reply_method_return(msg, NULL);
}

static int fake_reload(sd_bus_message *msg, void *ud, sd_bus_error *e) {
        held_call = sd_bus_message_ref(msg); /* never answered */
        return 1;
}

static const sd_bus_vtable fake_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Subscribe", "", "", fake_subscribe, 0),
        SD_BUS_METHOD("Reload", "", "", fake_reload, 0),
        SD_BUS_VTABLE_END,
};

/* A bare bus: no service directories, so nothing is ever activated on it. */
#define BUS_CONFIG                                                                                 \
        "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"     \
        " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"                      \
        "<busconfig><type>session</type><listen>%s</listen><auth>EXTERNAL</auth>\n"                \
        "<policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>\n"         \
        "<allow eavesdrop=\"true\"/><allow own=\"*\"/></policy>\n"                                 \
        "</busconfig>\n"

static void start_private_bus(void) {
        char address[PATH_MAX + 32], config[PATH_MAX + 16], sock[PATH_MAX + 8];
        FILE *f;
        pid_t pid;

        snprintf(ctx.bus_dir, sizeof(ctx.bus_dir), "/tmp/fleet-test-bus-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(ctx.bus_dir));
        snprintf(sock, sizeof(sock), "%s/bus", ctx.bus_dir);
        snprintf(address, sizeof(address), "unix:path=%s", sock);
        snprintf(config, sizeof(config), "%s/bus.conf", ctx.bus_dir);
        f = fopen(config, "we");
        ck_assert_ptr_nonnull(f);
        fprintf(f, BUS_CONFIG, address);
        ck_assert_int_eq(fclose(f), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                char arg[PATH_MAX + 32];

                snprintf(arg, sizeof(arg), "--config-file=%s", config);
                execlp("dbus-daemon", "dbus-daemon", arg, "--nofork", "--nopidfile", (char *) NULL);
                _exit(127);
        }
        ctx.dbus_pid = pid;
        for (int i = 0; i < 100 && access(sock, F_OK) < 0; i++)
                usleep(50 * 1000);
        ck_assert_int_eq(access(sock, F_OK), 0);
        ck_assert_int_eq(setenv("DBUS_SYSTEM_BUS_ADDRESS", address, 1), 0);
}

static void stop_private_bus(void) {
        char path[PATH_MAX + 16];

        if (ctx.dbus_pid > 0) {
                (void) kill(ctx.dbus_pid, SIGTERM);
                (void) waitpid(ctx.dbus_pid, NULL, 0);
                ctx.dbus_pid = 0;
        }
        snprintf(path, sizeof(path), "%s/bus", ctx.bus_dir);
        (void) unlink(path);
        snprintf(path, sizeof(path), "%s/bus.conf", ctx.bus_dir);
        (void) unlink(path);
        (void) rmdir(ctx.bus_dir);
}

static bool pred_failed(const void *arg) {
        return ctx.failed;
}

static void disconnect_setup(sd_bus **fake) {
        log_set_max_level(getenv("FLEET_TEST_DEBUG") ? LOG_DEBUG : LOG_INFO);
        ck_assert_int_eq(sd_event_new(&ctx.event), 0);
        snprintf(ctx.dir, sizeof(ctx.dir), "/tmp/fleet-test-units-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(ctx.dir));
        start_private_bus();
        if (fake) {
                ck_assert_int_eq(sd_bus_open_system(fake), 0);
                ck_assert_int_ge(sd_bus_add_object_vtable(*fake, NULL, "/org/freedesktop/systemd1",
                                                          "org.freedesktop.systemd1.Manager",
                                                          fake_vtable, NULL),
                                 0);
                ck_assert_int_ge(sd_bus_request_name(*fake, "org.freedesktop.systemd1", 0), 0);
                ck_assert_int_ge(sd_bus_attach_event(*fake, ctx.event, 0), 0);
        }
        ck_assert_int_eq(systemd_manager_new(&ctx.m, ctx.event, ctx.dir, false), 0);
        systemd_manager_set_failure_callback(ctx.m, on_failure, &ctx);
}

START_TEST(test_disconnect_reported) {
        sd_bus *fake = NULL;
        Done d = {};

        disconnect_setup(&fake);
        ctx.free_on_failure = true; /* freeing from the callback must be safe */
        ck_assert_int_eq(systemd_manager_reload(ctx.m, on_done, &d), 0);
        run_for(300 * 1000);
        ck_assert_ptr_nonnull(held_call);
        ck_assert(!d.done);
        ck_assert(!ctx.failed);

        (void) kill(ctx.dbus_pid, SIGKILL);
        ck_assert(run_until(pred_failed, NULL, OP_TIMEOUT));
        ck_assert_int_eq(ctx.failure_error, -ECONNRESET);
        ck_assert(d.done);
        ck_assert_int_lt(d.error, 0);
        ck_assert_ptr_null(ctx.m); /* freed by the callback */
        done_clear(&d);
        held_call = sd_bus_message_unref(held_call);
        fake = sd_bus_flush_close_unref(fake);
        stop_private_bus();
}
END_TEST

START_TEST(test_subscribe_failure_reported) {
        Done d = {};

        disconnect_setup(NULL); /* nobody owns org.freedesktop.systemd1 */
        ck_assert(run_until(pred_failed, NULL, OP_TIMEOUT));
        ck_assert_int_lt(ctx.failure_error, 0);
        ck_assert(!systemd_manager_is_connected(ctx.m));
        ck_assert_int_eq(systemd_manager_reload(ctx.m, on_done, &d), -ENOTCONN);
        stop_private_bus();
}
END_TEST

static Suite *systemd_manager_suite(void) {
        Suite *s = suite_create("systemd-manager");
        TCase *tc = tcase_create("files");
        TCase *sd = tcase_create("systemd");
        TCase *bus = tcase_create("bus");

        tcase_add_test(tc, test_unit_dir);
        suite_add_tcase(s, tc);

        tcase_add_checked_fixture(sd, setup, teardown);
        tcase_set_timeout(sd, 120);
        tcase_add_test(sd, test_lifecycle);
        tcase_add_test(sd, test_failing_units);
        tcase_add_test(sd, test_restart_changed_content);
        tcase_add_test(sd, test_install_enable);
        tcase_add_test(sd, test_list_units_by_names);
        tcase_add_test(sd, test_errors_and_nowait);
        tcase_add_test(sd, test_replaced_job_is_canceled);
        tcase_add_test(sd, test_many_units);
        tcase_add_test(sd, test_external_reload);
        tcase_add_test(sd, test_free_from_state_callback);
        tcase_add_test(sd, test_startup_scan);
        suite_add_tcase(s, sd);

        tcase_add_checked_fixture(bus, NULL, teardown);
        tcase_set_timeout(bus, 60);
        tcase_add_test(bus, test_disconnect_reported);
        tcase_add_test(bus, test_subscribe_failure_reported);
        suite_add_tcase(s, bus);
        return s;
}

FLEET_TEST_MAIN(systemd_manager_suite)
