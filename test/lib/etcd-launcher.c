/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "etcd-launcher.h"
#include "strv.h"

#define START_ATTEMPTS 4
#define HEALTH_TIMEOUT_MSEC 30000
#define STOP_GRACE_MSEC 5000

typedef struct Member {
        pid_t pid;
        int client_port, peer_port;
        char *client_url;
        char *peer_url;
        char *data_dir;
} Member;

struct EtcdLauncher {
        char *dir;
        Member *members;
        size_t n_members;
        char **endpoints;
        bool tls;
        char *health_cert, *health_key;
};

static void msleep(unsigned ms) {
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L};

        (void) nanosleep(&ts, NULL);
}

static long long now_msec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        if (flag == FTW_DP || flag == FTW_D)
                return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
        return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int etcd_launcher_run(char *const *argv) {
        char out[] = "/tmp/fleet-test-run-XXXXXX";
        int fd, status;
        pid_t pid;

        fd = mkostemp(out, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        (void) unlink(out);
        pid = fork();
        if (pid < 0) {
                (void) close(fd);
                return -errno;
        }
        if (pid == 0) {
                (void) dup2(fd, STDOUT_FILENO);
                (void) dup2(fd, STDERR_FILENO);
                execvp(argv[0], argv);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                status = -1;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                char buf[4096];
                ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

                buf[n > 0 ? n : 0] = 0;
                fprintf(stderr, "etcd-launcher: %s failed:\n%s\n", argv[0], buf);
                (void) close(fd);
                return -EIO;
        }
        (void) close(fd);
        return 0;
}

int etcd_launcher_rm_rf(const char *path) {
        if (!path)
                return 0;
        if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int etcd_launcher_mkdtemp(char **ret) {
        const char *tmp = getenv("TMPDIR");
        char *p;

        if (asprintf(&p, "%s/fleet-test-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
                return -ENOMEM;
        if (!mkdtemp(p)) {
                int r = -errno;
                free(p);
                return r;
        }
        *ret = p;
        return 0;
}

/* Pick n distinct free loopback ports: keep each bound until all are chosen. */
static int pick_ports(int *ports, size_t n) {
        int fds[16];
        int r = 0;
        size_t i;

        assert(n <= ELEMENTSOF(fds));
        for (i = 0; i < n; i++) {
                struct sockaddr_in a = {.sin_family = AF_INET,
                                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
                socklen_t len = sizeof(a);

                fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fds[i] < 0 || bind(fds[i], (struct sockaddr *) &a, sizeof(a)) < 0 ||
                    getsockname(fds[i], (struct sockaddr *) &a, &len) < 0) {
                        r = -errno;
                        if (fds[i] >= 0)
                                (void) close(fds[i]);
                        break;
                }
                ports[i] = ntohs(a.sin_port);
        }
        while (i > 0)
                (void) close(fds[--i]);
        return r;
}

static void member_done(Member *m) {
        free(m->client_url);
        free(m->peer_url);
        free(m->data_dir);
        *m = (Member){.pid = 0};
}

static int stop_member(Member *m, bool hard) {
        long long deadline;

        if (m->pid <= 0)
                return -ESRCH;
        (void) kill(m->pid, hard ? SIGKILL : SIGTERM);
        deadline = now_msec() + (hard ? 60000 : STOP_GRACE_MSEC);
        for (;;) {
                pid_t p = waitpid(m->pid, NULL, WNOHANG);

                if (p == m->pid || (p < 0 && errno == ECHILD))
                        break;
                if (now_msec() > deadline) {
                        (void) kill(m->pid, SIGKILL);
                        (void) waitpid(m->pid, NULL, 0);
                        break;
                }
                msleep(5);
        }
        m->pid = 0;
        return 0;
}

static int build_argv(const EtcdLauncher *l, size_t i, const EtcdLauncherOptions *o,
                      const char *cluster, char ***ret) {
        const Member *m = &l->members[i];
        _cleanup_strv_free_ char **argv = NULL;
        char name[32], token[64];
        int r = 0;

        (void) snprintf(name, sizeof(name), "m%zu", i);
        (void) snprintf(token, sizeof(token), "fleet-test-%d-%d", (int) getpid(),
                        l->members[0].peer_port);
        const char *args[] = {
                "etcd",        "--name",
                name,          "--data-dir",
                m->data_dir,   "--listen-client-urls",
                m->client_url, "--advertise-client-urls",
                m->client_url, "--listen-peer-urls",
                m->peer_url,   "--initial-advertise-peer-urls",
                m->peer_url,   "--initial-cluster",
                cluster,       "--initial-cluster-state",
                "new",         "--initial-cluster-token",
                token,
        };
        for (size_t k = 0; r >= 0 && k < ELEMENTSOF(args); k++)
                r = strv_extend(&argv, args[k]);
        if (r >= 0 && o->cert_file) {
                r = strv_extend(&argv, "--cert-file");
                r = r < 0 ? r : strv_extend(&argv, o->cert_file);
                r = r < 0 ? r : strv_extend(&argv, "--key-file");
                r = r < 0 ? r : strv_extend(&argv, o->key_file);
        }
        if (r >= 0 && o->client_ca_file) {
                r = strv_extend(&argv, "--client-cert-auth");
                r = r < 0 ? r : strv_extend(&argv, "--trusted-ca-file");
                r = r < 0 ? r : strv_extend(&argv, o->client_ca_file);
        }
        STRV_FOREACH(a, o->extra_args)
                if (r >= 0)
                        r = strv_extend(&argv, *a);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(argv);
        return 0;
}

/* fork + exec etcd with PR_SET_PDEATHSIG, output to <data_dir>.log. */
static int spawn(Member *m, char **argv) {
        _cleanup_free_ char *log = NULL;
        pid_t parent = getpid(), pid;

        if (asprintf(&log, "%s.log", m->data_dir) < 0)
                return -ENOMEM;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int fd;

                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(127);
                fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd >= 0) {
                        (void) dup2(fd, STDOUT_FILENO);
                        (void) dup2(fd, STDERR_FILENO);
                }
                fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (fd >= 0)
                        (void) dup2(fd, STDIN_FILENO);
                execvp(argv[0], argv);
                _exit(127);
        }
        m->pid = pid;
        return 0;
}

static size_t write_sink(char *p, size_t s, size_t n, void *u) {
        return s * n;
}

static bool is_healthy(const EtcdLauncher *l, const Member *m) {
        _cleanup_free_ char *url = NULL;
        CURL *c;
        long code = 0;
        CURLcode res;

        if (asprintf(&url, "%s/health", m->client_url) < 0)
                return false;
        c = curl_easy_init();
        if (!c)
                return false;
        (void) curl_easy_setopt(c, CURLOPT_URL, url);
        (void) curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 500L);
        (void) curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_sink);
        if (l->tls) {
                (void) curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
                (void) curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (l->health_cert) {
                (void) curl_easy_setopt(c, CURLOPT_SSLCERT, l->health_cert);
                (void) curl_easy_setopt(c, CURLOPT_SSLKEY, l->health_key);
        }
        res = curl_easy_perform(c);
        if (res == CURLE_OK)
                (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(c);
        return code == 200;
}

/* 0 healthy, -ECHILD a member exited, -ETIMEDOUT. */
static int wait_healthy(EtcdLauncher *l) {
        long long deadline = now_msec() + HEALTH_TIMEOUT_MSEC;
        size_t ok = 0;

        while (ok < l->n_members) {
                Member *m = &l->members[ok];
                int status;

                if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
                        m->pid = 0;
                        return -ECHILD;
                }
                if (is_healthy(l, m)) {
                        ok++;
                        continue;
                }
                if (now_msec() > deadline)
                        return -ETIMEDOUT;
                msleep(20);
        }
        return 0;
}

static int setup_members(EtcdLauncher *l, const char *scheme, char **ret_cluster) {
        int ports[16];
        _cleanup_free_ char *cluster = NULL;
        static unsigned attempt_no;
        int r;

        r = pick_ports(ports, 2 * l->n_members);
        if (r < 0)
                return r;
        attempt_no++;
        for (size_t i = 0; i < l->n_members; i++) {
                Member *m = &l->members[i];
                char *c;

                member_done(m);
                m->client_port = ports[2 * i];
                m->peer_port = ports[2 * i + 1];
                if (asprintf(&m->client_url, "%s://127.0.0.1:%d", scheme, m->client_port) < 0 ||
                    asprintf(&m->peer_url, "http://127.0.0.1:%d", m->peer_port) < 0 ||
                    asprintf(&m->data_dir, "%s/m%zu-%u", l->dir, i, attempt_no) < 0)
                        return -ENOMEM;
                if (asprintf(&c, "%s%sm%zu=%s", strempty(cluster), cluster ? "," : "", i,
                             m->peer_url) < 0)
                        return -ENOMEM;
                free(cluster);
                cluster = c;
        }
        *ret_cluster = TAKE_PTR(cluster);
        return 0;
}

static void stop_all(EtcdLauncher *l, bool hard) {
        for (size_t i = 0; i < l->n_members; i++)
                (void) stop_member(&l->members[i], hard);
}

static int start_once(EtcdLauncher *l, const EtcdLauncherOptions *o) {
        _cleanup_free_ char *cluster = NULL;
        int r;

        r = setup_members(l, o->cert_file ? "https" : "http", &cluster);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l->n_members; i++) {
                _cleanup_strv_free_ char **argv = NULL;

                r = build_argv(l, i, o, cluster, &argv);
                if (r < 0)
                        return r;
                r = spawn(&l->members[i], argv);
                if (r < 0)
                        return r;
        }
        return wait_healthy(l);
}

static bool have_etcd(void) {
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = strdup(path && *path ? path : "/usr/bin:/bin");

        if (!copy)
                return false;
        for (char *s = NULL, *d = strtok_r(copy, ":", &s); d; d = strtok_r(NULL, ":", &s)) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "%s/etcd", d) >= 0 && access(p, X_OK) == 0)
                        return true;
        }
        return false;
}

static int launcher_alloc(const EtcdLauncherOptions *o, EtcdLauncher **ret) {
        _cleanup_(etcd_launcher_freep) EtcdLauncher *l = NULL;
        const char *base = o->base_dir;
        size_t n = o->n_members > 0 ? o->n_members : 1;
        int r;

        if (n > 8)
                return -EINVAL;
        l = calloc(1, sizeof(EtcdLauncher));
        if (!l)
                return -ENOMEM;
        l->members = calloc(n, sizeof(Member));
        if (!l->members)
                return -ENOMEM;
        l->n_members = n;
        l->tls = o->cert_file != NULL;
        if (o->health_cert_file) {
                l->health_cert = strdup(o->health_cert_file);
                l->health_key = strdup(strempty(o->health_key_file));
                if (!l->health_cert || !l->health_key)
                        return -ENOMEM;
        }
        if (base) {
                if (asprintf(&l->dir, "%s/etcd-XXXXXX", base) < 0)
                        return -ENOMEM;
                if (!mkdtemp(l->dir))
                        return -errno;
        } else {
                r = etcd_launcher_mkdtemp(&l->dir);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int etcd_launcher_start(const EtcdLauncherOptions *opts, EtcdLauncher **ret) {
        _cleanup_(etcd_launcher_freep) EtcdLauncher *l = NULL;
        EtcdLauncherOptions o = opts ? *opts : (EtcdLauncherOptions){};
        int r = -EIO;

        if (!have_etcd()) {
                fprintf(stderr, "etcd-launcher: no 'etcd' binary in $PATH; install etcd-server "
                                "(make deps)\n");
                return -ENOENT;
        }
        r = launcher_alloc(&o, &l);
        if (r < 0)
                return r;
        for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
                r = start_once(l, &o);
                if (r >= 0)
                        break;
                fprintf(stderr, "etcd-launcher: start attempt %d failed (%s), see %s\n",
                        attempt + 1, strerror(-r), l->dir);
                stop_all(l, true);
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < l->n_members; i++) {
                r = strv_extend(&l->endpoints, l->members[i].client_url);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

EtcdLauncher *etcd_launcher_free(EtcdLauncher *l) {
        if (!l)
                return NULL;
        stop_all(l, false);
        for (size_t i = 0; i < l->n_members; i++)
                member_done(&l->members[i]);
        free(l->members);
        if (l->dir)
                (void) etcd_launcher_rm_rf(l->dir);
        free(l->dir);
        strv_free(l->endpoints);
        free(l->health_cert);
        free(l->health_key);
        free(l);
        return NULL;
}

size_t etcd_launcher_n_members(const EtcdLauncher *l) {
        return l->n_members;
}

const char *etcd_launcher_endpoint(const EtcdLauncher *l, size_t i) {
        assert(i < l->n_members);
        return l->members[i].client_url;
}

char *const *etcd_launcher_endpoints(const EtcdLauncher *l) {
        return l->endpoints;
}

const char *etcd_launcher_dir(const EtcdLauncher *l) {
        return l->dir;
}

pid_t etcd_launcher_pid(const EtcdLauncher *l, size_t i) {
        assert(i < l->n_members);
        return l->members[i].pid;
}

int etcd_launcher_kill_member(EtcdLauncher *l, size_t i) {
        assert(i < l->n_members);
        return stop_member(&l->members[i], true);
}

int etcd_launcher_run_until(sd_event *event, bool (*cond)(void *userdata), void *userdata,
                            uint64_t timeout_usec) {
        long long deadline = now_msec() + (long long) (timeout_usec / 1000);

        while (!cond(userdata)) {
                long long left = deadline - now_msec();
                int r;

                if (left <= 0)
                        return -ETIMEDOUT;
                r = sd_event_run(event, (uint64_t) left * 1000);
                if (r < 0)
                        return r;
        }
        return 0;
}
