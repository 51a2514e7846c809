# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# test/e2e/lib.sh — helpers for the end-to-end tests (TAP scripts test/e2e/NNNN-name.sh).
# Source it first:   . "$(dirname "$0")/lib.sh"
#
# TAP:      plan N | ok DESC | not_ok DESC | check DESC CMD... | is GOT WANT DESC
#           diag MSG... | bail_out MSG | done_testing
# cluster:  cluster_up N           boot etcd + N machines (cluster name "e2e" unless
#                                  FLEET_CLUSTER_NAME is set); `down` ALWAYS runs at exit,
#                                  also after a failure, `exit`, ^C or SIGTERM
#           cluster_down           take it down now (the exit hook then has nothing to do)
#           fleet_cluster ARGS...  test/cluster/fleet-cluster with this test's settings
#           machine_exec M CMD...  run CMD in machine M (m1, 2, e2e-m3); exit code passed back
#           machine_ip M | machine_id M | machine_pid1 M
#           unit_active M UNIT     true if UNIT is active in M
#           unit_state M UNIT...   systemd's active state of each UNIT in M (active, inactive,
#                                  failed, ...), one a line
#           etcdctl_c ARGS...      etcdctl (API v3) against the cluster's etcd
#           metric M NAME          NAME's value (summed over its labels) in M's /metrics
#           at_exit CMD...         run CMD at exit, before the cluster goes down (clean-up of
#                                  the test's own files; runs even after ^C)
# probes:   probe CMD...           run CMD, pass its stdout on; a non-zero exit is a probe failure
#           probe_failed WHAT...   record a probe failure (see below)
#           probe_take             print the failures recorded so far and forget them (to make
#                                  several results "not ok": probe_failed "$SAVED" before each)
# polling:  wait_for TIMEOUT CMD...  run CMD (quietly) every WAIT_INTERVAL (0.1 s) until it
#                                  succeeds (0) or TIMEOUT seconds (may be fractional) pass (1)
# host:     ns_procs TYPE 'type:[inode]'   host pids of the processes in that namespace
# faults:   proxy_start DIR        build test/tools/tcp-proxy into DIR and start it on a free
#                                  loopback port (PROXY: its pid, PPORT: the port; DIR/proxy.log);
#                                  stopped at exit. Point a machine at it before cluster_up:
#                                  FLEET_CLUSTER_CONF_m2="etcd_servers=http://127.0.0.1:$PPORT"
#           proxy_to_etcd          after cluster_up: forward to the cluster's etcd
#           proxy_signal SIG       USR1 cuts (resets), HUP cuts silently, USR2 heals (tcp-proxy.c)
#
# Scripts use `set -u` but not `set -e` (a failed check must not stop the script). Their
# stdout is TAP: command output that could start with "ok" belongs in diag or a variable.
#
# Probes. A check that something is ABSENT (a unit not active, no state in etcd, a counter
# unchanged, nothing in a log) must not pass because the look itself failed (the exec into
# the machine, etcdctl, curl of /metrics, fleetctl). Helpers that look (unit_state,
# unit_active, metric, probe, and the scripts' own built on them) call probe_failed when they
# cannot look; the next test result (ok, is, check) is then "not ok", with the reason as
# diagnostics, whatever its comparison said. wait_for retries an attempt during which a probe
# failed (even one whose command succeeded), and keeps only the failures of its last attempt.
#
# The caller's FLEET_CLUSTER_* and FLEET_MACHINE_* variables are cleared (a developer's own
# cluster settings must neither leak into a test nor let a test touch that cluster); a
# script sets what it needs after sourcing this file. Settings of the test run:
#   BUILD                build directory whose fleetd/fleetctl are tested (default build)
#   FLEET_E2E_NAME       cluster name (default e2e: machines e2e-m1..., state in
#                        /var/lib/fleet-cluster/e2e)
#   FLEET_E2E_INDEX_BASE machine i gets IP 127.0.0.(10+BASE+i) (default 0), to run next to
#                        another cluster on the same host
#   FLEET_E2E_KEEP=1     leave the cluster running at exit, for inspection (then
#                        FLEET_CLUSTER_NAME=e2e test/cluster/fleet-cluster down)

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
E2E_ROOT=$(cd "$E2E_DIR/../.." && pwd -P)
FLEET_CLUSTER=$E2E_ROOT/test/cluster/fleet-cluster
export BUILD=${BUILD:-build}
unset "${!FLEET_CLUSTER_@}" "${!FLEET_MACHINE_@}"
export FLEET_CLUSTER_NAME=${FLEET_E2E_NAME:-e2e}
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
WAIT_INTERVAL=${WAIT_INTERVAL:-0.1}

_tap_n=0
_tap_fail=0
_tap_plan=""
_tap_done=""
_cluster_started=""
_at_exit=()
# probe failures not yet reported ($_probe_dir/failed, one a line; a file, since probes run in
# subshells); $_probe_dir/err.PID: stderr of a probe
_probe_dir=$(mktemp -d /tmp/fleet-e2e-probe.XXXXXX) || { echo "Bail out! mktemp failed"; exit 1; }
_probe_log=$_probe_dir/failed
: >"$_probe_log"

# --- TAP -----------------------------------------------------------------------------------
plan() { _tap_plan=$1; echo "1..$1"; }
# ok DESC: "not ok" instead when a probe failed since the last test result
ok() {
	if [ -s "$_probe_log" ]; then not_ok "$*"; return 0; fi
	_tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"
}
not_ok() {
	_tap_n=$((_tap_n + 1)); _tap_fail=$((_tap_fail + 1)); echo "not ok $_tap_n - $*"
	_probe_report
}
diag() {
	if [ $# -gt 0 ]; then printf '%s\n' "$*" | sed 's/^/# /'
	else sed 's/^/# /'; fi
}
# check DESC CMD...: ok if CMD succeeds; its output goes to diag
check() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" = 0 ] && [ ! -s "$_probe_log" ]; then ok "$desc"
	elif [ "$rc" = 0 ]; then not_ok "$desc"; rc=1
	else not_ok "$desc"; diag "command failed (exit $rc): $*"; fi
	[ -z "$out" ] || diag "$out"
	return "$rc"
}
# is GOT WANT DESC
is() {
	if [ "$1" = "$2" ] && [ ! -s "$_probe_log" ]; then ok "$3"; return 0; fi
	not_ok "$3"
	diag "     got: '$1'"$'\n'"    want: '$2'"
	return 1
}
bail_out() { echo "Bail out! $*"; exit 1; }
# the probe failures recorded so far, as diagnostics; forgotten then
_probe_report() {
	[ -s "$_probe_log" ] || return 0
	sed 's/^/probe failed: /' "$_probe_log" | diag
	: >"$_probe_log"
}
done_testing() {
	_tap_done=1
	[ -n "$_tap_plan" ] || echo "1..$_tap_n"
}

# exit status of the script: failures, a wrong number of tests, or an early exit all fail
_tap_status() {
	local rc=$1
	[ "$rc" = 0 ] || return "$rc"
	[ "$_tap_fail" = 0 ] || return 1
	if [ -n "$_tap_plan" ] && [ "$_tap_plan" != "$_tap_n" ]; then
		diag "planned $_tap_plan tests but ran $_tap_n"; return 1
	fi
	[ -n "$_tap_done" ] || [ -n "$_tap_plan" ] || { diag "exited before done_testing"; return 1; }
	return 0
}

at_exit() { _at_exit+=("$(printf '%q ' "$@")"); }

# --- cluster -------------------------------------------------------------------------------
fleet_cluster() { "$FLEET_CLUSTER" "$@"; }

_e2e_exit() {
	local rc=$?
	trap - EXIT
	trap '' INT TERM HUP   # a second ^C must not interrupt the clean-up (children inherit it)
	local c
	for c in "${_at_exit[@]}"; do eval "$c"; done
	[ ! -s "$_probe_log" ] || { diag "probes that failed after the last test:"; _probe_report; }
	rm -rf "$_probe_dir"
	if [ -n "$_cluster_started" ] && [ "${FLEET_E2E_KEEP:-0}" = 1 ]; then
		diag "FLEET_E2E_KEEP=1: cluster left running; FLEET_CLUSTER_NAME=$FLEET_CLUSTER_NAME $FLEET_CLUSTER down"
	elif [ -n "$_cluster_started" ]; then
		fleet_cluster down 2>&1 | diag
	fi
	_tap_status "$rc"
	exit $?
}
_e2e_signal() { diag "interrupted by SIG$1"; exit $((128 + $2)); }
trap _e2e_exit EXIT
trap '_e2e_signal INT 2' INT
trap '_e2e_signal TERM 15' TERM
trap '_e2e_signal HUP 1' HUP

cluster_up() {
	local n=${1:?cluster_up N} out rc
	[ "$(id -u)" = 0 ] || bail_out "e2e tests need root (they boot systemd in namespaces)"
	# never take down a cluster this test did not start (another run of the tests?)
	if fleet_cluster is-up >/dev/null 2>&1; then
		bail_out "a cluster named '$FLEET_CLUSTER_NAME' exists already (another test run?); remove it with: FLEET_CLUSTER_NAME=$FLEET_CLUSTER_NAME $FLEET_CLUSTER down"
	fi
	_cluster_started=1
	out=$(fleet_cluster up "$n" 2>&1)
	rc=$?
	diag "$out"
	[ "$rc" = 0 ] || bail_out "fleet-cluster up $n failed (exit $rc)"
}

cluster_down() {
	local out rc
	out=$(fleet_cluster down 2>&1)
	rc=$?
	diag "$out"
	[ "$rc" != 0 ] || _cluster_started=""
	return "$rc"
}

machine_exec() { fleet_cluster exec "$@"; }
machine_ip() { fleet_cluster ip "$1"; }
machine_id() { fleet_cluster id "$1"; }
machine_pid1() { fleet_cluster pid1 "$1"; }
# `systemctl is-active` prints one state a line and exits 0 (some unit active) or 3 (none; a
# unit systemd does not know is "inactive"); anything else is a failure to ask
unit_state() {
	local m=$1 out rc n err=$_probe_dir/err.$BASHPID
	shift
	out=$(machine_exec "$m" systemctl is-active "$@" 2>"$err")
	rc=$?
	n=$(grep -cxE 'active|reloading|inactive|failed|activating|deactivating|maintenance|refreshing' <<<"$out")
	if { [ "$rc" != 0 ] && [ "$rc" != 3 ]; } || [ "$n" != $# ]; then
		probe_failed "$m: systemctl is-active $*: exit $rc, output '${out//$'\n'/ }'$(_probe_err "$err")"
		return 2
	fi
	rm -f "$err"
	echo "$out"
}
unit_active() { [ "$(unit_state "$1" "$2")" = active ]; }
etcdctl_c() { ETCDCTL_API=3 etcdctl --endpoints="$(fleet_cluster etcd-endpoint)" "$@"; }
metric() {
	local out v
	out=$(probe curl -fsS -m 2 "http://$(machine_ip "$1"):49153/metrics") || return 2
	v=$(awk -v k="$2" '$1 == k || index($1, k "{") == 1 { n += $2; f = 1 } END { if (f) print n }' <<<"$out")
	[ -n "$v" ] || { probe_failed "$1: /metrics has no $2"; return 2; }
	echo "$v"
}

# --- probes --------------------------------------------------------------------------------
probe_failed() { printf '%s\n' "$*" >>"$_probe_log"; return 2; }
probe_take() { cat "$_probe_log"; : >"$_probe_log"; }
_probe_err() {   # _probe_err FILE: ": " and the start of a probe's stderr in FILE; FILE removed
	local e
	[ ! -s "$1" ] || { e=$(head -c 400 "$1" | tr '\n' ' '); printf ': %s' "${e% }"; }
	rm -f "$1"
}
# (the output is read whole before it is passed on: a reader that stops early, such as
# grep -q, cannot make CMD fail with SIGPIPE)
probe() {
	local out rc err=$_probe_dir/err.$BASHPID
	out=$("$@" 2>"$err")
	rc=$?
	if [ "$rc" != 0 ]; then probe_failed "$*: exit $rc$(_probe_err "$err")"
	else rm -f "$err"; fi
	[ -z "$out" ] || printf '%s\n' "$out"
	return "$rc"
}

# --- polling and host checks ---------------------------------------------------------------
_to_us() {   # seconds (e.g. 5 or 0.5) -> microseconds
	local s=$1 i f
	i=${s%%.*}; f=""
	[ "$i" = "$s" ] || f=${s#*.}
	f=${f}000000; f=${f:0:6}
	echo $(( 10#${i:-0} * 1000000 + 10#$f ))
}

# (probe failures from before the wait are kept; an attempt during which a probe failed does
# not count as a success)
wait_for() {
	local end pre rc
	end=$(( ${EPOCHREALTIME/./} + $(_to_us "$1") ))
	shift
	pre=$(cat "$_probe_log")
	while :; do
		: >"$_probe_log"
		"$@" >/dev/null 2>&1
		rc=$?
		if [ "$rc" = 0 ] && [ ! -s "$_probe_log" ]; then break; fi
		rc=1
		[ "${EPOCHREALTIME/./}" -lt "$end" ] || break
		sleep "$WAIT_INTERVAL"
	done
	[ -z "$pre" ] || printf '%s\n' "$pre" >>"$_probe_log"
	return "$rc"
}

ns_procs() {
	local pat=${2//[/\\[}
	pat=${pat//]/\\]}
	{ find /proc/[0-9]*/ns/"$1" -maxdepth 0 -lname "$pat" 2>/dev/null || true; } | cut -d/ -f3
}

# --- fault injection: the TCP proxy between a machine and etcd --------------------------------
proxy_start() {
	_proxy_dir=$1
	cc -O2 -Wall -o "$_proxy_dir/tcp-proxy" "$E2E_ROOT/test/tools/tcp-proxy.c" ||
		bail_out "cannot build tcp-proxy"
	: >"$_proxy_dir/upstream"
	"$_proxy_dir/tcp-proxy" 127.0.0.1:0 "$_proxy_dir/upstream" "$_proxy_dir/port" \
		2>"$_proxy_dir/proxy.log" &
	PROXY=$!
	at_exit proxy_stop
	wait_for 5 test -s "$_proxy_dir/port" ||
		bail_out "tcp-proxy did not start: $(cat "$_proxy_dir/proxy.log")"
	PPORT=$(cat "$_proxy_dir/port")
}
# Our own child, by PID, after checking that it still is the proxy.
proxy_signal() { [ "$(cat "/proc/$PROXY/comm" 2>/dev/null)" = tcp-proxy ] && kill -s "$1" "$PROXY"; }
proxy_stop() { proxy_signal TERM && wait "$PROXY" 2>/dev/null; }
proxy_to_etcd() {
	fleet_cluster etcd-endpoint >"$_proxy_dir/upstream"
	diag "proxy 127.0.0.1:$PPORT -> $(cat "$_proxy_dir/upstream")"
}
