/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Throwaway etcd servers for integration tests: one member or a cluster of several, each on
 * free 127.0.0.1 ports (found by binding port 0), with a data directory under a fresh
 * mkdtemp() directory.
 *
 * Every etcd is fork+exec'd with PR_SET_PDEATHSIG(SIGKILL), so it dies with the process that
 * started it even if that process crashes (Check forks each test: an etcd started inside a
 * test dies with the test). etcd_launcher_free() stops the members it started (SIGTERM, then
 * SIGKILL after a grace period, by PID) and removes the directory. To remove directories
 * left by a crashed test, start etcds with base_dir set to a directory an unchecked fixture
 * (which runs in Check's parent process) creates and removes (etcd_launcher_rm_rf()).
 *
 * `etcd` missing from $PATH is an error with a clear message, never a skip.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct EtcdLauncher EtcdLauncher;

typedef struct EtcdLauncherOptions {
        size_t n_members;        /* 0 = 1 */
        const char *base_dir;    /* parent of the temp dir; NULL = $TMPDIR or /tmp */
        char *const *extra_args; /* strv appended to every member's command line */
        /* TLS on the client URLs (https): server certificate and key (PEM). With client_ca_file,
         * clients must present a certificate signed by it. */
        const char *cert_file;
        const char *key_file;
        const char *client_ca_file;
        /* With client_ca_file: the certificate the launcher's health check presents. */
        const char *health_cert_file;
        const char *health_key_file;
} EtcdLauncherOptions;

/*
 * Start the members and wait until each answers /health (at most ~30 s). Retries with other
 * ports if a member fails to start. opts may be NULL. 0, or a negative errno after logging why
 * to stderr (-ENOENT: no etcd binary; -ETIMEDOUT: never healthy).
 */
int etcd_launcher_start(const EtcdLauncherOptions *opts, EtcdLauncher **ret);

/* Stop every member still running, remove the directory, free. NULL ok. Returns NULL. */
EtcdLauncher *etcd_launcher_free(EtcdLauncher *l);
DEFINE_CLEANUP(EtcdLauncher *, etcd_launcher_free);

size_t etcd_launcher_n_members(const EtcdLauncher *l);
/* Client URL of member i ("http://127.0.0.1:PORT" or https). Borrowed. */
const char *etcd_launcher_endpoint(const EtcdLauncher *l, size_t i);
/* NULL-terminated list of every member's client URL, in member order. Borrowed. */
char *const *etcd_launcher_endpoints(const EtcdLauncher *l);
/* The temp directory (data dirs, logs). Borrowed. */
const char *etcd_launcher_dir(const EtcdLauncher *l);
pid_t etcd_launcher_pid(const EtcdLauncher *l, size_t i);

/* SIGKILL member i and reap it (a crash). 0, or -ESRCH if it is not running. */
int etcd_launcher_kill_member(EtcdLauncher *l, size_t i);

/*
 * Run a command (argv[0] looked up in $PATH) to completion, output discarded unless it fails
 * (then it goes to stderr). 0 if it exited 0, else -EIO. For etcdctl and openssl in tests.
 */
int etcd_launcher_run(char *const *argv);

/* Recursively remove path (no error if absent). 0 or negative errno. */
int etcd_launcher_rm_rf(const char *path);

/*
 * Make a scratch directory for a test binary: mkdtemp("$TMPDIR/fleet-test-XXXXXX"). Malloc'd
 * path in *ret. 0 or negative errno.
 */
int etcd_launcher_mkdtemp(char **ret);

/*
 * Run event until cond(userdata) is true, or timeout_usec passed (then -ETIMEDOUT). cond is
 * checked before each iteration. For tests waiting on asynchronous callbacks.
 */
int etcd_launcher_run_until(sd_event *event, bool (*cond)(void *userdata), void *userdata,
                            uint64_t timeout_usec);
