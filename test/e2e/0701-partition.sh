#!/bin/bash
# SPDX-License-Identifier: MIT
# 0701-partition: one machine (m2) cut off from etcd by a fault-injecting TCP proxy
# (test/tools/tcp-proxy.c: its fleetd's etcd_servers point at the proxy), agent_ttl 5s; the
# other machines and etcd are untouched. Two rounds: first a silent cut (connections stay open,
# nothing gets through: what a real partition looks like) while m2's engine is the leader (a
# new leader must be elected among m1 and m3 before anything moves, and the deposed one must
# not write), then a cut that resets m2's connections to etcd (RST), m2 no longer the leader. In each round every machine is sampled every ~50 ms (is a process in
# the unit's cgroup, and is the cgroup not frozen?):
#   - while m2's lease lives (the first second after the cut) its units keep running;
#   - at the fencing deadline m2's agent asks m1 and m3 whether they reach etcd (they do), so
#     it freezes its non-global units itself, before the engine can place copies elsewhere:
#     never two copies running at once (the longest window in which two copies were active, as
#     sampled, is printed and must be 0); its global unit keeps running; fleetd in m2 neither
#     crashes nor restarts;
#   - the engine places m2's units on m1/m3; the cut lasts 3 x agent_ttl;
#   - the link returns: etcd says m2's lease is gone, m2 stops the frozen units, registers
#     again and does not start the moved units again (each unit active exactly once, as
#     sampled for a while after the heal), and no unit on m1 or m3 was restarted.
set -u
. "$(dirname "$0")/lib.sh"
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
export FLEET_CLUSTER_AGENT_TTL=5s

FLEETCTL=$E2E_ROOT/$BUILD/bin/fleetctl
case $BUILD in /*) FLEETCTL=$BUILD/bin/fleetctl ;; esac
[ -x "$FLEETCTL" ] || bail_out "$FLEETCTL is not built"
TMP=$(mktemp -d /tmp/fleet-e2e-07.XXXXXX)
at_exit rm -rf "$TMP"

# the proxy, started before the cluster so that m2's fleet.conf can name it
proxy_start "$TMP"
export FLEET_CLUSTER_CONF_m2="etcd_servers=http://127.0.0.1:$PPORT"
export FLEET_CLUSTER_NO_FLEETD=1
cluster_up 3
proxy_to_etcd
# m2's fleetd first, so that its engine is the leader in the first round
out=$(fleet_cluster start-fleetd m2 2>&1) || bail_out "start-fleetd m2: $out"
out=$(fleet_cluster start-fleetd all 2>&1) || bail_out "start-fleetd: $out"

T=10
LIVE="m1 m2 m3"
fctl() { FLEETCTL_ENDPOINT="http://$(machine_ip m1):49153" timeout 60 "$FLEETCTL" "$@"; }
# (sdp, unit_active, leader_m and grep_log are probes: see lib.sh)
sdp() { probe machine_exec "$1" systemctl show -p "$3" --value "$2"; }
active_on() { local m s=""; for m in $LIVE; do unit_active "$m" "$1" && s+="$m "; done; echo "${s% }"; }
once() { local u w; for u in "$@"; do w=$(active_on "$u"); [ -n "$w" ] && [ "$(wc -w <<<"$w")" = 1 ] || return 1; done; }
P=/_coreos.com/fleet
registered() { [ "$(etcdctl_c get --print-value-only "$P/machine/$(machine_id "$1")" | grep -c '"PublicIP"')" = 1 ]; }
leader_m() {
	local id m
	id=$(probe etcdctl_c get --print-value-only "$P/engine/leader" | sed -n 's/.*"MachineID":"\([0-9a-f]*\)".*/\1/p')
	for m in $LIVE; do [ "$(machine_id "$m")" != "$id" ] || echo "$m"; done
}
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }
grep_log() { probe machine_exec "$1" journalctl -u fleet -o cat --no-pager | grep -c "$2"; }

check "3 machines registered (m2 through the proxy)" wait_for $T eval 'registered m1 && registered m2 && registered m3'
printf '[Unit]\nDescription=e2e partition %%i\n\n[Service]\nExecStart=/bin/sleep infinity\n' >"$TMP/p@.service"
printf '[Unit]\nDescription=e2e partition global\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[X-Fleet]\nGlobal=true\n' >"$TMP/pg.service"
F2=""

# partition_round NAME SIGNAL UNITS...: start UNITS (m2 must get some), cut m2's link with SIGNAL
# to the proxy, check fencing and failover, heal, check the rejoin; systemd sampled throughout
partition_round() {
	local name=$1 sig=$2 u m out ON2="" G2 SAMPLERS=() t_cut t_heal ana maxw early after fence gap fences0 i rc sbad=""
	shift 2
	local UNITS="$*"
	# shellcheck disable=SC2086
	out=$(cd "$TMP" && fctl start --block-attempts=10 $UNITS pg.service 2>&1)
	is "$?" 0 "$name: start $UNITS (and the global pg.service)"
	# shellcheck disable=SC2086
	check "$name: each unit active exactly once" wait_for $T once $UNITS
	check "$name: pg.service active on m1 m2 m3" wait_for $T eval '[ "$(active_on pg.service)" = "m1 m2 m3" ]'
	for u in $UNITS; do unit_active m2 "$u" && ON2+="$u "; done
	ON2=${ON2% }
	[ -n "$ON2" ] || bail_out "$name: no unit landed on m2"
	diag "$name: on m2: $ON2; engine leader: $(leader_m)"
	F2=$(sdp m2 fleet.service MainPID)
	G2=$(sdp m2 pg.service MainPID)
	fences0=$(grep_log m2 "Fencing: froze")
	# "unit machine MainPID" of the units on the other machines: none may restart
	local OTHERS="" om
	for u in $UNITS; do for om in m1 m3; do unit_active $om "$u" && OTHERS+="$u $om $(sdp $om "$u" MainPID)"$'\n'; done; done

	# samplers: every machine, every ~50 ms, for SAMPLE seconds.
	# A sample says "active" for a unit when its cgroup (the one systemd made for it) holds a live
	# process and is not frozen: a running copy, whatever systemd's state machine says
	# (activating, deactivating...). A process that is a zombie or has SIGKILL pending is not
	# live: it can run no more code, though it stays in cgroup.procs until it has exited (the
	# agent kills frozen units with SIGKILL before stopping them, and stopping thaws the cgroup
	# first). Reading /proc is cheap, so the samples stay ~50 ms apart even on a loaded host.
	local SAMPLE=35
	for m in $LIVE; do
		# shellcheck disable=SC2016,SC2086
		machine_exec "$m" sh -c 'end=$(( $(date +%s%3N) + '$SAMPLE' * 1000 )); while t=$(date +%s%3N); [ $t -lt $end ]; do
			l=$t; for u in '"$UNITS"'; do s=inactive
				for f in /sys/fs/cgroup/system.slice/$u/cgroup.procs /sys/fs/cgroup/system.slice/*/$u/cgroup.procs; do
					for p in $(cat "$f" 2>/dev/null); do
						alive=0 killed=0
						while read -r k v; do case $k in
							State:) case ${v%% *} in Z|X) ;; *) alive=1 ;; esac ;;
							SigPnd:|ShdPnd:) [ $((0x${v#${v%????}} & 256)) -eq 0 ] || killed=1 ;;
						esac; done <"/proc/$p/status" 2>/dev/null
						[ $alive = 1 ] && [ $killed = 0 ] && s=active && break
					done
					[ $s = active ] && grep -q "^frozen 1" "${f%/*}/cgroup.events" 2>/dev/null && s=frozen
				done; l="$l $s"; done
			echo "$l"; sleep 0.05; done' >"$TMP/s.$m" 2>/dev/null &
		SAMPLERS+=($!)
	done
	sleep 1.5

	# --- cut --------------------------------------------------------------------------------------
	t_cut=$(now_ms)
	proxy_signal "$sig"
	diag "$name: link m2 <-> etcd cut at $t_cut"
	moved() { local u w; for u in $ON2; do w=$(active_on "$u"); [ -n "$w" ] && [ "$w" != m2 ] || return 1; done; }
	check "$name: the engine placed m2's units ($ON2) on other machines" wait_for 30 moved
	diag "$name: m2's units active elsewhere $(( $(now_ms) - t_cut )) ms after the cut"
	m2_fenced() { local u; for u in $ON2; do [ "$(sdp m2 "$u" ActiveState)" != active ] || return 1; done; }
	m2_frozen() { local u; for u in $ON2; do [ "$(sdp m2 "$u" FreezerState)" = frozen ] || return 1; done; }
	check "$name: m2 froze its units (systemd's freezer)" m2_frozen
	is "$(sdp m2 pg.service MainPID)" "$G2" "$name: m2's global pg.service kept running (same MainPID)"
	is "$(sdp m2 pg.service FreezerState)" running "$name: m2's global pg.service is not frozen"
	is "$(sdp m2 fleet.service MainPID)" "$F2" "$name: m2's fleetd did not crash or restart"
	check "$name: m2 logged the freeze" test "$(grep_log m2 "Fencing: froze")" -gt "$fences0"
	# the cut lasts 3 x agent_ttl
	local rest=$(( t_cut + 15000 - $(now_ms) ))
	[ "$rest" -le 0 ] || sleep "$((rest / 1000)).$(printf '%03d' $((rest % 1000)))"

	# --- heal -------------------------------------------------------------------------------------
	t_heal=$(now_ms)
	proxy_signal USR2
	diag "$name: link healed at $t_heal"
	check "$name: m2 registered again" wait_for 20 registered m2
	diag "$name: m2 registered again $(( $(now_ms) - t_heal )) ms after the heal"
	# shellcheck disable=SC2086
	check "$name: after the heal each unit is active exactly once" wait_for $T once $UNITS
	local now_others="" line
	while read -r u om line; do
		[ -n "$u" ] && now_others+="$u $om $(sdp $om "$u" MainPID)"$'\n'
	done <<<"$OTHERS"
	is "$now_others" "$OTHERS" "$name: the units on m1 and m3 were not restarted (same MainPIDs)"
	# bounded by SAMPLE seconds; a sampler that failed saw nothing, which must not pass for "never
	# two copies" (every result drawn from the samples is then "not ok")
	i=0
	for m in $LIVE; do
		wait "${SAMPLERS[$i]}"
		rc=$?
		[ "$rc" = 0 ] && [ -s "$TMP/s.$m" ] || sbad+="$name: the sampler in $m failed (exit $rc, $(wc -l <"$TMP/s.$m") samples); "
		i=$((i + 1))
	done
	sampled() { [ -z "$sbad" ] || probe_failed "${sbad%; }"; }
	diag "$name: sampled until $(now_ms) ($(( $(now_ms) - t_heal )) ms after the heal)"
	for m in $LIVE; do
		diag "$name: $m sampled every $(awk 'NR > 1 { d = $1 - p; s += d; if (d > x) x = d } { p = $1 } END { if (NR > 1) printf "%d ms on average, at most %d ms", s / (NR - 1), x }' "$TMP/s.$m")"
	done

	# --- analysis of the samples ------------------------------------------------------------------
	# A sample's state holds until that machine's next sample. A copy counts as running once two
	# samples in a row of its machine see it (the resolution is one sampling interval, ~50-120
	# ms): a single sample can catch a process in the instant it dies of the agent's SIGKILL,
	# when it is no longer frozen and no longer has the signal pending, and the state-holds rule
	# would stretch that instant to a whole interval.
	ana=$(for m in $LIVE; do awk -v m="$m" '{ for (i = 2; i <= NF; i++) print $1, m, i - 1, $i }' "$TMP/s.$m"; done |
		sort -n -k1,1 | awk -v cut="$t_cut" -v heal="$t_heal" '
		function run(s) { return s == "active" || s == "activating" || s == "deactivating" || s == "reloading" }
		{
			t = $1; m = $2; u = $3; raw = run($4); r = raw && last[m, u]; last[m, u] = raw
			if (u in start && cnt[u] >= 2) { w = t - start[u]; if (w > maxw) maxw = w }
			if (r != st[m, u]) { cnt[u] += r ? 1 : -1; st[m, u] = r }
			if (cnt[u] >= 2 && !(u in start)) start[u] = t
			if (cnt[u] < 2) delete start[u]
			if (m == "m2" && t <= cut + 1000 && !r && was2[u]) early++
			if (m == "m2" && r) { was2[u] = 1; if (t > heal) after++ }
			if (m == "m2" && !r && was2[u] && !(u in stop2) && t > cut) stop2[u] = t
			if (m != "m2" && r && was2[u] && !(u in first) && t > cut) first[u] = t
		}
		END {
			gap = -1; fence = -1
			for (u in stop2) { f = stop2[u] - cut; if (fence < 0 || f > fence) fence = f }
			for (u in first) if (u in stop2) { g = first[u] - stop2[u]; if (gap < 0 || g < gap) gap = g }
			printf "%d %d %d %d %d\n", maxw + 0, early + 0, after + 0, fence, gap
		}')
	read -r maxw early after fence gap <<<"$ana"
	diag "$name: longest window with two copies of a unit running: $maxw ms"
	diag "$name: m2 stopped its last unit $fence ms after the cut; the first copy elsewhere was seen $gap ms after m2's copy was gone (smallest gap over the units)"
	sampled; is "$(head -qn 1 "$TMP"/s.m[123] | grep -o ' active' | wc -l)" "$#" "$name: the first samples saw each unit running once (the sampler sees them)"
	sampled; is "$maxw" 0 "$name: never two copies of a unit running at once (as sampled)"
	sampled; is "$early" 0 "$name: m2's units kept running during the first second after the cut (its lease was alive)"
	sampled; is "$after" 0 "$name: after the heal m2 never started one of them again"
	check "$name: m2's units all inactive now" m2_fenced
	is "$(sdp m2 fleet.service MainPID)" "$F2" "$name: m2's fleetd is still the same process"
}

check "m2's engine is the leader (its fleetd started first)" wait_for $T eval '[ "$(leader_m)" = m2 ]'
partition_round "silent cut of the engine leader" HUP p@1.service p@2.service p@3.service p@4.service p@5.service p@6.service
check "m2's engine is no longer the leader" eval '[ "$(leader_m)" != m2 ]'
# m2 is empty now: the least-loaded machine, it gets the new units
partition_round "reset cut" USR1 p@7.service p@8.service p@9.service
diag "$(cat "$TMP/proxy.log")"

done_testing
