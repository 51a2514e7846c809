/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Call before the first curl_global_init() (curl_glue_new() and fleetctl's main() do). Debian's
 * libcurl, either TLS flavour, links libssh2 for scp:// and sftp://, which fleet-c never uses,
 * and curl_global_init() runs libssh2_init(0), which initializes all of OpenSSL's libcrypto
 * (algorithms, engines): 2.7 MB of fleetd's idle RSS (docs/performance.md). Initialized first
 * with LIBSSH2_INIT_NO_CRYPTO, libssh2 counts curl's call as a nested one and leaves libcrypto
 * alone. libssh2_init is looked up at run time, so a libcurl without libssh2 needs nothing and
 * nothing links libssh2 directly. Idempotent.
 */
void curl_init_light(void);
