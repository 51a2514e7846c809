/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "api-render.h"

void api_render_init(ApiRender *c, size_t max_bytes) {
        *c = (ApiRender){.max_bytes = max_bytes > 0 ? max_bytes : API_RENDER_MAX_BYTES};
}

static void drop(ApiRender *c, size_t i) {
        ApiRenderEntry *e = &c->entries[i];

        c->bytes -= e->len;
        free(e->key);
        free(e->body);
        *e = c->entries[--c->n];
        c->entries[c->n] = (ApiRenderEntry){};
}

void api_render_clear(ApiRender *c) {
        while (c->n > 0)
                drop(c, c->n - 1);
}

const char *api_render_get(ApiRender *c, const char *key, int64_t revision, size_t *ret_len) {
        for (size_t i = 0; i < c->n; i++) {
                ApiRenderEntry *e = &c->entries[i];

                if (e->revision == revision && streq(e->key, key)) {
                        e->used = ++c->clock;
                        c->hits++;
                        *ret_len = e->len;
                        return e->body;
                }
        }
        c->misses++;
        return NULL;
}

static void drop_lru(ApiRender *c) {
        size_t lru = 0;

        for (size_t i = 1; i < c->n; i++)
                if (c->entries[i].used < c->entries[lru].used)
                        lru = i;
        drop(c, lru);
}

int api_render_put(ApiRender *c, const char *key, int64_t revision, const char *body, size_t len) {
        ApiRenderEntry e = {.len = len, .revision = revision};

        /* stale entries first: another revision's bodies are never asked for again */
        for (size_t i = c->n; i > 0; i--)
                if (c->entries[i - 1].revision != revision)
                        drop(c, i - 1);
        if (len > c->max_bytes / 4)
                return 0;
        /* a racing render of the same key at the same revision made the same body */
        for (size_t i = 0; i < c->n; i++)
                if (streq(c->entries[i].key, key))
                        drop(c, i);
        while (c->n > 0 && (c->n >= API_RENDER_SLOTS || c->bytes + len > c->max_bytes))
                drop_lru(c);
        e.key = strdup(key);
        e.body = malloc(len + 1);
        if (!e.key || !e.body) {
                free(e.key);
                free(e.body);
                return -ENOMEM;
        }
        memcpy(e.body, body, len);
        e.body[len] = '\0';
        e.used = ++c->clock;
        c->entries[c->n++] = e;
        c->bytes += len;
        return 1;
}
