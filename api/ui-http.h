/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * PURE HTTP half of the web view: the routes under /ui, the embedded files (the ui/ folder,
 * compiled in by mk/ui.mk and tools/ui-embed.sh) and the headers of every /ui reply. No I/O;
 * unit-tested.
 *
 *   /ui                 301 to /ui/
 *   /ui/                index.html
 *   /ui/<file>          an embedded file, with its Content-Type, an ETag and
 *                       "Cache-Control: no-cache" (revalidated: 304 on a matching If-None-Match)
 *   /ui/events          the live feed (text/event-stream; api/ui.c)
 *   /ui/state           the current state as JSON (ui-model.h)
 *   /ui/units/<name>    a unit's stored text (text/plain)
 *   anything else       404
 * Only GET and HEAD: anything else is 405 with "Allow: GET, HEAD". Every reply forbids
 * content sniffing and, through its Content-Security-Policy, any fetch from another origin;
 * no reply sets a cookie.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct UiAsset {
        const char *name;          /* file name under ui/, e.g. "app.js" */
        const unsigned char *data; /* NUL-terminated */
        size_t size;               /* without the NUL */
        const char *etag;          /* quoted, e.g. "\"0123456789abcdef\"" */
} UiAsset;

/* Generated at build time. */
extern const UiAsset ui_assets[];
extern const size_t ui_n_assets;

/* The embedded file of that name, or NULL. */
const UiAsset *ui_asset_find(const char *name);

/* Content-Type for a file name by its extension ("application/octet-stream" if unknown). */
const char *ui_content_type(const char *name);

typedef enum UiRoute {
        UI_ROUTE_NONE,      /* not under /ui: not the web view's */
        UI_ROUTE_REDIRECT,  /* /ui */
        UI_ROUTE_ASSET,     /* name = the file */
        UI_ROUTE_EVENTS,    /* /ui/events */
        UI_ROUTE_STATE,     /* /ui/state */
        UI_ROUTE_UNIT,      /* name = the unit */
        UI_ROUTE_NOT_FOUND, /* under /ui, nothing there */
        UI_ROUTE_METHOD,    /* under /ui, not GET or HEAD */
        _UI_ROUTE_MAX,
        _UI_ROUTE_INVALID = -EINVAL,
} UiRoute;

/* Route method and path (without query). *ret_name points into path (ASSET, UNIT) or is
 * NULL. */
UiRoute ui_route(const char *method, const char *path, const char **ret_name);

/* Headers for every reply: a NULL-terminated list of name, value pairs. */
#define UI_HEADERS_MAX 16
typedef struct UiReply {
        unsigned status;
        const char *content_type;
        const char *body; /* static or borrowed */
        size_t len;
        const char *headers[UI_HEADERS_MAX * 2 + 1];
} UiReply;

/*
 * The reply for the routes that need no state: REDIRECT, ASSET (if_none_match: the request's
 * If-None-Match header or NULL), NOT_FOUND and METHOD; -EINVAL for the others. The body is
 * static. extra headers (e.g. for dynamic replies) are added with ui_reply_header().
 */
int ui_static_reply(UiRoute route, const char *name, const char *if_none_match, UiReply *ret);

/* Start a reply with the headers common to every /ui reply ("Cache-Control: no-store" for
 * dynamic content). */
void ui_reply_init(UiReply *r, unsigned status, const char *content_type, const char *body,
                   size_t len);
/* Add one header (name and value borrowed). -E2BIG when full. */
int ui_reply_header(UiReply *r, const char *name, const char *value);
/* Look a header up in r (case-sensitive name), or NULL: for tests. */
const char *ui_reply_get_header(const UiReply *r, const char *name);
