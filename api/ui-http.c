/* SPDX-License-Identifier: MIT */
/* Routes, embedded files and reply headers of the web view. */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "ui-http.h"

#define UI_CSP                                                                                     \
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "          \
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

const UiAsset *ui_asset_find(const char *name) {
        for (size_t i = 0; i < ui_n_assets; i++)
                if (streq(ui_assets[i].name, name))
                        return &ui_assets[i];
        return NULL;
}

const char *ui_content_type(const char *name) {
        static const struct {
                const char *ext, *type;
        } table[] = {
                {".html", "text/html; charset=utf-8"},
                {".css", "text/css; charset=utf-8"},
                {".js", "text/javascript; charset=utf-8"},
                {".svg", "image/svg+xml"},
                {".png", "image/png"},
                {".json", "application/json"},
                {".txt", "text/plain; charset=utf-8"},
        };
        const char *dot = strrchr(name, '.');

        for (size_t i = 0; dot && i < ELEMENTSOF(table); i++)
                if (streq(dot, table[i].ext))
                        return table[i].type;
        return "application/octet-stream";
}

static bool is_file_name(const char *s) {
        /* one path component, no hidden files: nothing outside the embedded set is reachable,
         * but a clean 404 for ../ and friends is clearer */
        return *s && *s != '.' && !strchr(s, '/');
}

UiRoute ui_route(const char *method, const char *path, const char **ret_name) {
        const char *rest;

        *ret_name = NULL;
        if (!startswith(path, "/ui"))
                return UI_ROUTE_NONE;
        rest = path + 3;
        if (*rest != '\0' && *rest != '/')
                return UI_ROUTE_NONE; /* /uix is not ours */
        if (!streq(method, "GET") && !streq(method, "HEAD"))
                return UI_ROUTE_METHOD;
        if (*rest == '\0')
                return UI_ROUTE_REDIRECT;
        rest++;
        if (*rest == '\0') {
                *ret_name = "index.html";
                return UI_ROUTE_ASSET;
        }
        if (streq(rest, "events"))
                return UI_ROUTE_EVENTS;
        if (streq(rest, "state"))
                return UI_ROUTE_STATE;
        if (startswith(rest, "units/") && is_file_name(rest + 6)) {
                *ret_name = rest + 6;
                return UI_ROUTE_UNIT;
        }
        if (is_file_name(rest) && ui_asset_find(rest)) {
                *ret_name = rest;
                return UI_ROUTE_ASSET;
        }
        return UI_ROUTE_NOT_FOUND;
}

void ui_reply_init(UiReply *r, unsigned status, const char *content_type, const char *body,
                   size_t len) {
        *r = (UiReply){.status = status, .content_type = content_type, .body = body, .len = len};
        (void) ui_reply_header(r, "X-Content-Type-Options", "nosniff");
        (void) ui_reply_header(r, "Content-Security-Policy", UI_CSP);
        (void) ui_reply_header(r, "Referrer-Policy", "no-referrer");
        (void) ui_reply_header(r, "X-Frame-Options", "DENY");
}

int ui_reply_header(UiReply *r, const char *name, const char *value) {
        size_t n = 0;

        while (r->headers[n])
                n += 2;
        if (n / 2 >= UI_HEADERS_MAX)
                return -E2BIG;
        r->headers[n] = name;
        r->headers[n + 1] = value;
        r->headers[n + 2] = NULL;
        return 0;
}

const char *ui_reply_get_header(const UiReply *r, const char *name) {
        for (size_t i = 0; r->headers[i]; i += 2)
                if (streq(r->headers[i], name))
                        return r->headers[i + 1];
        return NULL;
}

/* Whether an If-None-Match value lists etag (or is "*"). */
static bool etag_matches(const char *header, const char *etag) {
        size_t len = strlen(etag);

        if (!header)
                return false;
        for (const char *p = header; *p;) {
                p += strspn(p, " \t,");
                if (startswith(p, "W/"))
                        p += 2;
                if (*p == '*' || (strncmp(p, etag, len) == 0 && strchr(" \t,", p[len])))
                        return true;
                p += strcspn(p, ",");
        }
        return false;
}

int ui_static_reply(UiRoute route, const char *name, const char *if_none_match, UiReply *ret) {
        static const char not_found[] = "404 page not found\n";
        static const char method[] = "405 method not allowed: the web view is read-only\n";
        static const char moved[] = "<a href=\"/ui/\">Moved Permanently</a>.\n";
        const UiAsset *a;

        switch (route) {
        case UI_ROUTE_REDIRECT:
                ui_reply_init(ret, 301, "text/html; charset=utf-8", moved, sizeof(moved) - 1);
                (void) ui_reply_header(ret, "Location", "/ui/");
                return 0;
        case UI_ROUTE_ASSET:
                a = name ? ui_asset_find(name) : NULL;
                if (!a)
                        return ui_static_reply(UI_ROUTE_NOT_FOUND, NULL, NULL, ret);
                if (etag_matches(if_none_match, a->etag))
                        ui_reply_init(ret, 304, NULL, NULL, 0);
                else
                        ui_reply_init(ret, 200, ui_content_type(a->name), (const char *) a->data,
                                      a->size);
                (void) ui_reply_header(ret, "ETag", a->etag);
                (void) ui_reply_header(ret, "Cache-Control", "no-cache");
                return 0;
        case UI_ROUTE_NOT_FOUND:
                ui_reply_init(ret, 404, "text/plain; charset=utf-8", not_found,
                              sizeof(not_found) - 1);
                (void) ui_reply_header(ret, "Cache-Control", "no-store");
                return 0;
        case UI_ROUTE_METHOD:
                ui_reply_init(ret, 405, "text/plain; charset=utf-8", method, sizeof(method) - 1);
                (void) ui_reply_header(ret, "Allow", "GET, HEAD");
                return 0;
        default:
                return -EINVAL;
        }
}
