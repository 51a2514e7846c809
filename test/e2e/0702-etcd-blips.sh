#!/bin/bash
# SPDX-License-Identifier: MIT
# 0702-etcd-blips: a 3-member etcd cluster (started by this test on free loopback ports; every
# fleetd has all three endpoints in etcd_servers), agent_ttl 15s, 3 machines. Faults shorter
# than the fencing deadline:
#   - the etcd leader is killed (SIGKILL) and comes back 3 s later (the others elect a leader);
#   - a follower hangs (SIGSTOP) for 3 s (its clients' requests hang: fleetd must fail over);
#   - every member is killed (SIGKILL) and restarted 3 s later (etcd down ~3-5 s in all).
# After each, once the deadline any fencing would have used has passed: no unit was stopped,
# restarted or moved (same machine and MainPID, as systemd sees it), global units included;
# every machine keeps its lease (its record is never re-created), no fleetd restarted, none
# logged fencing.
# Then etcd loses its quorum for 2 x agent_ttl (two members killed, 30 s): every agent passes
# its deadline, learns from its peers that etcd is down for the majority and keeps its units
# running (issue 12): no unit frozen past the deadlines; afterwards no unit was stopped,
# restarted or moved.
set -u
. "$(dirname "$0")/lib.sh"
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
TTL=15
export FLEET_CLUSTER_AGENT_TTL=${TTL}s
OUTAGE=3

FLEETCTL=$E2E_ROOT/$BUILD/bin/fleetctl
case $BUILD in /*) FLEETCTL=$BUILD/bin/fleetctl ;; esac
[ -x "$FLEETCTL" ] || bail_out "$FLEETCTL is not built"
TMP=$(mktemp -d /tmp/fleet-e2e-07.XXXXXX)
at_exit rm -rf "$TMP"

# --- a 3-member etcd on free loopback ports ---------------------------------------------------
port_free() { [ -z "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }
PORTS=()
p=$(( 20000 + (RANDOM % 1000) * 10 ))   # below the ephemeral range (32768-)
while [ ${#PORTS[@]} -lt 6 ] && [ $p -lt 32700 ]; do port_free $p && PORTS+=("$p"); p=$((p + 1)); done
[ ${#PORTS[@]} = 6 ] || bail_out "no free ports"
C=("${PORTS[0]}" "${PORTS[1]}" "${PORTS[2]}")
PP=("${PORTS[3]}" "${PORTS[4]}" "${PORTS[5]}")
INITIAL="e0=http://127.0.0.1:${PP[0]},e1=http://127.0.0.1:${PP[1]},e2=http://127.0.0.1:${PP[2]}"
EPS="http://127.0.0.1:${C[0]},http://127.0.0.1:${C[1]},http://127.0.0.1:${C[2]}"
EPID=("" "" "")
etcd_start() {
	local i=$1
	etcd --name "e$i" --data-dir "$TMP/e$i" \
		--listen-client-urls "http://127.0.0.1:${C[$i]}" --advertise-client-urls "http://127.0.0.1:${C[$i]}" \
		--listen-peer-urls "http://127.0.0.1:${PP[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${PP[$i]}" \
		--initial-cluster "$INITIAL" --initial-cluster-state new --initial-cluster-token "flt-e2e-$$" \
		</dev/null >>"$TMP/e$i.log" 2>&1 &
	EPID[$i]=$!
}
is_ours() { [ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = etcd ] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$TMP/e"; }
etcd_sig() { local i=$1 s=$2; is_ours "${EPID[$i]}" && kill "-$s" "${EPID[$i]}"; }
etcd_kill() { etcd_sig "$1" KILL; wait "${EPID[$1]}" 2>/dev/null; EPID[$1]=""; }
etcd_all_down() { local i; for i in 0 1 2; do etcd_sig $i CONT; etcd_sig $i TERM; done; for i in 0 1 2; do [ -z "${EPID[$i]}" ] || wait "${EPID[$i]}" 2>/dev/null; done; }
at_exit etcd_all_down
ectl() { ETCDCTL_API=3 etcdctl --endpoints="$EPS" --command-timeout=3s "$@"; }
healthy() { ETCDCTL_API=3 etcdctl --endpoints="$EPS" endpoint health >/dev/null 2>&1; }
# index (0-2) of the leader member
leader_i() {
	local i st
	for i in 0 1 2; do
		st=$(ETCDCTL_API=3 etcdctl --endpoints="http://127.0.0.1:${C[$i]}" --command-timeout=1s endpoint status -w json 2>/dev/null)
		[ -n "$st" ] && [ "$(grep -o '"member_id":[0-9]*' <<<"$st" | cut -d: -f2)" = "$(grep -o '"leader":[0-9]*' <<<"$st" | cut -d: -f2)" ] && { echo $i; return; }
	done
}
for i in 0 1 2; do etcd_start $i; done
wait_for 20 healthy || bail_out "3-member etcd not healthy: $(tail -n 5 "$TMP/e0.log")"
diag "etcd cluster: $EPS (leader e$(leader_i))"

export FLEET_CLUSTER_CONF="etcd_servers=$EPS"
cluster_up 3

T=10
LIVE="m1 m2 m3"
fctl() { FLEETCTL_ENDPOINT="http://$(machine_ip m1):49153" timeout 60 "$FLEETCTL" "$@"; }
# (sdp, unit_active, leases and fenced are probes: see lib.sh)
sdp() { probe machine_exec "$1" systemctl show -p "$3" --value "$2"; }
active_on() { local m s=""; for m in $LIVE; do unit_active "$m" "$1" && s+="$m "; done; echo "${s% }"; }
once() { local u w; for u in "$@"; do w=$(active_on "$u"); [ -n "$w" ] && [ "$(wc -w <<<"$w")" = 1 ] || return 1; done; }
P=/_coreos.com/fleet
# "machine lease" for every registered machine
leases() { local m; for m in $LIVE; do echo "$m $(probe ectl get -w json "$P/machine/$(machine_id "$m")" | sed -n 's/.*"lease":\([0-9]*\).*/\1/p')"; done; }
registered() { [ "$(ectl get --prefix --keys-only "$P/machine/" | grep -c .)" = "$1" ]; }
UNITS="b@1.service b@2.service b@3.service b@4.service b@5.service b@6.service bg.service"
# "unit machine MainPID" for every unit, as systemd sees it; plus each fleetd's PID
placement() {
	local u m
	for u in $UNITS; do for m in $(active_on "$u"); do echo "$u $m $(sdp "$m" "$u" MainPID)"; done; done
	for m in $LIVE; do echo "fleetd $m $(sdp "$m" fleet.service MainPID)"; done
}

check "3 machines registered (through the 3-member etcd)" wait_for $T registered 3
printf '[Unit]\nDescription=e2e blip %%i\n\n[Service]\nExecStart=/bin/sleep infinity\n' >"$TMP/b@.service"
printf '[Unit]\nDescription=e2e blip global\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[X-Fleet]\nGlobal=true\n' >"$TMP/bg.service"
out=$(cd "$TMP" && fctl start --block-attempts=10 $UNITS 2>&1)
is "$?" 0 "start b@1..6 and the global bg.service"
[ -z "$out" ] || diag "$out"
# shellcheck disable=SC2086
check "b@1..6 each active exactly once, bg on every machine" wait_for $T eval 'once b@1.service b@2.service b@3.service b@4.service b@5.service b@6.service && [ "$(active_on bg.service)" = "m1 m2 m3" ]'
before=$(placement)
lbefore=$(leases)
diag "before:"$'\n'"$before"$'\n'"$lbefore"

# after a fault that began at T0 (ms): wait until any fencing deadline has passed (T0 + TTL),
# then compare
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }
untouched() {
	local desc=$1 t0=$2 rest after
	check "$desc: etcd healthy again" wait_for 20 healthy
	diag "$desc: etcd healthy $(( $(now_ms) - t0 )) ms after the fault began (leader e$(leader_i))"
	rest=$(( t0 + TTL * 1000 + 1000 - $(now_ms) ))
	[ "$rest" -le 0 ] || sleep "$((rest / 1000)).$(printf '%03d' $((rest % 1000)))"
	after=$(placement)
	is "$after" "$before" "$desc: no unit stopped, restarted or moved (same machine, same MainPID; fleetd PIDs too)"
	is "$(leases)" "$lbefore" "$desc: every machine kept its lease"
}

# --- the leader dies ----------------------------------------------------------------------------
L=$(leader_i)
[ -n "$L" ] || bail_out "no etcd leader"
t0=$(now_ms)
etcd_kill "$L"
diag "leader e$L killed"
sleep $OUTAGE
etcd_start "$L"
untouched "etcd leader killed for ${OUTAGE} s" "$t0"

# --- a follower hangs -----------------------------------------------------------------------------
L=$(leader_i)
[ -n "$L" ] || bail_out "no etcd leader"
F=$(( (L + 1) % 3 ))
t0=$(now_ms)
etcd_sig $F STOP
diag "follower e$F stopped (SIGSTOP)"
sleep $OUTAGE
etcd_sig $F CONT
untouched "etcd follower hung for ${OUTAGE} s" "$t0"

# --- every member dies ------------------------------------------------------------------------------
t0=$(now_ms)
for i in 0 1 2; do etcd_kill $i; done
diag "all members killed"
sleep $OUTAGE
for i in 0 1 2; do etcd_start $i; done
untouched "all etcd members killed for ${OUTAGE} s" "$t0"

fenced() { local m; for m in $LIVE; do probe machine_exec "$m" journalctl -u fleet -o cat --no-pager | grep -q "Fencing: stopped" && return 0; done; return 1; }
check "no fleetd logged fencing" eval '! fenced'

# --- quorum lost for 2 x agent_ttl ------------------------------------------------------------------
froze() { local m; for m in $LIVE; do machine_exec "$m" journalctl -u fleet -o cat --no-pager | grep -q "Fencing: froze" && return 0; done; return 1; }
any_frozen() { local u m; for u in $UNITS; do for m in $(active_on "$u"); do [ "$(sdp "$m" "$u" FreezerState)" != frozen ] || return 0; done; done; return 1; }
L=$(leader_i)
F1=$(( (L + 1) % 3 )) F2=$(( (L + 2) % 3 ))
t0=$(now_ms)
etcd_kill $F1
etcd_kill $F2
diag "members e$F1 and e$F2 killed: no quorum for $((2 * TTL)) s"
sleep $((TTL + 3))
check "quorum lost, past every deadline: no unit frozen" eval '! any_frozen'
sleep $((TTL - 3))
etcd_start $F1
etcd_start $F2
check "quorum lost for 2 x agent_ttl: etcd healthy again" wait_for 30 healthy
diag "quorum back $(( $(now_ms) - t0 )) ms after it was lost"
sleep 5
is "$(placement)" "$before" "quorum lost for 2 x agent_ttl: no unit stopped, restarted or moved (same machine, same MainPID)"
check "quorum lost for 2 x agent_ttl: no fleetd stopped units" eval '! fenced'
# An agent whose keepalive comes through later than its peers' asks again, finds the majority
# back and freezes until its own keepalive succeeds (the safe side): a brief freeze, no restart.
froze && diag "an agent froze its units for a moment while etcd recovered: $(for m in $LIVE; do machine_exec "$m" journalctl -u fleet -o short-precise --no-pager | grep -E "froze|Thawed" | tail -n 2; done)"
for m in $LIVE; do
	machine_exec "$m" journalctl -u fleet -o cat --no-pager | grep -E "Fencing|Majority|Lease .* alive|Registered" | tail -n 4 | diag
done
for m in $LIVE; do
	diag "$m fleetd log (etcd errors):"
	machine_exec "$m" journalctl -u fleet -o cat --no-pager | grep -i -E 'etcd|lease|fenc' | tail -n 6 | diag
done
check "the cluster still schedules: b@7 starts" eval 'cd "$TMP" && fctl start --block-attempts=10 b@7.service >/dev/null 2>&1 && LIVE="m1 m2 m3" once b@7.service'

done_testing
