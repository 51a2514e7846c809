/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Checks of the registry's key schema and value codecs: keys parse back to what builds them,
 * and every decoded value re-encodes to JSON that decodes to the same value. Included by
 * fuzz-checks.h.
 */

#include <errno.h>

#include "etcd-json.h"
#include "registry-json.h"

static const char *const fuzz_registry_prefixes[] = {REGISTRY_DEFAULT_PREFIX, "", "/p", "x/"};

static inline void fuzz_check_key(const char *prefix, const char *key) {
        _cleanup_free_ char *built = NULL, *dir = NULL;
        RegistryKey k;
        const char *sub = NULL;
        int r;

        fuzz_poison(&k, sizeof(k));
        r = registry_key_parse(prefix, key, &k);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
        if (r < 0) {
                FUZZ_CHECK(fuzz_is_poisoned(&k, sizeof(k)));
                return;
        }
        FUZZ_CHECK(registry_key_kind_to_string(k.kind));
        FUZZ_CHECK(registry_key_kind_from_string(registry_key_kind_to_string(k.kind)) == k.kind);
        if (k.kind == REGISTRY_KEY_UNIT)
                FUZZ_CHECK(registry_hash_is_valid(k.name));
        else if (k.name)
                FUZZ_CHECK(registry_component_is_valid(k.name));
        if (k.machine_id)
                FUZZ_CHECK(registry_component_is_valid(k.machine_id));
        /* Parse and build are inverse. */
        r = registry_key_build(prefix, &k, &built);
        FUZZ_CHECK(r == 0 || r == -ENOMEM);
        if (r == 0)
                FUZZ_CHECK(streq(built, key));
        /* The key lies in its directory, as listed and watched. */
        if (k.kind == REGISTRY_KEY_SCHEDULE || k.kind == REGISTRY_KEY_METADATA)
                sub = k.machine_id;
        else if (k.kind == REGISTRY_KEY_STATE)
                sub = k.name;
        r = registry_key_dir(prefix, k.kind, sub, &dir);
        FUZZ_CHECK(r == 0 || r == -ENOMEM);
        if (r == 0)
                FUZZ_CHECK(strneq(key, dir, strlen(dir)));
        registry_key_done(&k);
}

/* For each value type: decode; on success encode, decode again, encode again: the two
 * encodings are equal (a decoded value is always encodable). */
#define FUZZ_VALUE_ROUNDTRIP(type, from, to, done, text, size)                                     \
        do {                                                                                       \
                _cleanup_free_ char *_j1 = NULL, *_j2 = NULL;                                      \
                type _a, _b;                                                                       \
                int _r;                                                                            \
                                                                                                   \
                fuzz_poison(&_a, sizeof(_a));                                                      \
                _r = from(text, size, &_a);                                                        \
                FUZZ_CHECK(_r == 0 || _r == -EBADMSG || _r == -ENOMEM);                            \
                if (_r < 0) {                                                                      \
                        FUZZ_CHECK(fuzz_is_poisoned(&_a, sizeof(_a)));                             \
                        break;                                                                     \
                }                                                                                  \
                _r = to(&_a, &_j1);                                                                \
                FUZZ_CHECK(_r == 0 || _r == -ENOMEM);                                              \
                if (_r == 0) {                                                                     \
                        _r = from(_j1, strlen(_j1), &_b);                                          \
                        FUZZ_CHECK(_r == 0 || _r == -ENOMEM);                                      \
                        if (_r == 0) {                                                             \
                                FUZZ_CHECK(to(&_b, &_j2) != -EINVAL);                              \
                                FUZZ_CHECK(!_j2 || streq(_j1, _j2));                               \
                                done(&_b);                                                         \
                        }                                                                          \
                }                                                                                  \
                done(&_a);                                                                         \
        } while (0)

static inline void fuzz_noop_done(void *p) {
}

static inline void fuzz_check_machine(const RegistryMachine *m) {
        RegistryMachine copy;
        _cleanup_free_ char *j1 = NULL, *j2 = NULL;

        FUZZ_CHECK(m->id && m->public_ip && m->version);
        for (size_t i = 0; i < m->n_metadata; i++) {
                FUZZ_CHECK(*m->metadata[i].value);
                FUZZ_CHECK(i == 0 || strcmp(m->metadata[i - 1].key, m->metadata[i].key) < 0);
                FUZZ_CHECK(registry_machine_get_metadata(m, m->metadata[i].key) ==
                           m->metadata[i].value);
        }
        for (size_t i = 1; i < m->n_capabilities; i++)
                FUZZ_CHECK(strcmp(m->capabilities[i - 1].name, m->capabilities[i].name) <= 0);
        if (registry_machine_copy(m, &copy) < 0)
                return;
        if (registry_machine_to_json(m, &j1) == 0 && registry_machine_to_json(&copy, &j2) == 0)
                FUZZ_CHECK(streq(j1, j2));
        registry_machine_done(&copy);
}

static inline void fuzz_check_values(const char *text, size_t size) {
        RegistryMachine m;

        FUZZ_VALUE_ROUNDTRIP(RegistryJob, registry_job_from_json, registry_job_to_json,
                             registry_job_done, text, size);
        FUZZ_VALUE_ROUNDTRIP(RegistryTarget, registry_target_from_json, registry_target_to_json,
                             fuzz_noop_done, text, size);
        FUZZ_VALUE_ROUNDTRIP(RegistryMachine, registry_machine_from_json, registry_machine_to_json,
                             registry_machine_done, text, size);
        FUZZ_VALUE_ROUNDTRIP(RegistryUnitState, registry_unit_state_from_json,
                             registry_unit_state_to_json, registry_unit_state_done, text, size);
        FUZZ_VALUE_ROUNDTRIP(RegistryLeader, registry_leader_from_json, registry_leader_to_json,
                             registry_leader_done, text, size);
        if (registry_machine_from_json(text, size, &m) == 0) {
                fuzz_check_machine(&m);
                /* Overlaying every key with "" removes all metadata (fleet's tombstones). */
                while (m.n_metadata > 0) {
                        size_t before = m.n_metadata;
                        _cleanup_free_ char *k = strdup(m.metadata[before - 1].key);

                        if (!k || registry_machine_set_metadata(&m, k, "") < 0)
                                break;
                        FUZZ_CHECK(m.n_metadata == before - 1);
                        FUZZ_CHECK(!registry_machine_get_metadata(&m, k));
                }
                registry_machine_done(&m);
        }
}

static inline void fuzz_check_entry(const char *prefix, const char *key, FuzzSpan value,
                                    bool with_value) {
        _cleanup_free_ char *v = fuzz_strndup(value);
        EtcdKeyValue kv = {.key = (char *) key,
                           .value = v,
                           .value_size = value.len,
                           .create_revision = 1,
                           .mod_revision = 2,
                           .version = 1};
        RegistryEntry e;
        int r;

        fuzz_poison(&e, sizeof(e));
        r = registry_entry_decode(prefix, &kv, with_value, &e);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -EBADMSG || r == -ENOMEM);
        if (r < 0) {
                FUZZ_CHECK(fuzz_is_poisoned(&e, sizeof(e)));
                return;
        }
        FUZZ_CHECK(e.has_value == with_value && e.mod_revision == 2);
        if (with_value)
                switch (e.key.kind) {
                case REGISTRY_KEY_UNIT:
                        FUZZ_CHECK(streq(e.unit_text, v));
                        break;
                case REGISTRY_KEY_METADATA:
                        FUZZ_CHECK(streq(e.metadata_value, v));
                        break;
                case REGISTRY_KEY_MACHINE:
                        fuzz_check_machine(&e.machine);
                        break;
                case REGISTRY_KEY_STATE:
                        FUZZ_CHECK(streq(e.state.name, e.key.name));
                        FUZZ_CHECK(streq(e.state.machine_id, e.key.machine_id));
                        break;
                case REGISTRY_KEY_JOB:
                        FUZZ_CHECK(registry_component_is_valid(e.job.name));
                        FUZZ_CHECK(registry_hash_is_valid(e.job.hash));
                        break;
                default:
                        break;
                }
        registry_entry_done(&e);
}

/* Input: a flags byte (prefix, with_value), the key, "\n", the value. */
static inline void fuzz_check_registry(const uint8_t *data, size_t size) {
        _cleanup_free_ char *key = NULL;
        FuzzSpan head, value;
        const char *prefix;

        if (size == 0)
                return;
        prefix = fuzz_registry_prefixes[data[0] % ELEMENTSOF(fuzz_registry_prefixes)];
        fuzz_split((FuzzSpan){(const char *) data + 1, size - 1}, '\n', &head, &value);
        key = fuzz_strndup(head);
        fuzz_check_key(prefix, key);
        fuzz_check_entry(prefix, key, value, data[0] & 4);
        if (data[0] & 8)
                fuzz_check_values(value.p, value.len);
}
