/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The standard process metrics every Prometheus client library exports (process_cpu_seconds_total,
 * process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds,
 * process_max_fds, process_start_time_seconds), with the Go client's names, help texts and
 * sources. process_stats_read() does the I/O (/proc/self/stat, /proc/stat, /proc/self/fd,
 * getrlimit); parsing and formatting are pure and unit-tested.
 */

#include <stdint.h>
#include <stdio.h>

#include "time-util.h"

typedef struct ProcessStats {
        usec_t cpu_usec;            /* user + system CPU time */
        uint64_t resident_bytes;    /* RSS */
        uint64_t virtual_bytes;     /* VmSize */
        uint64_t open_fds;          /* entries of /proc/self/fd */
        uint64_t max_fds;           /* soft RLIMIT_NOFILE */
        usec_t start_time_realtime; /* since the epoch */
} ProcessStats;

/*
 * Parse /proc/<pid>/stat text (stat) and the btime line of /proc/stat (proc_stat), with the
 * clock tick rate and page size, into the CPU, memory and start-time fields of *ret (the fd
 * fields are left alone). 0, -EBADMSG if a text is malformed, -EINVAL for a rate or size <= 0
 * (then *ret is unchanged).
 */
int process_stats_parse(const char *stat, const char *proc_stat, long ticks_per_sec, long page_size,
                        ProcessStats *ret);

/* Fill *ret for this process. 0 or -errno (a file could not be read, or -EBADMSG). */
int process_stats_read(ProcessStats *ret);

/* The six process_* families of s in Prometheus text format. */
void process_stats_write(const ProcessStats *s, FILE *f);
