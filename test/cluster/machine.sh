#!/bin/bash
# SPDX-License-Identifier: MIT
# machine.sh — simulated machines on one host, each with a real systemd as PID 1.
#
#   machine.sh up NAME INDEX     boot machine NAME; its "public IP" is 127.0.0.(10+INDEX)
#   machine.sh exec NAME CMD...  run CMD inside NAME (its mount/pid/uts/ipc/cgroup namespaces)
#   machine.sh down NAME         power NAME off (SIGKILL after a timeout), remove its cgroups
#   machine.sh kill NAME         crash NAME: SIGKILL its PID 1 (cgroups stay until `down NAME`)
#   machine.sh pid1 NAME         print NAME's PID 1 (host pid), if NAME is up
#   machine.sh list              show machines and their state
#   machine.sh running           "NAME INDEX" of every machine running on this host
#
# This is the project's copy of the verified recipe in the design notes (harness README,
# summarised in test/cluster/README.md); test/cluster/fleet-cluster drives it. In short:
# each machine gets new pid, mount, uts, ipc and cgroup namespaces but shares the host
# network namespace. Its root is an overlay (lower = host /, upper = tmpfs that dies with
# the machine); /run, /tmp, /var/tmp, /dev, /dev/shm are private tmpfs (systemd's tmpfiles
# setup would otherwise wipe the host's /tmp); /proc/sys and /sys are read-only; the paths
# in FLEET_MACHINE_BINDS are bound in; systemd runs in container mode
# (container=fleet-machine) with the capability bounding set systemd-nspawn uses, minus
# CAP_SYS_BOOT, and boots fleet-machine.target. Every unit that the host's unit tree
# would start on its own (anything in a *.wants/ or *.requires/ directory) is masked,
# except journald and dbus. Processes are only ever signalled after proving their
# identity (pid namespace, NSpid, cgroup, command line); nothing is looked up by name.
#
# Settings (environment):
#   FLEET_MACHINES_DIR           state directory            (default /var/lib/fleet-machines)
#   FLEET_MACHINE_BINDS          host paths bound in: "SRC[:DST[:ro|rw]] ..."   (default: none;
#                                bind the directory that holds your build)
#   FLEET_MACHINE_UNITS          directory with unit files to install and start at boot
#   FLEET_MACHINE_ENV            extra "VAR=value ..." for every unit (systemd DefaultEnvironment)
#   FLEET_MACHINE_ROOTFS         directory whose tree is copied onto the machine's root at
#                                each boot (after the masks, so it may replace a mask)
#   FLEET_MACHINE_HIDE           host directories hidden inside (empty read-only tmpfs);
#                                default: FLEET_MACHINES_DIR
#   FLEET_MACHINE_SSH=1          run sshd on 127.0.0.(10+INDEX):22 (needs openssh-server)
#   FLEET_MACHINE_BOOT_TIMEOUT   seconds `up` waits for D-Bus    (default 60)
#   FLEET_MACHINE_STOP_TIMEOUT   seconds `down` waits before SIGKILL (default 20)
#   FLEET_MACHINE_TMPFS_SIZE     size cap of the writable layer (default 1g)
#   FLEET_MACHINE_KEEP_FAILED=1  leave a machine that failed to boot running, for inspection
#   FLEET_MACHINE_CONSOLE=0      no pty console (default: /dev/console -> STATE/NAME/console.log)
#   FLEET_MACHINE_SYSTEMD_ARGS   extra systemd arguments, e.g. "systemd.log_level=debug"
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
STATE_ROOT=${FLEET_MACHINES_DIR:-/var/lib/fleet-machines}
BOOT_TIMEOUT=${FLEET_MACHINE_BOOT_TIMEOUT:-60}
STOP_TIMEOUT=${FLEET_MACHINE_STOP_TIMEOUT:-20}
TMPFS_SIZE=${FLEET_MACHINE_TMPFS_SIZE:-1g}
BINDS=${FLEET_MACHINE_BINDS-}
HIDE=${FLEET_MACHINE_HIDE:-$STATE_ROOT}
ROOTFS=${FLEET_MACHINE_ROOTFS-}
TARGET=fleet-machine.target
PATH_IN=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Capability bounding set of every process in a machine: systemd-nspawn's default set
# (no CAP_NET_ADMIN because the network namespace is the host's), minus CAP_SYS_BOOT.
# Not present, hence impossible inside: sys_module, sys_time, sys_rawio, net_admin,
# syslog, sys_boot, wake_alarm, block_suspend, mac_*, bpf, perfmon, audit_read, ...
CAPS=chown,dac_override,dac_read_search,fowner,fsetid,ipc_owner,kill,lease,linux_immutable,mknod,net_bind_service,net_broadcast,net_raw,setfcap,setgid,setpcap,setuid,sys_admin,sys_chroot,sys_nice,sys_ptrace,sys_resource,sys_tty_config,audit_control,audit_write
BOUNDING="-all,+${CAPS//,/,+}"

# Units allowed to start even though some target wants them.
ALLOW="systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket dbus.socket dbus.service"
# Always masked, wanted by something or not: they touch the kernel, hardware, the
# clock, the host network, or only slow the boot down.
MASK_ALWAYS="
 systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
 systemd-udev-trigger.service systemd-udev-settle.service systemd-hwdb-update.service
 systemd-modules-load.service kmod-static-nodes.service systemd-sysctl.service
 systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount
 sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount
 sys-fs-fuse-connections.mount dev-hugepages.mount dev-mqueue.mount
 systemd-remount-fs.service systemd-fsck-root.service systemd-fsck@.service
 systemd-quotacheck.service quotaon.service systemd-pstore.service
 systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service
 systemd-tmpfiles-clean.service systemd-tmpfiles-clean.timer
 systemd-timesyncd.service systemd-timedated.service
 systemd-networkd.service systemd-networkd.socket systemd-networkd-wait-online.service
 systemd-resolved.service networking.service ifupdown-pre.service ifup@.service
 systemd-logind.service systemd-user-sessions.service
 getty@.service serial-getty@.service console-getty.service container-getty@.service
 systemd-random-seed.service systemd-machine-id-commit.service systemd-firstboot.service
 systemd-sysusers.service ldconfig.service systemd-update-done.service
 systemd-journal-flush.service systemd-journal-catalog-update.service
 systemd-journald-audit.socket systemd-initctl.socket systemd-initctl.service
 systemd-update-utmp.service systemd-update-utmp-runlevel.service
 systemd-repart.service systemd-pcrphase.service systemd-pcrphase-sysinit.service
 systemd-pcrphase-initrd.service systemd-boot-system-token.service
 systemd-ask-password-console.path systemd-ask-password-wall.path
 systemd-rfkill.service systemd-rfkill.socket systemd-backlight@.service
 systemd-suspend.service systemd-hibernate.service systemd-hybrid-sleep.service
 systemd-suspend-then-hibernate.service systemd-kexec.service
 ssh.service ssh.socket sshd.service
"

die() { echo "machine.sh: $*" >&2; exit 1; }
log() { echo "machine.sh: $*" >&2; }

# in_root R PATH: true if R/PATH resolves inside R. Before pivot_root, an absolute symlink
# in the machine's tree (e.g. /var/run -> /run) points into the HOST's file system, so
# nothing is ever created through a path that leaves R.
in_root() {
	local r
	r=$(realpath -m -- "$1/$2") || return 1
	case $r in "$1"|"$1"/*) return 0 ;; *) return 1 ;; esac
}

cg_root() {   # the host's cgroup2 mount: pure v2, or the "unified" part of a hybrid setup
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then echo /sys/fs/cgroup
	elif [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then echo /sys/fs/cgroup/unified
	else die "no cgroup2 hierarchy mounted on the host"; fi
}

check_name() {
	[[ $1 =~ ^[a-z0-9][a-z0-9-]{0,30}$ ]] || die "bad machine name '$1' (use [a-z0-9-], max 31 chars)"
}

# pid of NAME's systemd as seen from the host, if that process is really it; else nothing
live_pid1() {
	local S=$STATE_ROOT/$1 p ns
	[ -s "$S/pid1" ] && [ -s "$S/pidns" ] || return 0
	p=$(<"$S/pid1")
	ns=$(readlink "/proc/$p/ns/pid" 2>/dev/null) || return 0
	[ "$ns" = "$(<"$S/pidns")" ] || return 0
	grep -qE "^NSpid:[[:space:]]+${p}[[:space:]]+1\$" "/proc/$p/status" 2>/dev/null || return 0
	# namespace inode numbers are recycled: also require the machine's own cgroup
	grep -qE "^0::/fleet-machines/$1(/|$)" "/proc/$p/cgroup" 2>/dev/null || return 0
	echo "$p"
}

# pid of NAME's supervisor (the unshare process that waits for PID 1), if it is really it
live_sup() {
	local S=$STATE_ROOT/$1 p
	[ -s "$S/supervisor.pid" ] || return 0
	p=$(<"$S/supervisor.pid")
	[ -r "/proc/$p/cmdline" ] || return 0
	tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q "^unshare .* __stage2 $1 " && echo "$p" || true
}

# ns_procs TYPE "type:[inode]" — pids (host view) of all processes in that namespace
ns_procs() {
	local pat=${2//[/\\[}; pat=${pat//]/\\]}
	# (find fails for processes that exit during the scan; that is fine)
	{ find /proc/[0-9]*/ns/"$1" -maxdepth 0 -lname "$pat" 2>/dev/null || true; } | cut -d/ -f3
}

# "NAME INDEX" of every machine running on this host, whatever FLEET_MACHINES_DIR it was
# started with (found through its supervisor's command line: unshare ... __stage2 NAME INDEX).
running_machines() {
	local f args
	for f in /proc/[0-9]*/cmdline; do
		mapfile -d '' args 2>/dev/null <"$f" || continue
		[ "${#args[@]}" -gt 3 ] && [ "${args[0]}" = unshare ] && [ "${args[-3]}" = __stage2 ] &&
			echo "${args[-2]} ${args[-1]}"
	done
	return 0
}

cg_cleanup() {   # remove NAME's cgroup tree; fails if a process is still in it
	local cg d
	cg=$(cg_root)/fleet-machines/$1
	[ -d "$cg" ] || return 0
	if [ -n "$(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null)" ]; then
		log "processes still in $cg:"; find "$cg" -name cgroup.procs -exec cat {} + >&2
		return 1
	fi
	find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
	[ ! -d "$cg" ] || { log "could not remove $cg"; return 1; }
}

# in_machine PID1 CMD... : run CMD inside the machine (its mount, uts, ipc, pid and cgroup
# namespaces, its root), with the machine's capability bounding set and a clean environment.
in_machine() {
	local p=$1; shift
	nsenter --target "$p" --mount --uts --ipc --pid --cgroup --root --wd -- \
		setpriv --bounding-set "$BOUNDING" -- \
		env -i PATH=$PATH_IN HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" container=fleet-machine "$@"
}

cmd_up() {
	[ $# -eq 2 ] || die "usage: machine.sh up NAME INDEX"
	local name=$1 index=$2
	check_name "$name"
	[[ $index =~ ^[0-9]+$ ]] && [ "$index" -ge 1 ] && [ "$index" -le 245 ] || die "INDEX must be 1..245"
	[ "$(id -u)" = 0 ] || die "must run as root"
	local S=$STATE_ROOT/$name ip=127.0.0.$((10 + index)) cgr cg
	cgr=$(cg_root); cg=$cgr/fleet-machines/$name
	[ -z "$(live_pid1 "$name")" ] && [ -z "$(live_sup "$name")" ] || die "$name is already up"
	# Names (cgroup fleet-machines/NAME) and indexes (IP 127.0.0.(10+INDEX)) are host-wide.
	local rn ri
	while read -r rn ri; do
		[ "$rn" != "$name" ] || die "a machine named $name is already running (other FLEET_MACHINES_DIR?)"
		[ "$ri" != "$index" ] || die "index $index ($ip) is in use by running machine $rn"
	done < <(running_machines)
	cg_cleanup "$name" || die "stale cgroup $cg is not empty"
	mkdir -p "$S/rt"
	[ -z "$(ls -A "$S/rt")" ] || die "$S/rt is not empty"
	rm -f "$S/pid1" "$S/pidns" "$S/mntns" "$S/supervisor.pid" "$S/console.pid" "$S/boot-ms"
	[ -s "$S/machine-id" ] || systemd-id128 new >"$S/machine-id"
	echo "$index" >"$S/index"
	if [ "${FLEET_MACHINE_SSH:-0}" = 1 ]; then
		[ -x /usr/sbin/sshd ] || die "FLEET_MACHINE_SSH=1 needs /usr/sbin/sshd (apt-get install openssh-server)"
		mkdir -p "$STATE_ROOT/ssh"
		[ -s "$STATE_ROOT/ssh/id_ed25519" ] ||
			ssh-keygen -q -t ed25519 -N '' -C fleet-machines -f "$STATE_ROOT/ssh/id_ed25519"
		# The machine's own host key, stable across its reboots (not the host's key).
		[ -s "$S/ssh_host_ed25519_key" ] ||
			ssh-keygen -q -t ed25519 -N '' -C "root@$name" -f "$S/ssh_host_ed25519_key"
		# known_hosts for `ssh -o UserKnownHostsFile=$STATE_ROOT/ssh/known_hosts root@IP`
		touch "$STATE_ROOT/ssh/known_hosts"
		{ grep -v "^$ip " "$STATE_ROOT/ssh/known_hosts" || true
		  echo "$ip $(cut -d' ' -f1,2 "$S/ssh_host_ed25519_key.pub")"; } >"$STATE_ROOT/ssh/known_hosts.new"
		mv "$STATE_ROOT/ssh/known_hosts.new" "$STATE_ROOT/ssh/known_hosts"
	fi
	mkdir -p "$cgr/fleet-machines" "$cg"

	local t0 t1 sup="" pid1=""
	t0=$(date +%s%N)
	echo "=== up $name index=$index ip=$ip at $(date -Is)" >>"$S/console.log"
	# Detach completely (own session, stdin /dev/null, no controlling tty of the caller).
	# `script` gives the machine a pty as /dev/console and appends everything written to
	# it to console.log. __supervise then enters the machine's cgroup and becomes
	# `unshare`, which creates the namespaces and forks PID 1.
	export FLEET_HOST_NS
	FLEET_HOST_NS="$(for n in mnt uts ipc cgroup; do readlink /proc/self/ns/$n; done | tr '\n' ' ')"
	if [ "${FLEET_MACHINE_CONSOLE:-1}" = 1 ]; then
		SHELL=/bin/bash setsid -f script -qfea -c "$(printf '%q ' "$SELF" __supervise "$name" "$index")" \
			"$S/console.log" </dev/null >/dev/null 2>&1
	else
		setsid -f "$SELF" __supervise "$name" "$index" </dev/null >>"$S/console.log" 2>&1
	fi
	for _ in $(seq 100); do
		[ -s "$S/supervisor.pid" ] && sup=$(<"$S/supervisor.pid") &&
			pid1=$(cat "/proc/$sup/task/$sup/children" 2>/dev/null | awk '{print $1}') &&
			[ -n "$pid1" ] && break
		sleep 0.05
	done
	[ -n "$pid1" ] || { log "machine process did not appear; see $S/console.log"; tail -n 20 "$S/console.log" >&2; cmd_down "$name"; exit 1; }
	readlink "/proc/$pid1/ns/pid" >"$S/pidns"
	readlink "/proc/$pid1/ns/mnt" >"$S/mntns"
	echo "$pid1" >"$S/pid1"
	# The supervisor stays in the host's pid namespace; take it out of the machine's
	# cgroup again, back to where `up` itself runs (so systemd owns the whole subtree).
	echo "$sup" >"$cgr$(sed -n 's/^0:://p' /proc/self/cgroup)/cgroup.procs" 2>/dev/null || true

	# Wait until the machine's own system bus answers and the boot job has finished.
	local state="" deadline=$((SECONDS + BOOT_TIMEOUT))
	while [ $SECONDS -lt $deadline ]; do
		[ -d "/proc/$pid1" ] || break
		# cheap check first (no fork): has dbus.socket been created inside yet?
		[ -S "/proc/$pid1/root/run/dbus/system_bus_socket" ] || { sleep 0.05; continue; }
		state=$(in_machine "$pid1" busctl --system --timeout=2 get-property org.freedesktop.systemd1 \
			/org/freedesktop/systemd1 org.freedesktop.systemd1.Manager SystemState 2>/dev/null) || state=""
		case $state in *'"running"'*|*'"degraded"'*) break ;; esac
		sleep 0.1
	done
	t1=$(date +%s%N)
	case $state in
	*'"running"'*|*'"degraded"'*)
		echo $(((t1 - t0) / 1000000)) >"$S/boot-ms"
		state=${state#s }; state=${state//\"/}
		echo "$name up: ip=$ip pid1=$pid1 machine-id=$(<"$S/machine-id") state=$state boot=$(<"$S/boot-ms")ms"
		[ "$state" = running ] || in_machine "$pid1" systemctl --failed --no-legend >&2 || true
		;;
	*)
		if [ -d "/proc/$pid1" ]; then
			log "$name did not reach a usable D-Bus within ${BOOT_TIMEOUT}s (last state: '${state}')"
		else
			log "$name: its PID 1 exited during boot"
		fi
		tail -n 30 "$S/console.log" >&2
		if [ -d "/proc/$pid1" ]; then
			in_machine "$pid1" journalctl -b --no-pager -n 40 >&2 || true
			[ "${FLEET_MACHINE_KEEP_FAILED:-0}" = 1 ] && { log "left running (FLEET_MACHINE_KEEP_FAILED=1)"; exit 1; }
		fi
		cmd_down "$name" >&2 || true
		exit 1
		;;
	esac
}

# The supervisor: joins the machine's cgroup, then becomes unshare, which creates the
# namespaces and forks PID 1 (stage2, then systemd) and waits for it. --kill-child:
# should the supervisor die, the kernel SIGKILLs PID 1, i.e. the whole machine.
supervise() {
	local name=$1 index=$2 S=$STATE_ROOT/$1
	echo $$ >"$(cg_root)/fleet-machines/$name/cgroup.procs"
	[ "$(cat "/proc/$PPID/comm" 2>/dev/null)" != script ] || echo $PPID >"$S/console.pid"
	echo $$ >"$S/supervisor.pid"
	exec unshare --pid --fork --kill-child=SIGKILL --mount --propagation private \
		--uts --ipc --cgroup -- "$SELF" __stage2 "$name" "$index"
}

# Runs as PID 1 of the new pid namespace, in the new (private) mount namespace, before
# systemd. Builds the machine's root file system and then execs systemd.
stage2() {
	local name=$1 index=$2
	local S=$STATE_ROOT/$name ip=127.0.0.$((10 + index))
	local R=$S/rt/root t0=${EPOCHREALTIME/./}
	[ $$ = 1 ] || die "stage2 must run as pid 1 of a new pid namespace"
	# Refuse to touch anything unless every namespace really is new (FLEET_HOST_NS was
	# recorded by `up` in the host's namespaces).
	local ns
	for ns in mnt uts ipc cgroup; do
		case " ${FLEET_HOST_NS:?} " in
		*" $(readlink /proc/self/ns/$ns) "*) die "stage2: $ns namespace is the host's, refusing" ;;
		esac
	done
	# A private mount namespace must not propagate anything back to the host.
	mount --make-rprivate /
	hostname "$name"

	# Writable layer: a tmpfs that exists only in this mount namespace.
	mount -t tmpfs -o mode=0755,size="$TMPFS_SIZE" "fleet-machine-$name" "$S/rt"
	mkdir "$S/rt/upper" "$S/rt/work" "$R"
	mount -t overlay -o "lowerdir=/,upperdir=$S/rt/upper,workdir=$S/rt/work" "fleet-machine-$name" "$R"

	# API file systems. /proc/sys and /sys are read-only: no host sysctl or sysfs writes.
	mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
	mount --bind "$R/proc/sys" "$R/proc/sys"
	mount -o remount,bind,ro,nosuid,nodev,noexec "$R/proc/sys"
	if [ -e "$R/proc/sysrq-trigger" ]; then
		mount --bind "$R/proc/sysrq-trigger" "$R/proc/sysrq-trigger"
		mount -o remount,bind,ro "$R/proc/sysrq-trigger"
	fi
	mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
	# cgroup2 mounted from inside the cgroup namespace: its root is this machine's cgroup.
	mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"
	# Minimal /dev: no disks, no /dev/kmsg. /dev/console is the pty `script` logs, if any.
	mount -t tmpfs -o mode=0755,nosuid,size=4m dev "$R/dev"
	if [ -t 0 ]; then
		touch "$R/dev/console"
		mount --bind "$(readlink -f /proc/self/fd/0)" "$R/dev/console"
	fi
	# (cp -a of the host's nodes = mknod with the same numbers: null zero full random urandom tty)
	cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty "$R/dev/"
	mkdir -m 755 "$R/dev/pts"
	mkdir -m 1777 "$R/dev/shm"
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts "$R/dev/pts"
	ln -s pts/ptmx "$R/dev/ptmx"
	mount -t tmpfs -o mode=1777,nosuid,nodev shm "$R/dev/shm"
	ln -s /proc/self/fd "$R/dev/fd"
	ln -s /proc/self/fd/0 "$R/dev/stdin"
	ln -s /proc/self/fd/1 "$R/dev/stdout"
	ln -s /proc/self/fd/2 "$R/dev/stderr"
	# Private runtime and temporary directories.
	mount -t tmpfs -o mode=0755,nosuid,nodev,size=256m run "$R/run"
	mount -t tmpfs -o mode=1777,nosuid,nodev,size=512m tmp "$R/tmp"
	mount -t tmpfs -o mode=1777,nosuid,nodev,size=512m vartmp "$R/var/tmp"
	mkdir -p "$R/run/lock" "$R/run/systemd/system" "$R/run/fleet/units"
	chmod 1777 "$R/run/lock"
	# Host directories, read-only unless ":rw".
	local b src dst mode
	for b in $BINDS; do
		IFS=: read -r src dst mode <<<"$b"
		dst=${dst:-$src}; mode=${mode:-ro}
		[ -d "$src" ] || { echo "bind source $src missing, skipped"; continue; }
		in_root "$R" "$dst" || { echo "bind target $dst leaves the machine's root, skipped"; continue; }
		mkdir -p "$R$dst"
		mount --bind "$src" "$R$dst"
		[ "$mode" = rw ] || mount -o remount,bind,ro "$R$dst"
	done
	# Nothing of the state directory tree is visible inside (other machines' files).
	local h
	for h in $HIDE; do
		case $h in /*) ;; *) continue ;; esac
		in_root "$R" "$h" || { echo "hide: $h leaves the machine's root, skipped"; continue; }
		mkdir -p "$R$h"
		mount -t tmpfs -o mode=0755,size=1m,ro none "$R$h"
	done

	# Identity: machine-id (stable per NAME), hostname, /etc/hosts, environment.
	cp "$S/machine-id" "$R/etc/machine-id"
	chmod 444 "$R/etc/machine-id"
	mkdir -p "$R/var/lib/dbus"
	ln -sfn /etc/machine-id "$R/var/lib/dbus/machine-id"
	echo "$name" >"$R/etc/hostname"
	printf '%s\t%s\n' "$ip" "$name" >>"$R/etc/hosts"
	mkdir -p "$R/etc/fleet-machine"
	printf 'FLEET_MACHINE_NAME=%s\nFLEET_MACHINE_INDEX=%s\nFLEET_PUBLIC_IP=%s\n' "$name" "$index" "$ip" \
		>"$R/etc/fleet-machine/env"
	for kv in ${FLEET_MACHINE_ENV-}; do echo "$kv"; done >>"$R/etc/fleet-machine/env"

	# systemd configuration (all of it in the overlay, i.e. private to this boot).
	local U=$R/etc/systemd/system u w
	mkdir -p "$R/etc/systemd/system.conf.d" "$R/etc/systemd/journald.conf.d"
	cat >"$R/etc/systemd/system.conf.d/fleet-machine.conf" <<-EOF
	[Manager]
	DefaultEnvironment=FLEET_MACHINE_NAME=$name FLEET_MACHINE_INDEX=$index FLEET_PUBLIC_IP=$ip ${FLEET_MACHINE_ENV-}
	DefaultTimeoutStopSec=10s
	ShowStatus=no
	EOF
	cat >"$R/etc/systemd/journald.conf.d/fleet-machine.conf" <<-EOF
	[Journal]
	Storage=volatile
	RuntimeMaxUse=16M
	ReadKMsg=no
	ForwardToSyslog=no
	ForwardToKMsg=no
	ForwardToConsole=no
	ForwardToWall=no
	EOF
	echo "stage2: file systems ready after $(( (${EPOCHREALTIME/./} - t0) / 1000 ))ms"
	# Mask every unit that a target or other unit pulls in through a .wants/.requires
	# directory anywhere in the host's unit tree, except the allow list; plus MASK_ALWAYS.
	local masks=" $MASK_ALWAYS "
	for w in "$R"/etc/systemd/system/*.{wants,requires} "$R"/usr/local/lib/systemd/system/*.{wants,requires} \
		"$R"/usr/lib/systemd/system/*.{wants,requires}; do
		[ -d "$w" ] || continue
		for u in "$w"/*; do
			u=${u##*/}
			case $u in *.target|*.slice|'*') continue ;; esac
			case " $ALLOW " in *" $u "*) continue ;; esac
			masks+=" $u"
		done
	done
	# shellcheck disable=SC2086 # one perl process instead of ~100 ln processes
	perl -e 'my $d = shift; for (@ARGV) { unlink "$d/$_"; symlink("/dev/null", "$d/$_") or die "$_: $!\n" }' \
		"$U" $masks
	# Anything the host enabled in /etc/systemd/system/*.wants would still be pulled in
	# by its target; the units are masked, and the symlinks are removed for clarity.
	rm -rf "$U"/*.wants "$U"/*.requires

	local wants="dbus.socket dbus.service systemd-journald.service"
	if [ "${FLEET_MACHINE_SSH:-0}" = 1 ]; then
		mkdir -p "$R/etc/fleet-machine"
		cp "$STATE_ROOT/ssh/id_ed25519.pub" "$R/etc/fleet-machine/authorized_keys"
		install -m 600 "$S/ssh_host_ed25519_key" "$R/etc/fleet-machine/ssh_host_ed25519_key"
		install -m 644 "$S/ssh_host_ed25519_key.pub" "$R/etc/fleet-machine/ssh_host_ed25519_key.pub"
		cat /root/.ssh/*.pub >>"$R/etc/fleet-machine/authorized_keys" 2>/dev/null || true
		chmod 644 "$R/etc/fleet-machine/authorized_keys"
		cat >"$R/etc/fleet-machine/sshd_config" <<-EOF
		ListenAddress $ip:22
		HostKey /etc/fleet-machine/ssh_host_ed25519_key
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		AuthorizedKeysFile /etc/fleet-machine/authorized_keys
		UsePAM no
		PrintMotd no
		AcceptEnv LANG LC_*
		Subsystem sftp internal-sftp
		PidFile /run/fleet-machine-sshd.pid
		EOF
		cat >"$U/fleet-machine-sshd.service" <<-EOF
		[Unit]
		Description=OpenSSH server of fleet machine $name on $ip:22
		[Service]
		ExecStartPre=/usr/sbin/sshd -t -f /etc/fleet-machine/sshd_config
		ExecStart=/usr/sbin/sshd -D -e -f /etc/fleet-machine/sshd_config
		RuntimeDirectory=sshd
		RuntimeDirectoryMode=0755
		Restart=on-failure
		EOF
		wants+=" fleet-machine-sshd.service"
	fi
	if [ -n "${FLEET_MACHINE_UNITS:-}" ]; then
		for u in "$FLEET_MACHINE_UNITS"/*; do
			[ -f "$u" ] || continue
			# (rm first: cp would write through a mask symlink into /dev/null)
			rm -f "$U/${u##*/}"
			cp "$u" "$U/"
			case $u in *.service|*.socket|*.timer|*.path) wants+=" ${u##*/}" ;; esac
		done
	fi
	# Files for this machine (config, units), copied last so that they replace masks;
	# existing files and symlinks are replaced, never written through.
	if [ -n "$ROOTFS" ] && [ -d "$ROOTFS" ]; then
		(cd "$ROOTFS" && find . -mindepth 1 -type d -printf '%P\0') | while IFS= read -r -d '' u; do
			in_root "$R" "$u" || die "rootfs: /$u leaves the machine's root"
			mkdir -p "$R/$u"
		done
		(cd "$ROOTFS" && find . -mindepth 1 ! -type d -printf '%P\0') | while IFS= read -r -d '' u; do
			in_root "$R" "$(dirname "$u")" || die "rootfs: /$u leaves the machine's root"
			rm -f "$R/$u"
			cp -a "$ROOTFS/$u" "$R/$u"
		done
	fi
	cat >"$R/run/systemd/system/$TARGET" <<-EOF
	[Unit]
	Description=Simulated fleet machine $name ($ip)
	Requires=basic.target
	Wants=$wants
	After=basic.target $wants
	AllowIsolate=yes
	EOF

	# Switch to the new root; the host's mount tree is detached from this namespace.
	cd "$R"
	pivot_root . .
	umount -l .
	cd /
	echo "stage2: exec systemd after $(( (${EPOCHREALTIME/./} - t0) / 1000 ))ms (name=$name ip=$ip)"
	# container=… puts systemd into container mode (no swap units, no loop/DM/swap
	# teardown at shutdown, arguments instead of /proc/cmdline as "kernel command line").
	exec setpriv --bounding-set "$BOUNDING" -- \
		env -i container=fleet-machine PATH=$PATH_IN LANG=C.UTF-8 \
		/usr/lib/systemd/systemd --system "--unit=$TARGET" fstab=no luks=no \
		systemd.show_status=no systemd.firstboot=no ${FLEET_MACHINE_SYSTEMD_ARGS:-}
}

cmd_exec() {
	[ $# -ge 2 ] || die "usage: machine.sh exec NAME CMD..."
	local name=$1; shift
	check_name "$name"
	local pid1 cg
	pid1=$(live_pid1 "$name")
	[ -n "$pid1" ] || die "$name is not up"
	cg=$(cg_root)/fleet-machines/$name
	# Join the machine's root cgroup first (best effort; cgroup v2 refuses it once systemd
	# has enabled controllers there), then become nsenter. nsenter stays in the host pid
	# namespace and exits when its child, the command inside the machine, exits or dies.
	echo $$ >"$cg/cgroup.procs" 2>/dev/null || true
	exec nsenter --target "$pid1" --mount --uts --ipc --pid --cgroup --root --wd -- \
		setpriv --bounding-set "$BOUNDING" -- \
		env -i PATH=$PATH_IN HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" container=fleet-machine "$@"
}

cmd_down() {
	[ $# -eq 1 ] || die "usage: machine.sh down NAME"
	local name=$1 S pid1 sup
	check_name "$name"
	S=$STATE_ROOT/$name
	[ -d "$S" ] || die "no machine $name"
	pid1=$(live_pid1 "$name"); sup=$(live_sup "$name")
	if [ -z "$pid1" ] && [ -n "$sup" ]; then
		pid1=$(cat "/proc/$sup/task/$sup/children" 2>/dev/null | awk '{print $1}') || true
	fi
	if [ -n "$pid1" ]; then
		# SIGRTMIN+4 = "systemctl poweroff" for systemd as PID 1 (SIGTERM would re-exec it).
		kill -s SIGRTMIN+4 "$pid1" 2>/dev/null || true
		for _ in $(seq $((STOP_TIMEOUT * 10))); do [ -d "/proc/$pid1" ] || break; sleep 0.1; done
		if [ -d "/proc/$pid1" ]; then
			log "$name: no poweroff after ${STOP_TIMEOUT}s, sending SIGKILL to its PID 1 ($pid1)"
			kill -KILL "$pid1" 2>/dev/null || true
		fi
	fi
	# The supervisor exits as soon as PID 1 is gone.
	if [ -n "$sup" ]; then
		for _ in $(seq 50); do [ -d "/proc/$sup" ] || break; sleep 0.1; done
		[ ! -d "/proc/$sup" ] || { log "$name: supervisor $sup still there, SIGKILL"; kill -KILL "$sup" 2>/dev/null || true; sleep 0.2; }
	fi
	# ... and so does `script`, the console logger. It is an orphan (child of the host's
	# init), so once it has exited it stays a zombie until that init reaps it (up to ~2 s
	# here); an exited zombie holds nothing, so waiting for "exited" is enough.
	if [ -n "$pid1$sup" ] && [ -s "$S/console.pid" ]; then
		local con st; con=$(<"$S/console.pid")
		for _ in $(seq 50); do
			st=$(cat "/proc/$con/stat" 2>/dev/null) || break
			[[ $st == "$con (script) "* ]] && [[ $st != "$con (script) Z "* ]] || break
			sleep 0.1
		done
	fi
	# Nothing may keep the machine's mount namespace alive (e.g. a running `exec`).
	# (Only when the machine was running just now: namespace inodes are recycled, so a
	# stale record could name some newer namespace.)
	if [ -n "$pid1$sup" ] && [ -s "$S/mntns" ]; then
		local left=""
		for _ in $(seq 50); do
			left=$(ns_procs mnt "$(<"$S/mntns")")
			[ -z "$left" ] && break
			sleep 0.1
		done
		[ -z "$left" ] || log "$name: processes still in its mount namespace:" $left
	fi
	cg_cleanup "$name" || true
	rm -f "$S/pid1" "$S/pidns" "$S/mntns" "$S/supervisor.pid" "$S/console.pid"
	echo "$name down"
}

# Crash NAME: SIGKILL of its PID 1 (proven to be NAME's PID 1 by live_pid1). The kernel
# then kills every process of the machine's pid namespace; wait until none is left.
cmd_kill() {
	[ $# -eq 1 ] || die "usage: machine.sh kill NAME"
	local name=$1 pid1 pns left=""
	check_name "$name"
	pid1=$(live_pid1 "$name")
	[ -n "$pid1" ] || die "$name is not up"
	pns=$(<"$STATE_ROOT/$name/pidns")
	kill -KILL "$pid1"
	for _ in $(seq 200); do
		left=$(ns_procs pid "$pns")
		[ -z "$left" ] && break
		sleep 0.05
	done
	[ -z "$left" ] || die "$name: processes left in its pid namespace after SIGKILL of PID 1:" $left
	echo "$name killed (SIGKILL of PID 1, host pid $pid1)"
}

cmd_pid1() {
	[ $# -eq 1 ] || die "usage: machine.sh pid1 NAME"
	check_name "$1"
	local p
	p=$(live_pid1 "$1")
	[ -n "$p" ] || exit 1
	echo "$p"
}

cmd_list() {
	local d name pid1 idx st
	printf '%-12s %-5s %-12s %-8s %-10s %s\n' NAME INDEX IP PID1 STATE MACHINE-ID
	for d in "$STATE_ROOT"/*/; do
		[ -f "$d/index" ] || continue
		name=${d%/}; name=${name##*/}
		idx=$(<"$d/index"); pid1=$(live_pid1 "$name")
		if [ -n "$pid1" ]; then
			st=$(in_machine "$pid1" systemctl is-system-running 2>/dev/null) || true
			st=${st:-starting}
		else st=down; pid1=-; fi
		printf '%-12s %-5s %-12s %-8s %-10s %s\n' "$name" "$idx" "127.0.0.$((10 + idx))" "$pid1" "$st" "$(cat "$d/machine-id" 2>/dev/null)"
	done
	local rn ri
	while read -r rn ri; do
		[ -f "$STATE_ROOT/$rn/index" ] ||
			printf '%-12s %-5s %-12s %-8s %-10s %s\n' "$rn" "$ri" "127.0.0.$((10 + ri))" - running "(other FLEET_MACHINES_DIR)"
	done < <(running_machines)
}

main() {
	case ${1:-} in
	up) shift; cmd_up "$@" ;;
	exec) shift; cmd_exec "$@" ;;
	down) shift; cmd_down "$@" ;;
	list) shift; cmd_list "$@" ;;
	kill) shift; cmd_kill "$@" ;;
	pid1) shift; cmd_pid1 "$@" ;;
	running) running_machines ;;
	__supervise) shift; supervise "$@" ;;
	__stage2) shift; stage2 "$@" ;;
	*) sed -n '3,11p' "$SELF" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
}
# One line: bash has read the whole file before anything runs, so replacing this file
# while a command is running cannot make bash execute half-old, half-new code.
main "$@"; exit $?
