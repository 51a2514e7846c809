/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * fleet's HTTP API v1 entities (reference 9.4) and their JSON form, both directions, shared by
 * fleetctl (client) and the API server. Pure: no I/O.
 *
 * Encoding matches Go's encoding/json on fleet's generated schema types byte for byte: compact,
 * fields in alphabetical order (the order of the generated structs), every empty field omitted
 * (omitempty), map keys sorted, strings escaped as Go does (<, >, & and U+2028/U+2029 as \uXXXX,
 * invalid UTF-8 as \ufffd). No trailing newline.
 *
 * Decoding follows Go's rules too: unknown keys are ignored, key matching is ASCII
 * case-insensitive, the last duplicate wins, null leaves a field empty, and a value of the
 * wrong type is an error worded like Go's ("json: cannot unmarshal number into Go value of
 * type string"). Decoded strings are never NULL for present fields; absent ones are NULL.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "unit-file.h"

typedef struct ApiUnit {
        char *name;
        UnitOption *options; /* section/name/value, in order; NULL when n_options == 0 */
        size_t n_options;
        char *desired_state; /* "inactive" | "loaded" | "launched", or NULL */
        char *current_state; /* read-only, same enum */
        char *machine_id;    /* read-only; target machine, non-global units only */
        char *reason;        /* read-only, fleet-c: why it is not placed or not running (the
                              * "reason" field, omitted when empty; fleet's clients ignore it) */
} ApiUnit;

typedef struct ApiUnitState {
        char *name;
        char *hash; /* 40 hex */
        char *machine_id;
        char *systemd_load_state;
        char *systemd_active_state;
        char *systemd_sub_state;
} ApiUnitState;

typedef struct ApiMachine {
        char *id;
        char *primary_ip;
        char **metadata; /* strv of alternating key, value; sorted by key; NULL if none */
} ApiMachine;

/* One metadata operation of PATCH /machines (reference 9.8). value is the inner
 * {"value": ...} string, NULL if absent. */
typedef struct ApiMetadataOp {
        char *op;
        char *path;
        char *value;
} ApiMetadataOp;

/* Release the members (not the struct itself); safe on zeroed or half-filled structs. */
void api_unit_done(ApiUnit *u);
void api_unit_state_done(ApiUnitState *s);
void api_machine_done(ApiMachine *m);
void api_metadata_op_done(ApiMetadataOp *o);

/* Free an array of n entities and their members; NULL is fine. Return NULL. */
ApiUnit *api_unit_array_free(ApiUnit *a, size_t n);
ApiUnitState *api_unit_state_array_free(ApiUnitState *a, size_t n);
ApiMachine *api_machine_array_free(ApiMachine *a, size_t n);
ApiMetadataOp *api_metadata_op_array_free(ApiMetadataOp *a, size_t n);

/* Deep copy of u into *ret (which is overwritten). 0 or -ENOMEM (*ret untouched then). */
int api_unit_copy(const ApiUnit *u, ApiUnit *ret);

/* Append a copy of one option. 0 or -ENOMEM. */
int api_unit_add_option(ApiUnit *u, const char *section, const char *name, const char *value);

/* Metadata value for key, or NULL. */
const char *api_machine_metadata_get(const ApiMachine *m, const char *key);

/*
 * Encoders. *ret is a malloc'd NUL-terminated JSON text. 0 or -ENOMEM.
 * Pages: an empty list and a NULL token give "{}".
 */
int api_unit_format(const ApiUnit *u, char **ret);
int api_unit_state_format(const ApiUnitState *s, char **ret);
int api_machine_format(const ApiMachine *m, char **ret);
int api_unit_page_format(const ApiUnit *units, size_t n, const char *next_page_token, char **ret);
int api_unit_state_page_format(const ApiUnitState *states, size_t n, const char *next_page_token,
                               char **ret);
int api_machine_page_format(const ApiMachine *machines, size_t n, const char *next_page_token,
                            char **ret);
/* {"error":{"code":N,"message":"..."}}; message is always present (NULL means ""). */
int api_error_format(int code, const char *message, char **ret);

/*
 * Decoders. text is len bytes (need not be NUL-terminated). On success the entity or page is
 * written to the ret_* out-params (arrays are malloc'd; free with *_array_free); a missing
 * nextPageToken gives NULL. On malformed input -EINVAL and, if reterr_message is non-NULL, a
 * malloc'd message. -ENOMEM on allocation failure.
 */
int api_unit_parse(const char *text, size_t len, ApiUnit *ret, char **reterr_message);
int api_unit_state_parse(const char *text, size_t len, ApiUnitState *ret, char **reterr_message);
int api_machine_parse(const char *text, size_t len, ApiMachine *ret, char **reterr_message);
int api_unit_page_parse(const char *text, size_t len, ApiUnit **ret_units, size_t *ret_n,
                        char **ret_next_page_token, char **reterr_message);
int api_unit_state_page_parse(const char *text, size_t len, ApiUnitState **ret_states,
                              size_t *ret_n, char **ret_next_page_token, char **reterr_message);
int api_machine_page_parse(const char *text, size_t len, ApiMachine **ret_machines, size_t *ret_n,
                           char **ret_next_page_token, char **reterr_message);
/* The PATCH /machines body: a JSON array of operations (null gives an empty list). */
int api_metadata_ops_parse(const char *text, size_t len, ApiMetadataOp **ret_ops, size_t *ret_n,
                           char **reterr_message);
/* An error body. *ret_message is "" when the body has no message. -EINVAL if the text is not
 * an error body. */
int api_error_parse(const char *text, size_t len, int *ret_code, char **ret_message);

/*
 * Page tokens (reference 9.5): URL-safe base64 with padding of 4 bytes, uint16 LE limit then
 * uint16 LE page. ret must hold 9 bytes. Parsing checks only the encoding ("illegal base64
 * data at input byte N", wrong length); the server checks limit and page itself.
 */
#define API_PAGE_TOKEN_LEN 8
void api_page_token_format(uint16_t limit, uint16_t page, char ret[static API_PAGE_TOKEN_LEN + 1]);
int api_page_token_parse(const char *token, uint16_t *ret_limit, uint16_t *ret_page,
                         char **reterr_message);
