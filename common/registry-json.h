/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * PURE half of the registry: the etcd key schema of DESIGN.md section 3 (build and parse keys)
 * and the JSON values stored under them. No curl, no sd-event; unit-tested.
 *
 *   <P>unit/<sha1>                   normalized unit text (raw, not JSON)
 *   <P>job/<name>                    {"name","hash","desiredState","global"}
 *   <P>global/<name>                 {"hash","desiredState"}
 *   <P>schedule/<machineID>/<name>   {"hash","desiredState"}
 *   <P>machine/<machineID>           {"ID","PublicIP","Metadata","Capabilities","Version"}
 *   <P>metadata/<machineID>/<key>    raw value ("" = removes the key from the merged view)
 *   <P>state/<name>/<machineID>      {"loadState","activeState","subState","unitHash","fleetState"}
 *   <P>engine/leader                 {"MachineID","Version"}
 *   <P>reason/<name>                 {"reason","jobRevision"} (fleet-c: why a unit is not placed)
 *   <P>cordon/<machineID>            {"draining"} (fleet-c: no new units there; draining: move all)
 *   <P>pin/<machineID>/<name>        {"hash"} (fleet-c: this machine keeps this content of global
 *                                    unit <name> during a rolling update)
 *
 * <P> is etcd_key_prefix (REGISTRY_DEFAULT_PREFIX); it should end in '/', and one is added if
 * it does not. Unit names, machine IDs and metadata keys are key components: non-empty, no
 * '/', not "." or "..", no control characters; a unit hash is 40 lowercase hex digits.
 *
 * Decoders return -EBADMSG for malformed JSON, missing required fields or fields of the wrong
 * type (an unknown desiredState/fleetState included), write ret only on success, and ignore
 * unknown fields. States are job-state.h's JobState.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd-json.h"
#include "job-state.h"
#include "macro.h"

#define REGISTRY_DEFAULT_PREFIX "/_coreos.com/fleet/"
#define REGISTRY_HASH_LEN 40

typedef enum RegistryKeyKind {
        REGISTRY_KEY_UNIT,          /* unit/<hash>: name = hash */
        REGISTRY_KEY_JOB,           /* job/<name>: name */
        REGISTRY_KEY_GLOBAL,        /* global/<name>: name */
        REGISTRY_KEY_SCHEDULE,      /* schedule/<machine>/<name>: machine_id, name */
        REGISTRY_KEY_MACHINE,       /* machine/<machine>: machine_id */
        REGISTRY_KEY_METADATA,      /* metadata/<machine>/<key>: machine_id, name = key */
        REGISTRY_KEY_STATE,         /* state/<name>/<machine>: name, machine_id */
        REGISTRY_KEY_ENGINE_LEADER, /* engine/leader: no parts */
        REGISTRY_KEY_REASON,        /* reason/<name>: name (fleet-c) */
        REGISTRY_KEY_CORDON,        /* cordon/<machine>: machine_id (fleet-c) */
        REGISTRY_KEY_PIN,           /* pin/<machine>/<name>: machine_id, name (fleet-c) */
        _REGISTRY_KEY_KIND_MAX,
        _REGISTRY_KEY_KIND_INVALID = -EINVAL,
} RegistryKeyKind;

/* "unit", "job", "global", "schedule", "machine", "metadata", "state", "engine", "reason",
 * "cordon", "pin" (the key's directory name). */
const char *registry_key_kind_to_string(RegistryKeyKind k);
RegistryKeyKind registry_key_kind_from_string(const char *s);

/* A parsed key. Unused parts are NULL. */
typedef struct RegistryKey {
        RegistryKeyKind kind;
        char *name;       /* unit name, unit hash (UNIT) or metadata key (METADATA) */
        char *machine_id; /* SCHEDULE, MACHINE, METADATA, STATE */
} RegistryKey;

void registry_key_done(RegistryKey *k);

/* Whether s is acceptable as one key component / as a unit hash. */
bool registry_component_is_valid(const char *s);
bool registry_hash_is_valid(const char *s);

/*
 * Build the key of kind with its parts (as in RegistryKey; unused ones must be NULL, used ones
 * valid). Malloc'd in *ret. 0, -EINVAL (bad part or prefix NULL), -ENOMEM.
 */
int registry_key_build(const char *prefix, const RegistryKey *k, char **ret);

/* Shorthands for registry_key_build(). */
int registry_key_unit(const char *prefix, const char *hash, char **ret);
int registry_key_job(const char *prefix, const char *name, char **ret);
int registry_key_global(const char *prefix, const char *name, char **ret);
int registry_key_schedule(const char *prefix, const char *machine_id, const char *name, char **ret);
int registry_key_machine(const char *prefix, const char *machine_id, char **ret);
int registry_key_metadata(const char *prefix, const char *machine_id, const char *key, char **ret);
int registry_key_state(const char *prefix, const char *name, const char *machine_id, char **ret);
int registry_key_engine_leader(const char *prefix, char **ret);
int registry_key_reason(const char *prefix, const char *name, char **ret);
int registry_key_cordon(const char *prefix, const char *machine_id, char **ret);
int registry_key_pin(const char *prefix, const char *machine_id, const char *name, char **ret);

/*
 * A directory prefix for range/watch: "<P><kind>/" or, with sub (may be NULL),
 * "<P><kind>/<sub>/" (SCHEDULE and METADATA: sub = machine ID; STATE: sub = unit name).
 * kind < 0 (_REGISTRY_KEY_KIND_INVALID) gives the whole "<P>". 0, -EINVAL, -ENOMEM.
 */
int registry_key_dir(const char *prefix, RegistryKeyKind kind, const char *sub, char **ret);

/*
 * Parse a full etcd key back. 0 and *ret filled; -EINVAL if the key is not under prefix, has
 * an unknown kind, the wrong number of parts, or an invalid part; -ENOMEM.
 */
int registry_key_parse(const char *prefix, const char *key, RegistryKey *ret);

/* ---- values ------------------------------------------------------------------------------ */

/* job/<name> */
typedef struct RegistryJob {
        char *name;
        char hash[REGISTRY_HASH_LEN + 1];
        JobState desired_state;
        bool global;
} RegistryJob;

void registry_job_done(RegistryJob *j);
int registry_job_copy(const RegistryJob *src, RegistryJob *ret);
/* Malloc'd compact JSON. -EINVAL for an invalid name/hash/state. */
int registry_job_to_json(const RegistryJob *j, char **ret);
/* "global" may be omitted (false). */
int registry_job_from_json(const char *text, size_t size, RegistryJob *ret);

/* global/<name> and schedule/<machine>/<name>: which content and in which state. */
typedef struct RegistryTarget {
        char hash[REGISTRY_HASH_LEN + 1];
        JobState desired_state;
} RegistryTarget;

int registry_target_to_json(const RegistryTarget *t, char **ret);
int registry_target_from_json(const char *text, size_t size, RegistryTarget *ret);

typedef struct RegistryMetadata {
        char *key;
        char *value;
} RegistryMetadata;

typedef struct RegistryCapability {
        char *name;
        bool enabled;
} RegistryCapability;

/* machine/<id> */
typedef struct RegistryMachine {
        char *id;
        char *public_ip;            /* "" when unknown, never NULL once decoded */
        RegistryMetadata *metadata; /* sorted by key, unique keys */
        size_t n_metadata;
        RegistryCapability *capabilities; /* sorted by name */
        size_t n_capabilities;
        char *version; /* fleetd version, "" when unknown */
} RegistryMachine;

void registry_machine_done(RegistryMachine *m);
int registry_machine_copy(const RegistryMachine *src, RegistryMachine *ret);
/* Metadata {} and Capabilities {} when empty. */
int registry_machine_to_json(const RegistryMachine *m, char **ret);
/* ID required; Metadata/Capabilities may be null or omitted. Non-string metadata -> -EBADMSG. */
int registry_machine_from_json(const char *text, size_t size, RegistryMachine *ret);

/* Value of metadata key in m (borrowed) or NULL. */
const char *registry_machine_get_metadata(const RegistryMachine *m, const char *key);
/* Set (value non-NULL and non-empty) or remove (NULL or "") one key, keeping the order. */
int registry_machine_set_metadata(RegistryMachine *m, const char *key, const char *value);
/*
 * Overlay dynamic metadata (metadata/<id>/<key> entries of this machine, in any order):
 * a non-empty value sets or overrides, an empty one removes (fleet's merge, reference 4.4).
 */
int registry_machine_merge_metadata(RegistryMachine *m, const RegistryMetadata *overlay, size_t n);

/* state/<name>/<machine> */
typedef struct RegistryUnitState {
        char *name;       /* from the key, not stored in the value */
        char *machine_id; /* from the key, not stored in the value */
        char *load_state;
        char *active_state;
        char *sub_state;
        char unit_hash[REGISTRY_HASH_LEN + 1];
        JobState fleet_state; /* LOADED or LAUNCHED (fleet API currentState) */
} RegistryUnitState;

void registry_unit_state_done(RegistryUnitState *s);
int registry_unit_state_copy(const RegistryUnitState *src, RegistryUnitState *ret);
/* name and machine_id are not encoded. */
int registry_unit_state_to_json(const RegistryUnitState *s, char **ret);
/* name and machine_id are left NULL (take them from the key). */
int registry_unit_state_from_json(const char *text, size_t size, RegistryUnitState *ret);

/* engine/leader */
typedef struct RegistryLeader {
        char *machine_id;
        char *version; /* a number written by fleet is decoded as its decimal text */
} RegistryLeader;

void registry_leader_done(RegistryLeader *l);
int registry_leader_to_json(const RegistryLeader *l, char **ret);
int registry_leader_from_json(const char *text, size_t size, RegistryLeader *ret);

/*
 * reason/<name> (fleet-c): why the leader engine cannot place the unit, written in its fenced
 * schedule txns and deleted once the unit is placed, inactive or gone. It describes the version
 * of job/<name> whose mod_revision is job_revision: a reason with another job_revision is
 * stale (the job changed since) and must not be shown.
 */
typedef struct RegistryReason {
        char *reason; /* never NULL once decoded */
        int64_t job_revision;
} RegistryReason;

void registry_reason_done(RegistryReason *r);
/* {"jobRevision":N,"reason":"..."}. -EINVAL for a NULL reason or job_revision <= 0. */
int registry_reason_to_json(const RegistryReason *r, char **ret);
/* Both fields required; jobRevision a positive integer. */
int registry_reason_from_json(const char *text, size_t size, RegistryReason *ret);

/*
 * cordon/<machineID> (fleet-c): the machine takes no new units; draining: its non-global units
 * move away too, each stopped there before it starts elsewhere. Written by the API, no lease.
 */
typedef struct RegistryCordon {
        bool draining;
} RegistryCordon;

/* {"draining":true|false} */
int registry_cordon_to_json(const RegistryCordon *c, char **ret);
/* "draining" may be omitted (false); another type is -EBADMSG. */
int registry_cordon_from_json(const char *text, size_t size, RegistryCordon *ret);

/*
 * pin/<machineID>/<name> (fleet-c): during a rolling update of global unit <name>, the machine
 * keeps running the content hash instead of global/<name>'s. Written by the API, no lease.
 */
typedef struct RegistryPin {
        char hash[REGISTRY_HASH_LEN + 1];
} RegistryPin;

/* {"hash":"<sha1>"}; an invalid hash is -EINVAL. */
int registry_pin_to_json(const RegistryPin *p, char **ret);
/* "hash" required, 40 lowercase hex digits; otherwise -EBADMSG. */
int registry_pin_from_json(const char *text, size_t size, RegistryPin *ret);

/*
 * One decoded key-value: parsed key, etcd metadata and the typed value of its kind.
 * For a DELETE watch event only key and mod_revision are meaningful (has_value false).
 */
typedef struct RegistryEntry {
        RegistryKey key;
        int64_t create_revision;
        int64_t mod_revision;
        int64_t version;
        int64_t lease;
        bool has_value;
        union {
                char *unit_text;         /* UNIT */
                RegistryJob job;         /* JOB */
                RegistryTarget target;   /* GLOBAL, SCHEDULE */
                RegistryMachine machine; /* MACHINE (metadata not merged) */
                char *metadata_value;    /* METADATA */
                RegistryUnitState state; /* STATE (name, machine_id filled from the key) */
                RegistryLeader leader;   /* ENGINE_LEADER */
                RegistryReason reason;   /* REASON */
                RegistryCordon cordon;   /* CORDON */
                RegistryPin pin;         /* PIN */
        };
} RegistryEntry;

void registry_entry_done(RegistryEntry *e);
RegistryEntry *registry_entry_array_free(RegistryEntry *e, size_t n);

/*
 * Decode an etcd key-value (key, value, revisions, lease) into *ret. with_value false: only the
 * key and revisions (keys-only listings, DELETE events). -EINVAL: key outside the schema;
 * -EBADMSG: value does not decode for its kind; -ENOMEM.
 */
int registry_entry_decode(const char *prefix, const EtcdKeyValue *kv, bool with_value,
                          RegistryEntry *ret);
