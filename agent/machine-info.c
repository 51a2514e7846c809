/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine-info.h"
#include "registry-json.h"

static int read_small_file(const char *path, char **ret) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t n;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        buf = malloc(64 * 1024);
        if (!buf)
                return -ENOMEM;
        n = fread(buf, 1, 64 * 1024 - 1, f);
        if (ferror(f))
                return -EIO;
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

int machine_id_read(const char *path, char **ret) {
        _cleanup_free_ char *text = NULL;
        char *start, *end, *id;
        int r;

        r = read_small_file(path ?: MACHINE_ID_PATH, &text);
        if (r < 0)
                return r;
        start = text;
        while (isspace((unsigned char) *start))
                start++;
        end = start + strlen(start);
        while (end > start && isspace((unsigned char) end[-1]))
                end--;
        if (end == start)
                return -ENOENT;
        id = strndup(start, end - start);
        if (!id)
                return -ENOMEM;
        if (!registry_component_is_valid(id)) {
                free(id);
                return -EINVAL;
        }
        *ret = id;
        return 0;
}

int machine_parse_default_route(const char *route_text, char **ret) {
        const char *line = route_text;

        /* The first line is the header; fields: Iface Destination Gateway Flags RefCnt Use
         * Metric Mask ... (hexadecimal, network byte order as printed by the kernel). */
        line = strchr(line, '\n');
        while (line && *++line) {
                char iface[64];
                unsigned long dest, gw, flags, refcnt, use, metric, mask;

                if (sscanf(line, "%63s %lx %lx %lx %lu %lu %lu %lx", iface, &dest, &gw, &flags,
                           &refcnt, &use, &metric, &mask) == 8 &&
                    dest == 0 && mask == 0 && (flags & RTF_UP)) {
                        char *s = strdup(iface);

                        if (!s)
                                return -ENOMEM;
                        *ret = s;
                        return 0;
                }
                line = strchr(line, '\n');
        }
        return -ENOENT;
}

/* Go's net.IP.IsGlobalUnicast for IPv4 (host byte order). */
static bool ipv4_is_global_unicast(uint32_t a) {
        if (a == 0 || a == 0xffffffffu)
                return false;
        if ((a >> 24) == 127) /* loopback */
                return false;
        if ((a >> 16) == 0xa9fe) /* 169.254/16 link-local */
                return false;
        if ((a >> 28) == 0xe) /* 224/4 multicast */
                return false;
        return true;
}

int machine_public_ip_detect(char **ret) {
        _cleanup_free_ char *routes = NULL, *iface = NULL;
        struct ifaddrs *ifa = NULL;
        char buf[INET_ADDRSTRLEN] = "";

        if (read_small_file("/proc/net/route", &routes) >= 0 &&
            machine_parse_default_route(routes, &iface) >= 0 && getifaddrs(&ifa) >= 0) {
                for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
                        const struct sockaddr_in *sin = (const struct sockaddr_in *) i->ifa_addr;

                        if (!sin || sin->sin_family != AF_INET || !streq(i->ifa_name, iface))
                                continue;
                        if (!ipv4_is_global_unicast(ntohl(sin->sin_addr.s_addr)))
                                continue;
                        if (inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)))
                                break;
                        buf[0] = '\0';
                }
                freeifaddrs(ifa);
        }
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}
