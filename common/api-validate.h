/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * PURE request decoding and validation of the HTTP API v1 (reference 9.5, 9.6, 9.8): content
 * type, page tokens and page slices, PUT /units bodies and the create/replace/update decision,
 * unit content (serialization, hash, submit-time validation), PATCH /machines operations.
 * Messages are fleet's, word for word; fleet-c's additions are marked. No I/O; unit-tested.
 *
 * Functions that reject input return -EINVAL and store a malloc'd message in *reterr_message
 * (if non-NULL); they return -ENOMEM on allocation failure.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api-json.h"
#include "job-state.h"
#include "macro.h"
#include "registry-json.h"
#include "unit-file.h"

#define API_DEFAULT_TOKEN_LIMIT 100

/* fleet's message for every request while etcd cannot be reached (HTTP 503). */
#define API_MESSAGE_UNAVAILABLE "fleet server unable to communicate with etcd"

/* Whether a registry error means etcd could not be reached (answered 503, not 500):
 * -ECONNREFUSED, -EHOSTUNREACH, -ENETUNREACH, -ETIMEDOUT, -ECONNRESET, -EAGAIN. */
bool api_error_is_unavailable(int error);

/*
 * PUT's Content-Type check (415): exactly one header (count), whose media type (before any
 * ';', whitespace-trimmed) is application/json. "expected 1 Content-Type, got N" or "only
 * acceptable Content-Type is application/json".
 */
int api_check_content_type(const char *value, unsigned count, char **reterr_message);

/*
 * The page requested by the nextPageToken query parameter (count = number of values; value
 * may be NULL when count is 0): page 1 without a token. Errors (400): "too many values for
 * page token", the token decoding error ("illegal base64 data at input byte N", "EOF",
 * "unexpected EOF"), "token limit must be <limit>", "token page must be greater than zero".
 */
int api_page_from_query(const char *value, unsigned count, uint16_t limit, uint16_t *ret_page,
                        char **reterr_message);

/*
 * Page page (1-based) of limit items out of total: items [*ret_start, *ret_start + *ret_n).
 * *ret_next is the next page's number when p*limit <= total (fleet includes a token even when
 * the last page is exactly full), else 0.
 */
void api_page_slice(size_t total, uint16_t limit, uint16_t page, size_t *ret_start, size_t *ret_n,
                    uint16_t *ret_next);

/*
 * Decode a PUT /units/<url_name> body (steps 2-4 of reference 9.6): "unable to decode body:
 * <err>" (Go's "EOF" for an empty body; fleet-c: a string holding a NUL is refused), a missing
 * name takes url_name, a different one is "name in URL \"a\" differs from unit name in request
 * body \"b\"", then unit_name_validate()'s message. fleet-c: a desiredState other than
 * inactive/loaded/launched is "invalid desiredState \"x\": must be inactive, loaded or
 * launched". *ret_desired is _JOB_STATE_INVALID when the body has no desiredState.
 */
int api_unit_body_decode(const char *body, size_t len, const char *url_name, ApiUnit *ret,
                         JobState *ret_desired, char **reterr_message);

/* True if a JSON text holds a \u0000 escape (checked before decoding: NULs never reach etcd). */
bool api_json_has_nul(const char *text, size_t len);

/* A unit's content as the registry stores it. */
typedef struct ApiUnitContent {
        UnitFile *file; /* the options, in order */
        char *text;     /* normalized serialization (reference 5.4) */
        char hash[UNIT_HASH_HEX_LEN + 1];
        bool global; /* [X-Fleet] Global= */
} ApiUnitContent;

void api_unit_content_done(ApiUnitContent *c);

/* Build the content of n options (section/name/value, strings never NULL). 0 or -ENOMEM. */
int api_unit_content_new(const UnitOption *options, size_t n, ApiUnitContent *ret);

/*
 * fleet's ValidateOptions (reference 6.7): the re-serialized options must parse, then
 * xfleet_validate()'s combinations. -EINVAL (or -EFBIG) with the message.
 */
int api_unit_content_validate(const ApiUnitContent *c, char **reterr_message);

/* "cannot activate template \"<name>\"" (400) if name is a template and desired is set and is
 * not inactive. */
int api_check_template(const char *name, JobState desired, char **reterr_message);

typedef enum ApiPutAction {
        API_PUT_FAIL,      /* *ret_status and the message say why */
        API_PUT_CREATE,    /* the unit does not exist: create it (validate first) */
        API_PUT_REPLACE,   /* it exists with other content: replace it (validate first) */
        API_PUT_SET_STATE, /* change its desiredState */
        _API_PUT_ACTION_MAX,
        _API_PUT_ACTION_INVALID = -EINVAL,
} ApiPutAction;

/*
 * Steps 6-9 of reference 9.6. existing_hash NULL: no such unit. new_hash NULL: the body has no
 * options. desired: _JOB_STATE_INVALID if the body has none. On API_PUT_FAIL *ret_status is 409
 * ("unit does not exist and options field empty", "must provide DesiredState to update
 * existing unit") or 400 (cannot activate template) and *ret_message is malloc'd. A negative
 * errno (-ENOMEM) on allocation failure.
 */
int api_put_decide(const char *name, const char *existing_hash, const char *new_hash,
                   JobState desired, unsigned *ret_status, char **ret_message);

/* The changes of PATCH /machines for one machine, in one txn: unique keys, last op wins,
 * "remove" as the empty value (fleet's tombstone, reference 4.4). */
typedef struct ApiMetadataPatch {
        char *machine_id;
        RegistryMetadata *changes;
        size_t n_changes;
} ApiMetadataPatch;

ApiMetadataPatch *api_metadata_patch_array_free(ApiMetadataPatch *p, size_t n);

/*
 * Decode and validate a PATCH /machines body (reference 9.8): the JSON decoding error as is
 * ("EOF" when empty), then per operation in order "invalid op: expect add, remove, or
 * replace", "machine metadata path invalid" (path ^/([^/]+)/metadata/([A-Za-z0-9_.-]+)$, and
 * fleet-c: both parts valid key components), "invalid value: add and replace require a
 * value". The operations grouped by machine in order of first appearance. *ret may be NULL
 * with *ret_n 0 (no operations).
 */
int api_metadata_patch_decode(const char *body, size_t len, ApiMetadataPatch **ret, size_t *ret_n,
                              char **reterr_message);

/* Whether s can be one etcd key component: non-empty, no '/', not "." or "..", no control
 * characters (registry-json.h's rule). */
bool api_key_component_is_valid(const char *s);
