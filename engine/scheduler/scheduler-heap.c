/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "scheduler-heap.h"

/*
 * Each heap entry is the key (load << 32 | slot). Slots are in machine-index order, so
 * comparing keys compares (load, machine index), with one integer comparison.
 */

static uint64_t slot_key(const MachineHeap *h, uint32_t slot) {
        return (uint64_t) h->load[h->members[slot]] << 32 | slot;
}

static void heap_set(MachineHeap *h, uint32_t p, uint64_t key) {
        h->heap[p] = key;
        h->pos[(uint32_t) key] = p;
}

static void sift_up(MachineHeap *h, uint32_t p) {
        uint64_t key = h->heap[p];

        while (p > 0) {
                uint32_t parent = (p - 1) / 2;

                if (key >= h->heap[parent])
                        break;
                heap_set(h, p, h->heap[parent]);
                p = parent;
        }
        heap_set(h, p, key);
}

static void sift_down(MachineHeap *h, uint32_t p) {
        uint64_t key = h->heap[p];

        for (;;) {
                uint32_t c = 2 * p + 1;

                if (c >= h->n)
                        break;
                if (c + 1 < h->n && h->heap[c + 1] < h->heap[c])
                        c++;
                if (h->heap[c] >= key)
                        break;
                heap_set(h, p, h->heap[c]);
                p = c;
        }
        heap_set(h, p, key);
}

int machine_heap_init(MachineHeap *h, const uint32_t *members, uint32_t n, const uint32_t *load) {
        assert(h);
        assert(load);
        *h = (MachineHeap){.n = n, .load = load};
        h->members = malloc(MAX(n, 1u) * sizeof(uint32_t));
        h->heap = malloc(MAX(n, 1u) * sizeof(uint64_t));
        h->pos = malloc(MAX(n, 1u) * sizeof(uint32_t));
        if (!h->members || !h->heap || !h->pos) {
                machine_heap_done(h);
                return -ENOMEM;
        }
        if (n > 0)
                memcpy(h->members, members, n * sizeof(uint32_t));
        machine_heap_rebuild(h);
        return 0;
}

void machine_heap_rebuild(MachineHeap *h) {
        assert(h);
        for (uint32_t i = 0; i < h->n; i++)
                heap_set(h, i, slot_key(h, i));
        for (uint32_t i = h->n / 2; i-- > 0;)
                sift_down(h, i);
}

void machine_heap_done(MachineHeap *h) {
        if (!h)
                return;
        free(h->members);
        free(h->heap);
        free(h->pos);
        *h = (MachineHeap){};
}

void machine_heap_update(MachineHeap *h, uint32_t slot) {
        uint32_t p;
        uint64_t key;

        assert(slot < h->n);
        p = h->pos[slot];
        key = slot_key(h, slot);
        if (key == h->heap[p])
                return;
        h->heap[p] = key;
        if (p > 0 && key < h->heap[(p - 1) / 2])
                sift_up(h, p);
        else
                sift_down(h, p);
}

/* The auxiliary heap holds positions of h->heap, ordered by the keys there. */
static int iter_push(const MachineHeap *h, MachineHeapIter *it, uint32_t p) {
        size_t i;

        if (it->n >= it->allocated) {
                size_t a = MAX(it->allocated * 2, (size_t) 64);
                uint32_t *b = reallocarray(it->buf, a, sizeof(uint32_t));

                if (!b)
                        return -ENOMEM;
                it->buf = b;
                it->allocated = a;
        }
        for (i = it->n++; i > 0; i = (i - 1) / 2) {
                if (h->heap[p] >= h->heap[it->buf[(i - 1) / 2]])
                        break;
                it->buf[i] = it->buf[(i - 1) / 2];
        }
        it->buf[i] = p;
        return 0;
}

static uint32_t iter_pop(const MachineHeap *h, MachineHeapIter *it) {
        uint32_t top = it->buf[0], last = it->buf[--it->n];
        size_t i = 0;

        for (;;) {
                size_t c = 2 * i + 1;

                if (c >= it->n)
                        break;
                if (c + 1 < it->n && h->heap[it->buf[c + 1]] < h->heap[it->buf[c]])
                        c++;
                if (h->heap[it->buf[c]] >= h->heap[last])
                        break;
                it->buf[i] = it->buf[c];
                i = c;
        }
        if (it->n > 0)
                it->buf[i] = last;
        return top;
}

int machine_heap_iter_start(const MachineHeap *h, MachineHeapIter *it) {
        assert(h);
        assert(it);
        it->n = 0;
        return h->n > 0 ? iter_push(h, it, 0) : 0;
}

int machine_heap_iter_next(const MachineHeap *h, MachineHeapIter *it, uint32_t *ret) {
        uint32_t p;
        int r;

        if (it->n == 0)
                return 0;
        p = iter_pop(h, it);
        for (uint32_t c = 2 * p + 1; c <= 2 * p + 2 && c < h->n; c++) {
                r = iter_push(h, it, c);
                if (r < 0)
                        return r;
        }
        *ret = h->members[(uint32_t) h->heap[p]];
        return 1;
}

void machine_heap_iter_done(MachineHeapIter *it) {
        if (!it)
                return;
        free(it->buf);
        *it = (MachineHeapIter){};
}
