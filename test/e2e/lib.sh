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
#           etcdctl_c ARGS...      etcdctl (API v3) against the cluster's etcd
#           at_exit CMD...         run CMD at exit, before the cluster goes down (clean-up of
#                                  the test's own files; runs even after ^C)
# polling:  wait_for TIMEOUT CMD...  run CMD (quietly) every WAIT_INTERVAL (0.1 s) until it
#                                  succeeds (0) or TIMEOUT seconds (may be fractional) pass (1)
# host:     ns_procs TYPE 'type:[inode]'   host pids of the processes in that namespace
#
# Scripts use `set -u` but not `set -e` (a failed check must not stop the script). Their
# stdout is TAP: command output that could start with "ok" belongs in diag or a variable.
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

# --- TAP -----------------------------------------------------------------------------------
plan() { _tap_plan=$1; echo "1..$1"; }
ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_fail=$((_tap_fail + 1)); echo "not ok $_tap_n - $*"; }
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
	if [ "$rc" = 0 ]; then ok "$desc"; else not_ok "$desc"; diag "command failed (exit $rc): $*"; fi
	[ -z "$out" ] || diag "$out"
	return "$rc"
}
# is GOT WANT DESC
is() {
	if [ "$1" = "$2" ]; then ok "$3"; return 0; fi
	not_ok "$3"
	diag "     got: '$1'"$'\n'"    want: '$2'"
	return 1
}
bail_out() { echo "Bail out! $*"; exit 1; }
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
unit_active() { [ "$(machine_exec "$1" systemctl is-active "$2" 2>/dev/null)" = active ]; }
etcdctl_c() { ETCDCTL_API=3 etcdctl --endpoints="$(fleet_cluster etcd-endpoint)" "$@"; }

# --- polling and host checks ---------------------------------------------------------------
_to_us() {   # seconds (e.g. 5 or 0.5) -> microseconds
	local s=$1 i f
	i=${s%%.*}; f=""
	[ "$i" = "$s" ] || f=${s#*.}
	f=${f}000000; f=${f:0:6}
	echo $(( 10#${i:-0} * 1000000 + 10#$f ))
}

wait_for() {
	local end
	end=$(( ${EPOCHREALTIME/./} + $(_to_us "$1") ))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "${EPOCHREALTIME/./}" -lt "$end" ] || return 1
		sleep "$WAIT_INTERVAL"
	done
}

ns_procs() {
	local pat=${2//[/\\[}
	pat=${pat//]/\\]}
	{ find /proc/[0-9]*/ns/"$1" -maxdepth 0 -lname "$pat" 2>/dev/null || true; } | cut -d/ -f3
}
