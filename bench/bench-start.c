/* SPDX-License-Identifier: MIT */
/*
 * bench-start: run `fleetctl start FILE` for each FILE, one after another, and record
 * CLOCK_MONOTONIC (microseconds) just before each fleetctl is exec'd and when it has exited.
 * tools/bench.sh compares the start time with systemd's ActiveEnterTimestampMonotonic in the
 * machine the unit landed on: the simulated machines share the host's kernel and have no time
 * namespace, so CLOCK_MONOTONIC is one clock for all of them.
 *
 *   bench-start [--no-block] [--block-attempts N] FLEETCTL OUTFILE FILE...
 *   bench-start --now        print CLOCK_MONOTONIC in microseconds (for shell scripts)
 *
 * OUTFILE gets one line per file: "<unit name> <t0 usec> <t1 usec> <exit status>". fleetctl's
 * stdout is discarded, its stderr passed through; FLEETCTL_ENDPOINT etc. come from the
 * environment. Exit 1 (after recording it) if a fleetctl fails, 2 on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned long long mono_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (unsigned long long) ts.tv_sec * 1000000ULL + (unsigned long long) ts.tv_nsec / 1000;
}

int main(int argc, char **argv) {
        const char *block = NULL;
        char attempts[64];
        FILE *out;
        int i = 1, rc = 0;

        if (argc == 2 && strcmp(argv[1], "--now") == 0) {
                printf("%llu\n", mono_usec());
                return 0;
        }
        for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
                if (strcmp(argv[i], "--no-block") == 0)
                        block = "--no-block";
                else if (strcmp(argv[i], "--block-attempts") == 0 && i + 1 < argc) {
                        (void) snprintf(attempts, sizeof(attempts), "--block-attempts=%s",
                                        argv[++i]);
                        block = attempts;
                } else
                        break;
        }
        if (argc - i < 3) {
                fprintf(stderr, "usage: bench-start [--no-block] [--block-attempts N] FLEETCTL "
                                "OUTFILE FILE...\n");
                return 2;
        }
        out = fopen(argv[i + 1], "we");
        if (!out) {
                fprintf(stderr, "bench-start: %s: %s\n", argv[i + 1], strerror(errno));
                return 2;
        }
        for (int k = i + 2; k < argc; k++) {
                char *copy = strdup(argv[k]);
                unsigned long long t0, t1;
                int status = 0;
                pid_t pid;

                if (!copy)
                        return 2;
                t0 = mono_usec();
                pid = fork();
                if (pid < 0) {
                        fprintf(stderr, "bench-start: fork: %s\n", strerror(errno));
                        return 2;
                }
                if (pid == 0) {
                        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

                        if (fd >= 0)
                                (void) dup2(fd, STDOUT_FILENO);
                        if (block)
                                execl(argv[i], argv[i], "start", block, argv[k], (char *) NULL);
                        else
                                execl(argv[i], argv[i], "start", argv[k], (char *) NULL);
                        _exit(127);
                }
                (void) waitpid(pid, &status, 0);
                t1 = mono_usec();
                status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                fprintf(out, "%s %llu %llu %d\n", basename(copy), t0, t1, status);
                (void) fflush(out);
                free(copy);
                if (status != 0) {
                        fprintf(stderr, "bench-start: fleetctl start %s exited %d\n", argv[k],
                                status);
                        rc = 1;
                        break;
                }
        }
        if (fclose(out) != 0)
                rc = 2;
        return rc;
}
