#!/bin/bash
# SPDX-License-Identifier: MIT
# 0709-etcd-pause: the cluster's etcd paused (SIGSTOP) for 0.5, 1, 2 and 5 x agent_ttl
# (agent_ttl 6s), 3 machines running movable units. etcd is down for everyone: at its fencing
# deadline each agent asks its peers (GET /fleet-c/v1/etcd-health), a majority answers that it
# does not reach etcd either, so nobody freezes or stops anything; leases that expired meanwhile
# are replaced and the engine holds the units of the machines that expired together (majority
# rule). Checked:
#   - every machine, every 0.2 s during each pause and after it: no unit frozen (cgroup v2
#     freezer) and no unit process stopped (state T);
#   - after each pause: no unit restarted or moved (same machine, same MainPID), fleetd never
#     restarted, nothing stopped ("Fencing: stopped" / "froze" never logged);
#   - the health endpoint answers {"reachable":true} again, and the cluster still schedules.
set -u
. "$(dirname "$0")/lib.sh"
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
TTL=6
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
count_log() { machine_exec "$1" journalctl -u fleet -o cat --no-pager | grep -c "$2"; }
sum_log() { local m n=0; for m in $LIVE; do n=$((n + $(count_log $m "$1"))); done; echo $n; }
health() { curl -s -m 2 "http://$(machine_ip "$1"):49153/fleet-c/v1/etcd-health"; }
UNITS="q@1.service q@2.service q@3.service q@4.service q@5.service q@6.service"
# "unit machine MainPID" for every unit, as systemd sees it, plus each fleetd's PID
placement() {
	local u m
	for u in $UNITS; do for m in $(active_on "$u"); do echo "$u $m $(sdp "$m" "$u" MainPID)"; done; done
	for m in $LIVE; do echo "fleetd $m $(sdp "$m" fleet.service MainPID)"; done
}

check "3 machines registered" wait_for $T registered 3
printf '[Unit]\nDescription=e2e pause %%i\n\n[Service]\nExecStart=/bin/sleep infinity\n' >"$TMP/q@.service"
# shellcheck disable=SC2086
out=$(cd "$TMP" && fctl start --block-attempts=10 $UNITS 2>&1)
is "$?" 0 "start q@1..6"
[ -z "$out" ] || diag "$out"
# shellcheck disable=SC2086
check "q@1..6 each active exactly once" wait_for $T once $UNITS
before=$(placement)
diag "before:"$'\n'"$before"
is "$(health m1)" '{"reachable":true}' "m1 answers the quorum question: it reaches etcd"

D=$(fleet_cluster env | sed -n 's/^FLEET_CLUSTER_DIR=//p')
eval "D=$D"
EPID=$(cat "$D/etcd.pid")
[ "$(cat "/proc/$EPID/comm" 2>/dev/null)" = etcd ] || bail_out "no etcd at pid $EPID"
at_exit kill -CONT "$EPID"
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }
stops0=$(sum_log "Fencing: stopped")
froze0=$(sum_log "Fencing: froze")

# samplers: every machine, every 0.2 s, for $1 seconds: "time n_frozen" where n_frozen counts
# the q@ units whose cgroup is frozen or that have a process in state T (stopped)
start_samplers() {
	local m
	SAMPLERS=()
	for m in $LIVE; do
		# shellcheck disable=SC2016
		machine_exec "$m" sh -c 'end=$(( $(date +%s%3N) + '"$1"' * 1000 )); while t=$(date +%s%3N); [ $t -lt $end ]; do
			n=0; for d in /sys/fs/cgroup/system.slice/q@*.service; do [ -d "$d" ] || continue
				grep -q "^frozen 1" $d/cgroup.events 2>/dev/null && { n=$((n + 1)); continue; }
				for p in $(cat $d/cgroup.procs 2>/dev/null); do
					[ "$(sed "s/.*) //" /proc/$p/stat 2>/dev/null | cut -d" " -f1)" = T ] && { n=$((n + 1)); break; }
				done
			done; echo "$t $n"; sleep 0.2; done' >"$TMP/s.$m" 2>/dev/null &
		SAMPLERS+=($!)
	done
}

# pause FACTOR: pause etcd for FACTOR x agent_ttl (sampled), resume, check
pause() {
	local f=$1 ms t0 frozen samples m
	ms=$(awk -v f="$f" -v t="$TTL" 'BEGIN { printf "%d", f * t * 1000 }')
	start_samplers $(( ms / 1000 + 12 ))
	sleep 0.5
	t0=$(now_ms)
	kill -STOP "$EPID"
	sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
	kill -CONT "$EPID"
	diag "${f} x agent_ttl: etcd paused for $(( $(now_ms) - t0 )) ms"
	check "${f} x agent_ttl: 3 machines registered again" wait_for 20 registered 3
	# shellcheck disable=SC2086
	check "${f} x agent_ttl: q@1..6 each active exactly once" wait_for $T once $UNITS
	wait "${SAMPLERS[@]}"
	frozen=$(cat "$TMP"/s.m[123] | awk '{ s += $2 } END { print s + 0 }')
	samples=$(cat "$TMP"/s.m[123] | wc -l)
	for m in $LIVE; do
		diag "${f} x agent_ttl: $m sampled every $(awk 'NR > 1 { d = $1 - p; s += d; if (d > x) x = d } { p = $1 } END { if (NR > 1) printf "%d ms on average, at most %d ms", s / (NR - 1), x }' "$TMP/s.$m")"
	done
	is "$frozen" 0 "${f} x agent_ttl: no unit frozen or stopped in any of $samples samples"
	is "$(placement)" "$before" "${f} x agent_ttl: no unit restarted or moved (same machine, same MainPID; same fleetd)"
	is "$(sum_log "Fencing: stopped")" "$stops0" "${f} x agent_ttl: no machine stopped its units"
	is "$(sum_log "Fencing: froze")" "$froze0" "${f} x agent_ttl: no machine froze its units"
	diag "${f} x agent_ttl: quorum answers logged: $(sum_log "etcd is down for the majority"); engine holds: $(sum_log "Majority rule:")"
}

for f in 0.5 1 2 5; do pause $f; done
for m in $LIVE; do
	machine_exec "$m" journalctl -u fleet -o cat --no-pager | grep -E "Fencing|Majority|lease|Registered" | tail -n 8 | diag
done
check "m1 reaches etcd again (quorum answer)" wait_for 10 eval '[ "$(health m1)" = "{\"reachable\":true}" ]'
check "the cluster still schedules: q@7 starts" eval 'cd "$TMP" && fctl start --block-attempts=10 q@7.service >/dev/null 2>&1 && once q@7.service'

done_testing
