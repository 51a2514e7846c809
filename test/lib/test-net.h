/* SPDX-License-Identifier: MIT */
#pragma once

/* Loopback sockets for tests (libtest.a). */

/* A non-blocking, close-on-exec TCP socket listening on 127.0.0.1 at a port the kernel picked
 * (stored in *ret_port). Returns the fd or -errno. */
int test_listen_loopback(int *ret_port);

/* A port on 127.0.0.1 that was free a moment ago (bound, read back, closed), or -errno. */
int test_free_port(void);
