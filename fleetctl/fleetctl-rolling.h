/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * fleetctl rolling-restart (fleet-c), pure half: which units the arguments name. No I/O.
 */

#include <stddef.h>

/*
 * Expand args against names (every unit in the registry): an argument with a glob character
 * ('*', '?', '[') matches every unit name but templates ("web@.service") by Go's path.Match; any
 * other argument names one unit. Both get fleet's default ".service" when they lack a unit type
 * ("web@*" is "web@*.service"). The result is sorted and unique. -ENOENT (a unit that does not
 * exist, a glob that matches nothing) and -EINVAL (a bad glob) with a message in
 * *reterr_message, -ENOMEM.
 */
int fleetctl_rolling_select(char *const *names, char *const *args, size_t n_args, char ***ret,
                            char **reterr_message);

/*
 * How many units a rolling update's list of updated copies names: "<name>" for a unit that is
 * not global, "<name>/<machineID>" for a global unit's copy on one machine (unit names never
 * hold a '/'), each unit counted once. No I/O.
 */
size_t fleetctl_rolling_count_units(char *const *done);
