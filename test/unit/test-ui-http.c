/* SPDX-License-Identifier: MIT */
/* The web view's routes, embedded files, content types, caching headers and 404s. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "test-util.h"
#include "ui-http.h"

START_TEST(test_routes) {
        static const struct {
                const char *method, *path;
                UiRoute route;
                const char *name;
        } v[] = {
                {"GET", "/ui", UI_ROUTE_REDIRECT, NULL},
                {"GET", "/ui/", UI_ROUTE_ASSET, "index.html"},
                {"HEAD", "/ui/", UI_ROUTE_ASSET, "index.html"},
                {"GET", "/ui/app.js", UI_ROUTE_ASSET, "app.js"},
                {"GET", "/ui/style.css", UI_ROUTE_ASSET, "style.css"},
                {"GET", "/ui/events", UI_ROUTE_EVENTS, NULL},
                {"GET", "/ui/state", UI_ROUTE_STATE, NULL},
                {"GET", "/ui/units/web@1.service", UI_ROUTE_UNIT, "web@1.service"},
                {"GET", "/ui/units/", UI_ROUTE_NOT_FOUND, NULL},
                {"GET", "/ui/units/a/b", UI_ROUTE_NOT_FOUND, NULL},
                {"GET", "/ui/units/..", UI_ROUTE_NOT_FOUND, NULL},
                {"GET", "/ui/nope.js", UI_ROUTE_NOT_FOUND, NULL},
                {"GET", "/ui/../fleet/v1/units", UI_ROUTE_NOT_FOUND, NULL},
                {"GET", "/ui/app.js/x", UI_ROUTE_NOT_FOUND, NULL},
                {"GET", "/ui/.hidden", UI_ROUTE_NOT_FOUND, NULL},
                {"GET", "/ui//", UI_ROUTE_NOT_FOUND, NULL},
                {"POST", "/ui/", UI_ROUTE_METHOD, NULL},
                {"DELETE", "/ui/units/a.service", UI_ROUTE_METHOD, NULL},
                {"GET", "/uix", UI_ROUTE_NONE, NULL},
                {"GET", "/fleet/v1/units", UI_ROUTE_NONE, NULL},
                {"GET", "/", UI_ROUTE_NONE, NULL},
                {"PUT", "/fleet/v1/units/a.service", UI_ROUTE_NONE, NULL},
        };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                const char *name = (const char *) 1;

                ck_assert_msg(ui_route(v[i].method, v[i].path, &name) == v[i].route, "%s %s",
                              v[i].method, v[i].path);
                if (v[i].name)
                        ck_assert_str_eq(name, v[i].name);
                else
                        ck_assert_ptr_null(name);
        }
}
END_TEST

START_TEST(test_content_types) {
        ck_assert_str_eq(ui_content_type("index.html"), "text/html; charset=utf-8");
        ck_assert_str_eq(ui_content_type("app.js"), "text/javascript; charset=utf-8");
        ck_assert_str_eq(ui_content_type("style.css"), "text/css; charset=utf-8");
        ck_assert_str_eq(ui_content_type("logo.svg"), "image/svg+xml");
        ck_assert_str_eq(ui_content_type("x.png"), "image/png");
        ck_assert_str_eq(ui_content_type("README"), "application/octet-stream");
        ck_assert_str_eq(ui_content_type("a.exe"), "application/octet-stream");
}
END_TEST

static char *read_file(const char *path, size_t *ret_len) {
        FILE *f = fopen(path, "re");
        char *buf;
        long n;

        ck_assert_msg(f != NULL, "cannot open %s (tests run from the repository)", path);
        ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        rewind(f);
        buf = malloc((size_t) n + 1);
        ck_assert_uint_eq(fread(buf, 1, (size_t) n, f), (size_t) n);
        fclose(f);
        *ret_len = (size_t) n;
        return buf;
}

START_TEST(test_embedded_files) {
        static const char *const files[] = {"index.html", "app.js", "style.css"};

        ck_assert_uint_ge(ui_n_assets, ELEMENTSOF(files));
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                const UiAsset *a = ui_asset_find(files[i]);
                _cleanup_free_ char *path = NULL, *disk = NULL;
                size_t len;

                ck_assert_ptr_nonnull(a);
                ck_assert_int_ge(asprintf(&path, "ui/%s", files[i]), 0);
                disk = read_file(path, &len);
                /* the build embeds the files as they are in the tree, byte for byte */
                ck_assert_uint_eq(a->size, len);
                ck_assert_int_eq(memcmp(a->data, disk, len), 0);
                ck_assert_int_eq(a->data[a->size], 0);
                ck_assert_uint_eq(strlen(a->etag), 18);
                ck_assert_int_eq(a->etag[0], '"');
        }
        ck_assert_ptr_null(ui_asset_find("nope.html"));
        /* the page fetches nothing from elsewhere: every src/href is relative */
        {
                const UiAsset *a = ui_asset_find("index.html");

                ck_assert_ptr_null(strstr((const char *) a->data, "http://"));
                ck_assert_ptr_null(strstr((const char *) a->data, "https://"));
                ck_assert_ptr_null(
                        strstr((const char *) ui_asset_find("app.js")->data, "document.cookie"));
        }
}
END_TEST

START_TEST(test_static_replies) {
        const UiAsset *js = ui_asset_find("app.js");
        UiReply r;

        /* a file: its type, ETag, revalidation, and the common security headers */
        ck_assert_int_eq(ui_static_reply(UI_ROUTE_ASSET, "app.js", NULL, &r), 0);
        ck_assert_uint_eq(r.status, 200);
        ck_assert_str_eq(r.content_type, "text/javascript; charset=utf-8");
        ck_assert_uint_eq(r.len, js->size);
        ck_assert_ptr_eq(r.body, (const char *) js->data);
        ck_assert_str_eq(ui_reply_get_header(&r, "ETag"), js->etag);
        ck_assert_str_eq(ui_reply_get_header(&r, "Cache-Control"), "no-cache");
        ck_assert_str_eq(ui_reply_get_header(&r, "X-Content-Type-Options"), "nosniff");
        ck_assert_ptr_nonnull(
                strstr(ui_reply_get_header(&r, "Content-Security-Policy"), "default-src 'none'"));
        ck_assert_ptr_null(ui_reply_get_header(&r, "Set-Cookie"));

        /* If-None-Match: the same ETag (alone, in a list, weak, or *) gives 304 without a body */
        {
                _cleanup_free_ char *list = NULL, *weak = NULL;

                ck_assert_int_ge(asprintf(&list, "\"x\", %s", js->etag), 0);
                ck_assert_int_ge(asprintf(&weak, "W/%s", js->etag), 0);
                const char *match[] = {js->etag, list, weak, "*"};

                for (size_t i = 0; i < ELEMENTSOF(match); i++) {
                        ck_assert_int_eq(ui_static_reply(UI_ROUTE_ASSET, "app.js", match[i], &r),
                                         0);
                        ck_assert_uint_eq(r.status, 304);
                        ck_assert_uint_eq(r.len, 0);
                        ck_assert_str_eq(ui_reply_get_header(&r, "ETag"), js->etag);
                }
        }
        ck_assert_int_eq(ui_static_reply(UI_ROUTE_ASSET, "app.js", "\"other\"", &r), 0);
        ck_assert_uint_eq(r.status, 200);

        ck_assert_int_eq(ui_static_reply(UI_ROUTE_ASSET, "index.html", NULL, &r), 0);
        ck_assert_str_eq(r.content_type, "text/html; charset=utf-8");
        ck_assert_int_eq(ui_static_reply(UI_ROUTE_ASSET, "style.css", NULL, &r), 0);
        ck_assert_str_eq(r.content_type, "text/css; charset=utf-8");

        /* 404s: unknown files, and an unknown name reaching ASSET */
        ck_assert_int_eq(ui_static_reply(UI_ROUTE_NOT_FOUND, NULL, NULL, &r), 0);
        ck_assert_uint_eq(r.status, 404);
        ck_assert_str_eq(r.content_type, "text/plain; charset=utf-8");
        ck_assert_str_eq(ui_reply_get_header(&r, "Cache-Control"), "no-store");
        ck_assert_int_eq(ui_static_reply(UI_ROUTE_ASSET, "nope.js", NULL, &r), 0);
        ck_assert_uint_eq(r.status, 404);

        ck_assert_int_eq(ui_static_reply(UI_ROUTE_REDIRECT, NULL, NULL, &r), 0);
        ck_assert_uint_eq(r.status, 301);
        ck_assert_str_eq(ui_reply_get_header(&r, "Location"), "/ui/");

        ck_assert_int_eq(ui_static_reply(UI_ROUTE_METHOD, NULL, NULL, &r), 0);
        ck_assert_uint_eq(r.status, 405);
        ck_assert_str_eq(ui_reply_get_header(&r, "Allow"), "GET, HEAD");

        /* the dynamic routes are not static */
        ck_assert_int_eq(ui_static_reply(UI_ROUTE_EVENTS, NULL, NULL, &r), -EINVAL);
        ck_assert_int_eq(ui_static_reply(UI_ROUTE_STATE, NULL, NULL, &r), -EINVAL);
}
END_TEST

START_TEST(test_reply_headers) {
        UiReply r;
        int n = 0;

        ui_reply_init(&r, 200, "text/event-stream", NULL, 0);
        ck_assert_int_eq(ui_reply_header(&r, "Cache-Control", "no-store"), 0);
        ck_assert_str_eq(ui_reply_get_header(&r, "Cache-Control"), "no-store");
        ck_assert_ptr_null(ui_reply_get_header(&r, "Nope"));
        while (ui_reply_header(&r, "X-Fill", "1") == 0)
                n++;
        ck_assert_int_eq(ui_reply_header(&r, "X-Fill", "1"), -E2BIG);
        ck_assert_int_gt(n, 0);
        ck_assert_ptr_null(r.headers[UI_HEADERS_MAX * 2]);
}
END_TEST

static Suite *ui_http_suite(void) {
        Suite *s = suite_create("ui-http");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_routes);
        tcase_add_test(tc, test_content_types);
        tcase_add_test(tc, test_embedded_files);
        tcase_add_test(tc, test_static_replies);
        tcase_add_test(tc, test_reply_headers);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(ui_http_suite)
