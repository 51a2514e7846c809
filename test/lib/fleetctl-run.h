/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Run the real fleetctl binary ($BUILD/bin/fleetctl) from a test whose sd-event loop serves
 * the API it talks to (libtest.a).
 */

#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

typedef struct FleetctlRun {
        char out[65536]; /* stdout and stderr, interleaved, NUL-terminated (truncated if longer) */
        size_t len;
        int status; /* exit status; 128 + signal if killed */
} FleetctlRun;

/*
 * Run fleetctl with args (NULL-terminated, without argv[0]) in directory cwd (NULL: the
 * test's), in the test's environment, while e runs, for up to timeout_usec. The output and the
 * exit status land in *ret. 0, or -errno if fleetctl could not be started or did not end in
 * time (it is then killed).
 */
int fleetctl_run(sd_event *e, char *const *args, const char *cwd, uint64_t timeout_usec,
                 FleetctlRun *ret);
