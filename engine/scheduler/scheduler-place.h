/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Phase 2 of a scheduling pass (internal to engine/scheduler*.c): place every unscheduled job
 * that is neither inactive nor global on the least-loaded machine able to run it. Jobs go in
 * name order, a MachineOf follower after its leaders; the candidates come from the narrowest
 * index that applies (MachineID, a leader's machine, a global leader's machines, the
 * MachineMetadata pool, or every machine), walked in (load, ID) order up to the first machine
 * that passes every check. Replaces evicts; an eviction retries the jobs that found no machine.
 * Jobs caught in a MachineOf cycle get a reason naming it. Pure.
 */

#include "scheduler-pass.h"

/* 0 or -ENOMEM. */
int pass_place_all(Pass *p);
