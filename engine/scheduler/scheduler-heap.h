/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * MachineHeap: an indexed binary min-heap over a fixed set of machines (a "pool"), ordered by
 * (load, machine index). Loads live in an array owned by the caller; after changing a member's
 * load, call machine_heap_update() for its slot. Used by the scheduler to find the least-loaded
 * machine of a pool in O(1) and to walk the pool in load order, stopping at the first machine
 * that can run a unit. Pure, internal to the scheduler.
 */

#include <stddef.h>
#include <stdint.h>

typedef struct MachineHeap {
        uint32_t *members; /* machine index of each slot, ascending */
        uint64_t *heap;    /* keys (load << 32 | slot) in heap order */
        uint32_t *pos;     /* heap position of each slot */
        uint32_t n;
        const uint32_t *load; /* borrowed: load of each machine index */
} MachineHeap;

/* Build a heap over members[0..n) (ascending machine indices, copied) keyed by load (borrowed,
 * must outlive the heap). 0 or -ENOMEM. */
int machine_heap_init(MachineHeap *h, const uint32_t *members, uint32_t n, const uint32_t *load);
void machine_heap_done(MachineHeap *h);

/* Restore the heap order after the load of members[slot] changed. O(log n). */
void machine_heap_update(MachineHeap *h, uint32_t slot);
/* Restore the heap order after any number of loads changed. O(n). */
void machine_heap_rebuild(MachineHeap *h);

/* Walks a heap in (load, index) order without changing it: O(log k) per step for k steps.
 * The heap must not be updated during a walk. Zero-initialize, free with _done(). */
typedef struct MachineHeapIter {
        uint32_t *buf; /* auxiliary heap of heap positions */
        size_t n, allocated;
} MachineHeapIter;

/* Start (or restart) a walk at the least-loaded member. 0 or -ENOMEM. */
int machine_heap_iter_start(const MachineHeap *h, MachineHeapIter *it);
/* 1 and the next machine index in *ret; 0 when the pool is exhausted; -ENOMEM. */
int machine_heap_iter_next(const MachineHeap *h, MachineHeapIter *it, uint32_t *ret);
void machine_heap_iter_done(MachineHeapIter *it);
