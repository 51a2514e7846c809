/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * [X-Fleet] options (reference section 6): parsing with every deprecated alias, multi-value
 * quoting, specifiers (%n %N %p %i), Global truthiness, Conflicts whitespace split, submit-time
 * validation with fleet's exact messages, and MachineMetadata requirements. Pure.
 *
 * fleet-c extension: a MachineMetadata value "key!=value" forbids that value (a machine
 * without the key satisfies it). It is split like any value, on '=': "region!=us" gives the
 * key "region!", and the trailing '!' makes it key "region", forbidden "us" (fleet v1.0.0
 * itself requires the key "region!", which no machine has).
 */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "unit-file.h"

/* One MachineMetadata key. allowed and forbidden are deduplicated, in file order. */
typedef struct MetadataReq {
        char *key;
        char **allowed;   /* strv, ORed; NULL/empty = no positive requirement on this key */
        char **forbidden; /* strv from "key!=value"; the machine's value must be none of them */
} MetadataReq;

/*
 * Every list holds the values of a key and its deprecated aliases in file order, after the
 * multi-value split and (with a unit name) specifier substitution. All strvs may be NULL.
 */
typedef struct XFleet {
        char *machine_id;      /* first value of MachineID, else X-ConditionMachineID, else
                                * X-ConditionMachineBootID; NULL if none. As in fleet, an
                                * empty "MachineID=" gives "" (a target no machine has) */
        char **peers;          /* MachineOf + X-ConditionMachineOf, in file order */
        char **conflicts;      /* Conflicts + X-Conflicts patterns, whitespace-split */
        char **replaces;       /* Replaces patterns (not split) */
        MetadataReq *metadata; /* sorted by key, one entry per key */
        size_t n_metadata;
        bool global;    /* last Global value in {true,yes,1,on,t}, case-insensitive */
        char **unknown; /* unrecognized keys in [X-Fleet], deduplicated, file order */
} XFleet;

/*
 * Extract the [X-Fleet] options of u. unit_name (may be NULL) enables specifier substitution
 * (none when NULL or without '.'). 0 or -ENOMEM. Malformed MachineMetadata values are ignored
 * as in fleet.
 */
int xfleet_parse(const UnitFile *u, const char *unit_name, XFleet **ret);
XFleet *xfleet_free(XFleet *x);
DEFINE_CLEANUP(XFleet *, xfleet_free);

/*
 * fleet's submit-time validation (reference 6.7, steps 2 and 3), on options parsed without a
 * unit name. 0 if acceptable; -EINVAL with a malloc'd message in fleet's words otherwise.
 */
int xfleet_validate(const XFleet *x, char **reterr_message);

/* Look up a machine's (merged) metadata value for key; NULL if the machine lacks the key. */
typedef const char *(*MetadataLookup)(const char *key, void *userdata);

/* True if a machine (described by lookup) satisfies every metadata requirement of x. */
bool xfleet_metadata_match(const XFleet *x, MetadataLookup lookup, void *userdata);

/* Conflicts are symmetric (6.4): true if a's patterns match b_name or b's patterns match
 * a_name, and the names differ. b may be NULL (then only a's patterns are used). */
bool xfleet_conflicts(const char *a_name, const XFleet *a, const char *b_name, const XFleet *b);

/* Replaces relation (6.6): 1 if a replaces b (a's patterns match b, b's don't match a),
 * -1 if b replaces a, 0 if neither or both. */
int xfleet_replaces(const char *a_name, const XFleet *a, const char *b_name, const XFleet *b);

/* Parse fleet's "k=v,k2=v2" metadata option (reference 2.5) into a strv of alternating
 * key, value (later duplicates win, sorted by key). As in fleet, pieces without '=' are
 * skipped and an empty key or value is kept. s may be NULL. *ret is never NULL on success
 * (an empty vector for no pairs). 0 or -ENOMEM. */
int metadata_parse_config(const char *s, char ***ret);
