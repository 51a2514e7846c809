/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>

#include "curl-init.h"

/* libssh2.h's LIBSSH2_INIT_NO_CRYPTO, stable ABI since libssh2 1.2.5 */
#define SSH2_INIT_NO_CRYPTO 0x0001

void curl_init_light(void) {
        int (*ssh2_init)(int flags);

        *(void **) &ssh2_init = dlsym(RTLD_DEFAULT, "libssh2_init");
        if (ssh2_init)
                (void) ssh2_init(SSH2_INIT_NO_CRYPTO);
}
