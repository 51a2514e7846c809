#!/bin/bash
# SPDX-License-Identifier: MIT
# 0707-etcd-pause: etcd paused (SIGSTOP) while 3 machines run movable units, agent_ttl 15s
# (fencing margin 3 s). Issue 12: units are frozen at the fencing deadline, not stopped, and
# thawed when etcd confirms the lease: nothing restarted.
#   - a pause of 0.5 x agent_ttl: no unit restarted (same MainPID), leases kept;
#   - a pause that lasts until the first machine freezes its units (its deadline passed; its
#     lease still lives for the margin), once with systemd's freezer (freeze_method=auto: the
#     unit's FreezerState is "frozen") and once, after a SIGHUP reload with
#     freeze_method=signal, with SIGSTOP (its processes are stopped, state T): the units are
#     frozen while etcd is away, thawed once it answers (same MainPID, running again), nothing
#     moved, every machine kept its lease, nothing stopped ("Fencing: stopped" never logged).
set -u
. "$(dirname "$0")/lib.sh"
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
TTL=15
export FLEET_CLUSTER_AGENT_TTL=${TTL}s

FLEETCTL=$E2E_ROOT/$BUILD/bin/fleetctl
case $BUILD in /*) FLEETCTL=$BUILD/bin/fleetctl ;; esac
[ -x "$FLEETCTL" ] || bail_out "$FLEETCTL is not built"
TMP=$(mktemp -d /tmp/fleet-e2e-07.XXXXXX)
at_exit rm -rf "$TMP"
cluster_up 3

T=10
LIVE="m1 m2 m3"
P=/_coreos.com/fleet
fctl() { FLEETCTL_ENDPOINT="http://$(machine_ip m1):49153" timeout 60 "$FLEETCTL" "$@"; }
sdp() { machine_exec "$1" systemctl show -p "$3" --value "$2" 2>/dev/null; }
active_on() { local m s=""; for m in $LIVE; do unit_active "$m" "$1" && s+="$m "; done; echo "${s% }"; }
once() { local u w; for u in "$@"; do w=$(active_on "$u"); [ -n "$w" ] && [ "$(wc -w <<<"$w")" = 1 ] || return 1; done; }
registered() { [ "$(etcdctl_c get --prefix --keys-only "$P/machine/" | grep -c .)" = "$1" ]; }
leases() { local m; for m in $LIVE; do echo "$m $(etcdctl_c get -w json "$P/machine/$(machine_id "$m")" | sed -n 's/.*"lease":\([0-9]*\).*/\1/p')"; done; }
count_log() { machine_exec "$1" journalctl -u fleet -o cat --no-pager | grep -c "$2"; }
UNITS="q@1.service q@2.service q@3.service q@4.service q@5.service q@6.service"
# "unit machine MainPID" for every unit, as systemd sees it, plus each fleetd's PID
placement() {
	local u m
	for u in $UNITS; do for m in $(active_on "$u"); do echo "$u $m $(sdp "$m" "$u" MainPID)"; done; done
	for m in $LIVE; do echo "fleetd $m $(sdp "$m" fleet.service MainPID)"; done
}
# is unit U on machine M frozen? auto: systemd's FreezerState; signal: its main process stopped (T)
frozen() {
	local m=$1 u=$2 method=$3 pid
	if [ "$method" = auto ]; then
		[ "$(sdp "$m" "$u" FreezerState)" = frozen ]
	else
		pid=$(sdp "$m" "$u" MainPID)
		[ -n "$pid" ] && [ "$pid" != 0 ] && [ "$(machine_exec "$m" sh -c "sed 's/.*) //' /proc/$pid/stat" | cut -d' ' -f1)" = T ]
	fi
}
running() { ! frozen "$@"; }
all_running() { local m=$1 method=$2 u; shift 2; for u in "$@"; do running "$m" "$u" "$method" || return 1; done; }

check "3 machines registered" wait_for $T registered 3
printf '[Unit]\nDescription=e2e pause %%i\n\n[Service]\nExecStart=/bin/sleep infinity\n' >"$TMP/q@.service"
# shellcheck disable=SC2086
out=$(cd "$TMP" && fctl start --block-attempts=10 $UNITS 2>&1)
is "$?" 0 "start q@1..6"
[ -z "$out" ] || diag "$out"
# shellcheck disable=SC2086
check "q@1..6 each active exactly once" wait_for $T once $UNITS
before=$(placement)
lbefore=$(leases)
diag "before:"$'\n'"$before"

D=$(fleet_cluster env | sed -n 's/^FLEET_CLUSTER_DIR=//p')
eval "D=$D"
EPID=$(cat "$D/etcd.pid")
[ "$(cat "/proc/$EPID/comm" 2>/dev/null)" = etcd ] || bail_out "no etcd at pid $EPID"
at_exit kill -CONT "$EPID"
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }
stops0=0
for m in $LIVE; do stops0=$((stops0 + $(count_log $m "Fencing: stopped"))); done

# --- 0.5 x agent_ttl ------------------------------------------------------------------------------
t0=$(now_ms)
kill -STOP "$EPID"
sleep $((TTL / 2))
kill -CONT "$EPID"
diag "etcd paused for $(( $(now_ms) - t0 )) ms"
sleep 3
is "$(placement)" "$before" "pause of 0.5 x agent_ttl: no unit stopped, restarted or moved (same machine, same MainPID)"
is "$(leases)" "$lbefore" "pause of 0.5 x agent_ttl: every machine kept its lease"

# --- until the first freeze -------------------------------------------------------------------------
# pause_round METHOD: pause etcd until a machine logs a freeze; check its units are frozen; resume
pause_round() {
	local method=$1 m f=() th=() m0="" th0=0 t0 t1 u ON="" i
	for m in $LIVE; do f+=("$(count_log $m "Fencing: froze")"); th+=("$(count_log $m "Thawed")"); done
	t0=$(now_ms)
	kill -STOP "$EPID"
	for i in $(seq 1 400); do
		local k=0
		for m in $LIVE; do
			[ "$(count_log $m "Fencing: froze")" -gt "${f[$k]}" ] && { m0=$m; th0=${th[$k]}; break 2; }
			k=$((k + 1))
		done
		sleep 0.1
	done
	t1=$(now_ms)
	[ -n "$m0" ] || { kill -CONT "$EPID"; bail_out "$method: no machine froze its units within 40 s"; }
	for u in $UNITS; do unit_active "$m0" "$u" && ON+="$u "; done
	ON=${ON% }
	local ok=1
	for u in $ON; do frozen "$m0" "$u" "$method" || ok=0; done
	kill -CONT "$EPID"
	diag "$method: $m0 froze $ON $(( t1 - t0 )) ms after etcd was paused; etcd resumed after $(( $(now_ms) - t0 )) ms"
	is "$ok" 1 "$method: $m0's units ($ON) were frozen while etcd was away"
	check "$method: $m0 logged the thaw" wait_for 20 eval '[ "$(count_log '"$m0"' "Thawed")" -gt '"$th0"' ]'
	# shellcheck disable=SC2086
	check "$method: $m0's units run again (not frozen)" wait_for 10 all_running "$m0" "$method" $ON
	is "$(placement)" "$before" "$method: no unit stopped, restarted or moved (same machine, same MainPID)"
	is "$(leases)" "$lbefore" "$method: every machine kept its lease"
}
pause_round auto

for m in $LIVE; do
	machine_exec $m sh -c 'echo freeze_method=signal >>/etc/fleet/fleet.conf && systemctl kill -s HUP fleet'
done
sleep 3
check "after the reload with freeze_method=signal: still registered" wait_for $T registered 3
before=$(placement)
pause_round signal

stops=0
for m in $LIVE; do stops=$((stops + $(count_log $m "Fencing: stopped"))); done
is "$stops" "$stops0" "no machine stopped its units (no \"Fencing: stopped\")"
check "the cluster still schedules: q@7 starts" eval 'cd "$TMP" && fctl start --block-attempts=10 q@7.service >/dev/null 2>&1 && once q@7.service'

done_testing
