/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Unit names (reference 5.1, 5.2): validation with fleet's messages, decomposition into
 * prefix/instance/template. Pure. A valid name never contains '/' and is never "." or "..".
 */

#include <stdbool.h>

#include "macro.h"

#define UNIT_NAME_MAX 256

/*
 * The one check of a unit name, used by the API, fleetctl and the agent: valid for fleet
 * (reference 5.1) AND for systemd (its unit_name_is_valid(): at most 255 bytes, something before
 * the last '.', no busname or snapshot types). 0 if valid. Otherwise -EINVAL and, if
 * reterr_message is non-NULL, a malloc'd message: fleet's exact words for what fleet refuses
 * ("unit name must contain \".\"", ...), else "unit name exceeds maximum length (255)",
 * "unit name has nothing before its type: \".service\"" or "invalid unit type: \"snapshot\"".
 */
int unit_name_validate(const char *name, char **reterr_message);

typedef struct UnitNameInfo {
        char *full_name; /* the whole name */
        char *name;      /* without the final .suffix */
        char *suffix;    /* text after the last '.' */
        char *prefix;    /* before the first '@' of name, or name */
        char *instance;  /* after the first '@' of name; "" if none */
        char *template;  /* "prefix@.suffix" if name contains '@', else NULL */
} UnitNameInfo;

/* Decompose (does not validate). 0 or -ENOMEM/-EINVAL (no '.'). Free with
 * unit_name_info_done(). */
int unit_name_info(const char *name, UnitNameInfo *ret);
void unit_name_info_done(UnitNameInfo *i);

/* "foo@.service" */
bool unit_name_is_template(const char *name);
/* "foo@bar.service" */
bool unit_name_is_instance(const char *name);
/* For "foo@bar.service" the malloc'd "foo@.service"; -EINVAL if not an instance. */
int unit_name_template_of(const char *name, char **ret);

/*
 * Go's %q verb (strconv.Quote), which fleet uses in its error messages: s in double quotes,
 * with '"' and '\\' backslash-escaped, control characters as \n, \t, \x01, ..., invalid
 * UTF-8 bytes as \xff and non-printable runes as \u00a0 / \U000f0000. Printability follows
 * Go's unicode.IsPrint, except that code points unassigned within otherwise used blocks count
 * as printable. s may be NULL (quoted as ""). 0 and a malloc'd *ret, or -ENOMEM.
 */
int unit_go_quote(const char *s, char **ret);
