/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "fleetctl-util.h"
#include "fleetctl.h"
#include "log.h"
#include "strv.h"

/*
 * status, journal, ssh and fd-forward (reference 11.5, 11.7). A command for a unit runs
 * locally when the unit's machine is this machine (/etc/machine-id), otherwise through the
 * system ssh client to the machine's public IP; its exit code becomes fleetctl's.
 */

static const char *local_machine_id(Fleetctl *f) {
        if (!f->local_machine_id_loaded) {
                FILE *fp = fopen("/etc/machine-id", "re");
                char buf[128];

                f->local_machine_id_loaded = true;
                if (fp) {
                        if (fgets(buf, sizeof(buf), fp)) {
                                buf[strcspn(buf, " \t\r\n")] = '\0';
                                f->local_machine_id = *buf ? strdup(buf) : NULL;
                        }
                        (void) fclose(fp);
                }
        }
        return f->local_machine_id;
}

/* ssh asks fleetctl itself (see fleetctl_askpass_main()) instead of the terminal. */
static void use_askpass(void) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

        if (n <= 0)
                return;
        self[n] = '\0';
        (void) setenv("SSH_ASKPASS", self, 1);
        (void) setenv("SSH_ASKPASS_REQUIRE", "force", 1);
        (void) setenv(FLEETCTL_ASKPASS_ENV, "1", 1);
}

/* fork/exec argv and wait: the exit code, 128+signal, or 255 if it could not run. askpass:
 * make fleetctl ssh's askpass program in the child. */
static int spawn_wait(char **argv, bool askpass) {
        pid_t pid;
        int status;

        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                log_error_errno(errno, "Failed to fork: %m");
                return 255;
        }
        if (pid == 0) {
                if (askpass)
                        use_askpass();
                execvp(argv[0], argv);
                fprintf(stderr, "Error running command %s: %m\n", argv[0]);
                _exit(255);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        log_error_errno(errno, "Failed to wait for %s: %m", argv[0]);
                        return 255;
                }
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 255;
}

/* OpenSSH does not create the known-hosts file's directory; fleet did (mode 0700). */
static void ensure_known_hosts_dir(const char *path) {
        _cleanup_free_ char *dir = NULL;

        if (fleetctl_path_dir(path, &dir) < 0 || streq(dir, ".") || streq(dir, "/"))
                return;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                log_debug_errno(errno, "Failed to create %s: %m", dir);
}

/* ssh to host and run command (NULL: interactive shell). */
static int run_ssh(Fleetctl *f, const char *host, const char *command, bool forward_agent) {
        _cleanup_free_ char *tunnel = NULL, *known_hosts = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        SshOptions o;

        if ((f->tunnel && *f->tunnel && fleetctl_tunnel_normalize(f->tunnel, &tunnel) < 0) ||
            fleetctl_expand_tilde(strempty(f->known_hosts_file), getenv("HOME"), &known_hosts) <
                    0) {
                (void) log_oom();
                return 255;
        }
        o = (SshOptions){.user = f->ssh_username,
                         .port = f->ssh_port,
                         .timeout = f->ssh_timeout,
                         .strict_host_key_checking = f->strict_host_key_checking,
                         .known_hosts_file = known_hosts,
                         .tunnel = tunnel,
                         .forward_agent = forward_agent,
                         .tty = command                ? -1
                                : isatty(STDIN_FILENO) ? 1
                                                       : -1};
        if (f->strict_host_key_checking)
                ensure_known_hosts_dir(known_hosts);
        if (fleetctl_ssh_argv(&o, host, command, NULL, &argv) < 0) {
                (void) log_oom();
                return 255;
        }
        if (log_get_max_level() >= LOG_DEBUG) {
                _cleanup_free_ char *line = NULL;
                if (fleetctl_shell_join(argv, &line) >= 0)
                        log_debug("Running %s", line);
        }
        return spawn_wait(argv, f->strict_host_key_checking);
}

int fleetctl_run_on_machine(Fleetctl *f, const char *machine_id, char **argv) {
        const ApiMachine *m;
        _cleanup_free_ char *command = NULL;
        const char *local = local_machine_id(f);

        if (local && machine_id && streq(local, machine_id))
                return spawn_wait(argv, false);
        m = machine_id ? fleetctl_machine_lookup(machine_id, f) : NULL;
        if (!m || !m->primary_ip || !*m->primary_ip) {
                fleetctl_stderr("Error getting machine IP: machine %s is unknown or has no "
                                "public IP",
                                strempty(machine_id));
                return 255;
        }
        if (fleetctl_shell_join(argv, &command) < 0) {
                (void) log_oom();
                return 255;
        }
        return run_ssh(f, m->primary_ip, command, false);
}

/* Read one line from fd byte by byte (what follows stays for ssh's remote command). */
static void read_line(int fd, char *buf, size_t size) {
        size_t n = 0;

        while (n + 1 < size) {
                ssize_t k = read(fd, buf + n, 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0 || buf[n] == '\n')
                        break;
                n++;
        }
        buf[n] = '\0';
}

/* A passphrase or password: asked on the terminal without echo, as ssh itself would. */
static int askpass_terminal(const char *prompt) {
        _cleanup_close_ int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
        struct termios old, quiet;
        char buf[1024];
        bool restore;

        if (fd < 0)
                return 1;
        (void) dprintf(fd, "%s", prompt);
        restore = tcgetattr(fd, &old) == 0;
        if (restore) {
                quiet = old;
                quiet.c_lflag &= ~(tcflag_t) ECHO;
                (void) tcsetattr(fd, TCSAFLUSH, &quiet);
        }
        read_line(fd, buf, sizeof(buf));
        if (restore)
                (void) tcsetattr(fd, TCSAFLUSH, &old);
        (void) dprintf(fd, "\n");
        printf("%s\n", buf);
        explicit_bzero(buf, sizeof(buf));
        return 0;
}

int fleetctl_askpass_main(const char *prompt) {
        const char *answer;
        char line[256];

        if (fleetctl_askpass_answer(prompt, "", &answer) == -EOPNOTSUPP)
                return askpass_terminal(prompt);
        /* fleet: the prompt on stderr, the answer from stdin */
        fputs(prompt, stderr);
        fflush(stderr);
        read_line(STDIN_FILENO, line, sizeof(line));
        (void) fleetctl_askpass_answer(prompt, line, &answer);
        printf("%s\n", answer);
        return 0;
}

/* The machines a unit runs on: its target machine, or for a global unit every machine that
 * reports a state for it. */
static int unit_machines(Fleetctl *f, const ApiUnit *u, bool global, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        ApiUnitState *s = NULL;
        size_t n = 0;

        if (!global) {
                if (u->machine_id && *u->machine_id && strv_extend(&l, u->machine_id) < 0)
                        return -ENOMEM;
                *ret = TAKE_PTR(l);
                return 0;
        }
        if (api_client_list_unit_states(f->client, u->name, NULL, &s, &n) < 0)
                return -EIO;
        for (size_t i = 0; i < n; i++)
                if (s[i].machine_id && *s[i].machine_id && !strv_contains(l, s[i].machine_id) &&
                    strv_extend(&l, s[i].machine_id) < 0) {
                        api_unit_state_array_free(s, n);
                        return -ENOMEM;
                }
        api_unit_state_array_free(s, n);
        *ret = TAKE_PTR(l);
        return 0;
}

typedef struct Target {
        char *name;
        char **machines;
} Target;

static int run_status(Fleetctl *f, char **args, size_t n_args) {
        Target *targets = calloc(MAX(n_args, 1u), sizeof(Target));
        size_t n = 0;
        bool first = true;
        int ret = 0;

        if (!targets)
                return fleetctl_oom();
        for (size_t i = 0; i < n_args && ret == 0; i++) {
                _cleanup_(api_unit_done) ApiUnit u = {};
                bool global;
                int r;

                if (fleetctl_unit_name_mangle(args[i], &targets[n].name) < 0) {
                        (void) log_oom();
                        ret = 1;
                        break;
                }
                n++;
                r = api_client_get_unit(f->client, targets[n - 1].name, &u);
                if (r == -ENOENT) {
                        fleetctl_stderr("Unit %s does not exist.", targets[n - 1].name);
                        ret = 1;
                        break;
                }
                if (r < 0) {
                        fleetctl_stderr("Error retrieving unit: %s", api_client_error(f->client));
                        ret = 1;
                        break;
                }
                global = api_unit_is_global(&u);
                if (!global && streq(strempty(u.current_state), "inactive")) {
                        fleetctl_stderr("Unit %s does not appear to be loaded.", u.name);
                        ret = 1;
                        break;
                }
                r = unit_machines(f, &u, global, &targets[n - 1].machines);
                if (r < 0 || !targets[n - 1].machines) {
                        if (r < 0)
                                fleetctl_stderr("Error retrieving state of unit %s: %s", u.name,
                                                api_client_error(f->client));
                        else
                                fleetctl_stderr("Unit %s does not appear to be loaded.", u.name);
                        ret = 1;
                        break;
                }
        }
        for (size_t i = 0; ret == 0 && i < n; i++)
                STRV_FOREACH(m, targets[i].machines) {
                        _cleanup_strv_free_ char **argv = NULL;

                        /* the extra newline matches systemctl status output */
                        if (!first)
                                fleetctl_stdout("%s", "");
                        first = false;
                        if (fleetctl_status_argv(targets[i].name, &argv) < 0) {
                                (void) log_oom();
                                ret = 1;
                                break;
                        }
                        ret = fleetctl_run_on_machine(f, *m, argv);
                        if (ret != 0)
                                break;
                }
        for (size_t i = 0; i < n; i++) {
                free(targets[i].name);
                strv_free(targets[i].machines);
        }
        free(targets);
        return ret;
}

static int run_journal(Fleetctl *f, char **args, size_t n_args) {
        _cleanup_(api_unit_done) ApiUnit u = {};
        _cleanup_free_ char *name = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        if (n_args != 1) {
                fleetctl_stderr("One unit file must be provided.");
                return 1;
        }
        if (fleetctl_unit_name_mangle(args[0], &name) < 0)
                return fleetctl_oom();
        r = api_client_get_unit(f->client, name, &u);
        if (r == -ENOENT) {
                fleetctl_stderr("Unit %s does not exist.", name);
                return 1;
        }
        if (r < 0) {
                fleetctl_stderr("Error retrieving unit %s: %s", name, api_client_error(f->client));
                return 1;
        }
        if (api_unit_is_global(&u)) {
                fleetctl_stderr("Unable to retrieve journal of global unit %s.", name);
                return 1;
        }
        if (streq(strempty(u.current_state), "inactive") || !u.machine_id || !*u.machine_id) {
                fleetctl_stderr("Unit %s does not appear to be running.", name);
                return 1;
        }
        if (fleetctl_journal_argv(name, f->lines, f->follow, f->sudo, f->output, &argv) < 0)
                return fleetctl_oom();
        return fleetctl_run_on_machine(f, u.machine_id, argv);
}

/* ---- ssh ---- */

static int address_in_machine_list(Fleetctl *f, const char *lookup, char **ret, char **reterr) {
        const ApiMachine *match = NULL;

        (void) fleetctl_machine_lookup("", f); /* load the list */
        if (f->n_machines == 0 && !f->machines) {
                *reterr = strdup("machine does not exist");
                return -ENOENT;
        }
        for (size_t i = 0; i < f->n_machines; i++) {
                if (!strneq(strempty(f->machines[i].id), lookup, strlen(lookup)))
                        continue;
                if (match) {
                        *reterr = strdup("found more than one machine");
                        return -EEXIST;
                }
                match = &f->machines[i];
        }
        if (!match) {
                *reterr = strdup("machine does not exist");
                return -ENOENT;
        }
        *ret = strdup(strempty(match->primary_ip));
        return *ret ? 0 : -ENOMEM;
}

static int address_in_running_units(Fleetctl *f, const char *lookup, char **ret, char **reterr) {
        _cleanup_(api_unit_done) ApiUnit u = {};
        _cleanup_free_ char *name = NULL;
        const ApiMachine *m;
        int r;

        if (fleetctl_unit_name_mangle(lookup, &name) < 0)
                return -ENOMEM;
        r = api_client_get_unit(f->client, name, &u);
        if (r == -ENOENT) {
                *reterr = strdup("unit does not exist");
                return r;
        }
        if (r < 0) {
                *reterr = strdup(api_client_error(f->client));
                return r;
        }
        if (api_unit_is_global(&u)) {
                *reterr = strdup("global units unsupported");
                return -EINVAL;
        }
        m = u.machine_id ? fleetctl_machine_lookup(u.machine_id, f) : NULL;
        if (!m || !m->primary_ip || !*m->primary_ip)
                return -ENXIO; /* found, but no address: fleet reports it later */
        *ret = strdup(m->primary_ip);
        return *ret ? 0 : -ENOMEM;
}

static int global_lookup(Fleetctl *f, const char *lookup, char **ret, char **reterr) {
        _cleanup_free_ char *maddr = NULL, *uaddr = NULL, *e1 = NULL, *e2 = NULL;
        bool mok = address_in_machine_list(f, lookup, &maddr, &e1) >= 0;
        bool uok = address_in_running_units(f, lookup, &uaddr, &e2) >= 0;

        if (mok && uok) {
                if (asprintf(reterr,
                             "ambiguous argument, both machine and unit found for `%s`.\n"
                             "Please use flag `-m` or `-u` to refine the search",
                             lookup) < 0)
                        *reterr = NULL;
                return -EINVAL;
        }
        if (mok || uok) {
                *ret = mok ? TAKE_PTR(maddr) : TAKE_PTR(uaddr);
                return 0;
        }
        *reterr = strdup("could not find matching unit or machine");
        return -ENOENT;
}

static int run_ssh_command(Fleetctl *f, char **args, size_t n_args) {
        _cleanup_free_ char *addr = NULL, *msg = NULL, *command = NULL;
        bool have_m = f->machine && *f->machine, have_u = f->unit && *f->unit;
        size_t first = 0;
        int r;

        if (have_m && have_u) {
                fleetctl_stderr("Both machine and unit flags provided, please specify only one.");
                return 1;
        }
        if (have_m)
                r = address_in_machine_list(f, f->machine, &addr, &msg);
        else if (have_u) {
                r = address_in_running_units(f, f->unit, &addr, &msg);
                if (r == -ENXIO)
                        r = 0;
        } else if (n_args == 0) {
                msg = strdup("one machine or unit must be provided");
                r = -EINVAL;
        } else {
                r = global_lookup(f, args[0], &addr, &msg);
                first = 1;
        }
        if (r == -ENOMEM)
                return fleetctl_oom();
        if (r < 0) {
                fleetctl_stderr("Unable to proceed: %s", strempty(msg));
                return 1;
        }
        if (!addr || !*addr) {
                fleetctl_stderr("Could not determine address of machine.");
                return 1;
        }
        if (first < n_args) {
                /* the user's words, joined with spaces for the remote shell (as fleet does) */
                size_t len = 1;
                for (size_t i = first; i < n_args; i++)
                        len += strlen(args[i]) + 1;
                command = calloc(len, 1);
                if (!command)
                        return fleetctl_oom();
                for (size_t i = first; i < n_args; i++) {
                        if (i > first)
                                strcat(command, " ");
                        strcat(command, args[i]);
                }
        }
        return run_ssh(f, addr, command, f->forward_agent);
}

/* ---- fd-forward ---- */

static int copy_once(int from, int to) {
        char buf[16384];
        ssize_t n = read(from, buf, sizeof(buf));

        if (n <= 0)
                return n < 0 && (errno == EINTR || errno == EAGAIN) ? 1 : (int) n;
        for (ssize_t off = 0; off < n;) {
                ssize_t w = write(to, buf + off, (size_t) (n - off));
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                off += w;
        }
        return 1;
}

static int run_fd_forward(Fleetctl *f, char **args, size_t n_args) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;
        bool in_open = true;

        if (n_args != 1) {
                fleetctl_stderr("Provide a single argument: the path of a unix domain socket");
                return 1;
        }
        if (strlen(args[0]) >= sizeof(sa.sun_path)) {
                fleetctl_stderr("Socket path too long: %s", args[0]);
                return 1;
        }
        strcpy(sa.sun_path, args[0]);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                fleetctl_stderr("Unable to connect to %s: %m", args[0]);
                return 1;
        }
        for (;;) {
                struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                                      {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN}};
                int r;

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        fleetctl_stderr("poll failed: %m");
                        return 1;
                }
                if (p[0].revents) {
                        r = copy_once(fd, STDOUT_FILENO);
                        if (r <= 0)
                                return r < 0;
                }
                if (in_open && p[1].revents) {
                        r = copy_once(STDIN_FILENO, fd);
                        if (r < 0)
                                return 1;
                        if (r == 0) {
                                in_open = false;
                                (void) shutdown(fd, SHUT_WR);
                        }
                }
        }
}

static const FlagSpec status_flags[] = {FLAG_SSH_PORT};

static const FlagSpec journal_flags[] = {
        {"lines", 0, FLAG_INT, offsetof(Fleetctl, lines), "10",
         "Number of recent log lines to return", false},
        {"follow", 'f', FLAG_BOOL, offsetof(Fleetctl, follow), NULL,
         "Continuously print new entries as they are appended to the journal.", false},
        FLAG_SSH_PORT,
        {"sudo", 0, FLAG_BOOL, offsetof(Fleetctl, sudo), NULL, "Execute journal command with sudo",
         false},
        {"output", 0, FLAG_STRING, offsetof(Fleetctl, output), "short",
         "Output mode. This will be passed unaltered to journalctl --output.", false},
};

static const FlagSpec ssh_flags[] = {
        {"machine", 'm', FLAG_STRING, offsetof(Fleetctl, machine), "",
         "Open SSH connection to a specific machine.", false},
        {"unit", 'u', FLAG_STRING, offsetof(Fleetctl, unit), "",
         "Open SSH connection to machine running provided unit.", false},
        {"forward-agent", 'A', FLAG_BOOL, offsetof(Fleetctl, forward_agent), NULL,
         "Forward local ssh-agent to target machine.", false},
        FLAG_SSH_PORT,
};

const Command fleetctl_remote_commands[] = {
        {"fd-forward", "SOCKET", "Proxy stdin and stdout to a unix domain socket",
         "fd-forward is used internally by fleetctl's --tunnel to reach a unix socket on the "
         "tunnel host.",
         NULL, 0, run_fd_forward, false},
        {"journal", "[--lines=N] [--ssh-port=N] [-f|--follow] [--output=STRING] UNIT",
         "Print the journal of a unit in the cluster to stdout",
         "Outputs the journal of a unit by connecting to the machine that the unit occupies.\n\n"
         "Read the last 10 lines:\n\tfleetctl journal foo.service\n\n"
         "Read the last 100 lines:\n\tfleetctl journal --lines 100 foo.service\n\n"
         "This command does not work with global units.",
         journal_flags, ELEMENTSOF(journal_flags), run_journal, true},
        {"ssh", "[-A|--forward-agent] [--ssh-port=N] [--machine|--unit] {MACHINE|UNIT} [CMD...]",
         "Open interactive shell on a machine in the cluster",
         "Open an interactive shell on a specific machine in the cluster or on the machine\n"
         "where the specified unit is located.\n\n"
         "fleetctl tries to detect whether your first argument is a machine or a unit.\n"
         "To skip this check use the --machine or --unit flags.\n\n"
         "Open a shell on a machine:\n\tfleetctl ssh 2444264c-eac2-4eff-a490-32d5e5e4af24\n\n"
         "Run a command on the machine of a unit:\n\tfleetctl ssh foo.service -- uptime\n\n"
         "This command does not work with global units.",
         ssh_flags, ELEMENTSOF(ssh_flags), run_ssh_command, true},
        {"status", "[--ssh-port=N] UNIT...",
         "Output the status of one or more units in the cluster",
         "Output the status of one or more units currently running in the cluster.\n"
         "Supports glob matching of units in the current working directory or matches\n"
         "previously started units. For a global unit, the status on every machine that runs\n"
         "it is shown.\n\n"
         "Show status of a single unit:\n\tfleetctl status foo.service",
         status_flags, ELEMENTSOF(status_flags), run_status, true},
};
const size_t fleetctl_n_remote_commands = ELEMENTSOF(fleetctl_remote_commands);
