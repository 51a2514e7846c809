/* SPDX-License-Identifier: MIT */
/* The registry against a real etcd: jobs in txns, machines and states with leases, election
 * and fenced schedule writes, and watches (agent-style and engine-style with resync). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "etcd-launcher.h"
#include "registry.h"
#include "test-util.h"

#define SEC 1000000ULL
#define HASH1 "1111111111111111111111111111111111111111"
#define HASH2 "2222222222222222222222222222222222222222"

static char *scratch;
static EtcdLauncher *etcd;
static sd_event *event;
static EtcdClient *client;
static Registry *reg;
static unsigned test_no;

static void shared_setup(void) {
        EtcdLauncherOptions o = {};

        ck_assert_int_eq(etcd_launcher_mkdtemp(&scratch), 0);
        o.base_dir = scratch;
        ck_assert_int_eq(etcd_launcher_start(&o, &etcd), 0);
}

static void shared_teardown(void) {
        etcd = etcd_launcher_free(etcd);
        (void) etcd_launcher_rm_rf(scratch);
        free(scratch);
        scratch = NULL;
}

/* Each test gets its own key prefix in the shared etcd. */
static void registry_setup(void) {
        EtcdClientConfig cfg = {.endpoints = etcd_launcher_endpoints(etcd),
                                .request_timeout_usec = 5 * SEC};
        char prefix[64];

        (void) snprintf(prefix, sizeof(prefix), "/t%u-%d/fleet", ++test_no, (int) getpid());
        ck_assert_int_eq(sd_event_new(&event), 0);
        ck_assert_int_eq(etcd_client_new(&client, event, &cfg), 0);
        ck_assert_int_eq(registry_new(&reg, client, prefix), 0);
        ck_assert_str_eq(registry_get_prefix(reg) + strlen(prefix), "/");
        ck_assert_ptr_eq(registry_get_client(reg), client);
}

static void registry_teardown(void) {
        reg = registry_free(reg);
        client = etcd_client_free(client);
        event = sd_event_unref(event);
}

static RegistryJob job(const char *name, const char *hash, JobState s, bool global) {
        RegistryJob j = {.name = (char *) name, .desired_state = s, .global = global};

        (void) snprintf(j.hash, sizeof(j.hash), "%s", hash);
        return j;
}

static int64_t grant(int64_t ttl) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;

        ck_assert_int_eq(etcd_lease_grant_sync(client, ttl, 0, &resp), 0);
        return resp->lease.id;
}

static size_t count(RegistryKeyKind kind, const char *sub) {
        _cleanup_(registry_list_freep) RegistryList *l = NULL;

        ck_assert_int_eq(registry_list_sync(reg, kind, sub, 0, true, &l), 0);
        return l->n_entries;
}

START_TEST(test_jobs) {
        RegistryJob web = job("web.service", HASH1, JOB_STATE_LAUNCHED, false);
        RegistryJob mon = job("mon.service", HASH2, JOB_STATE_LOADED, true);
        RegistryKey key = {.kind = REGISTRY_KEY_JOB, .name = (char *) "web.service"};
        _cleanup_(registry_list_freep) RegistryList *l = NULL;
        RegistryEntry e = {};
        int64_t rev;

        ck_assert_int_eq(registry_create_job_sync(reg, &web, "[Service]\nA=1\n", &rev), 0);
        ck_assert_int_gt(rev, 0);
        ck_assert_int_eq(registry_create_job_sync(reg, &mon, "[X-Fleet]\nGlobal=true\n", NULL), 0);
        /* Second create: nothing written, -EEXIST. */
        RegistryJob web2 = job("web.service", HASH2, JOB_STATE_INACTIVE, false);
        ck_assert_int_eq(registry_create_job_sync(reg, &web2, "other", NULL), -EEXIST);

        ck_assert_int_eq(registry_get_sync(reg, &key, &e), 0);
        ck_assert_int_eq(e.key.kind, REGISTRY_KEY_JOB);
        ck_assert_str_eq(e.job.hash, HASH1);
        ck_assert_int_eq(e.job.desired_state, JOB_STATE_LAUNCHED);
        ck_assert_int_eq(e.create_revision, rev);
        registry_entry_done(&e);

        RegistryKey unit = {.kind = REGISTRY_KEY_UNIT, .name = (char *) HASH1};
        ck_assert_int_eq(registry_get_sync(reg, &unit, &e), 0);
        ck_assert_str_eq(e.unit_text, "[Service]\nA=1\n");
        registry_entry_done(&e);

        ck_assert_int_eq(registry_list_sync(reg, REGISTRY_KEY_JOB, NULL, 0, false, &l), 0);
        ck_assert_uint_eq(l->n_entries, 2);
        ck_assert_str_eq(l->entries[0].job.name, "mon.service"); /* key order */
        ck_assert(l->entries[0].job.global);
        ck_assert_uint_eq(l->n_skipped, 0);
        ck_assert_uint_eq(count(REGISTRY_KEY_GLOBAL, NULL), 1);
        ck_assert_uint_eq(count(REGISTRY_KEY_UNIT, NULL), 2);

        RegistryKey missing = {.kind = REGISTRY_KEY_JOB, .name = (char *) "none.service"};
        ck_assert_int_eq(registry_get_sync(reg, &missing, &e), -ENOENT);
        RegistryKey invalid = {.kind = REGISTRY_KEY_JOB, .name = (char *) "a/b"};
        ck_assert_int_eq(registry_get_sync(reg, &invalid, &e), -EINVAL);
        RegistryJob bad = job("x.service", "nothex", JOB_STATE_LOADED, false);
        ck_assert_int_eq(registry_create_job_sync(reg, &bad, "x", NULL), -EINVAL);
}
END_TEST

START_TEST(test_update_destroy) {
        RegistryJob mon = job("mon.service", HASH1, JOB_STATE_LOADED, true);
        RegistryKey key = {.kind = REGISTRY_KEY_JOB, .name = (char *) "mon.service"};
        RegistryEntry e = {};
        int64_t rev, rev2;

        ck_assert_int_eq(registry_create_job_sync(reg, &mon, "v1", &rev), 0);

        /* Read-modify-write of desiredState. */
        mon.desired_state = JOB_STATE_LAUNCHED;
        ck_assert_int_eq(registry_update_job_sync(reg, &mon, NULL, rev, &rev2), 0);
        ck_assert_int_gt(rev2, rev);
        ck_assert_int_eq(registry_update_job_sync(reg, &mon, NULL, rev, NULL), -ESTALE);
        ck_assert_int_eq(registry_get_sync(reg, &key, &e), 0);
        ck_assert_int_eq(e.job.desired_state, JOB_STATE_LAUNCHED);
        ck_assert_int_eq(e.mod_revision, rev2);
        registry_entry_done(&e);

        /* New content, no longer global: global entry deleted in the same txn. */
        RegistryJob mon2 = job("mon.service", HASH2, JOB_STATE_INACTIVE, false);
        ck_assert_int_eq(registry_update_job_sync(reg, &mon2, "v2", 0, NULL), 0);
        ck_assert_uint_eq(count(REGISTRY_KEY_GLOBAL, NULL), 0);
        ck_assert_uint_eq(count(REGISTRY_KEY_UNIT, NULL), 2);

        RegistryJob none = job("none.service", HASH1, JOB_STATE_LOADED, false);
        ck_assert_int_eq(registry_update_job_sync(reg, &none, NULL, 0, NULL), -ENOENT);
        ck_assert_int_eq(registry_update_job_sync(reg, &none, NULL, 5, NULL), -ENOENT);

        ck_assert_int_eq(registry_destroy_job_sync(reg, "mon.service", NULL), 0);
        ck_assert_int_eq(registry_destroy_job_sync(reg, "mon.service", NULL), -ENOENT);
        ck_assert_uint_eq(count(REGISTRY_KEY_JOB, NULL), 0);

        /* Content garbage collection, fenced by mod_revision. */
        RegistryKey unit = {.kind = REGISTRY_KEY_UNIT, .name = (char *) HASH1};
        ck_assert_int_eq(registry_get_sync(reg, &unit, &e), 0);
        ck_assert_int_eq(registry_delete_unit_sync(reg, HASH1, e.mod_revision - 1, NULL), -ESTALE);
        ck_assert_int_eq(registry_delete_unit_sync(reg, HASH1, e.mod_revision, NULL), 0);
        ck_assert_int_eq(registry_delete_unit_sync(reg, HASH1, e.mod_revision, NULL), -ENOENT);
        ck_assert_int_eq(registry_delete_unit_sync(reg, HASH1, 0, NULL), -EINVAL);
        registry_entry_done(&e);
}
END_TEST

/* Two API servers create the same unit at once: one txn wins. */
typedef struct Race {
        int done, ok, exists;
} Race;

static void race_done(Registry *r, int error, int64_t revision, void *userdata) {
        Race *race = userdata;

        race->done++;
        if (error == 0)
                race->ok++;
        else if (error == -EEXIST)
                race->exists++;
}

static bool race_finished(void *userdata) {
        return ((Race *) userdata)->done == 2;
}

START_TEST(test_create_race) {
        EtcdClientConfig cfg = {.endpoints = etcd_launcher_endpoints(etcd)};
        _cleanup_(etcd_client_freep) EtcdClient *c2 = NULL;
        _cleanup_(registry_freep) Registry *r2 = NULL;
        Race race = {};

        ck_assert_int_eq(etcd_client_new(&c2, event, &cfg), 0);
        ck_assert_int_eq(registry_new(&r2, c2, registry_get_prefix(reg)), 0);
        RegistryJob a = job("same.service", HASH1, JOB_STATE_LAUNCHED, true);
        RegistryJob b = job("same.service", HASH2, JOB_STATE_LOADED, false);
        ck_assert_int_eq(registry_create_job(reg, &a, "a", race_done, &race, NULL), 0);
        ck_assert_int_eq(registry_create_job(r2, &b, "b", race_done, &race, NULL), 0);
        ck_assert_int_eq(etcd_launcher_run_until(event, race_finished, &race, 20 * SEC), 0);
        ck_assert_int_eq(race.ok, 1);
        ck_assert_int_eq(race.exists, 1);
        /* Whichever won, its content and global entry came with it, and nothing else. */
        ck_assert_uint_eq(count(REGISTRY_KEY_UNIT, NULL), 1);
        ck_assert_uint_le(count(REGISTRY_KEY_GLOBAL, NULL), 1);
}
END_TEST

START_TEST(test_machines_metadata_states) {
        RegistryCapability caps[] = {{.name = (char *) "DISABLE_ENGINE", .enabled = false}};
        RegistryMetadata md[] = {{.key = (char *) "region", .value = (char *) "us"}};
        RegistryMachine m = {.id = (char *) "m1",
                             .public_ip = (char *) "127.0.0.11",
                             .metadata = md,
                             .n_metadata = 1,
                             .capabilities = caps,
                             .n_capabilities = 1,
                             .version = (char *) "0.1.0"};
        RegistryUnitState st = {.name = (char *) "web.service",
                                .machine_id = (char *) "m1",
                                .load_state = (char *) "loaded",
                                .active_state = (char *) "active",
                                .sub_state = (char *) "running",
                                .unit_hash = HASH1,
                                .fleet_state = JOB_STATE_LAUNCHED};
        _cleanup_(registry_list_freep) RegistryList *l = NULL;
        int64_t lease = grant(60);

        ck_assert_int_eq(registry_put_machine_sync(reg, &m, lease, NULL), 0);
        ck_assert_int_eq(registry_put_state_sync(reg, &st, lease, NULL), 0);
        RegistryMetadata patch[] = {
                {.key = (char *) "region", .value = (char *) "eu"},
                {.key = (char *) "disk", .value = (char *) "ssd"},
        };
        ck_assert_int_eq(registry_patch_metadata_sync(reg, "m1", patch, 2, NULL), 0);
        RegistryMetadata unpatch[] = {{.key = (char *) "disk", .value = NULL}};
        ck_assert_int_eq(registry_patch_metadata_sync(reg, "m1", unpatch, 1, NULL), 0);
        ck_assert_int_eq(registry_patch_metadata_sync(reg, "m/1", unpatch, 1, NULL), -EINVAL);

        /* The API's merged machine view. */
        ck_assert_int_eq(registry_list_sync(reg, REGISTRY_KEY_MACHINE, NULL, 0, false, &l), 0);
        ck_assert_uint_eq(l->n_entries, 1);
        ck_assert_int_eq(l->entries[0].lease, lease);
        RegistryMachine merged = {};
        ck_assert_int_eq(registry_machine_copy(&l->entries[0].machine, &merged), 0);
        l = registry_list_free(l);
        ck_assert_int_eq(registry_list_sync(reg, REGISTRY_KEY_METADATA, "m1", 0, false, &l), 0);
        ck_assert_uint_eq(l->n_entries, 1);
        RegistryMetadata overlay = {.key = l->entries[0].key.name,
                                    .value = l->entries[0].metadata_value};
        ck_assert_int_eq(registry_machine_merge_metadata(&merged, &overlay, 1), 0);
        ck_assert_str_eq(registry_machine_get_metadata(&merged, "region"), "eu");
        ck_assert_str_eq(merged.public_ip, "127.0.0.11");
        registry_machine_done(&merged);
        l = registry_list_free(l);

        ck_assert_int_eq(registry_list_sync(reg, REGISTRY_KEY_STATE, "web.service", 0, false, &l),
                         0);
        ck_assert_uint_eq(l->n_entries, 1);
        ck_assert_str_eq(l->entries[0].state.machine_id, "m1");
        ck_assert_str_eq(l->entries[0].state.sub_state, "running");
        l = registry_list_free(l);

        /* The machine goes away with its lease: presence and states at once. */
        ck_assert_int_eq(etcd_lease_revoke_sync(client, lease, NULL), 0);
        ck_assert_uint_eq(count(REGISTRY_KEY_MACHINE, NULL), 0);
        ck_assert_uint_eq(count(REGISTRY_KEY_STATE, NULL), 0);
        ck_assert_uint_eq(count(REGISTRY_KEY_METADATA, NULL), 1); /* not leased */

        RegistryKey sk = {.kind = REGISTRY_KEY_STATE,
                          .name = (char *) "web.service",
                          .machine_id = (char *) "m1"};
        ck_assert_int_eq(registry_put_state_sync(reg, &st, 0, NULL), 0);
        ck_assert_int_eq(registry_delete_sync(reg, &sk, NULL), 0);
        ck_assert_int_eq(registry_delete_sync(reg, &sk, NULL), 0); /* absent: fine */
        ck_assert_uint_eq(count(REGISTRY_KEY_STATE, NULL), 0);
        ck_assert_int_eq(registry_put_machine_sync(reg, &m, 424242, NULL), -ENOENT);
}
END_TEST

START_TEST(test_election_and_fencing) {
        RegistryLeader a = {.machine_id = (char *) "m1", .version = (char *) "0.1.0"};
        RegistryLeader b = {.machine_id = (char *) "m2", .version = (char *) "0.1.0"};
        RegistryTarget t = {.hash = HASH1, .desired_state = JOB_STATE_LAUNCHED};
        RegistryScheduleOp ops[] = {
                {.machine_id = "m1", .name = "a.service", .target = &t},
                {.machine_id = "m2", .name = "b.service", .target = &t},
        };
        int64_t la = grant(60), lb = grant(60), term, term2, term_b;

        ck_assert_int_eq(registry_campaign_sync(reg, &a, la, &term), 0);
        ck_assert_int_gt(term, 0);
        ck_assert_int_eq(registry_campaign_sync(reg, &b, lb, &term_b), -EBUSY);
        /* The same engine again (same lease): still leader, same term. */
        ck_assert_int_eq(registry_campaign_sync(reg, &a, la, &term2), 0);
        ck_assert_int_eq(term2, term);

        ck_assert_int_eq(registry_apply_schedule_sync(reg, term, ops, 2, NULL), 0);
        ck_assert_uint_eq(count(REGISTRY_KEY_SCHEDULE, "m1"), 1);
        ck_assert_uint_eq(count(REGISTRY_KEY_SCHEDULE, "m2"), 1);
        ck_assert_int_eq(registry_apply_schedule_sync(reg, term + 1, ops, 1, NULL), -ESTALE);

        /* Leader lease expires (revoked here): the old term is fenced off, b takes over. */
        ck_assert_int_eq(etcd_lease_revoke_sync(client, la, NULL), 0);
        ck_assert_int_eq(registry_campaign_sync(reg, &b, lb, &term_b), 0);
        ck_assert_int_gt(term_b, term);
        RegistryScheduleOp unschedule = {.machine_id = "m1", .name = "a.service"};
        ck_assert_int_eq(registry_apply_schedule_sync(reg, term, &unschedule, 1, NULL), -ESTALE);
        ck_assert_uint_eq(count(REGISTRY_KEY_SCHEDULE, "m1"), 1);
        ck_assert_int_eq(registry_apply_schedule_sync(reg, term_b, &unschedule, 1, NULL), 0);
        ck_assert_uint_eq(count(REGISTRY_KEY_SCHEDULE, "m1"), 0);

        /* Reasons go in the same fenced txns (machine_id NULL). */
        RegistryReason why = {.reason = (char *) "no machines available", .job_revision = 7};
        RegistryScheduleOp reason_put = {.name = "c.service", .reason = &why};
        RegistryScheduleOp reason_del = {.name = "c.service"};
        ck_assert_int_eq(registry_apply_schedule_sync(reg, term, &reason_put, 1, NULL), -ESTALE);
        ck_assert_uint_eq(count(REGISTRY_KEY_REASON, NULL), 0);
        ck_assert_int_eq(registry_apply_schedule_sync(reg, term_b, &reason_put, 1, NULL), 0);
        ck_assert_uint_eq(count(REGISTRY_KEY_REASON, NULL), 1);
        ck_assert_int_eq(registry_apply_schedule_sync(reg, term_b, &reason_del, 1, NULL), 0);
        ck_assert_uint_eq(count(REGISTRY_KEY_REASON, NULL), 0);

        ck_assert_int_eq(registry_resign_sync(reg, term, NULL), -ESTALE);
        ck_assert_int_eq(registry_resign_sync(reg, term_b, NULL), 0);
        ck_assert_int_eq(registry_campaign_sync(reg, &a, 0, &term2), 0);
        ck_assert_int_gt(term2, term_b);

        RegistryScheduleOp many[REGISTRY_MAX_TXN_OPS + 1];
        for (size_t i = 0; i < ELEMENTSOF(many); i++)
                many[i] = unschedule;
        ck_assert_int_eq(registry_apply_schedule_sync(reg, term2, many, ELEMENTSOF(many), NULL),
                         -E2BIG);
        ck_assert_int_eq(registry_apply_schedule_sync(reg, term2, many, 0, NULL), -EINVAL);
}
END_TEST

/* ---- watches -------------------------------------------------------------------------------- */

#define MAX_SEEN 64

typedef struct Watcher {
        size_t n_resyncs, n_updates, n_errors;
        int error;
        size_t last_resync_entries;
        char resync_names[MAX_SEEN][64];
        RegistryEventType types[MAX_SEEN];
        RegistryKeyKind kinds[MAX_SEEN];
        char names[MAX_SEEN][64];
        bool had_prev[MAX_SEEN];
        size_t n_events;
        int64_t revision;
        /* On the first resync, write and compact through this client (its own event loop),
         * so that the watch the registry starts next begins at a compacted revision. */
        EtcdClient *side;
        const char *side_key;
} Watcher;

static void write_and_compact(Watcher *x) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        EtcdPutRequest q = {.key = x->side_key, .value = "{\"ID\":\"m7\"}"};

        /* Two writes: the compaction must pass the listing's revision + 1. */
        ck_assert_int_eq(etcd_put_sync(x->side, &q, NULL), 0);
        ck_assert_int_eq(etcd_put_sync(x->side, &q, &resp), 0);
        ck_assert_int_eq(etcd_compact_sync(x->side, resp->revision, true, NULL), 0);
}

static void on_update(RegistryWatch *w, int error, const RegistryWatchUpdate *u, void *userdata) {
        Watcher *x = userdata;

        if (error < 0) {
                x->n_errors++;
                x->error = error;
                return;
        }
        x->revision = u->revision;
        ck_assert_int_eq(registry_watch_get_revision(w), u->revision);
        if (u->resync) {
                x->n_resyncs++;
                x->last_resync_entries = u->n_entries;
                for (size_t i = 0; i < u->n_entries && i < MAX_SEEN; i++)
                        (void) snprintf(x->resync_names[i], 64, "%s",
                                        strempty(u->entries[i].key.name));
                if (x->side && x->n_resyncs == 1)
                        write_and_compact(x);
                return;
        }
        x->n_updates++;
        for (size_t i = 0; i < u->n_events && x->n_events < MAX_SEEN; i++) {
                const RegistryEvent *e = &u->events[i];
                size_t k = x->n_events++;

                x->types[k] = e->type;
                x->kinds[k] = e->entry.key.kind;
                x->had_prev[k] = e->prev != NULL;
                (void) snprintf(x->names[k], 64, "%s",
                                e->entry.key.name ? e->entry.key.name : e->entry.key.machine_id);
        }
}

typedef struct Until {
        Watcher *w;
        size_t events, resyncs;
} Until;

static bool until(void *userdata) {
        Until *u = userdata;
        return u->w->n_events >= u->events && u->w->n_resyncs >= u->resyncs;
}

static void wait_watcher(Watcher *w, size_t events, size_t resyncs) {
        Until u = {.w = w, .events = events, .resyncs = resyncs};

        ck_assert_int_eq(etcd_launcher_run_until(event, until, &u, 30 * SEC), 0);
}

static int64_t current_revision(void) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        EtcdRangeRequest q = {.key = "/", .count_only = true};

        ck_assert_int_eq(etcd_range_sync(client, &q, &resp), 0);
        return resp->revision;
}

START_TEST(test_watch_agent_style) {
        _cleanup_(registry_watch_freep) RegistryWatch *w = NULL;
        _cleanup_free_ Watcher *x = calloc(1, sizeof(Watcher));
        RegistryWatchOptions o = {.prev_kv = true};
        RegistryTarget t = {.hash = HASH1, .desired_state = JOB_STATE_LAUNCHED};
        RegistryLeader l = {.machine_id = (char *) "m9"};
        RegistryScheduleOp ops[] = {
                {.machine_id = "m1", .name = "a.service", .target = &t},
                {.machine_id = "m2", .name = "b.service", .target = &t},
                {.machine_id = "m1", .name = "c.service", .target = &t},
        };
        RegistryScheduleOp del = {.machine_id = "m1", .name = "a.service"};
        int64_t term;
        char *undecodable_key = NULL;

        /* From an explicit revision: no race with the stream being set up. */
        o.start_revision = current_revision() + 1;
        ck_assert_int_eq(registry_watch_new(reg, REGISTRY_KEY_SCHEDULE, "m1", &o, on_update, x, &w),
                         0);
        ck_assert_int_eq(registry_campaign_sync(reg, &l, 0, &term), 0);
        ck_assert_int_eq(registry_apply_schedule_sync(reg, term, ops, 3, NULL), 0);
        ck_assert_int_eq(registry_apply_schedule_sync(reg, term, &del, 1, NULL), 0);
        /* A value that does not decode is reported as a deletion. */
        ck_assert_int_eq(registry_key_schedule(registry_get_prefix(reg), "m1", "c.service",
                                               &undecodable_key),
                         0);
        EtcdPutRequest bad = {.key = undecodable_key, .value = "{broken"};
        ck_assert_int_eq(etcd_put_sync(client, &bad, NULL), 0);
        free(undecodable_key);
        wait_watcher(x, 4, 0);

        ck_assert_uint_eq(x->n_resyncs, 0);
        ck_assert_uint_eq(x->n_events, 4); /* m2's entry never shows up */
        ck_assert_int_eq(x->types[0], REGISTRY_EVENT_PUT);
        ck_assert_str_eq(x->names[0], "a.service");
        ck_assert_str_eq(x->names[1], "c.service");
        ck_assert_int_eq(x->types[2], REGISTRY_EVENT_DELETE);
        ck_assert_str_eq(x->names[2], "a.service");
        ck_assert(x->had_prev[2]);
        ck_assert_int_eq(x->types[3], REGISTRY_EVENT_DELETE);
        ck_assert_str_eq(x->names[3], "c.service");
        ck_assert_int_eq(x->kinds[3], REGISTRY_KEY_SCHEDULE);
}
END_TEST

/* The engine's watch: the whole prefix, listed first, re-listed after a compaction. */
START_TEST(test_watch_engine_resync) {
        _cleanup_(registry_watch_freep) RegistryWatch *w = NULL;
        _cleanup_free_ Watcher *x = calloc(1, sizeof(Watcher));
        RegistryJob a = job("a.service", HASH1, JOB_STATE_LAUNCHED, false);
        RegistryJob b = job("b.service", HASH2, JOB_STATE_LOADED, true);
        RegistryMachine m = {.id = (char *) "m1"};
        char foreign[128];
        int64_t lease = grant(2);

        ck_assert_int_eq(registry_create_job_sync(reg, &a, "a", NULL), 0);
        /* A key inside the prefix but outside the schema is skipped. */
        (void) snprintf(foreign, sizeof(foreign), "%sjunk/x/y/z", registry_get_prefix(reg));
        EtcdPutRequest junk = {.key = foreign, .value = "x"};
        ck_assert_int_eq(etcd_put_sync(client, &junk, NULL), 0);

        ck_assert_int_eq(
                registry_watch_new(reg, _REGISTRY_KEY_KIND_INVALID, NULL, NULL, on_update, x, &w),
                0);
        wait_watcher(x, 0, 1);
        ck_assert_uint_eq(x->last_resync_entries, 2); /* job + unit content */
        ck_assert_str_eq(x->resync_names[0], "a.service");
        ck_assert_int_eq(x->revision, current_revision());

        ck_assert_int_eq(registry_create_job_sync(reg, &b, "b", NULL), 0);
        wait_watcher(x, 3, 1); /* unit, job, global in one txn */
        ck_assert_str_eq(x->names[0], HASH2);
        ck_assert_str_eq(x->names[1], "b.service");
        ck_assert_int_eq(x->kinds[2], REGISTRY_KEY_GLOBAL);

        /* Machine presence expiring is seen as a deletion. */
        ck_assert_int_eq(registry_put_machine_sync(reg, &m, lease, NULL), 0);
        wait_watcher(x, 5, 1);
        ck_assert_int_eq(x->kinds[3], REGISTRY_KEY_MACHINE);
        ck_assert_int_eq(x->types[4], REGISTRY_EVENT_DELETE);
        ck_assert_str_eq(x->names[4], "m1");

        /* Restart in resync mode re-lists. */
        ck_assert_int_eq(registry_destroy_job_sync(reg, "a.service", NULL), 0);
        wait_watcher(x, 6, 1);
        ck_assert_int_eq(registry_watch_restart(w, 0), 0);
        wait_watcher(x, 6, 2);
        ck_assert_uint_eq(x->last_resync_entries, 4); /* 2 contents, job b, global b */
        ck_assert_uint_eq(x->n_errors, 0);
}
END_TEST

/* The revision after a listing gets compacted before the watch starts: the registry sees
 * -ERANGE, re-lists on its own and delivers a second resync that includes the change. */
START_TEST(test_watch_resync_after_compaction) {
        _cleanup_(registry_watch_freep) RegistryWatch *w = NULL;
        _cleanup_free_ Watcher *x = calloc(1, sizeof(Watcher));
        _cleanup_(sd_event_unrefp) sd_event *side_event = NULL;
        _cleanup_(etcd_client_freep) EtcdClient *side = NULL;
        _cleanup_free_ char *mkey = NULL;
        EtcdClientConfig cfg = {.endpoints = etcd_launcher_endpoints(etcd)};
        RegistryJob a = job("a.service", HASH1, JOB_STATE_LAUNCHED, false);

        ck_assert_int_eq(sd_event_new(&side_event), 0);
        ck_assert_int_eq(etcd_client_new(&side, side_event, &cfg), 0);
        ck_assert_int_eq(registry_key_machine(registry_get_prefix(reg), "m7", &mkey), 0);
        x->side = side;
        x->side_key = mkey;
        ck_assert_int_eq(registry_create_job_sync(reg, &a, "a", NULL), 0);
        ck_assert_int_eq(
                registry_watch_new(reg, _REGISTRY_KEY_KIND_INVALID, NULL, NULL, on_update, x, &w),
                0);
        wait_watcher(x, 0, 2);
        ck_assert_uint_eq(x->last_resync_entries, 3);
        /* Key order: job/ < machine/ < unit/. */
        ck_assert_str_eq(x->resync_names[0], "a.service");
        ck_assert_str_eq(x->resync_names[2], HASH1);
        ck_assert_uint_eq(x->n_errors, 0);
        ck_assert_uint_eq(x->n_events, 0);
}
END_TEST

/* A listing in pages (the engine's): each page handed over as it comes. */
typedef struct Paged {
        size_t n_pages, n_listings, n_complete, n_entries, n_events;
        bool in_listing, bad_order;
        int64_t revision;
        char last_job[64];
        EtcdClient *side; /* compacts after the first page of the first listing */
        const char *side_key;
} Paged;

static void on_paged(RegistryWatch *w, int error, const RegistryWatchUpdate *u, void *userdata) {
        Paged *x = userdata;

        ck_assert_int_ge(error, 0);
        if (!u->resync && !x->in_listing) {
                ck_assert(!u->more);
                x->n_events += u->n_events;
                return;
        }
        ck_assert_uint_eq(u->n_events, 0);
        if (u->resync) {
                x->n_listings++;
                x->n_entries = 0;
                x->last_job[0] = '\0';
                x->revision = u->revision;
                x->in_listing = true;
        }
        ck_assert_int_eq(u->revision, x->revision); /* every page at one revision */
        x->n_pages++;
        for (size_t i = 0; i < u->n_entries; i++) {
                const RegistryKey *k = &u->entries[i].key;

                if (k->kind != REGISTRY_KEY_JOB)
                        continue;
                x->bad_order = x->bad_order || strcmp(x->last_job, k->name) >= 0;
                (void) snprintf(x->last_job, sizeof(x->last_job), "%s", k->name);
        }
        x->n_entries += u->n_entries;
        if (!u->more) {
                x->n_complete++;
                x->in_listing = false;
        }
        if (x->side && x->n_listings == 1 && u->more) {
                Watcher wx = {.side = x->side, .side_key = x->side_key};

                write_and_compact(&wx);
                x->side = NULL;
        }
}

typedef struct PagedWait {
        size_t complete, events;
        Paged x;
} PagedWait;

static bool paged_until(void *userdata) {
        const PagedWait *pw = userdata;

        return pw->x.n_complete >= pw->complete && pw->x.n_events >= pw->events;
}

START_TEST(test_watch_paged_listing) {
        _cleanup_(registry_watch_freep) RegistryWatch *w = NULL;
        _cleanup_(sd_event_unrefp) sd_event *side_event = NULL;
        _cleanup_(etcd_client_freep) EtcdClient *side = NULL;
        _cleanup_free_ char *mkey = NULL;
        _cleanup_free_ PagedWait *pw = calloc(1, sizeof(PagedWait));
        EtcdClientConfig cfg = {.endpoints = etcd_launcher_endpoints(etcd)};
        RegistryWatchOptions o = {.resync = true, .page_size = 3};
        static const char *hashes[] = {HASH1, HASH2, HASH1, HASH2, HASH1, HASH2, HASH1};
        Paged *x = &pw->x;

        for (size_t i = 0; i < ELEMENTSOF(hashes); i++) {
                char name[32];
                RegistryJob j;

                (void) snprintf(name, sizeof(name), "p%zu.service", i);
                j = job(name, hashes[i], JOB_STATE_LAUNCHED, false);
                ck_assert_int_eq(registry_create_job_sync(reg, &j, "x", NULL), 0);
        }
        /* 7 jobs + 2 contents = 9 keys: pages of 3, then a last one (etcd cannot tell that
         * nothing follows the third). */
        ck_assert_int_eq(
                registry_watch_new(reg, _REGISTRY_KEY_KIND_INVALID, NULL, &o, on_paged, x, &w), 0);
        pw->complete = 1;
        ck_assert_int_eq(etcd_launcher_run_until(event, paged_until, pw, 30 * SEC), 0);
        ck_assert_uint_eq(x->n_listings, 1);
        ck_assert_uint_eq(x->n_entries, 9);
        ck_assert_uint_ge(x->n_pages, 3);
        ck_assert(!x->bad_order);
        ck_assert_int_eq(x->revision, current_revision());
        ck_assert_int_eq(registry_watch_get_revision(w), x->revision);

        /* Then events, as without pages. */
        RegistryJob b = job("b.service", HASH2, JOB_STATE_LOADED, false);
        ck_assert_int_eq(registry_create_job_sync(reg, &b, "x", NULL), 0);
        pw->events = 1;
        ck_assert_int_eq(etcd_launcher_run_until(event, paged_until, pw, 30 * SEC), 0);

        /* The snapshot revision compacted between two pages: the listing starts over with
         * a resync, and has the write made meanwhile. */
        w = registry_watch_free(w);
        ck_assert_int_eq(sd_event_new(&side_event), 0);
        ck_assert_int_eq(etcd_client_new(&side, side_event, &cfg), 0);
        ck_assert_int_eq(registry_key_machine(registry_get_prefix(reg), "m7", &mkey), 0);
        *x = (Paged){.side = side, .side_key = mkey};
        ck_assert_int_eq(
                registry_watch_new(reg, _REGISTRY_KEY_KIND_INVALID, NULL, &o, on_paged, x, &w), 0);
        pw->complete = 1;
        pw->events = 0;
        ck_assert_int_eq(etcd_launcher_run_until(event, paged_until, pw, 30 * SEC), 0);
        ck_assert_uint_eq(x->n_listings, 2);
        ck_assert_uint_eq(x->n_complete, 1);
        ck_assert_uint_eq(x->n_entries, 11); /* 8 jobs, 2 contents, machine m7 */
}
END_TEST

static bool got_error(void *userdata) {
        return ((Watcher *) userdata)->n_errors > 0;
}

/* Compaction while a non-resync watch lags: -ERANGE reaches the handler. */
START_TEST(test_watch_compacted_reported) {
        _cleanup_(registry_watch_freep) RegistryWatch *w = NULL;
        _cleanup_free_ Watcher *x = calloc(1, sizeof(Watcher));
        RegistryJob a = job("a.service", HASH1, JOB_STATE_LAUNCHED, false);
        int64_t rev;

        ck_assert_int_eq(registry_create_job_sync(reg, &a, "a", &rev), 0);
        a.desired_state = JOB_STATE_INACTIVE;
        ck_assert_int_eq(registry_update_job_sync(reg, &a, NULL, 0, NULL), 0);
        ck_assert_int_eq(etcd_compact_sync(client, current_revision(), true, NULL), 0);
        RegistryWatchOptions o = {.start_revision = rev};
        ck_assert_int_eq(registry_watch_new(reg, REGISTRY_KEY_JOB, NULL, &o, on_update, x, &w), 0);
        ck_assert_int_eq(etcd_launcher_run_until(event, got_error, x, 30 * SEC), 0);
        ck_assert_int_eq(x->error, -ERANGE);
        ck_assert_uint_eq(x->n_events, 0);
}
END_TEST

static Suite *registry_suite(void) {
        Suite *s = suite_create("registry");
        TCase *tc = tcase_create("registry");

        tcase_add_unchecked_fixture(tc, shared_setup, shared_teardown);
        tcase_add_checked_fixture(tc, registry_setup, registry_teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_jobs);
        tcase_add_test(tc, test_update_destroy);
        tcase_add_test(tc, test_create_race);
        tcase_add_test(tc, test_machines_metadata_states);
        tcase_add_test(tc, test_election_and_fencing);
        tcase_add_test(tc, test_watch_agent_style);
        tcase_add_test(tc, test_watch_engine_resync);
        tcase_add_test(tc, test_watch_resync_after_compaction);
        tcase_add_test(tc, test_watch_compacted_reported);
        tcase_add_test(tc, test_watch_paged_listing);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(registry_suite)
