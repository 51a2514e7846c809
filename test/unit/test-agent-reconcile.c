/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "reconcile.h"
#include "test-util.h"
#include "unit-file.h"
#include "xfleet.h"

#define H1 "1111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222"

#define MAX_UNITS 8
#define MAX_TASKS 16

/* Desired: name, hash, target; DI: the content has an [Install] section. */
#define D(n, h, t)                                                                                 \
        { .name = (n), .hash = (h), .target = JOB_STATE_##t }
#define DI(n, h, t)                                                                                \
        { .name = (n), .hash = (h), .target = JOB_STATE_##t, .install = true }
/* Current, from the common cases up: a linked file with hash h, and what systemd and the
 * agent's record say. Extra fields override. */
#define C(n, h, act, rec, ...) CL(n, h, (h) != NULL, act, rec, __VA_ARGS__)
/* The same with the link state given explicitly. */
#define CL(n, h, l, act, rec, ...)                                                                 \
        {                                                                                          \
                .name = (n), .file_hash = (h), .linked = (l), .activity = AGENT_UNIT_##act,        \
                .recorded = JOB_STATE_##rec, __VA_ARGS__                                           \
        }

typedef struct ReconcileCase {
        const char *title;
        AgentDesiredUnit desired[MAX_UNITS];
        AgentCurrentUnit current[MAX_UNITS];
        const char *expected[MAX_TASKS];
} ReconcileCase;

static const ReconcileCase cases[] = {
        {"nothing", {}, {}, {}},

        /* New units. */
        /* systemd loads a unit it never read on demand: no daemon-reload. */
        {"new launched unit",
         {D("a.service", H1, LAUNCHED)},
         {},
         {"load a.service", "start a.service"}},
        {"new loaded unit", {D("a.service", H1, LOADED)}, {}, {"load a.service"}},
        {"new unit systemd found missing before",
         {D("a.service", H1, LAUNCHED)},
         {CL("a.service", NULL, false, STOPPED, INACTIVE)},
         {"load a.service", "start a.service"}},
        {"new unit with [Install]: its links need a reload",
         {DI("a.service", H1, LAUNCHED)},
         {},
         {"load a.service", "reload", "start a.service"}},
        {"systemd still holds a unit whose file is gone",
         {D("a.service", H1, LAUNCHED)},
         {CL("a.service", NULL, false, STOPPED, INACTIVE, .systemd_loaded = true)},
         {"load a.service", "reload", "start a.service"}},
        {"two new units and one changed: one reload",
         {D("a.service", H1, LAUNCHED), D("b.service", H2, LAUNCHED), D("c.service", H1, LOADED)},
         {C("c.service", H2, STOPPED, LOADED)},
         {"load a.service", "load b.service", "load c.service", "reload", "start a.service",
          "start b.service"}},
        {"desired inactive and absent", {D("a.service", H1, INACTIVE)}, {}, {}},

        /* Steady state and adoption. */
        {"adopt running unit after restart",
         {D("a.service", H1, LAUNCHED)},
         {C("a.service", H1, RUNNING, INACTIVE)},
         {}},
        {"launched and running",
         {D("a.service", H1, LAUNCHED)},
         {C("a.service", H1, RUNNING, LAUNCHED, .started_hash = H1)},
         {}},
        {"loaded and stopped",
         {D("a.service", H1, LOADED)},
         {C("a.service", H1, STOPPED, LOADED)},
         {}},
        {"loaded, fresh agent",
         {D("a.service", H1, LOADED)},
         {C("a.service", H1, STOPPED, INACTIVE)},
         {}},
        {"loaded file after restart, desired launched",
         {D("a.service", H1, LAUNCHED)},
         {C("a.service", H1, STOPPED, INACTIVE)},
         {"start a.service"}},
        {"loaded -> launched",
         {D("a.service", H1, LAUNCHED)},
         {C("a.service", H1, STOPPED, LOADED)},
         {"start a.service"}},
        {"launched unit that failed is left to systemd",
         {D("a.service", H1, LAUNCHED)},
         {C("a.service", H1, STOPPED, LAUNCHED)},
         {}},
        {"launched unit being stopped by someone",
         {D("a.service", H1, LAUNCHED)},
         {C("a.service", H1, STOPPING, LAUNCHED)},
         {}},
        {"start a unit that is still stopping",
         {D("a.service", H1, LAUNCHED)},
         {C("a.service", H1, STOPPING, LOADED)},
         {"start a.service"}},

        /* Stop. */
        {"launched -> loaded",
         {D("a.service", H1, LOADED)},
         {C("a.service", H1, RUNNING, LAUNCHED)},
         {"stop a.service"}},
        {"running although desired loaded (fresh agent)",
         {D("a.service", H1, LOADED)},
         {C("a.service", H1, RUNNING, INACTIVE)},
         {"stop a.service"}},
        {"loaded and already stopping",
         {D("a.service", H1, LOADED)},
         {C("a.service", H1, STOPPING, LAUNCHED)},
         {}},

        /* Unload. */
        {"not desired, file present",
         {},
         {C("a.service", H1, STOPPED, INACTIVE)},
         {"unload a.service", "reload"}},
        {"not desired, running",
         {},
         {C("a.service", H1, RUNNING, LAUNCHED)},
         {"unload a.service", "reload"}},
        {"desired inactive, running",
         {D("a.service", H1, INACTIVE)},
         {C("a.service", H1, RUNNING, LAUNCHED)},
         {"unload a.service", "reload"}},
        {"not desired, only a record left",
         {},
         {C("a.service", NULL, STOPPED, LOADED)},
         {"unload a.service", "reload"}},
        {"not desired, dangling link",
         {},
         {CL("a.service", NULL, true, STOPPED, INACTIVE)},
         {"unload a.service", "reload"}},
        {"not desired, running without file",
         {},
         {C("a.service", NULL, RUNNING, INACTIVE)},
         {"unload a.service", "reload"}},
        {"not desired, nothing left", {}, {C("a.service", NULL, STOPPED, INACTIVE)}, {}},

        /* New content. */
        {"new content, running",
         {D("a.service", H2, LAUNCHED)},
         {C("a.service", H1, RUNNING, LAUNCHED, .started_hash = H1)},
         {"load a.service", "reload", "restart a.service"}},
        {"new content, running, adopted",
         {D("a.service", H2, LAUNCHED)},
         {C("a.service", H1, RUNNING, INACTIVE)},
         {"load a.service", "reload", "restart a.service"}},
        {"new content, launched but failed",
         {D("a.service", H2, LAUNCHED)},
         {C("a.service", H1, STOPPED, LAUNCHED)},
         {"load a.service", "reload", "start a.service"}},
        {"new content, loaded",
         {D("a.service", H2, LOADED)},
         {C("a.service", H1, STOPPED, LOADED)},
         {"load a.service", "reload"}},
        {"new content, desired loaded while running",
         {D("a.service", H2, LOADED)},
         {C("a.service", H1, RUNNING, LAUNCHED)},
         {"load a.service", "reload", "stop a.service"}},
        {"restart still owed from an earlier pass",
         {D("a.service", H2, LAUNCHED)},
         {C("a.service", H2, RUNNING, LAUNCHED, .started_hash = H1)},
         {"restart a.service"}},
        {"running without its file",
         {D("a.service", H1, LAUNCHED)},
         {C("a.service", NULL, RUNNING, INACTIVE)},
         {"load a.service", "reload", "restart a.service"}},
        {"file missing, launched and failed",
         {D("a.service", H1, LAUNCHED)},
         {C("a.service", NULL, STOPPED, LAUNCHED)},
         {"load a.service", "reload", "start a.service"}},

        /* systemd out of step with the files. */
        {"file right but not linked",
         {D("a.service", H1, LAUNCHED)},
         {CL("a.service", H1, false, STOPPED, INACTIVE)},
         {"load a.service", "reload", "start a.service"}},
        {"link missing, running",
         {D("a.service", H1, LAUNCHED)},
         {CL("a.service", H1, false, RUNNING, LAUNCHED)},
         {"load a.service", "reload"}},
        {"systemd has not read the file",
         {D("a.service", H1, LAUNCHED)},
         {C("a.service", H1, STOPPED, INACTIVE, .systemd_stale = true)},
         {"reload", "start a.service"}},
        {"systemd stale for a running unit",
         {D("a.service", H1, LAUNCHED)},
         {C("a.service", H1, RUNNING, LAUNCHED, .systemd_stale = true)},
         {"reload"}},
        {"stale but not desired",
         {},
         {C("a.service", NULL, STOPPED, INACTIVE, .systemd_stale = true)},
         {}},

        /* Ordering across units: by type, then by name, inputs in any order. */
        {"everything at once",
         {
                 D("f.service", H2, LAUNCHED),
                 D("b.service", H1, LOADED),
                 D("e.service", H1, LAUNCHED),
                 D("c.service", H1, LOADED),
                 D("a.service", H1, LAUNCHED),
                 D("d.service", H1, LAUNCHED),
                 D("z.service", H1, INACTIVE),
         },
         {
                 C("y.service", H1, STOPPED, LOADED),
                 C("f.service", H1, RUNNING, LAUNCHED),
                 C("c.service", H1, RUNNING, LAUNCHED),
                 C("x.service", H1, RUNNING, LAUNCHED),
                 C("d.service", H1, STOPPED, LOADED),
                 C("g.service", H1, RUNNING, INACTIVE),
                 C("z.service", H1, RUNNING, LAUNCHED),
         },
         {"unload g.service", "unload x.service", "unload y.service", "unload z.service",
          "load a.service", "load b.service", "load e.service", "load f.service", "reload",
          "stop c.service", "start a.service", "start d.service", "start e.service",
          "restart f.service"}},
        {"one reload for many changes",
         {D("a.service", H1, LOADED), D("b.service", H1, LOADED)},
         {C("b.service", H2, STOPPED, LOADED, .systemd_stale = true),
          C("c.service", H1, STOPPED, LOADED)},
         {"unload c.service", "load a.service", "load b.service", "reload"}},
        {"nothing to do for several units",
         {D("a.service", H1, LAUNCHED), D("b.service", H1, LOADED), D("c.socket", H2, LAUNCHED)},
         {C("c.socket", H2, RUNNING, INACTIVE), C("b.service", H1, STOPPED, LOADED),
          C("a.service", H1, RUNNING, LAUNCHED, .started_hash = H1)},
         {}},
};

static size_t count_desired(const AgentDesiredUnit *d) {
        size_t n = 0;
        while (n < MAX_UNITS && d[n].name)
                n++;
        return n;
}

static size_t count_current(const AgentCurrentUnit *c) {
        size_t n = 0;
        while (n < MAX_UNITS && c[n].name)
                n++;
        return n;
}

START_TEST(test_reconcile) {
        const ReconcileCase *t = &cases[_i];
        _cleanup_free_ AgentTask *tasks = NULL;
        size_t n = 42, n_expected = 0;

        while (n_expected < MAX_TASKS && t->expected[n_expected])
                n_expected++;

        ck_assert_int_eq(agent_reconcile(t->desired, count_desired(t->desired), t->current,
                                         count_current(t->current), &tasks, &n),
                         0);
        for (size_t i = 0; i < MAX(n, n_expected); i++) {
                _cleanup_free_ char *got = i < n ? agent_task_to_string(&tasks[i]) : NULL;
                const char *want = i < n_expected ? t->expected[i] : NULL;

                ck_assert_msg(got && want && streq(got, want),
                              "%s: task %zu is \"%s\", expected \"%s\"", t->title, i,
                              got ?: "(none)", want ?: "(none)");
                ck_assert_ptr_nonnull(tasks[i].reason);
        }
        ck_assert_int_eq(n, n_expected);
        if (n == 0)
                ck_assert_ptr_null(tasks);
}
END_TEST

START_TEST(test_load_task_fields) {
        const AgentDesiredUnit desired[] = {
                D("new.service", H1, LAUNCHED),
                D("changed.service", H2, LOADED),
                D("unlinked.service", H1, LOADED),
        };
        const AgentCurrentUnit current[] = {
                C("changed.service", H1, STOPPED, LOADED),
                CL("unlinked.service", H1, false, STOPPED, LOADED),
        };
        _cleanup_free_ AgentTask *tasks = NULL;
        size_t n;

        ck_assert_int_eq(agent_reconcile(desired, ELEMENTSOF(desired), current, ELEMENTSOF(current),
                                         &tasks, &n),
                         0);
        ck_assert_int_eq(n, 5);
        ck_assert_int_eq(tasks[0].type, AGENT_TASK_LOAD);
        ck_assert_str_eq(tasks[0].name, "changed.service");
        ck_assert_str_eq(tasks[0].hash, H2);
        ck_assert(tasks[0].write_file);
        ck_assert_str_eq(tasks[0].reason, "unit file differs from the desired content");
        ck_assert_str_eq(tasks[1].name, "new.service");
        ck_assert(tasks[1].write_file);
        ck_assert_str_eq(tasks[1].reason, "unit scheduled here but not loaded");
        ck_assert_str_eq(tasks[2].name, "unlinked.service");
        ck_assert(!tasks[2].write_file);
        ck_assert_str_eq(tasks[2].hash, H1);
        ck_assert_int_eq(tasks[3].type, AGENT_TASK_RELOAD);
        ck_assert_ptr_null(tasks[3].name);
        ck_assert_ptr_null(tasks[3].hash);
        ck_assert_int_eq(tasks[4].type, AGENT_TASK_START);
        ck_assert_ptr_null(tasks[4].hash);
        /* Names are borrowed from the inputs. */
        ck_assert_ptr_eq(tasks[4].name, desired[0].name);
}
END_TEST

START_TEST(test_bad_input) {
        const AgentDesiredUnit dup_desired[] = {D("a.service", H1, LOADED),
                                                D("a.service", H2, LOADED)};
        const AgentCurrentUnit dup_current[] = {C("b.service", H1, STOPPED, LOADED),
                                                C("b.service", H1, STOPPED, LOADED)};
        const AgentDesiredUnit no_hash[] = {D("a.service", NULL, LOADED)};
        const AgentDesiredUnit no_name[] = {D(NULL, H1, LOADED)};
        const AgentCurrentUnit no_cname[] = {C(NULL, H1, STOPPED, LOADED)};
        AgentDesiredUnit bad_target[] = {D("a.service", H1, LOADED)};
        AgentTask *tasks = (AgentTask *) 0x1;
        size_t n = 42;

        ck_assert_int_eq(agent_reconcile(dup_desired, 2, NULL, 0, &tasks, &n), -EINVAL);
        ck_assert_int_eq(agent_reconcile(NULL, 0, dup_current, 2, &tasks, &n), -EINVAL);
        ck_assert_int_eq(agent_reconcile(no_hash, 1, NULL, 0, &tasks, &n), -EINVAL);
        ck_assert_int_eq(agent_reconcile(no_name, 1, NULL, 0, &tasks, &n), -EINVAL);
        ck_assert_int_eq(agent_reconcile(NULL, 0, no_cname, 1, &tasks, &n), -EINVAL);
        bad_target[0].target = _JOB_STATE_MAX;
        ck_assert_int_eq(agent_reconcile(bad_target, 1, NULL, 0, &tasks, &n), -EINVAL);
        bad_target[0].target = _JOB_STATE_INVALID;
        ck_assert_int_eq(agent_reconcile(bad_target, 1, NULL, 0, &tasks, &n), -EINVAL);
        /* Nothing written on failure. */
        ck_assert_ptr_eq(tasks, (AgentTask *) 0x1);
        ck_assert_int_eq(n, 42);
}
END_TEST

static const struct {
        const char *in;
        AgentUnitActivity out;
} activity_cases[] = {
        {"active", AGENT_UNIT_RUNNING},        {"activating", AGENT_UNIT_RUNNING},
        {"reloading", AGENT_UNIT_RUNNING},     {"refreshing", AGENT_UNIT_RUNNING},
        {"deactivating", AGENT_UNIT_STOPPING}, {"inactive", AGENT_UNIT_STOPPED},
        {"failed", AGENT_UNIT_STOPPED},        {"maintenance", AGENT_UNIT_STOPPED},
        {"something-new", AGENT_UNIT_STOPPED}, {NULL, AGENT_UNIT_STOPPED},
};

START_TEST(test_activity) {
        ck_assert_int_eq(agent_unit_activity_from_active_state(activity_cases[_i].in),
                         activity_cases[_i].out);
}
END_TEST

START_TEST(test_task_strings) {
        static const char *const names[] = {"unload", "load", "reload", "stop", "start", "restart"};
        ck_assert_int_eq(ELEMENTSOF(names), _AGENT_TASK_TYPE_MAX);
        for (int i = 0; i < _AGENT_TASK_TYPE_MAX; i++)
                ck_assert_str_eq(agent_task_type_to_string(i), names[i]);
        ck_assert_ptr_null(agent_task_type_to_string(_AGENT_TASK_TYPE_MAX));
        ck_assert_ptr_null(agent_task_type_to_string(_AGENT_TASK_TYPE_INVALID));

        AgentTask bad = {.type = _AGENT_TASK_TYPE_MAX, .name = "x.service"};
        ck_assert_ptr_null(agent_task_to_string(&bad));
}
END_TEST

/* --- global unit selection ------------------------------------------------------------------ */

typedef struct GlobalSpec {
        const char *name;
        const char *xfleet; /* [X-Fleet] body, or NULL for a unit without options */
        JobState target;
} GlobalSpec;

typedef struct GlobalCase {
        const char *title;
        GlobalSpec globals[MAX_UNITS];
        GlobalSpec scheduled[MAX_UNITS]; /* target ignored */
        const char *expected[MAX_UNITS];
} GlobalCase;

#define G(n, x)                                                                                    \
        { (n), (x), JOB_STATE_LAUNCHED }
#define GT(n, x, t)                                                                                \
        { (n), (x), JOB_STATE_##t }

/* This machine's metadata. */
static const char *machine_lookup(const char *key, void *userdata) {
        static const char *const md[] = {"region", "us-west", "disk", "ssd", NULL};
        for (size_t i = 0; md[i]; i += 2)
                if (streq(md[i], key))
                        return md[i + 1];
        return NULL;
}

static const GlobalCase global_cases[] = {
        {"none", {}, {}, {}},
        {"plain global units, sorted by name",
         {G("b.service", NULL), G("a.service", NULL), G("c.service", "Global=true")},
         {},
         {"a.service", "b.service", "c.service"}},
        {"inactive global units do not apply",
         {GT("a.service", NULL, INACTIVE), GT("b.service", NULL, LOADED),
          GT("c.service", NULL, LAUNCHED)},
         {},
         {"b.service", "c.service"}},
        {"metadata",
         {G("a.service", "MachineMetadata=region=us-west"),
          G("b.service", "MachineMetadata=region=eu-central"),
          G("c.service", "MachineMetadata=region=eu-central\nMachineMetadata=region=us-west"),
          G("d.service", "MachineMetadata=region=us-west\nMachineMetadata=disk=hdd"),
          G("e.service", "MachineMetadata=\"region=us-west\" \"disk=ssd\""),
          G("f.service", "MachineMetadata=rack=1")},
         {},
         {"a.service", "c.service", "e.service"}},
        {"conflicts with a scheduled unit",
         {G("g.service", "Conflicts=web*"), G("h.service", NULL), G("i.service", NULL)},
         {G("web.service", NULL), G("x.service", "Conflicts=h.service")},
         {"i.service"}},
        {"alphabetically first of two conflicting globals wins",
         {G("b.service", "Conflicts=a.service"), G("a.service", "Conflicts=b.service")},
         {},
         {"a.service"}},
        {"one-way conflict is symmetric",
         {G("b.service", "Conflicts=a.service"), G("a.service", NULL), G("c.service", NULL)},
         {},
         {"a.service", "c.service"}},
        {"a rejected global blocks nothing",
         {G("a.service", "MachineMetadata=region=eu\nConflicts=c.service"),
          G("b.service", "Conflicts=d.service"), G("c.service", NULL), G("d.service", NULL)},
         {},
         {"b.service", "c.service"}},
        {"scheduled units win regardless of name",
         {G("a.service", NULL), G("b.service", NULL)},
         {G("z.service", "Conflicts=a.service"), G("b.service", NULL)},
         {}},
        {"specifiers were expanded by the parser",
         {G("app@1.service", "Conflicts=%p@*.service"), G("app@2.service", NULL),
          G("other.service", NULL)},
         {},
         {"app@1.service", "other.service"}},
};

static XFleet *parse_xfleet(const char *name, const char *body) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        _cleanup_free_ char *text = NULL, *err = NULL;
        XFleet *x = NULL;

        if (!body)
                return NULL;
        ck_assert_int_ge(asprintf(&text, "[Service]\nExecStart=/bin/true\n[X-Fleet]\n%s\n", body),
                         0);
        ck_assert_int_eq(unit_file_parse(text, strlen(text), &u, &err), 0);
        ck_assert_int_eq(xfleet_parse(u, name, &x), 0);
        return x;
}

START_TEST(test_select_global) {
        const GlobalCase *t = &global_cases[_i];
        AgentGlobalUnit globals[MAX_UNITS] = {};
        AgentScheduledUnit scheduled[MAX_UNITS] = {};
        XFleet *owned[2 * MAX_UNITS] = {};
        size_t ng = 0, ns = 0, no = 0, n = 42, ne = 0;
        _cleanup_free_ size_t *sel = NULL;

        for (; ng < MAX_UNITS && t->globals[ng].name; ng++) {
                owned[no] = parse_xfleet(t->globals[ng].name, t->globals[ng].xfleet);
                globals[ng] =
                        (AgentGlobalUnit){t->globals[ng].name, owned[no++], t->globals[ng].target};
        }
        for (; ns < MAX_UNITS && t->scheduled[ns].name; ns++) {
                owned[no] = parse_xfleet(t->scheduled[ns].name, t->scheduled[ns].xfleet);
                scheduled[ns] = (AgentScheduledUnit){t->scheduled[ns].name, owned[no++]};
        }
        while (ne < MAX_UNITS && t->expected[ne])
                ne++;

        ck_assert_int_eq(agent_select_global_units(globals, ng, scheduled, ns, machine_lookup, NULL,
                                                   &sel, &n),
                         0);
        for (size_t i = 0; i < MAX(n, ne); i++) {
                const char *got = i < n ? globals[sel[i]].name : "(none)";
                const char *want = i < ne ? t->expected[i] : "(none)";
                ck_assert_msg(streq(got, want), "%s: #%zu is %s, expected %s", t->title, i, got,
                              want);
        }
        if (n == 0)
                ck_assert_ptr_null(sel);
        for (size_t i = 0; i < no; i++)
                xfleet_free(owned[i]);
}
END_TEST

START_TEST(test_select_global_bad_input) {
        const AgentGlobalUnit dup[] = {{"a.service", NULL, JOB_STATE_LAUNCHED},
                                       {"a.service", NULL, JOB_STATE_LOADED}};
        const AgentGlobalUnit noname[] = {{NULL, NULL, JOB_STATE_LAUNCHED}};
        const AgentScheduledUnit snoname[] = {{NULL, NULL}};
        size_t *sel = (size_t *) 0x1, n = 42;

        ck_assert_int_eq(agent_select_global_units(dup, 2, NULL, 0, machine_lookup, NULL, &sel, &n),
                         -EINVAL);
        ck_assert_int_eq(
                agent_select_global_units(noname, 1, NULL, 0, machine_lookup, NULL, &sel, &n),
                -EINVAL);
        ck_assert_int_eq(
                agent_select_global_units(dup, 1, snoname, 1, machine_lookup, NULL, &sel, &n),
                -EINVAL);
        ck_assert_ptr_eq(sel, (size_t *) 0x1);
        ck_assert_int_eq(n, 42);
}
END_TEST

/* The content of a global unit on a pinned machine (rolling updates of global units). */
START_TEST(test_global_target_pin) {
        static const char *const old = "1111111111111111111111111111111111111111";
        static const char *const new = "2222222222222222222222222222222222222222";
        RegistryTarget g = {.desired_state = JOB_STATE_LAUNCHED}, t;

        memcpy(g.hash, new, sizeof(g.hash));
        /* No pin: global/<name>'s content. */
        ck_assert_int_eq(agent_global_target(&g, NULL, &t), 0);
        ck_assert_str_eq(t.hash, new);
        ck_assert_int_eq(t.desired_state, JOB_STATE_LAUNCHED);
        /* Pinned: the old content, the global desired state. */
        ck_assert_int_eq(agent_global_target(&g, old, &t), 1);
        ck_assert_str_eq(t.hash, old);
        ck_assert_int_eq(t.desired_state, JOB_STATE_LAUNCHED);
        /* A pin never starts or stops a unit: the desired state follows global/<name>. */
        g.desired_state = JOB_STATE_LOADED;
        ck_assert_int_eq(agent_global_target(&g, old, &t), 1);
        ck_assert_int_eq(t.desired_state, JOB_STATE_LOADED);
        g.desired_state = JOB_STATE_INACTIVE;
        ck_assert_int_eq(agent_global_target(&g, old, &t), 1);
        ck_assert_int_eq(t.desired_state, JOB_STATE_INACTIVE);
        /* A pin to the same content as global/<name> changes nothing. */
        ck_assert_int_eq(agent_global_target(&g, new, &t), 1);
        ck_assert_str_eq(t.hash, new);
        /* A bad pin is refused and the global content stays. */
        ck_assert_int_eq(agent_global_target(&g, "xyz", &t), -EINVAL);
        ck_assert_str_eq(t.hash, new);
        ck_assert_int_eq(agent_global_target(&g, "", &t), -EINVAL);
        ck_assert_str_eq(t.hash, new);
}
END_TEST

/* Isolating units whose state never comes (issue 12: ".service" stalled every pass). */
typedef struct VerdictCase {
        const char *name;
        bool known, isolated;
        uint64_t since, now;
        AgentStateVerdict verdict;
} VerdictCase;

#define W 10
static const VerdictCase verdict_cases[] = {
        {"a.service", true, false, 0, 100, AGENT_STATE_READY},
        {"a.service", true, true, 50, 100, AGENT_STATE_READY}, /* came late: taken back */
        {"a.service", false, false, 0, 100, AGENT_STATE_WAIT}, /* first look */
        {"a.service", false, false, 95, 100, AGENT_STATE_WAIT},
        {"a.service", false, false, 90, 100, AGENT_STATE_NO_STATE},
        {"a.service", false, false, 80, 100, AGENT_STATE_NO_STATE},
        {"a.service", false, true, 0, 100, AGENT_STATE_NO_STATE}, /* no new wait on retry */
        {".service", false, false, 0, 100, AGENT_STATE_INVALID_NAME},
        {".service", true, false, 0, 100, AGENT_STATE_INVALID_NAME},
        {"a.snapshot", false, false, 0, 100, AGENT_STATE_INVALID_NAME},
        {"a@.service", false, false, 0, 100, AGENT_STATE_WAIT}, /* valid; systemd says */
        {"", false, false, 0, 100, AGENT_STATE_INVALID_NAME},
};

START_TEST(test_state_verdict) {
        const VerdictCase *c = &verdict_cases[_i];

        ck_assert_int_eq(agent_state_verdict(c->name, c->known, c->isolated, c->since, c->now, W),
                         c->verdict);
}
END_TEST

START_TEST(test_state_verdict_strings) {
        ck_assert_str_eq(agent_state_verdict_to_sub_state(AGENT_STATE_INVALID_NAME),
                         "invalid-name");
        ck_assert_str_eq(agent_state_verdict_to_sub_state(AGENT_STATE_NO_STATE), "no-state");
        ck_assert_ptr_null(agent_state_verdict_to_sub_state(AGENT_STATE_READY));
        ck_assert_ptr_null(agent_state_verdict_to_sub_state(AGENT_STATE_WAIT));
}
END_TEST

static Suite *reconcile_suite(void) {
        Suite *s = suite_create("agent-reconcile");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_reconcile, 0, (int) ELEMENTSOF(cases));
        tcase_add_test(tc, test_load_task_fields);
        tcase_add_test(tc, test_bad_input);
        tcase_add_loop_test(tc, test_activity, 0, (int) ELEMENTSOF(activity_cases));
        tcase_add_test(tc, test_task_strings);
        tcase_add_loop_test(tc, test_select_global, 0, (int) ELEMENTSOF(global_cases));
        tcase_add_test(tc, test_select_global_bad_input);
        tcase_add_test(tc, test_global_target_pin);
        tcase_add_loop_test(tc, test_state_verdict, 0, (int) ELEMENTSOF(verdict_cases));
        tcase_add_test(tc, test_state_verdict_strings);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(reconcile_suite)
