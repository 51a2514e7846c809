#!/bin/bash
# SPDX-License-Identifier: MIT
# 0503-failover: machines crash and join (agent_ttl 5s), checked in systemd's own view:
#   - crash of the machine running web@1 and its sidekick web-discovery@1 (examples): both come
#     back together on a surviving machine, the sidekick announces the new address in etcd and
#     curl gets an answer from there; db + app (MachineOf) run together exactly once; units on
#     the surviving machines neither move nor restart (same MainPID);
#   - the crashed machine boots again: nothing moves back to it;
#   - a machine joins (fleet-cluster add): nothing moves to it, except a unit that waited for a
#     machine (a Conflicts instance with no machine left), and the global unit starts there;
#   - crash of the engine leader's machine: another engine is elected, the units come back,
#     new units are scheduled.
set -u
. "$(dirname "$0")/lib.sh"
# FLEET_E2E_INDEX_BASE: machine IPs 127.0.0.(10+BASE+i), for running next to another cluster
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
export FLEET_CLUSTER_AGENT_TTL=5s

. "$(dirname "$0")/lib-scenario.sh"

P=/_coreos.com/fleet
registered() { [ "$(etcdctl_c get --prefix --keys-only "$P/machine/" | grep -c .)" = "$1" ]; }
leader_m() {
	local id m
	id=$(etcdctl_c get --print-value-only "$P/engine/leader" | sed -n 's/.*"MachineID":"\([0-9a-f]*\)".*/\1/p')
	for m in $LIVE; do [ "$(machine_id "$m")" != "$id" ] || echo "$m"; done
}
unscheduled() { [ "$(ulf "$1")" = "launched inactive -" ] && [ -z "$(active_on "$1")" ]; }
# the engine leader's log line "Unable to schedule UNIT: REASON" (the last one)
engine_reason() {
	local m
	m=$(leader_m)
	[ -n "$m" ] && machine_exec "$m" journalctl -u fleet.service -o cat --no-pager 2>/dev/null |
		grep -F "Unable to schedule $1: " | tail -1
}
# the engine considered UNIT and left it unscheduled (as its log says); it runs nowhere
refused() { engine_reason "$1" | grep -q . && unscheduled "$1"; }
# "unit machine MainPID" for each non-global unit, as systemd sees it (a probe)
placement() {
	local u m
	for u in $(probe fctl list-unit-files --no-legend --fields unit,target | awk '$2 != "global" {print $1}'); do
		for m in $(active_on "$u"); do echo "$u $m $(sdp "$m" "$u" MainPID)"; done
	done
}
# every unit of UNITS active exactly once on a live machine
once() { local u w; for u in "$@"; do w=$(active_on "$u"); [ -n "$w" ] && [ "$(wc -w <<<"$w")" = 1 ] || return 1; done; }
without() { echo "$1" | tr ' ' '\n' | grep -vx "$2" | tr '\n' ' ' | sed 's/ $//'; }
announced() { etcdctl_c get --print-value-only /services/web/1; }
web_answers() { [ "$(curl -fsS -m 1 "http://$1/" 2>/dev/null)" = "$2" ]; }
api_not() { local m; for m in $LIVE; do [ "$m" = "$1" ] || { echo "$m"; return; }; done; }

check "3 machines registered" wait_for $T registered 3
EX=$E2E_ROOT/units/examples

# --- a machine crash: its units come back elsewhere, MachineOf pairs together ----------------------
fok "start web@1 + its sidekick web-discovery@1, db + app (MachineOf), global-monitor (global)" \
	fblock start "$EX/web@1.service" "$EX/web-discovery@1.service" "$EX/db.service" "$EX/app.service" "$EX/global-monitor.service"
check "global-monitor active on m1 m2 m3" wait_for $T active_is global-monitor.service "m1 m2 m3"
V=$(target web@1.service)
is "$(active_on web@1.service)|$(active_on web-discovery@1.service)" "$V|$V" "systemd: web@1 and web-discovery@1 active together on $V"
check "/services/web/1 announces $V's address" wait_for $T eval '[ "$(announced)" = "$(machine_ip "$V"):8080" ]'
check "curl http://$(announced)/ answers $V's hostname" wait_for $T web_answers "$(announced)" "$FLEET_CLUSTER_NAME-$V"
D=$(target db.service)
is "$(active_on app.service)" "$D" "app.service with db.service on $D"
before=$(placement)
diag "before the crash (leader $(leader_m)):"$'\n'"$before"
API=$(api_not "$V")
t0=${EPOCHREALTIME/./}
fleet_cluster kill "$V" 2>&1 | diag
LIVE=$(without "$LIVE" "$V")
moved_web() { local w; w=$(active_on web@1.service); [ -n "$w" ] && [ "$w" != "$V" ] && [ "$(active_on web-discovery@1.service)" = "$w" ]; }
check "crash of $V: web@1 and web-discovery@1 active together on a surviving machine" wait_for 30 moved_web
diag "web@1 back after $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms on $(active_on web@1.service)"
V2=$(active_on web@1.service)
check "/services/web/1 announces $V2's address" wait_for $T eval '[ "$(announced)" = "$(machine_ip "${V2:-m1}"):8080" ]'
check "curl http://$(announced)/ answers $V2's hostname" wait_for $T web_answers "$(announced)" "$FLEET_CLUSTER_NAME-$V2"
check "db.service and app.service each active exactly once" wait_for 30 once db.service app.service
is "$(active_on app.service)" "$(active_on db.service)" "app.service still next to db.service ($(active_on db.service))"
check "fleetctl list-machines: 2 machines" wait_for $T machines_up 2
is "$(lu web@1.service)" "$V2 active running" "list-units: web@1 on $V2"
# units that were on surviving machines did not move or restart
kept=$(grep -v " $V " <<<"$before")
after=$(placement)
is "$(grep -Fxf <(echo "$kept") <<<"$after")" "$kept" "units that were not on $V kept their machine and MainPID"
diag "after the crash:"$'\n'"$after"

# --- the crashed machine comes back: nothing moves back -------------------------------------------
fleet_cluster restart "$V" 2>&1 | diag
LIVE="m1 m2 m3"
check "$V registered again" wait_for $T machines_up 3
check "global-monitor back on $V" wait_for $T active_is global-monitor.service "m1 m2 m3"
is "$(placement)" "$after" "no unit moved to $V, none restarted"

# --- a machine joins: nothing moves; it takes what waited for a machine ---------------------------
mkunit e@.service "e2e one per machine %i" 'Conflicts=e@*.service'
fok "start e@1 e@2 e@3 (Conflicts=e@*)" fblock start "$TMP/e@1.service" "$TMP/e@2.service" "$TMP/e@3.service"
fok "start --no-block e@4: no machine left for it" fctl start --no-block "$TMP/e@4.service"
check "e@4 unscheduled" wait_for $T refused e@4.service
diag "engine: $(engine_reason e@4.service)"
before=$(placement)
out=$(fleet_cluster add 2>&1)
is "$?" 0 "fleet-cluster add: m4 boots"
diag "$out"
LIVE="m1 m2 m3 m4"
IP2M[$(machine_ip m4)]="m4"
check "4 machines in list-machines" wait_for $T machines_up 4
check "e@4 placed on the new machine m4" wait_for $T active_is e@4.service m4
check "global-monitor runs on m4 too" wait_for $T active_is global-monitor.service "m1 m2 m3 m4"
is "$(placement | grep -v '^e@4.service ')" "$before" "no other unit moved to m4 or restarted"
fok "destroy e@1..4 and the template" fctl destroy e@1.service e@2.service e@3.service e@4.service e@.service

# --- the engine leader's machine crashes: another engine takes over ------------------------------
L=$(leader_m)
diag "engine leader: $L"
before=$(placement)
API=$(api_not "$L")
t0=${EPOCHREALTIME/./}
fleet_cluster kill "$L" 2>&1 | diag
LIVE=$(without "$LIVE" "$L")
new_leader() { local m; m=$(leader_m); [ -n "$m" ] && [ "$m" != "$L" ]; }
check "a new engine leader among the survivors" wait_for 30 new_leader
diag "new leader $(leader_m) after $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms"
check "web@1 web-discovery@1 db app: each active exactly once on the survivors" \
	wait_for 30 once web@1.service web-discovery@1.service db.service app.service
is "$(active_on web-discovery@1.service)|$(active_on app.service)" "$(active_on web@1.service)|$(active_on db.service)" \
	"the MachineOf followers are still with their leaders"
diag "units back after $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms"
kept=$(grep -v " $L " <<<"$before")
is "$(grep -Fxf <(echo "$kept") <<<"$(placement)")" "$kept" "units that were not on $L kept their machine and MainPID"
mkunit late.service "e2e started under the new engine"
fok "start late.service" fblock start "$TMP/late.service"
check "late.service active on one machine" once late.service

done_testing
