/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "errmsg.h"

int errmsg_set(char **reterr, int error, const char *format, ...) {
        va_list ap;
        char *m;
        int r;

        assert(error < 0);
        assert(format);

        if (!reterr)
                return error;
        va_start(ap, format);
        r = vasprintf(&m, format, ap);
        va_end(ap);
        free(*reterr);
        if (r < 0) {
                *reterr = NULL;
                return -ENOMEM;
        }
        *reterr = m;
        return error;
}
