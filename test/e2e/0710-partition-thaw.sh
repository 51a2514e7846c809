#!/bin/bash
# SPDX-License-Identifier: MIT
# 0710-partition-thaw: one machine (m2) cut off from etcd by the fault-injecting TCP proxy
# (test/tools/tcp-proxy.c), agent_ttl 15s (fencing margin 3 s), for a little longer than its
# fencing deadline: the cut lasts until m2 logs that it froze its units, then heals. m1 and m3
# reach etcd, so m2's quorum question finds no majority without etcd and m2 freezes; its lease
# still lives when the link returns, so it thaws (issue 12: freeze, keep the lease, thaw).
# Once with systemd's freezer (freeze_method=auto: FreezerState "frozen") and once, after a
# SIGHUP reload of m2 with freeze_method=signal, with SIGSTOP (its processes in state T):
#   - m2's units are frozen while the link is cut, run again after the heal;
#   - no unit restarted or moved anywhere (same machine, same MainPID), m2 kept its lease,
#     nothing stopped ("Fencing: stopped" never logged).
# A third round cuts m2 off from its peers too: after a reload m2's API listens on another port
# than m1's and m3's, so its quorum question gets no answer at all; it freezes all the same
# (the safe default) and thaws after the heal.
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

proxy_start "$TMP"
export FLEET_CLUSTER_CONF_m2="etcd_servers=http://127.0.0.1:$PPORT"
export FLEET_CLUSTER_NO_FLEETD=1
cluster_up 3
proxy_to_etcd
out=$(fleet_cluster start-fleetd all 2>&1) || bail_out "start-fleetd: $out"

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
UNITS="t@1.service t@2.service t@3.service t@4.service t@5.service t@6.service"
placement() {
	local u m
	for u in $UNITS; do for m in $(active_on "$u"); do echo "$u $m $(sdp "$m" "$u" MainPID)"; done; done
	for m in $LIVE; do echo "fleetd $m $(sdp "$m" fleet.service MainPID)"; done
}
# is unit U on m2 frozen? auto: systemd's FreezerState; signal: its main process stopped (T)
frozen() {
	local u=$1 method=$2 pid
	if [ "$method" = auto ]; then
		[ "$(sdp m2 "$u" FreezerState)" = frozen ]
	else
		pid=$(sdp m2 "$u" MainPID)
		[ -n "$pid" ] && [ "$pid" != 0 ] && [ "$(machine_exec m2 sh -c "sed 's/.*) //' /proc/$pid/stat" | cut -d' ' -f1)" = T ]
	fi
}
all_frozen() { local method=$1 u; shift; for u in "$@"; do frozen "$u" "$method" || return 1; done; }
none_frozen() { local method=$1 u; shift; for u in "$@"; do ! frozen "$u" "$method" || return 1; done; }
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }

check "3 machines registered (m2 through the proxy)" wait_for $T registered 3
printf '[Unit]\nDescription=e2e thaw %%i\n\n[Service]\nExecStart=/bin/sleep infinity\n' >"$TMP/t@.service"
# shellcheck disable=SC2086
out=$(cd "$TMP" && fctl start --block-attempts=10 $UNITS 2>&1)
is "$?" 0 "start t@1..6"
# shellcheck disable=SC2086
check "t@1..6 each active exactly once" wait_for $T once $UNITS
stops0=$(count_log m2 "Fencing: stopped")

# cut_round METHOD: cut m2 until it logs a freeze, check its units are frozen, heal, check
cut_round() {
	local method=$1 f0 th0 t0 t1 u ON2="" i before lbefore ok
	before=$(placement)
	lbefore=$(leases)
	for u in $UNITS; do unit_active m2 "$u" && ON2+="$u "; done
	ON2=${ON2% }
	[ -n "$ON2" ] || bail_out "$method: no unit on m2"
	f0=$(count_log m2 "Fencing: froze")
	th0=$(count_log m2 "Thawed")
	t0=$(now_ms)
	proxy_signal USR1
	for i in $(seq 1 300); do
		[ "$(count_log m2 "Fencing: froze")" -gt "$f0" ] && break
		sleep 0.1
	done
	t1=$(now_ms)
	# shellcheck disable=SC2086
	all_frozen "$method" $ON2 && ok=1 || ok=0
	proxy_signal USR2
	diag "$method: m2 froze $ON2 within $(( t1 - t0 )) ms of the cut; healed after $(( $(now_ms) - t0 )) ms"
	is "$ok" 1 "$method: m2's units ($ON2) were frozen while the link was cut"
	check "$method: m2 logged the thaw" wait_for 20 eval '[ "$(count_log m2 "Thawed")" -gt '"$th0"' ]'
	# shellcheck disable=SC2086
	check "$method: m2's units run again (not frozen)" wait_for 10 none_frozen "$method" $ON2
	is "$(placement)" "$before" "$method: no unit stopped, restarted or moved (same machine, same MainPID)"
	is "$(leases)" "$lbefore" "$method: every machine kept its lease"
	machine_exec m2 journalctl -u fleet -o cat --no-pager | grep -E "Fencing|Thawed|Lease|deadline" | tail -n 5 | diag
}
cut_round auto
machine_exec m2 sh -c 'echo freeze_method=signal >>/etc/fleet/fleet.conf && systemctl kill -s HUP fleet'
sleep 3
check "m2 registered after the reload with freeze_method=signal" wait_for $T registered 3
cut_round signal

# m2 cut off from its peers as well: it asks them on port 49154, where nobody listens
machine_exec m2 sh -c "echo api_listen=/var/run/fleet.sock,$(machine_ip m2):49154 >>/etc/fleet/fleet.conf && systemctl kill -s HUP fleet"
sleep 3
check "m2 registered after the reload with its API on port 49154" wait_for $T registered 3
check "m2's API answers on port 49154" eval 'curl -s -m 2 "http://$(machine_ip m2):49154/fleet-c/v1/etcd-health" | grep -q reachable'
cut_round signal
is "$(count_log m2 "Fencing: stopped")" "$stops0" "m2 never stopped its units (no \"Fencing: stopped\")"

done_testing
