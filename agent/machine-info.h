/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * This machine's identity as fleet sees it (reference 3.1, 3.2): the machine ID from
 * /etc/machine-id and the public IP of the default route. Synchronous reads of a few small
 * files under /etc and /proc, done once at startup.
 */

#include "macro.h"

#define MACHINE_ID_PATH "/etc/machine-id"

/*
 * Read the machine ID from path (NULL = MACHINE_ID_PATH), whitespace-trimmed. *ret is
 * malloc'd. -ENOENT if the file is missing or empty (fleet: "unable to determine local machine
 * ID"), -EINVAL if it is not usable as a registry key component, other negative errno.
 */
int machine_id_read(const char *path, char **ret);

/*
 * fleet's public IP auto-detection: the interface of the IPv4 default route (from
 * /proc/net/route), and its first IPv4 address that is global unicast (not loopback,
 * link-local, multicast, broadcast or unspecified). No traffic is sent. *ret is malloc'd; ""
 * when nothing is found (fleet then publishes an empty PublicIP). 0 or -ENOMEM.
 */
int machine_public_ip_detect(char **ret);

/*
 * The route-table half, pure for tests: given the text of /proc/net/route, the name of the
 * interface of the first up IPv4 default route (destination and mask 0), malloc'd in *ret.
 * -ENOENT if there is none, -ENOMEM.
 */
int machine_parse_default_route(const char *route_text, char **ret);
