/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * PURE cache of rendered read answers (the JSON bodies of GET /fleet/v1/units, /state,
 * /machines pages), keyed by what the request asked (route, page, filters: the caller's key
 * string) and the revision of the registry copy it was rendered from.
 *
 * The body of a read answered from the copy depends only on the copy's content, and that
 * content only on its revision (etcd's state at one revision is one state), so a body rendered
 * at revision R is exact for every later request that reads the copy at R. Entries of any
 * other revision are stale: the first put at a new revision drops them. Bounded by
 * API_RENDER_SLOTS entries and max_bytes of bodies (least recently used out first); a body
 * larger than a quarter of max_bytes is not kept. No I/O; unit-tested.
 */

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define API_RENDER_SLOTS 32
#define API_RENDER_MAX_BYTES (1024 * 1024)

typedef struct ApiRenderEntry {
        char *key;
        char *body;
        size_t len;
        int64_t revision;
        uint64_t used; /* the cache's clock at the last get or put */
} ApiRenderEntry;

typedef struct ApiRender {
        ApiRenderEntry entries[API_RENDER_SLOTS];
        size_t n;
        size_t bytes; /* sum of the kept bodies' lengths */
        size_t max_bytes;
        uint64_t clock;
        uint64_t hits, misses;
} ApiRender;

/* An empty cache holding at most max_bytes of bodies (0: API_RENDER_MAX_BYTES). */
void api_render_init(ApiRender *c, size_t max_bytes);
/* Drop every entry (the cache stays usable). */
void api_render_clear(ApiRender *c);

/* The body kept for key at revision (borrowed until the next put or clear; NUL-terminated)
 * and its length, or NULL. Counts a hit or a miss. */
const char *api_render_get(ApiRender *c, const char *key, int64_t revision, size_t *ret_len);

/*
 * Keep a copy of body (len bytes) for key at revision, dropping every entry of another
 * revision first. 1 if kept, 0 if not (too large), -ENOMEM (the cache is left valid).
 */
int api_render_put(ApiRender *c, const char *key, int64_t revision, const char *body, size_t len);
