/* SPDX-License-Identifier: MIT */
/* The engine's registry mirror: entries in, snapshots out (no I/O). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirror.h"
#include "registry-json.h"
#include "strv.h"
#include "test-util.h"

#define P "/p/"
#define H1 "1111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222"
#define H3 "3333333333333333333333333333333333333333"

/* ---- Mirror ------------------------------------------------------------------------------- */

static void put(Mirror *m, const char *key, const char *value, int64_t rev, int expect) {
        EtcdKeyValue kv = {.key = (char *) key,
                           .value = (char *) value,
                           .value_size = strlen(value),
                           .create_revision = rev,
                           .mod_revision = rev,
                           .version = 1};
        _cleanup_(registry_entry_done) RegistryEntry e = {};

        ck_assert_int_eq(registry_entry_decode(P, &kv, true, &e), 0);
        ck_assert_int_eq(mirror_put(m, &e), expect);
}

static void del(Mirror *m, const char *key, int expect) {
        _cleanup_(registry_key_done) RegistryKey k = {};

        ck_assert_int_eq(registry_key_parse(P, key, &k), 0);
        ck_assert_int_eq(mirror_delete(m, &k), expect);
}

static const SnapshotJob *find_job(const ClusterSnapshot *s, const char *name) {
        for (size_t i = 0; i < s->n_jobs; i++)
                if (streq(s->jobs[i].name, name))
                        return &s->jobs[i];
        return NULL;
}

static const SnapshotMachine *find_machine(const ClusterSnapshot *s, const char *id) {
        for (size_t i = 0; i < s->n_machines; i++)
                if (streq(s->machines[i].id, id))
                        return &s->machines[i];
        return NULL;
}

static MirrorView *view(Mirror *m) {
        MirrorView *v = NULL;

        ck_assert_int_eq(mirror_build_view(m, &v), 0);
        return v;
}

START_TEST(test_mirror_jobs_and_content) {
        _cleanup_(mirror_freep) Mirror *m = NULL;
        _cleanup_(mirror_view_freep) MirrorView *v = NULL;
        const SnapshotJob *j;
        MirrorJobInfo info;

        ck_assert_int_eq(mirror_new(&m), 0);
        /* The job arrives; its content is not there yet: the job is held. */
        put(m, P "job/web@1.service",
            "{\"name\":\"web@1.service\",\"hash\":\"" H1 "\",\"desiredState\":\"launched\"}", 5, 1);
        v = view(m);
        ck_assert_uint_eq(v->snapshot->n_jobs, 0);
        ck_assert_uint_eq(v->n_held, 1);
        ck_assert_str_eq(v->held[0].name, "web@1.service");
        ck_assert_str_eq(v->held[0].hash, H1);
        ck_assert_int_eq(mirror_get_job(m, "web@1.service", &info), 0);
        ck_assert(info.held);
        v = mirror_view_free(v);

        /* Content arrives (and matters, since a job waits for it). Specifiers are applied with
         * the job's name. */
        put(m, P "unit/" H1, "[Service]\nExecStart=/bin/true\n[X-Fleet]\nConflicts=%p@*.service\n",
            6, 1);
        v = view(m);
        ck_assert_uint_eq(v->n_held, 0);
        ck_assert_uint_eq(v->snapshot->n_jobs, 1);
        j = &v->snapshot->jobs[0];
        ck_assert_str_eq(j->hash, H1);
        ck_assert_int_eq(j->state, JOB_STATE_LAUNCHED);
        ck_assert_ptr_nonnull(j->xfleet);
        ck_assert_str_eq(j->xfleet->conflicts[0], "web@*.service");
        ck_assert_uint_eq(v->n_units, 1);
        ck_assert_str_eq(v->units[0].hash, H1);
        ck_assert_int_eq(v->units[0].mod_revision, 6);
        v = mirror_view_free(v);

        /* Content re-put (a job creation with the same text): only the revision changes, and
         * nobody waits for it. */
        put(m, P "unit/" H1, "[Service]\nExecStart=/bin/true\n[X-Fleet]\nConflicts=%p@*.service\n",
            9, 0);
        /* New hash without X-Fleet options: the cached options are dropped. */
        put(m, P "unit/" H2, "[Service]\nExecStart=/bin/false\n", 10, 0);
        put(m, P "job/web@1.service",
            "{\"name\":\"web@1.service\",\"hash\":\"" H2 "\",\"desiredState\":\"loaded\"}", 10, 1);
        v = view(m);
        j = find_job(v->snapshot, "web@1.service");
        ck_assert_ptr_nonnull(j);
        ck_assert_str_eq(j->hash, H2);
        ck_assert_int_eq(j->state, JOB_STATE_LOADED);
        ck_assert_ptr_null(j->xfleet);
        ck_assert_uint_eq(v->n_units, 2);
        v = mirror_view_free(v);

        /* Nothing changed: no content can have lost its last reference. */
        v = view(m);
        ck_assert_uint_eq(v->n_units, 0);
        v = mirror_view_free(v);
        mirror_gc_suspect(m, H1);
        mirror_gc_suspect(m, H3); /* not stored: left out */
        v = view(m);
        ck_assert_uint_eq(v->n_units, 1);
        ck_assert_str_eq(v->units[0].hash, H1);
        ck_assert_int_eq(v->units[0].mod_revision, 9);
        v = mirror_view_free(v);

        /* Unreadable content: held. Deleting the job and contents empties the mirror. */
        put(m, P "unit/" H3, "[Service\n", 11, 0);
        put(m, P "job/bad.service",
            "{\"name\":\"bad.service\",\"hash\":\"" H3 "\",\"desiredState\":\"launched\"}", 11, 1);
        v = view(m);
        ck_assert_uint_eq(v->n_held, 1);
        ck_assert_str_eq(v->held[0].name, "bad.service");
        v = mirror_view_free(v);
        v = view(m);
        ck_assert_uint_eq(v->n_units, 0);
        v = mirror_view_free(v);
        del(m, P "job/bad.service", 1);
        del(m, P "job/bad.service", 0);
        /* A job gone: its content is a suspect. */
        v = view(m);
        ck_assert_uint_eq(v->n_units, 1);
        ck_assert_str_eq(v->units[0].hash, H3);
        v = mirror_view_free(v);
        /* After a failed pass, or a resync: every content. */
        mirror_gc_suspect_all(m);
        v = view(m);
        ck_assert_uint_eq(v->n_units, 3);
        v = mirror_view_free(v);
        del(m, P "job/web@1.service", 1);
        del(m, P "unit/" H1, 0);
        del(m, P "unit/" H2, 0);
        del(m, P "unit/" H3, 0);
        ck_assert_uint_eq(mirror_n_jobs(m), 0);
        ck_assert_uint_eq(mirror_n_units(m), 0);
        ck_assert_int_eq(mirror_get_job(m, "web@1.service", &info), -ENOENT);
}
END_TEST

START_TEST(test_mirror_machines_and_metadata) {
        _cleanup_(mirror_freep) Mirror *m = NULL;
        _cleanup_(mirror_view_freep) MirrorView *v = NULL;
        const SnapshotMachine *sm;

        ck_assert_int_eq(mirror_new(&m), 0);
        /* An overlay for a machine that is not live yet changes nothing that matters. */
        put(m, P "metadata/m1/disk", "ssd", 2, 0);
        put(m, P "machine/m1",
            "{\"ID\":\"m1\",\"PublicIP\":\"10.0.0.1\",\"Metadata\":{\"region\":\"us\","
            "\"rack\":\"r1\"}}",
            3, 1);
        put(m, P "machine/m2", "{\"ID\":\"m2\"}", 4, 1);
        ck_assert(mirror_has_machine(m, "m1"));
        ck_assert_uint_eq(mirror_n_machines(m), 2);
        /* Overrides and removals: an empty value removes the key from the merged view. */
        put(m, P "metadata/m1/region", "eu", 5, 1);
        put(m, P "metadata/m1/rack", "", 6, 1);
        v = view(m);
        ck_assert_uint_eq(v->snapshot->n_machines, 2);
        sm = find_machine(v->snapshot, "m1");
        ck_assert_ptr_nonnull(sm);
        ck_assert_str_eq(snapshot_machine_get_metadata(sm, "region"), "eu");
        ck_assert_str_eq(snapshot_machine_get_metadata(sm, "disk"), "ssd");
        ck_assert_ptr_null(snapshot_machine_get_metadata(sm, "rack"));
        v = mirror_view_free(v);

        /* Dropping the overlay brings the configured value back. */
        del(m, P "metadata/m1/rack", 1);
        del(m, P "metadata/m1/region", 1);
        v = view(m);
        sm = find_machine(v->snapshot, "m1");
        ck_assert_str_eq(snapshot_machine_get_metadata(sm, "region"), "us");
        ck_assert_str_eq(snapshot_machine_get_metadata(sm, "rack"), "r1");
        v = mirror_view_free(v);

        /* A machine whose lease expired goes; its overlay stays for when it returns. */
        del(m, P "machine/m1", 1);
        del(m, P "machine/m1", 0);
        ck_assert(!mirror_has_machine(m, "m1"));
        v = view(m);
        ck_assert_uint_eq(v->snapshot->n_machines, 1);
        ck_assert_str_eq(v->snapshot->machines[0].id, "m2");
        v = mirror_view_free(v);
        put(m, P "machine/m1", "{\"ID\":\"m1\"}", 8, 1);
        v = view(m);
        sm = find_machine(v->snapshot, "m1");
        ck_assert_str_eq(snapshot_machine_get_metadata(sm, "disk"), "ssd");
        v = mirror_view_free(v);
        del(m, P "metadata/m1/disk", 1);
        del(m, P "machine/m1", 1);
        del(m, P "machine/m2", 1);
        ck_assert_uint_eq(mirror_n_machines(m), 0);
}
END_TEST

START_TEST(test_mirror_schedule_and_ignored) {
        _cleanup_(mirror_freep) Mirror *m = NULL;
        _cleanup_(mirror_view_freep) MirrorView *v = NULL;
        _cleanup_strv_free_ char **machines = NULL;

        ck_assert_int_eq(mirror_new(&m), 0);
        put(m, P "schedule/m2/a.service", "{\"hash\":\"" H1 "\",\"desiredState\":\"launched\"}", 3,
            1);
        put(m, P "schedule/m1/a.service", "{\"hash\":\"" H1 "\",\"desiredState\":\"loaded\"}", 4,
            1);
        put(m, P "schedule/m1/a.service", "{\"hash\":\"" H2 "\",\"desiredState\":\"loaded\"}", 5,
            1);
        ck_assert_uint_eq(mirror_n_schedule(m), 2);
        ck_assert_int_eq(mirror_get_job_machines(m, "a.service", &machines), 0);
        ck_assert_uint_eq(strv_length(machines), 2);
        ck_assert_str_eq(machines[0], "m1");
        ck_assert_str_eq(machines[1], "m2");
        v = view(m);
        ck_assert_uint_eq(v->snapshot->n_schedule, 2);
        for (size_t i = 0; i < 2; i++) {
                const SnapshotSchedule *e = &v->snapshot->schedule[i];

                ck_assert_str_eq(e->job, "a.service");
                if (streq(e->machine, "m1")) {
                        ck_assert_str_eq(e->hash, H2);
                        ck_assert_int_eq(e->state, JOB_STATE_LOADED);
                }
        }
        v = mirror_view_free(v);
        /* Keys the engine does not need change nothing. */
        put(m, P "state/a.service/m1",
            "{\"loadState\":\"loaded\",\"activeState\":\"active\",\"subState\":\"running\","
            "\"unitHash\":\"" H1 "\",\"fleetState\":\"launched\"}",
            6, 0);
        put(m, P "global/g.service", "{\"hash\":\"" H1 "\",\"desiredState\":\"launched\"}", 7, 0);
        put(m, P "engine/leader", "{\"MachineID\":\"m1\",\"Version\":\"1\"}", 8, 0);
        del(m, P "schedule/m2/a.service", 1);
        del(m, P "schedule/m2/a.service", 0);
        mirror_clear(m);
        ck_assert_uint_eq(mirror_n_schedule(m), 0);
}
END_TEST

/* Stored reasons reach the view but never call for a pass; jobs carry their mod_revision. */
/* Garbage collection's suspects from schedule entries, and a resync. */
START_TEST(test_mirror_gc_suspects) {
        _cleanup_(mirror_freep) Mirror *m = NULL;
        _cleanup_(mirror_view_freep) MirrorView *v = NULL;

        ck_assert_int_eq(mirror_new(&m), 0);
        put(m, P "unit/" H1, "[Service]\nExecStart=/bin/true\n", 2, 0);
        put(m, P "unit/" H2, "[Service]\nExecStart=/bin/false\n", 3, 0);
        put(m, P "schedule/m1/a.service", "{\"hash\":\"" H1 "\",\"desiredState\":\"launched\"}", 4,
            1);
        v = view(m); /* a new mirror: every content */
        ck_assert_uint_eq(v->n_units, 2);
        v = mirror_view_free(v);
        /* Same hash: no suspect. Another hash: the old one is. */
        put(m, P "schedule/m1/a.service", "{\"hash\":\"" H1 "\",\"desiredState\":\"loaded\"}", 5,
            1);
        v = view(m);
        ck_assert_uint_eq(v->n_units, 0);
        v = mirror_view_free(v);
        put(m, P "schedule/m1/a.service", "{\"hash\":\"" H2 "\",\"desiredState\":\"loaded\"}", 6,
            1);
        v = view(m);
        ck_assert_uint_eq(v->n_units, 1);
        ck_assert_str_eq(v->units[0].hash, H1);
        v = mirror_view_free(v);
        del(m, P "schedule/m1/a.service", 1);
        v = view(m);
        ck_assert_uint_eq(v->n_units, 1);
        ck_assert_str_eq(v->units[0].hash, H2);
        v = mirror_view_free(v);
        /* A pin moved to another content, or gone, leaves the content it kept suspect. */
        put(m, P "pin/m1/g.service", "{\"hash\":\"" H1 "\"}", 7, 0);
        put(m, P "pin/m1/g.service", "{\"hash\":\"" H2 "\"}", 8, 0);
        v = view(m);
        ck_assert_uint_eq(v->n_units, 1);
        ck_assert_str_eq(v->units[0].hash, H1);
        v = mirror_view_free(v);
        del(m, P "pin/m1/g.service", 1);
        v = view(m);
        ck_assert_uint_eq(v->n_units, 1);
        ck_assert_str_eq(v->units[0].hash, H2);
        v = mirror_view_free(v);
        /* A resync starts over with every content. */
        mirror_clear(m);
        put(m, P "unit/" H1, "[Service]\nExecStart=/bin/true\n", 2, 0);
        put(m, P "unit/" H2, "[Service]\nExecStart=/bin/false\n", 3, 0);
        put(m, P "unit/" H3, "[Service]\nExecStart=/bin/false\n", 3, 0);
        v = view(m);
        ck_assert_uint_eq(v->n_units, 3);
}
END_TEST

START_TEST(test_mirror_reasons) {
        _cleanup_(mirror_freep) Mirror *m = NULL;
        _cleanup_(mirror_view_freep) MirrorView *v = NULL;

        ck_assert_int_eq(mirror_new(&m), 0);
        put(m, P "job/a.service",
            "{\"name\":\"a.service\",\"hash\":\"" H1 "\",\"desiredState\":\"launched\"}", 3, 1);
        put(m, P "job/a.service",
            "{\"name\":\"a.service\",\"hash\":\"" H1 "\",\"desiredState\":\"loaded\"}", 9, 1);
        put(m, P "reason/a.service", "{\"reason\":\"old\",\"jobRevision\":3}", 10, 0);
        put(m, P "reason/a.service", "{\"reason\":\"why\",\"jobRevision\":9}", 11, 0);
        put(m, P "reason/b.service", "{\"reason\":\"x\",\"jobRevision\":2}", 12, 0);
        v = view(m);
        ck_assert_uint_eq(v->n_job_revisions, 1);
        ck_assert_str_eq(v->job_revisions[0].name, "a.service");
        ck_assert_int_eq(v->job_revisions[0].job_revision, 9);
        ck_assert_uint_eq(v->n_reasons, 2);
        for (size_t i = 0; i < v->n_reasons; i++)
                if (streq(v->reasons[i].name, "a.service")) {
                        ck_assert_str_eq(v->reasons[i].reason, "why");
                        ck_assert_int_eq(v->reasons[i].job_revision, 9);
                }
        v = mirror_view_free(v);
        del(m, P "reason/b.service", 0);
        v = view(m);
        ck_assert_uint_eq(v->n_reasons, 1);
}
END_TEST

/* Cordons reach the snapshot; unit states count only on draining machines. */
START_TEST(test_mirror_cordons) {
        _cleanup_(mirror_freep) Mirror *m = NULL;
        _cleanup_(mirror_view_freep) MirrorView *v = NULL;
        const char *st = "{\"loadState\":\"loaded\",\"activeState\":\"active\",\"subState\":"
                         "\"running\",\"unitHash\":\"" H1 "\",\"fleetState\":\"launched\"}";

        ck_assert_int_eq(mirror_new(&m), 0);
        put(m, P "machine/m1", "{\"ID\":\"m1\"}", 2, 1);
        put(m, P "machine/m2", "{\"ID\":\"m2\"}", 3, 1);
        put(m, P "state/a.service/m1", st, 4, 0); /* m1 not draining: no pass needed */
        put(m, P "state/b.service/m2", st, 5, 0);
        put(m, P "cordon/m1", "{\"draining\":false}", 6, 1);
        put(m, P "cordon/m1", "{\"draining\":false}", 7, 0);
        put(m, P "cordon/m9", "{\"draining\":true}", 8, 1); /* not live: ignored in views */
        v = view(m);
        ck_assert_int_eq(find_machine(v->snapshot, "m1")->cordon, SNAPSHOT_CORDON_CORDONED);
        ck_assert_int_eq(find_machine(v->snapshot, "m2")->cordon, SNAPSHOT_CORDON_NONE);
        ck_assert_uint_eq(v->snapshot->n_running, 0);
        v = mirror_view_free(v);
        put(m, P "cordon/m1", "{\"draining\":true}", 9, 1);
        put(m, P "state/c.service/m1", st, 10, 1); /* m1 draining: it matters */
        v = view(m);
        ck_assert_int_eq(find_machine(v->snapshot, "m1")->cordon, SNAPSHOT_CORDON_DRAINING);
        ck_assert_uint_eq(v->snapshot->n_running, 2);
        for (size_t i = 0; i < 2; i++)
                ck_assert_str_eq(v->snapshot->running[i].machine, "m1");
        v = mirror_view_free(v);
        del(m, P "state/a.service/m1", 1);
        del(m, P "state/a.service/m1", 0);
        del(m, P "state/b.service/m2", 0);
        {
                _cleanup_strv_free_ char **d = NULL;

                /* draining machines, live or not (m9: the engine may hold its units) */
                ck_assert_int_eq(mirror_draining_ids(m, &d), 0);
                ck_assert_uint_eq(strv_length(d), 2);
                ck_assert_str_eq(d[0], "m1");
                ck_assert_str_eq(d[1], "m9");
        }
        del(m, P "cordon/m1", 1);
        del(m, P "cordon/m1", 0);
        v = view(m);
        ck_assert_int_eq(find_machine(v->snapshot, "m1")->cordon, SNAPSHOT_CORDON_NONE);
        ck_assert_uint_eq(v->snapshot->n_running, 0);
}
END_TEST

/* Pins (rolling updates of global units) reach the view for the garbage collector; a pin
 * gone calls for a pass, which may collect its content. */
START_TEST(test_mirror_pins) {
        _cleanup_(mirror_freep) Mirror *m = NULL;
        _cleanup_(mirror_view_freep) MirrorView *v = NULL;

        ck_assert_int_eq(mirror_new(&m), 0);
        put(m, P "pin/m1/g.service", "{\"hash\":\"" H1 "\"}", 2, 0);
        put(m, P "pin/m2/g.service", "{\"hash\":\"" H1 "\"}", 3, 0);
        put(m, P "pin/m2/g.service", "{\"hash\":\"" H2 "\"}", 4, 0);
        v = view(m);
        ck_assert_uint_eq(v->n_pinned, 2);
        ck_assert(streq(v->pinned[0], H1) || streq(v->pinned[1], H1));
        ck_assert(streq(v->pinned[0], H2) || streq(v->pinned[1], H2));
        v = mirror_view_free(v);
        del(m, P "pin/m1/g.service", 1);
        del(m, P "pin/m1/g.service", 0);
        v = view(m);
        ck_assert_uint_eq(v->n_pinned, 1);
        ck_assert_str_eq(v->pinned[0], H2);
        v = mirror_view_free(v);
        mirror_clear(m);
        v = view(m);
        ck_assert_uint_eq(v->n_pinned, 0);
}
END_TEST

START_TEST(test_mirror_held_machines) {
        _cleanup_(mirror_freep) Mirror *m = NULL;
        _cleanup_(mirror_view_freep) MirrorView *v = NULL;
        _cleanup_strv_free_ char **live = NULL, **scheduled = NULL;

        ck_assert_int_eq(mirror_new(&m), 0);
        put(m, P "machine/m1", "{\"ID\":\"m1\",\"PublicIP\":\"\",\"Metadata\":{}}", 2, 1);
        put(m, P "unit/" H1, "[Service]\nExecStart=/bin/true\n", 3, 0);
        put(m, P "job/a.service",
            "{\"name\":\"a.service\",\"hash\":\"" H1 "\",\"desiredState\":\"launched\"}", 4, 1);
        put(m, P "job/b.service",
            "{\"name\":\"b.service\",\"hash\":\"" H1 "\",\"desiredState\":\"launched\"}", 5, 1);
        put(m, P "schedule/m2/a.service", "{\"hash\":\"" H1 "\",\"desiredState\":\"launched\"}", 6,
            1);
        put(m, P "schedule/m1/b.service", "{\"hash\":\"" H1 "\",\"desiredState\":\"launched\"}", 7,
            1);
        ck_assert_int_eq(mirror_machine_ids(m, &live, &scheduled), 0);
        ck_assert_uint_eq(strv_length(live), 1);
        ck_assert_str_eq(live[0], "m1");
        strv_sort(scheduled);
        ck_assert_uint_eq(strv_length(scheduled), 2);
        ck_assert_str_eq(scheduled[0], "m1");
        ck_assert_str_eq(scheduled[1], "m2");

        /* m2 held: a.service (on it) is left out of the snapshot and listed as held. */
        ck_assert_int_eq(mirror_set_held_machines(m, (char *[]){(char *) "m2", NULL}), 0);
        v = view(m);
        ck_assert_uint_eq(v->snapshot->n_jobs, 1);
        ck_assert_ptr_nonnull(find_job(v->snapshot, "b.service"));
        ck_assert_uint_eq(v->n_held, 1);
        ck_assert_str_eq(v->held[0].name, "a.service");
        v = mirror_view_free(v);

        /* Released: both jobs are in the snapshot again. */
        ck_assert_int_eq(mirror_set_held_machines(m, NULL), 0);
        v = view(m);
        ck_assert_uint_eq(v->snapshot->n_jobs, 2);
        ck_assert_uint_eq(v->n_held, 0);

        /* A machine owns schedule entries until its last one goes, counted once. */
        put(m, P "schedule/m2/b.service", "{\"hash\":\"" H1 "\",\"desiredState\":\"launched\"}", 8,
            1);
        put(m, P "schedule/m2/b.service", "{\"hash\":\"" H1 "\",\"desiredState\":\"loaded\"}", 9,
            1);
        live = strv_free(live);
        scheduled = strv_free(scheduled);
        ck_assert_int_eq(mirror_machine_ids(m, &live, &scheduled), 0);
        ck_assert_uint_eq(strv_length(scheduled), 2);
        del(m, P "schedule/m2/a.service", 1);
        live = strv_free(live);
        scheduled = strv_free(scheduled);
        ck_assert_int_eq(mirror_machine_ids(m, &live, &scheduled), 0);
        ck_assert_uint_eq(strv_length(scheduled), 2);
        del(m, P "schedule/m2/b.service", 1);
        del(m, P "schedule/m2/b.service", 0);
        live = strv_free(live);
        scheduled = strv_free(scheduled);
        ck_assert_int_eq(mirror_machine_ids(m, &live, &scheduled), 0);
        ck_assert_uint_eq(strv_length(scheduled), 1);
        ck_assert_str_eq(scheduled[0], "m1");
        del(m, P "schedule/m1/b.service", 1);
        del(m, P "machine/m1", 1);
        live = strv_free(live);
        scheduled = strv_free(scheduled);
        ck_assert_int_eq(mirror_machine_ids(m, &live, &scheduled), 0);
        ck_assert_ptr_nonnull(live);
        ck_assert_ptr_nonnull(scheduled);
        ck_assert_uint_eq(strv_length(live), 0);
        ck_assert_uint_eq(strv_length(scheduled), 0);
}
END_TEST

static Suite *mirror_suite(void) {
        Suite *s = suite_create("engine-mirror");
        TCase *tc = tcase_create("mirror");

        tcase_add_test(tc, test_mirror_jobs_and_content);
        tcase_add_test(tc, test_mirror_machines_and_metadata);
        tcase_add_test(tc, test_mirror_schedule_and_ignored);
        tcase_add_test(tc, test_mirror_gc_suspects);
        tcase_add_test(tc, test_mirror_reasons);
        tcase_add_test(tc, test_mirror_cordons);
        tcase_add_test(tc, test_mirror_pins);
        tcase_add_test(tc, test_mirror_held_machines);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(mirror_suite)
