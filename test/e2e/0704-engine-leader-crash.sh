#!/bin/bash
# SPDX-License-Identifier: MIT
# 0704-engine-leader-crash: the engine leader's fleetd crashes (SIGKILL inside its machine; the
# machine itself stays up, unlike 0503's machine crash), agent_ttl 20s. The leader key lives on
# the leader machine's agent lease (one lease per machine):
#   - crash, systemd restarts fleetd after RestartSec (2 s): the new fleetd reuses the machine's
#     lease (lease file), deletes the ended term's key and an engine is leader again under a new
#     term; scheduling goes on (a new unit gets placed and runs); no unit moved or restarted;
#   - crash, and that fleetd stays down (a drop-in with Restart=no): its machine's lease, and the
#     leader key with it, expires after agent_ttl; an engine on another machine takes over,
#     schedules a new unit and moves the crashed machine's units (as for a machine crash); the
#     other machines' units stay; then fleetd comes back, finds its lease gone, stops the copies
#     it left running and rejoins: every unit active exactly once.
# The time from the crash to the new leader and to the new unit running is printed.
set -u
. "$(dirname "$0")/lib.sh"
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
TTL=20
export FLEET_CLUSTER_AGENT_TTL=${TTL}s

FLEETCTL=$E2E_ROOT/$BUILD/bin/fleetctl
case $BUILD in /*) FLEETCTL=$BUILD/bin/fleetctl ;; esac
[ -x "$FLEETCTL" ] || bail_out "$FLEETCTL is not built"
TMP=$(mktemp -d /tmp/fleet-e2e-07.XXXXXX)
at_exit rm -rf "$TMP"
cluster_up 3

T=10
LIVE="m1 m2 m3"
API=m1
declare -A IP2M
for m in $LIVE; do IP2M[$(machine_ip "$m")]=$m; done
fctl() { FLEETCTL_ENDPOINT="http://$(machine_ip "$API"):49153" timeout 60 "$FLEETCTL" "$@"; }
# (sdp and unit_active are probes: see lib.sh)
sdp() { probe machine_exec "$1" systemctl show -p "$3" --value "$2"; }
active_on() { local m s=""; for m in $LIVE; do unit_active "$m" "$1" && s+="$m "; done; echo "${s% }"; }
once() { local u w; for u in "$@"; do w=$(active_on "$u"); [ -n "$w" ] && [ "$(wc -w <<<"$w")" = 1 ] || return 1; done; }
P=/_coreos.com/fleet
registered() { [ "$(etcdctl_c get --prefix --keys-only "$P/machine/" | grep -c .)" = "$1" ]; }
leader_m() {
	local id m
	id=$(etcdctl_c get --print-value-only "$P/engine/leader" | sed -n 's/.*"MachineID":"\([0-9a-f]*\)".*/\1/p')
	for m in $LIVE; do [ "$(machine_id "$m")" != "$id" ] || echo "$m"; done
}
term() { etcdctl_c get -w json "$P/engine/leader" | sed -n 's/.*"create_revision":\([0-9]*\).*/\1/p'; }
api_not() { local m; for m in $LIVE; do [ "$m" = "$1" ] || { echo "$m"; return; }; done; }
# "unit machine MainPID" of the c@ units, as systemd sees it
placement() { local u m; for u in "$@"; do for m in $(active_on "$u"); do echo "$u $m $(sdp "$m" "$u" MainPID)"; done; done; }
target() {
	fctl list-unit-files --no-legend --full --fields unit,target 2>/dev/null | awk -v u="$1" '$1 == u { print $2 }' |
		while read -r t; do case $t in */*) echo "${IP2M[${t##*/}]:-$t}" ;; esac; done
}
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }

check "3 machines registered" wait_for $T registered 3
CU="c@1.service c@2.service c@3.service c@4.service c@5.service c@6.service"
printf '[Unit]\nDescription=e2e leader crash %%i\n\n[Service]\nExecStart=/bin/sleep infinity\n' >"$TMP/c@.service"
# shellcheck disable=SC2086
out=$(cd "$TMP" && fctl start --block-attempts=10 $CU 2>&1)
is "$?" 0 "start c@1..6"
[ -z "$out" ] || diag "$out"
# shellcheck disable=SC2086
check "c@1..6 each active exactly once" wait_for $T once $CU
# shellcheck disable=SC2086
before=$(placement $CU)

# --- crash, restarted by systemd ------------------------------------------------------------------
L=$(leader_m)
T0=$(term)
[ -n "$L" ] && [ -n "$T0" ] || bail_out "no engine leader"
diag "engine leader $L, term $T0"
API=$(api_not "$L")
# shellcheck disable=SC2034 # used in the eval below
old=$(sdp "$L" fleet.service MainPID)
t0=$(now_ms)
check "$L: crash of the leader's fleetd (systemctl kill -s KILL fleet)" machine_exec "$L" systemctl kill -s KILL fleet.service
new_term() { local t; t=$(term); [ -n "$t" ] && [ "$t" != "$1" ]; }
check "an engine is leader again under a new term" wait_for 30 new_term "$T0"
diag "new leader $(leader_m) (term $(term)) $(( $(now_ms) - t0 )) ms after the crash"
check "$L: systemd restarted fleetd" wait_for 20 eval '[ "$(sdp "$L" fleet.service MainPID)" != "$old" ] && unit_active "$L" fleet.service'
out=$(cd "$TMP" && fctl start --no-block c@7.service 2>&1)
is "$?" 0 "submit and start c@7 (--no-block)"
[ -z "$out" ] || diag "$out"
check "c@7 scheduled and running on one machine" wait_for 30 once c@7.service
diag "c@7 running on $(active_on c@7.service) $(( $(now_ms) - t0 )) ms after the crash"
# shellcheck disable=SC2086
is "$(placement $CU)" "$before" "no c@ unit moved or restarted"

# --- crash, fleetd stays down: its machine's lease expires, another machine's engine takes over ------
L=$(leader_m)
T0=$(term)
diag "engine leader $L, term $T0"
API=$(api_not "$L")
# the c@ units elsewhere than $L must not move
# shellcheck disable=SC2086
others=$(placement $CU | awk -v l="$L" '$2 != l')
machine_exec "$L" sh -c 'mkdir -p /run/systemd/system/fleet.service.d && printf "[Service]\nRestart=no\n" >/run/systemd/system/fleet.service.d/flt-norestart.conf && systemctl daemon-reload'
t0=$(now_ms)
check "$L: crash of the leader's fleetd, no restart" machine_exec "$L" systemctl kill -s KILL fleet.service
other_leader() { local m; m=$(leader_m); [ -n "$m" ] && [ "$m" != "$L" ] && new_term "$T0"; }
check "an engine on another machine takes over once $L's lease expires" wait_for $((TTL + 15)) other_leader
diag "new leader $(leader_m) (term $(term)) $(( $(now_ms) - t0 )) ms after the crash (agent_ttl ${TTL}s)"
is "$(sdp "$L" fleet.service ActiveState)" failed "$L: fleetd still down"
out=$(cd "$TMP" && fctl start --no-block c@8.service 2>&1)
is "$?" 0 "submit and start c@8 (--no-block)"
[ -z "$out" ] || diag "$out"
check "c@8 scheduled by the new engine" wait_for 20 eval '[ -n "$(target c@8.service)" ]'
T8=$(target c@8.service)
diag "c@8 placed on $T8 $(( $(now_ms) - t0 )) ms after the crash"
check "c@8 not placed on $L (its lease is gone)" eval '[ "$T8" != "$L" ]'
check "c@8 running on $T8" wait_for 20 eval '[ "$(active_on c@8.service)" = "$T8" ]'
# every "unit machine MainPID" line of $others is still there (L's units join them elsewhere)
# shellcheck disable=SC2086
still_there() { local now line; now=$(placement $CU); while read -r line; do [ -z "$line" ] || grep -qxF "$line" <<<"$now" || return 1; done <<<"$others"; }
check "the c@ units on the other machines did not move or restart" still_there
machine_exec "$L" sh -c 'rm -f /run/systemd/system/fleet.service.d/flt-norestart.conf && systemctl daemon-reload && systemctl reset-failed fleet.service; systemctl start fleet.service'
check "$L: fleetd back" wait_for 20 unit_active "$L" fleet.service
# shellcheck disable=SC2086
check "every c@ unit active exactly once ($L stopped the copies it left running)" wait_for 30 once $CU c@7.service c@8.service
check "the other machines' c@ units still did not move or restart" still_there

done_testing
