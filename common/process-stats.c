/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "macro.h"
#include "metrics-text.h"
#include "process-stats.h"

/* Field n (1-based, as in proc(5): 14 is utime) of a /proc/<pid>/stat line. The command name
 * (field 2) may hold spaces and parentheses, so the count starts after its last ')'. */
static int stat_field(const char *stat, unsigned n, unsigned long long *ret) {
        const char *p = strrchr(stat, ')');
        char *end;

        if (!p || n < 3)
                return -EBADMSG;
        p++;
        for (unsigned i = 3; i <= n; i++) {
                while (*p == ' ')
                        p++;
                if (!*p)
                        return -EBADMSG;
                if (i == n)
                        break;
                p += strcspn(p, " ");
        }
        if (*p < '0' || *p > '9')
                return -EBADMSG;
        errno = 0;
        *ret = strtoull(p, &end, 10);
        if (errno != 0 || (*end != ' ' && *end != '\n' && *end != '\0'))
                return -EBADMSG;
        return 0;
}

static int boot_time(const char *proc_stat, unsigned long long *ret) {
        for (const char *l = proc_stat; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
                if (strneq(l, "btime ", 6)) {
                        char *end;

                        errno = 0;
                        *ret = strtoull(l + 6, &end, 10);
                        if (errno != 0 || end == l + 6 || (*end != '\n' && *end != '\0'))
                                return -EBADMSG;
                        return 0;
                }
        return -EBADMSG;
}

int process_stats_parse(const char *stat, const char *proc_stat, long ticks_per_sec, long page_size,
                        ProcessStats *ret) {
        unsigned long long utime, stime, start, vsize, rss, btime;

        if (ticks_per_sec <= 0 || page_size <= 0)
                return -EINVAL;
        if (stat_field(stat, 14, &utime) < 0 || stat_field(stat, 15, &stime) < 0 ||
            stat_field(stat, 22, &start) < 0 || stat_field(stat, 23, &vsize) < 0 ||
            stat_field(stat, 24, &rss) < 0 || boot_time(proc_stat, &btime) < 0)
                return -EBADMSG;
        ret->cpu_usec = (utime + stime) * USEC_PER_SEC / (unsigned long long) ticks_per_sec;
        ret->virtual_bytes = vsize;
        ret->resident_bytes = rss * (unsigned long long) page_size;
        ret->start_time_realtime =
                btime * USEC_PER_SEC + start * USEC_PER_SEC / (unsigned long long) ticks_per_sec;
        return 0;
}

static int read_text(const char *path, char *buf, size_t size) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        size_t n;

        if (!f)
                return -errno;
        n = fread(buf, 1, size - 1, f);
        if (ferror(f))
                return -EIO;
        buf[n] = '\0';
        return 0;
}

static int count_fds(uint64_t *ret) {
        DIR *d = opendir("/proc/self/fd");
        uint64_t n = 0;

        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        *ret = n > 0 ? n - 1 : 0; /* not the directory's own fd */
        return 0;
}

/* The "btime" line of /proc/stat; its "intr" line before it can be many kilobytes long. */
static int read_btime_line(char *buf, size_t size) {
        _cleanup_fclose_ FILE *f = fopen("/proc/stat", "re");
        _cleanup_free_ char *line = NULL;
        size_t n = 0;

        if (!f)
                return -errno;
        while (getline(&line, &n, f) > 0)
                if (strneq(line, "btime ", 6)) {
                        snprintf(buf, size, "%s", line);
                        return 0;
                }
        return -EBADMSG;
}

int process_stats_read(ProcessStats *ret) {
        char stat[1024], proc_stat[128];
        ProcessStats s = {};
        struct rlimit rl;
        int r;

        r = read_text("/proc/self/stat", stat, sizeof(stat));
        if (r < 0)
                return r;
        r = read_btime_line(proc_stat, sizeof(proc_stat));
        if (r < 0)
                return r;
        r = process_stats_parse(stat, proc_stat, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), &s);
        if (r < 0)
                return r;
        r = count_fds(&s.open_fds);
        if (r < 0)
                return r;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        s.max_fds = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t) rl.rlim_cur;
        *ret = s;
        return 0;
}

void process_stats_write(const ProcessStats *s, FILE *f) {
        metrics_family(f, "process_cpu_seconds_total", "counter",
                       "Total user and system CPU time spent in seconds.");
        metrics_sample_seconds(f, "process_cpu_seconds_total", NULL, s->cpu_usec);
        metrics_family(f, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        metrics_sample_u64(f, "process_max_fds", NULL, s->max_fds);
        metrics_family(f, "process_open_fds", "gauge", "Number of open file descriptors.");
        metrics_sample_u64(f, "process_open_fds", NULL, s->open_fds);
        metrics_family(f, "process_resident_memory_bytes", "gauge",
                       "Resident memory size in bytes.");
        metrics_sample_u64(f, "process_resident_memory_bytes", NULL, s->resident_bytes);
        metrics_family(f, "process_start_time_seconds", "gauge",
                       "Start time of the process since unix epoch in seconds.");
        metrics_sample_seconds(f, "process_start_time_seconds", NULL, s->start_time_realtime);
        metrics_family(f, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        metrics_sample_u64(f, "process_virtual_memory_bytes", NULL, s->virtual_bytes);
}
