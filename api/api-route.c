/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "api-route.h"
#include "quorum.h"

/* The rest of s after prefix, or NULL if s does not start with it. */
static const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);

        return strneq(s, prefix, l) ? s + l : NULL;
}

void api_route_match_done(ApiRouteMatch *m) {
        if (!m)
                return;
        free(m->item);
        free(m->location);
        *m = (ApiRouteMatch){};
}

int api_clean_path(const char *p, char **ret) {
        size_t len = strlen(p), n = 0;
        bool trailing = len > 0 && p[len - 1] == '/';
        char *out;

        /* Rooted Clean: the output never grows beyond "/" + input + "/". */
        out = malloc(len + 3);
        if (!out)
                return -ENOMEM;
        out[n++] = '/';
        for (const char *s = p; *s;) {
                size_t l;

                while (*s == '/')
                        s++;
                l = strcspn(s, "/");
                if (l == 0)
                        break;
                if (l == 1 && s[0] == '.') {
                        /* drop "." */
                } else if (l == 2 && s[0] == '.' && s[1] == '.') {
                        /* back up to the previous element; ".." at the root is dropped */
                        while (n > 1 && out[n - 1] != '/')
                                n--;
                        if (n > 1)
                                n--;
                } else {
                        if (n > 1)
                                out[n++] = '/';
                        memcpy(out + n, s, l);
                        n += l;
                }
                s += l;
        }
        if (trailing && n > 1)
                out[n++] = '/';
        out[n] = '\0';
        *ret = out;
        return 0;
}

int api_escape_path(const char *p, char **ret) {
        static const char hex[] = "0123456789ABCDEF";
        char *out = malloc(strlen(p) * 3 + 1), *o;

        if (!out)
                return -ENOMEM;
        o = out;
        for (const unsigned char *s = (const unsigned char *) p; *s; s++) {
                if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                    (*s >= '0' && *s <= '9') || strchr("-_.~$&+,/:;=@", *s))
                        *o++ = (char) *s;
                else {
                        *o++ = '%';
                        *o++ = hex[*s >> 4];
                        *o++ = hex[*s & 15];
                }
        }
        *o = '\0';
        *ret = out;
        return 0;
}

int api_redirect_body(const char *location, char **ret) {
        static const char *const esc[256] = {
                ['&'] = "&amp;", ['\''] = "&#39;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&#34;",
        };
        char *b = malloc(strlen(location) * 5 + 64), *o;

        if (!b)
                return -ENOMEM;
        o = stpcpy(b, "<a href=\"");
        for (const unsigned char *p = (const unsigned char *) location; *p; p++)
                if (esc[*p])
                        o = stpcpy(o, esc[*p]);
                else
                        *o++ = (char) *p;
        strcpy(o, "\">Moved Permanently</a>.\n\n");
        *ret = b;
        return 0;
}

static int route_error(ApiRouteMatch *ret, unsigned status, const char *message) {
        *ret = (ApiRouteMatch){.route = API_ROUTE_ERROR, .status = status, .message = message};
        return 0;
}

static int route_item(ApiRouteMatch *ret, ApiRoute route, const char *item) {
        char *s = strdup(item);

        if (!s)
                return -ENOMEM;
        *ret = (ApiRouteMatch){.route = route, .item = s};
        return 0;
}

/* The resources below one prefix; rest is the path after the prefix ("" or "/..."). */
static int route_resource(const char *method, const char *rest, ApiRouteMatch *ret) {
        const char *item;
        bool get = streq(method, "GET");

        if (rest[0] == '\0')
                return route_error(ret, 405, NULL);
        if (streq(rest, "/discovery")) {
                if (!get)
                        return route_error(ret, 400,
                                           "only HTTP GET supported against this resource");
                *ret = (ApiRouteMatch){.route = API_ROUTE_DISCOVERY};
                return 0;
        }
        if (streq(rest, "/machines")) {
                if (get)
                        *ret = (ApiRouteMatch){.route = API_ROUTE_MACHINES_LIST};
                else if (streq(method, "PATCH"))
                        *ret = (ApiRouteMatch){.route = API_ROUTE_MACHINES_PATCH};
                else
                        return route_error(ret, 405,
                                           "only GET and PATCH supported against this resource");
                return 0;
        }
        if (streq(rest, "/units") || streq(rest, "/state")) {
                if (!get)
                        return route_error(ret, 405, "only GET supported against this resource");
                *ret = (ApiRouteMatch){.route = rest[1] == 'u' ? API_ROUTE_UNITS_LIST
                                                               : API_ROUTE_STATES_LIST};
                return 0;
        }
        /* Item paths: exactly one non-empty element after the collection (isItemPath). */
        if (startswith(rest, "/units/")) {
                item = rest + strlen("/units/");
                if (item[0] == '\0' || strchr(item, '/'))
                        return route_error(ret, 404, NULL);
                if (get)
                        return route_item(ret, API_ROUTE_UNIT_GET, item);
                if (streq(method, "PUT"))
                        return route_item(ret, API_ROUTE_UNIT_PUT, item);
                if (streq(method, "DELETE"))
                        return route_item(ret, API_ROUTE_UNIT_DELETE, item);
                return route_error(ret, 405,
                                   "only GET, PUT and DELETE supported against this resource");
        }
        if (startswith(rest, "/state/")) {
                item = rest + strlen("/state/");
                if (item[0] == '\0' || strchr(item, '/'))
                        return route_error(ret, 404, NULL);
                if (!get)
                        return route_error(ret, 405, "only GET supported against this resource");
                return route_item(ret, API_ROUTE_STATE_GET, item);
        }
        return route_error(ret, 404, NULL);
}

/* fleet-c's extensions; rest is the path after "/fleet-c/v1". */
static int route_extension(const char *method, const char *rest, ApiRouteMatch *ret) {
        const char *item;

        if (streq(rest, "/cordons")) {
                if (!streq(method, "GET"))
                        return route_error(ret, 405, "only GET supported against this resource");
                *ret = (ApiRouteMatch){.route = API_ROUTE_CORDONS_LIST};
                return 0;
        }
        if (startswith(rest, "/cordons/")) {
                item = rest + strlen("/cordons/");
                if (item[0] == '\0' || strchr(item, '/'))
                        return route_error(ret, 404, NULL);
                if (streq(method, "PUT"))
                        return route_item(ret, API_ROUTE_CORDON_PUT, item);
                if (streq(method, "DELETE"))
                        return route_item(ret, API_ROUTE_CORDON_DELETE, item);
                return route_error(ret, 405, "only PUT and DELETE supported against this resource");
        }
        if (streq(rest, "/pins")) {
                if (!streq(method, "GET"))
                        return route_error(ret, 405, "only GET supported against this resource");
                *ret = (ApiRouteMatch){.route = API_ROUTE_PINS_LIST};
                return 0;
        }
        if (startswith(rest, "/pins/")) {
                const char *slash;

                item = rest + strlen("/pins/");
                slash = strchr(item, '/');
                /* <machine>/<name>: two non-empty parts */
                if (!slash || slash == item || slash[1] == '\0' || strchr(slash + 1, '/'))
                        return route_error(ret, 404, NULL);
                if (streq(method, "PUT"))
                        return route_item(ret, API_ROUTE_PIN_PUT, item);
                if (streq(method, "DELETE"))
                        return route_item(ret, API_ROUTE_PIN_DELETE, item);
                return route_error(ret, 405, "only PUT and DELETE supported against this resource");
        }
        return route_error(ret, 404, NULL);
}

int api_route(const char *method, const char *path, ApiRouteMatch *ret) {
        static const char *const prefixes[] = {"/fleet/v1", "/v1-alpha"};
        _cleanup_free_ char *clean = NULL;
        int r;

        /* Go's ServeMux redirects every request (but CONNECT) whose path is not clean. */
        if (!streq(method, "CONNECT")) {
                r = api_clean_path(path, &clean);
                if (r < 0)
                        return r;
                if (!streq(clean, path)) {
                        char *loc = NULL;

                        r = api_escape_path(clean, &loc);
                        if (r < 0)
                                return r;
                        *ret = (ApiRouteMatch){.route = API_ROUTE_REDIRECT, .location = loc};
                        return 0;
                }
        }

        if (streq(path, "/metrics")) {
                *ret = (ApiRouteMatch){.route = API_ROUTE_METRICS};
                return 0;
        }
        if (streq(path, QUORUM_HEALTH_PATH)) {
                if (!streq(method, "GET") && !streq(method, "HEAD"))
                        return route_error(ret, 405, NULL);
                *ret = (ApiRouteMatch){.route = API_ROUTE_ETCD_HEALTH};
                return 0;
        }
        {
                const char *rest = startswith(path, "/fleet-c/v1");

                if (rest && (rest[0] == '\0' || rest[0] == '/'))
                        return route_extension(method, rest, ret);
        }
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++) {
                const char *rest = startswith(path, prefixes[i]);

                if (rest && (rest[0] == '\0' || rest[0] == '/'))
                        return route_resource(method, rest, ret);
        }
        /* fleet's base handler: "/" is 405, anything else 404, both without a message. */
        return route_error(ret, streq(path, "/") ? 405 : 404, NULL);
}
