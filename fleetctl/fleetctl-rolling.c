/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "fleetctl-rolling.h"
#include "fleetctl-util.h"
#include "glob.h"
#include "strv.h"
#include "unit-name.h"

static int add_unique(char ***l, const char *name) {
        return strv_contains(*l, name) ? 0 : strv_extend(l, name);
}

int fleetctl_rolling_select(char *const *names, char *const *args, size_t n_args, char ***ret,
                            char **reterr_message) {
        _cleanup_strv_free_ char **out = NULL;
        int r;

        for (size_t i = 0; i < n_args; i++) {
                _cleanup_free_ char *name = NULL;
                bool found = false;

                if (fleetctl_unit_name_mangle(args[i], &name) < 0)
                        return -ENOMEM;
                if (!strpbrk(name, "*?[")) {
                        if (!strv_contains((char **) names, name))
                                return errmsg_set(reterr_message, -ENOENT, "Unit %s not found",
                                                  name);
                        if (add_unique(&out, name) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (glob_validate(name) < 0)
                        return errmsg_set(reterr_message, -EINVAL, "invalid pattern %s", name);
                STRV_FOREACH(n, (char **) names) {
                        if (unit_name_is_template(*n) || !glob_match(name, *n))
                                continue;
                        found = true;
                        r = add_unique(&out, *n);
                        if (r < 0)
                                return r;
                }
                if (!found)
                        return errmsg_set(reterr_message, -ENOENT, "no unit matches %s", name);
        }
        if (!out && !(out = strv_copy(NULL)))
                return -ENOMEM;
        strv_sort(out);
        *ret = TAKE_PTR(out);
        return 0;
}

size_t fleetctl_rolling_count_units(char *const *done) {
        size_t n = 0;

        for (size_t i = 0; done && done[i]; i++) {
                size_t len = strcspn(done[i], "/");
                bool seen = false;

                for (size_t k = 0; k < i && !seen; k++)
                        seen = strcspn(done[k], "/") == len && strneq(done[k], done[i], len);
                n += !seen;
        }
        return n;
}
