/* SPDX-License-Identifier: MIT */
/*
 * Unit names as fleet v1.0.0 sees them: api.ValidateName (reference 5.1) and
 * unit.NewUnitNameInfo (5.2), with Go's %q quoting for the messages; plus the rules of systemd's
 * unit_name_is_valid() that fleet did not copy, so that no name reaches a machine that its
 * systemd refuses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "unit-file.h"
#include "unit-name.h"

static const char *const unit_types[] = {
        "automount", "busname",  "device", "mount", "path",   "scope", "service",
        "slice",     "snapshot", "socket", "swap",  "target", "timer",
};

/* The types systemd (since v230) still knows: busname and snapshot are gone. */
static const char *const systemd_types[] = {
        "automount", "device", "mount", "path",   "scope", "service",
        "slice",     "socket", "swap",  "target", "timer",
};

static const char *const template_types[] = {"path", "service", "socket", "target", "timer"};

/* systemd's set, as copied into fleet; fleet's copy also allows the backslash. */
#define UNIT_NAME_CHARS "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:-_.\\@"

static bool in_list(const char *const *list, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (streq(list[i], s))
                        return true;
        return false;
}

/* ---- Go's %q ---------------------------------------------------------------------------- */

/* unicode.IsPrint, without the tables for unassigned code points. */
static bool go_is_print(uint32_t r) {
        if (r < 0x20 || (r >= 0x7F && r <= 0x9F) || r == 0xAD)
                return false;
        if (r < 0x100)
                return r != 0xA0;
        if (unit_is_space(r)) /* Zs, Zl, Zp other than ' ' */
                return false;
        if ((r >= 0x600 && r <= 0x605) || r == 0x61C || r == 0x6DD || r == 0x70F || r == 0x8E2 ||
            r == 0x180E)
                return false; /* Cf */
        if ((r >= 0x200B && r <= 0x200F) || (r >= 0x202A && r <= 0x202E) ||
            (r >= 0x2060 && r <= 0x206F) || r == 0xFEFF || (r >= 0xFFF9 && r <= 0xFFFB))
                return false; /* Cf */
        if ((r >= 0x1BCA0 && r <= 0x1BCA3) || (r >= 0x1D173 && r <= 0x1D17A))
                return false;                             /* Cf */
        if ((r >= 0xE000 && r <= 0xF8FF) || r >= 0xF0000) /* Co */
                return false;
        if ((r >= 0x3134B && r <= 0xDFFFF) || (r >= 0xE0000 && r <= 0xE00FF) ||
            (r >= 0xE01F0 && r <= 0xEFFFF))
                return false; /* unassigned planes, tags */
        return (r & 0xFFFE) != 0xFFFE && !(r >= 0xFDD0 && r <= 0xFDEF); /* noncharacters */
}

/* strconv's appendEscapedRune: the escaped form of one rune at *p; returns the end. */
static char *escape_rune(char *p, uint32_t r, size_t size, const char *src, char quote) {
        static const char esc[] = "\aa\bb\ff\nn\rr\tt\vv";
        const char *e;

        if (r == (uint32_t) quote || r == '\\') {
                *p++ = '\\';
                *p++ = (char) r;
                return p;
        }
        if (go_is_print(r)) {
                memcpy(p, src, size);
                return p + size;
        }
        e = r != 0 && r < 0x20 ? memchr(esc, (int) r, sizeof(esc) - 1) : NULL;
        if (e && (e - esc) % 2 == 0)
                return p + sprintf(p, "\\%c", e[1]);
        if (r < 0x20 || r == 0x7F)
                return p + sprintf(p, "\\x%02x", (unsigned) r);
        if (r < 0x10000)
                return p + sprintf(p, "\\u%04x", (unsigned) r);
        return p + sprintf(p, "\\U%08x", (unsigned) r);
}

/* At most 4 output bytes per input byte ("\x01", "\u00a0" for 2 bytes, "\U000f0000" for 4). */
static char *quote_into(char *p, const char *s, size_t len, char quote) {
        *p++ = quote;
        for (size_t i = 0; i < len;) {
                uint32_t r;
                size_t n = unit_utf8_decode(s + i, len - i, &r);

                if (r == UNIT_RUNE_ERROR && n == 1)
                        p += sprintf(p, "\\x%02x", (unsigned) (uint8_t) s[i]);
                else
                        p = escape_rune(p, r, n, s + i, quote);
                i += n;
        }
        *p++ = quote;
        *p = 0;
        return p;
}

int unit_go_quote(const char *s, char **ret) {
        size_t len = strlen(strempty(s));
        char *q = malloc(4 * len + 3);

        assert(ret);
        if (!q)
                return -ENOMEM;
        (void) quote_into(q, strempty(s), len, '"');
        *ret = q;
        return 0;
}

/* ---- validation ------------------------------------------------------------------------- */

static int fail_quoted(char **reterr_message, const char *what, const char *s) {
        _cleanup_free_ char *q = NULL;

        if (unit_go_quote(s, &q) < 0)
                return -ENOMEM;
        return errmsg_set(reterr_message, -EINVAL, "%s: %s", what, q);
}

/* The first character of name[0..len) outside the allowed set, as Go ranges over runes. */
static int check_chars(const char *name, size_t len, char **reterr_message) {
        char q[16];

        for (size_t i = 0; i < len;) {
                uint32_t r;
                size_t n = unit_utf8_decode(name + i, len - i, &r);

                if (r >= 0x80 || !strchr(UNIT_NAME_CHARS, (int) r) || r == 0) {
                        /* An invalid byte is U+FFFD when Go ranges over a string. */
                        (void) quote_into(q, r == UNIT_RUNE_ERROR ? "\xEF\xBF\xBD" : name + i,
                                          r == UNIT_RUNE_ERROR ? 3 : n, '\'');
                        return errmsg_set(reterr_message, -EINVAL,
                                          "invalid character %s in unit name", q);
                }
                i += n;
        }
        return 0;
}

int unit_name_validate(const char *name, char **reterr_message) {
        const char *dot, *suffix;
        size_t len = strlen(strempty(name));
        int r;

        if (len == 0)
                return errmsg_set(reterr_message, -EINVAL, "%s", "unit name cannot be empty");
        if (len > UNIT_NAME_MAX)
                return errmsg_set(reterr_message, -EINVAL, "%s",
                                  "unit name exceeds maximum length (256)");
        dot = strrchr(name, '.');
        if (!dot)
                return errmsg_set(reterr_message, -EINVAL, "%s", "unit name must contain \".\"");
        suffix = dot + 1;
        if (*suffix == 0)
                return errmsg_set(reterr_message, -EINVAL, "%s", "unit name cannot end in \".\"");
        if (!in_list(unit_types, ELEMENTSOF(unit_types), suffix))
                return fail_quoted(reterr_message, "invalid unit type", suffix);
        if (strchr(name, '@') && !in_list(template_types, ELEMENTSOF(template_types), suffix))
                return fail_quoted(reterr_message, "invalid unit type for template", suffix);
        r = check_chars(name, (size_t) (dot - name), reterr_message);
        if (r < 0)
                return r;
        if (name[0] == '@')
                return errmsg_set(reterr_message, -EINVAL, "%s", "unit name cannot start in \"@\"");
        /* Names fleet accepts but systemd's unit_name_is_valid() refuses: systemd has no room
         * for the NUL in UNIT_NAME_MAX, wants a name before the type and has fewer types. */
        if (len >= UNIT_NAME_MAX)
                return errmsg_set(reterr_message, -EINVAL, "%s",
                                  "unit name exceeds maximum length (255)");
        if (dot == name)
                return fail_quoted(reterr_message, "unit name has nothing before its type", name);
        if (!in_list(systemd_types, ELEMENTSOF(systemd_types), suffix))
                return fail_quoted(reterr_message, "invalid unit type", suffix);
        return 0;
}

/* ---- decomposition ---------------------------------------------------------------------- */

int unit_name_info(const char *name, UnitNameInfo *ret) {
        UnitNameInfo i = {};
        const char *dot, *at;

        assert(ret);
        dot = name ? strrchr(name, '.') : NULL;
        if (!dot)
                return -EINVAL;
        at = memchr(name, '@', (size_t) (dot - name));
        i.full_name = strdup(name);
        i.name = strndup(name, (size_t) (dot - name));
        i.suffix = strdup(dot + 1);
        i.prefix = strndup(name, (size_t) ((at ? at : dot) - name));
        i.instance = at ? strndup(at + 1, (size_t) (dot - at - 1)) : strdup("");
        if (at && asprintf(&i.template, "%s@%s", i.prefix ? i.prefix : "", dot) < 0)
                i.template = NULL;
        if (!i.full_name || !i.name || !i.suffix || !i.prefix || !i.instance ||
            (at && !i.template)) {
                unit_name_info_done(&i);
                return -ENOMEM;
        }
        *ret = i;
        return 0;
}

void unit_name_info_done(UnitNameInfo *i) {
        if (!i)
                return;
        free(i->full_name);
        free(i->name);
        free(i->suffix);
        free(i->prefix);
        free(i->instance);
        free(i->template);
        *i = (UnitNameInfo){};
}

/* The '@' of name's part before the last '.', or NULL. */
static const char *find_at(const char *name, const char **ret_dot) {
        const char *dot = name ? strrchr(name, '.') : NULL;

        if (!dot)
                return NULL;
        *ret_dot = dot;
        return memchr(name, '@', (size_t) (dot - name));
}

bool unit_name_is_template(const char *name) {
        const char *dot = NULL, *at = find_at(name, &dot);

        return at && at + 1 == dot;
}

bool unit_name_is_instance(const char *name) {
        const char *dot = NULL, *at = find_at(name, &dot);

        return at && at + 1 < dot;
}

int unit_name_template_of(const char *name, char **ret) {
        const char *dot = NULL, *at = find_at(name, &dot);

        char *t;

        assert(ret);
        if (!at || at + 1 == dot)
                return -EINVAL;
        if (asprintf(&t, "%.*s@%s", (int) (at - name), name, dot) < 0)
                return -ENOMEM;
        *ret = t;
        return 0;
}
