#!/bin/bash
# SPDX-License-Identifier: MIT
# 0703-etcd-outage: etcd unreachable (paused) for longer than agent_ttl (12 s, agent_ttl 5s),
# with the engine running (0203 covers the agent side with the engine disabled), 3 machines:
#   - every fleetd stays up (same PID: no crash, no restart) and does not busy-loop: the CPU
#     time each fleetd used during the outage is read from /proc/PID/stat and printed;
#   - while etcd is away, etcd is down for every machine: at its fencing deadline each agent
#     asks its peers, a majority answers that it does not reach etcd, so nobody freezes or stops
#     anything (issue 12): every unit keeps running, unfrozen;
#   - etcd back: every lease has expired; the agents register again and keep their units, the
#     engine holds the units of the machines that expired together (majority rule): exactly one
#     copy of each unit, with the same MainPID as before the outage, and the global unit on
#     every machine; every machine is sampled every ~50 ms (a process in the unit's
#     cgroup, not frozen?) from the start of the outage until after convergence: never two
#     copies of a unit running at once.
set -u
. "$(dirname "$0")/lib.sh"
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
export FLEET_CLUSTER_AGENT_TTL=5s
OUTAGE=12

FLEETCTL=$E2E_ROOT/$BUILD/bin/fleetctl
case $BUILD in /*) FLEETCTL=$BUILD/bin/fleetctl ;; esac
[ -x "$FLEETCTL" ] || bail_out "$FLEETCTL is not built"
TMP=$(mktemp -d /tmp/fleet-e2e-07.XXXXXX)
at_exit rm -rf "$TMP"
cluster_up 3

T=10
LIVE="m1 m2 m3"
fctl() { FLEETCTL_ENDPOINT="http://$(machine_ip m1):49153" timeout 60 "$FLEETCTL" "$@"; }
# (sdp, unit_active and fenced_all are probes: see lib.sh)
sdp() { probe machine_exec "$1" systemctl show -p "$3" --value "$2"; }
active_on() { local m s=""; for m in $LIVE; do unit_active "$m" "$1" && s+="$m "; done; echo "${s% }"; }
once() { local u w; for u in "$@"; do w=$(active_on "$u"); [ -n "$w" ] && [ "$(wc -w <<<"$w")" = 1 ] || return 1; done; }
P=/_coreos.com/fleet
registered() { [ "$(etcdctl_c get --prefix --keys-only "$P/machine/" | grep -c .)" = "$1" ]; }
# CPU time (clock ticks: utime + stime) of the process PID inside machine M
cpu_ticks() { machine_exec "$1" cat "/proc/$2/stat" 2>/dev/null | sed 's/.*) //' | awk '{ print $12 + $13 }'; }
TCK=$(getconf CLK_TCK)

check "3 machines registered" wait_for $T registered 3
DU="d@1.service d@2.service d@3.service d@4.service d@5.service d@6.service"
printf '[Unit]\nDescription=e2e outage %%i\n\n[Service]\nExecStart=/bin/sleep infinity\n' >"$TMP/d@.service"
printf '[Unit]\nDescription=e2e outage global\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[X-Fleet]\nGlobal=true\n' >"$TMP/dg.service"
# shellcheck disable=SC2086
out=$(cd "$TMP" && fctl start --block-attempts=10 $DU dg.service 2>&1)
is "$?" 0 "start d@1..6 and the global dg.service"
[ -z "$out" ] || diag "$out"
# shellcheck disable=SC2086
check "d@1..6 each active exactly once, dg on every machine" wait_for $T eval 'once '"$DU"' && [ "$(active_on dg.service)" = "m1 m2 m3" ]'
declare -A FPID GPID C0
for m in $LIVE; do FPID[$m]=$(sdp $m fleet.service MainPID); GPID[$m]=$(sdp $m dg.service MainPID); done
# "unit machine MainPID" for every d@ unit
placement() { local u m; for u in $DU; do for m in $(active_on "$u"); do echo "$u $m $(sdp "$m" "$u" MainPID)"; done; done; }
before=$(placement)

D=$(fleet_cluster env | sed -n 's/^FLEET_CLUSTER_DIR=//p')
eval "D=$D"
EPID=$(cat "$D/etcd.pid")
[ "$(cat "/proc/$EPID/comm" 2>/dev/null)" = etcd ] || bail_out "no etcd at pid $EPID"
at_exit kill -CONT "$EPID"

# samplers: every machine, every ~50 ms, for SAMPLE seconds.
# A sample says "active" for a unit when its cgroup (the one systemd made for it) holds a process:
# a running copy, whatever systemd's state machine says (activating, deactivating...). Reading
# cgroup.procs is cheap, so the samples stay ~50 ms apart even on a loaded host.
SAMPLE=$((OUTAGE + 20))
SAMPLERS=()
for m in $LIVE; do
	# shellcheck disable=SC2016,SC2086
	machine_exec "$m" sh -c 'end=$(( $(date +%s%3N) + '$SAMPLE' * 1000 )); while t=$(date +%s%3N); [ $t -lt $end ]; do
		l=$t; for u in '"$DU"'; do s=inactive
			for f in /sys/fs/cgroup/system.slice/$u/cgroup.procs /sys/fs/cgroup/system.slice/*/$u/cgroup.procs; do
				read -r x 2>/dev/null <"$f" && s=active
				[ $s = active ] && grep -q "^frozen 1" "${f%/*}/cgroup.events" 2>/dev/null && s=frozen
			done; l="$l $s"; done
		echo "$l"; sleep 0.05; done' >"$TMP/s.$m" 2>/dev/null &
	SAMPLERS+=($!)
done
sleep 1

# --- the outage -----------------------------------------------------------------------------------
for m in $LIVE; do C0[$m]=$(cpu_ticks $m "${FPID[$m]}"); done
t0=${EPOCHREALTIME/./}
kill -STOP "$EPID"
diag "etcd ($EPID) paused for $OUTAGE s (agent_ttl 5s)"
none_frozen() { local m u; for m in $LIVE; do for u in $DU; do [ "$(sdp $m $u FreezerState)" != frozen ] || return 1; done; done; }
sleep $((OUTAGE - 4))
is "$(placement)" "$before" "during the outage every d@ unit keeps running where it was (same MainPID)"
check "during the outage no d@ unit is frozen" none_frozen
cpus=""
for m in $LIVE; do
	c=$(cpu_ticks $m "${FPID[$m]}")
	cpus+="$m $(awk -v a="${C0[$m]:-0}" -v b="${c:-0}" -v t="$TCK" 'BEGIN { printf "%.2f", (b - a) / t }') s; "
done
tc=${EPOCHREALTIME/./}
rest=$(( t0 + OUTAGE * 1000000 - tc ))
[ "$rest" -le 0 ] || sleep "$((rest / 1000000)).$(printf '%06d' $((rest % 1000000)))"
kill -CONT "$EPID"
t1=${EPOCHREALTIME/./}
diag "etcd resumed after $(( (t1 - t0) / 1000 )) ms"
diag "fleetd CPU time in the first $(( (tc - t0) / 1000 )) ms of the outage: ${cpus% }"
for m in $LIVE; do
	is "$(sdp $m fleet.service MainPID)" "${FPID[$m]}" "$m: fleetd survived the outage (same PID, no restart)"
	is "$(sdp $m dg.service MainPID)" "${GPID[$m]}" "$m: global dg.service kept running (same MainPID)"
done

# --- back: convergence ------------------------------------------------------------------------------
check "every machine registered again" wait_for 20 registered 3
# shellcheck disable=SC2086
check "converged: each d@ unit active exactly once" wait_for 30 once $DU
is "$(placement)" "$before" "no d@ unit was restarted or moved (same machine, same MainPID)"
diag "converged $(( (${EPOCHREALTIME/./} - t1) / 1000 )) ms after etcd came back"
machine_exec m1 journalctl -u fleet.service -o short-precise --no-pager --since "@$((t1 / 1000000 - 1))" 2>/dev/null | tail -n 25 | diag
check "dg.service still active on every machine" eval '[ "$(active_on dg.service)" = "m1 m2 m3" ]'
# a sampler that failed saw nothing, which must not pass for "never two copies"
i=0 sbad=""
for m in $LIVE; do
	wait "${SAMPLERS[$i]}"
	rc=$?
	[ "$rc" = 0 ] && [ -s "$TMP/s.$m" ] || sbad+="the sampler in $m failed (exit $rc, $(wc -l <"$TMP/s.$m") samples); "
	i=$((i + 1))
done
sampled() { [ -z "$sbad" ] || probe_failed "${sbad%; }"; }
maxw=$(for m in $LIVE; do awk -v m="$m" '{ for (i = 2; i <= NF; i++) print $1, m, i - 1, $i }' "$TMP/s.$m"; done |
	sort -n -k1,1 | awk '
	function run(s) { return s == "active" || s == "activating" || s == "deactivating" || s == "reloading" }
	{
		t = $1; m = $2; u = $3; r = run($4)
		if (u in start && cnt[u] >= 2) { w = t - start[u]; if (w > maxw) maxw = w }
		if (r != st[m, u]) { cnt[u] += r ? 1 : -1; st[m, u] = r }
		if (cnt[u] >= 2 && !(u in start)) start[u] = t
		if (cnt[u] < 2) delete start[u]
	}
	END { print maxw + 0 }')
diag "longest window with two copies of a d@ unit running: $maxw ms ($(wc -l <"$TMP/s.m1") samples per machine)"
for m in $LIVE; do
	diag "$m: sampled every $(awk 'NR > 1 { d = $1 - p; s += d; if (d > x) x = d } { p = $1 } END { if (NR > 1) printf "%d ms on average, at most %d ms", s / (NR - 1), x }' "$TMP/s.$m")"
done
sampled; is "$(head -qn 1 "$TMP"/s.m[123] | grep -o ' active' | wc -l)" 6 "the first samples saw each d@ unit running once (the sampler sees them)"
sampled; is "$maxw" 0 "never two copies of a unit running at once (sampled every ~50 ms)"
# shellcheck disable=SC2086
check "still exactly one copy of each d@ unit" once $DU
for m in $LIVE; do is "$(sdp $m fleet.service MainPID)" "${FPID[$m]}" "$m: same fleetd at the end"; done

done_testing
