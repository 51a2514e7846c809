/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * PURE routing of the HTTP API v1 (reference 9.3): maps a request path and method to a handler
 * or to the error fleet's Go mux gives, including Go's ServeMux path cleaning (a path that is
 * not clean is redirected 301 to its cleaned form). fleet-c's own extensions live under
 * /fleet-c/v1/, outside fleet's namespaces (/fleet/v1, /v1-alpha). No I/O; unit-tested.
 */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

typedef enum ApiRoute {
        API_ROUTE_ERROR,          /* status + message (may be NULL: empty message) */
        API_ROUTE_REDIRECT,       /* 301 to location */
        API_ROUTE_DISCOVERY,      /* GET <prefix>/discovery */
        API_ROUTE_MACHINES_LIST,  /* GET <prefix>/machines */
        API_ROUTE_MACHINES_PATCH, /* PATCH <prefix>/machines */
        API_ROUTE_UNITS_LIST,     /* GET <prefix>/units */
        API_ROUTE_UNIT_GET,       /* GET <prefix>/units/<item> */
        API_ROUTE_UNIT_PUT,       /* PUT <prefix>/units/<item> */
        API_ROUTE_UNIT_DELETE,    /* DELETE <prefix>/units/<item> */
        API_ROUTE_STATES_LIST,    /* GET <prefix>/state */
        API_ROUTE_STATE_GET,      /* GET <prefix>/state/<item> */
        API_ROUTE_METRICS,        /* any method on /metrics */
        API_ROUTE_CORDONS_LIST,   /* GET /fleet-c/v1/cordons (fleet-c's extension) */
        API_ROUTE_CORDON_PUT,     /* PUT /fleet-c/v1/cordons/<item> */
        API_ROUTE_CORDON_DELETE,  /* DELETE /fleet-c/v1/cordons/<item> */
        API_ROUTE_ETCD_HEALTH,    /* GET (or HEAD) /fleet-c/v1/etcd-health (fleet-c, quorum.h) */
        API_ROUTE_PINS_LIST,      /* GET /fleet-c/v1/pins (fleet-c's extension) */
        API_ROUTE_PIN_PUT,    /* PUT /fleet-c/v1/pins/<machine>/<name>: item "<machine>/<name>" */
        API_ROUTE_PIN_DELETE, /* DELETE /fleet-c/v1/pins/<machine>/<name> */
        _API_ROUTE_MAX,
        _API_ROUTE_INVALID = -EINVAL,
} ApiRoute;

typedef struct ApiRouteMatch {
        ApiRoute route;
        char *item;          /* malloc'd last path element for the item routes, else NULL */
        unsigned status;     /* API_ROUTE_ERROR: the HTTP status */
        const char *message; /* API_ROUTE_ERROR: static message, NULL for an empty one */
        char *location;      /* API_ROUTE_REDIRECT: malloc'd escaped cleaned path */
} ApiRouteMatch;

void api_route_match_done(ApiRouteMatch *m);

/*
 * Route method + path (the decoded path, without the query). Fills *ret (release with
 * api_route_match_done()). 0 or -ENOMEM.
 */
int api_route(const char *method, const char *path, ApiRouteMatch *ret);

/*
 * Go's net/http cleanPath: path.Clean of "/"+p when p lacks the leading '/', keeping a trailing
 * '/' (except for "/"). Malloc'd in *ret. 0 or -ENOMEM.
 */
int api_clean_path(const char *p, char **ret);

/* Go's http.Redirect note for GET: "<a href=\"LOCATION\">Moved Permanently</a>.\n\n" with
 * the location HTML-escaped. Malloc'd in *ret. 0 or -ENOMEM. */
int api_redirect_body(const char *location, char **ret);

/* Go's url.URL.EscapedPath for a path without RawPath: every byte but [A-Za-z0-9-_.~$&+,/:;=@]
 * as %XX (upper case). Malloc'd in *ret. 0 or -ENOMEM. */
int api_escape_path(const char *p, char **ret);
