/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "etcd-launcher.h"
#include "fleetctl-run.h"
#include "macro.h"

typedef struct Child {
        FleetctlRun *run;
        bool eof;
} Child;

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Child *c = userdata;
        FleetctlRun *r = c->run;
        char discard[4096];
        size_t room = sizeof(r->out) - 1 - r->len;
        ssize_t k = room > 0 ? read(fd, r->out + r->len, room) : read(fd, discard, sizeof(discard));

        if (k <= 0) {
                c->eof = true;
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }
        if (room > 0)
                r->len += (size_t) k;
        r->out[r->len] = '\0';
        return 0;
}

static bool child_eof(void *userdata) {
        return ((Child *) userdata)->eof;
}

static int spawn(char *const *args, const char *cwd, int out_fd, pid_t *ret_pid) {
        const char *build = getenv("BUILD");
        _cleanup_free_ char *bin = NULL;
        _cleanup_free_ char **argv = NULL;
        posix_spawn_file_actions_t fa;
        size_t n = 0;
        int r;

        if (asprintf(&bin, "%s%s/bin/fleetctl", build && *build == '/' ? "" : "./",
                     build && *build ? build : "build") < 0)
                return -ENOMEM;
        while (args[n])
                n++;
        argv = calloc(n + 2, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        argv[0] = bin;
        for (size_t i = 0; i < n; i++)
                argv[i + 1] = args[i];
        if (cwd && *bin != '/') {
                /* a relative path to the binary would be resolved in cwd */
                char *abs = realpath(bin, NULL);
                if (!abs)
                        return -errno;
                free(bin);
                argv[0] = bin = abs;
        }
        /*
         * posix_spawn, not fork: the parent stays suspended until the exec, and the child
         * closes every other fd first. A forked child running beside the event loop would hold
         * copies of sockets (libcurl's are not close-on-exec) that the loop closes meanwhile,
         * which leaves their epoll registrations behind and sd-event aborts on stale events.
         */
        r = -posix_spawn_file_actions_init(&fa);
        if (r < 0)
                return r;
        if ((r = -posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO)) == 0 &&
            (r = -posix_spawn_file_actions_adddup2(&fa, out_fd, STDERR_FILENO)) == 0 &&
            (r = -posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0)) ==
                    0 &&
            (r = -posix_spawn_file_actions_addclosefrom_np(&fa, 3)) == 0 &&
            (!cwd || (r = -posix_spawn_file_actions_addchdir_np(&fa, cwd)) == 0))
                r = -posix_spawn(ret_pid, bin, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        return r;
}

int fleetctl_run(sd_event *e, char *const *args, const char *cwd, uint64_t timeout_usec,
                 FleetctlRun *ret) {
        Child c = {.run = ret};
        sd_event_source *src = NULL;
        int pfd[2], status = 0, r;
        pid_t pid;

        ret->len = 0;
        ret->out[0] = '\0';
        ret->status = -1;
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        r = spawn(args, cwd, pfd[1], &pid);
        close(pfd[1]);
        if (r < 0) {
                close(pfd[0]);
                return r;
        }
        r = sd_event_add_io(e, &src, pfd[0], EPOLLIN, on_output, &c);
        if (r >= 0)
                r = etcd_launcher_run_until(e, child_eof, &c, timeout_usec);
        sd_event_source_disable_unref(src);
        close(pfd[0]);
        if (r < 0)
                (void) kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (r < 0)
                return r;
        ret->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return 0;
}
