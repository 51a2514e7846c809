#!/bin/bash
# SPDX-License-Identifier: MIT
# 0504-fleetd-stop-restart: what stopping and restarting fleetd does to the units of its machine
# (agent_ttl 30s, so that a move within seconds cannot be a lease expiry), in systemd's view:
#   - graceful stop (systemctl stop fleet): when it returns, the machine's units are stopped
#     and unloaded and its record is gone; db + app (MachineOf) move together at once; a unit
#     with no machine left waits; units elsewhere keep their MainPID;
#   - fleetd started again: what waited comes back to it, nothing else moves there;
#   - fleetd crash (SIGKILL, restarted by systemd), upgrade exit (SIGUSR2), `systemctl restart
#     fleet` (issue 12: it used to move every unit away) and reload (SIGHUP): no unit anywhere
#     restarts (same MainPID), the new fleetd adopts them without a task, and still drives them
#     (stop/start);
#   - the sidekick example stops and starts with its web unit, and its etcd record with it.
set -u
. "$(dirname "$0")/lib.sh"
# FLEET_E2E_INDEX_BASE: machine IPs 127.0.0.(10+BASE+i), for running next to another cluster
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
export FLEET_CLUSTER_AGENT_TTL=30s

. "$(dirname "$0")/lib-scenario.sh"

P=/_coreos.com/fleet
registered() { [ "$(etcdctl_c get --prefix --keys-only "$P/machine/" | grep -c .)" = "$1" ]; }
leader_m() {
	local id m
	id=$(etcdctl_c get --print-value-only "$P/engine/leader" | sed -n 's/.*"MachineID":"\([0-9a-f]*\)".*/\1/p')
	for m in $LIVE; do [ "$(machine_id "$m")" != "$id" ] || echo "$m"; done
}
unscheduled() { [ "$(ulf "$1")" = "launched inactive -" ] && [ -z "$(active_on "$1")" ]; }
engine_reason() {
	local m
	m=$(leader_m)
	[ -n "$m" ] && machine_exec "$m" journalctl -u fleet.service -o cat --no-pager 2>/dev/null |
		grep -F "Unable to schedule $1: " | tail -1
}
refused() { engine_reason "$1" | grep -q . && unscheduled "$1"; }
# "unit machine MainPID" for every unit, global ones included, as systemd sees it (a probe)
placement() {
	local u m
	for u in $(probe fctl list-unit-files --no-legend --fields unit); do
		for m in $(active_on "$u"); do echo "$u $m $(sdp "$m" "$u" MainPID)"; done
	done
}
once() { local u w; for u in "$@"; do w=$(active_on "$u"); [ -n "$w" ] && [ "$(wc -w <<<"$w")" = 1 ] || return 1; done; }
without() { echo "$1" | tr ' ' '\n' | grep -vx "$2" | tr '\n' ' ' | sed 's/ $//'; }
api_not() { local m; for m in $LIVE; do [ "$m" = "$1" ] || { echo "$m"; return; }; done; }
fleetd_pid() { sdp "$1" fleet.service MainPID; }
# tasks M: the tasks machine M's fleetd ran (metric, from lib.sh, is a probe)
tasks() { metric "$1" fleet_agent_task_count_total; }
# a new fleetd (not PID OLD) active in M, registered and past its first reconcile pass
new_fleetd() {
	local p
	p=$(fleetd_pid "$1")
	[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$2" ] && unit_active "$1" fleet.service &&
		[ "$(metric "$1" fleet_agent_reconcile_count_total)" -ge 1 ] 2>/dev/null
}

check "3 machines registered" wait_for $T registered 3
EX=$E2E_ROOT/units/examples
mkunit keep@.service "e2e one per machine %i" 'Conflicts=keep@*.service'
fok "start db + app (MachineOf), web@1 + web-discovery@1, keep@1..3 (one per machine), global-monitor" \
	fblock start "$EX/db.service" "$EX/app.service" "$EX/web@1.service" "$EX/web-discovery@1.service" \
	"$TMP/keep@1.service" "$TMP/keep@2.service" "$TMP/keep@3.service" "$EX/global-monitor.service"
check "global-monitor active on m1 m2 m3" wait_for $T active_is global-monitor.service "m1 m2 m3"
check "every unit active once (db app web@1 web-discovery@1 keep@1..3)" wait_for $T once db.service app.service \
	web@1.service web-discovery@1.service keep@1.service keep@2.service keep@3.service

# --- graceful stop of fleetd: its units are unloaded and move at once -----------------------------
V=$(active_on db.service)
is "$(active_on app.service)" "$V" "app.service with db.service on $V"
for u in keep@1 keep@2 keep@3; do [ "$(active_on $u.service)" != "$V" ] || KV=$u.service; done
before=$(placement)
diag "before (agent_ttl 30s):"$'\n'"$before"
API=$(api_not "$V")
check "$V: systemctl stop fleet (graceful)" machine_exec "$V" systemctl stop fleet.service
is "$(sdp "$V" db.service LoadState) $(sdp "$V" app.service LoadState) $(sdp "$V" "${KV:-keep@1.service}" LoadState) $(sdp "$V" global-monitor.service LoadState)" \
	"not-found not-found not-found not-found" "$V: db, app, $KV, global-monitor stopped and unloaded when the stop returns"
is "$(probe machine_exec "$V" ls -A /run/fleet/units)" "" "$V: /run/fleet/units empty"
is "$(probe etcdctl_c get --keys-only "$P/machine/$(machine_id "$V")")" "" "$V's machine record is gone at once (lease revoked)"
LIVE=$(without "$LIVE" "$V")
pair_moved() { local w; w=$(active_on db.service); [ -n "$w" ] && [ "$w" != "$V" ] && [ "$(active_on app.service)" = "$w" ]; }
check "db + app active together on another machine, long before agent_ttl (30 s)" wait_for 10 pair_moved
diag "db + app now on $(active_on db.service)"
check "$KV has no machine left (one keep@ per machine): unscheduled" wait_for $T refused "$KV"
diag "engine: $(engine_reason "$KV")"
kept=$(grep -v " $V " <<<"$before")
is "$(grep -Fxf <(echo "$kept") <<<"$(placement)")" "$kept" "units on the other machines kept their MainPID"
W=$(active_on db.service)

# --- fleetd started again: its units come back, nothing else moves to it ---------------------------
check "$V: systemctl start fleet" machine_exec "$V" systemctl start fleet.service
LIVE="m1 m2 m3"
check "$V registered again" wait_for $T registered 3
check "$KV back on $V" wait_for $T active_is "$KV" "$V"
check "global-monitor back on $V" wait_for $T active_is global-monitor.service "m1 m2 m3"
is "$(active_on db.service)|$(active_on app.service)" "$W|$W" "db + app stay on $W (no move for balance)"

# --- fleetd restarts that must not touch its units (same MainPID everywhere) -----------------------
X=$(active_on web@1.service)
API=$(api_not "$X")
settled() { wait_for $T eval '[ "$(metric "$X" fleet_agent_reconcile_count_total)" -ge 1 ] 2>/dev/null'; }
settled
before=$(placement)
diag "before the restarts of fleetd in $X:"$'\n'"$before"
untouched() {   # DESC: after a restart in X
	local after
	after=$(placement)
	is "$after" "$before" "$1: every unit on every machine kept its MainPID"
	is "$(lu web@1.service)" "$X active running" "$1: list-units still shows web@1 on $X"
	is "$(tasks "$X")" 0 "$1: the new fleetd in $X ran no task (it adopted the units)"
}

old=$(fleetd_pid "$X")
check "$X: fleetd crash (systemctl kill -s KILL fleet)" machine_exec "$X" systemctl kill -s KILL fleet.service
check "$X: systemd restarts fleetd, which registers and reconciles" wait_for 20 new_fleetd "$X" "$old"
untouched "fleetd crash"

old=$(fleetd_pid "$X")
check "$X: upgrade exit (systemctl kill -s SIGUSR2 fleet)" machine_exec "$X" systemctl kill -s SIGUSR2 fleet.service
check "$X: systemd starts fleetd again" wait_for 20 new_fleetd "$X" "$old"
untouched "upgrade exit"

# systemctl restart: SIGTERM with a restart job queued for fleet.service, told apart from a stop
old=$(fleetd_pid "$X")
n_units=$(machine_exec "$X" systemctl list-units --no-legend --state=active 'db.service' 'app.service' 'web*' 'keep@*' 'global-monitor.service' | grep -c .)
diag "$X runs $n_units fleet units"
check "$X: systemctl restart fleet" machine_exec "$X" systemctl restart fleet.service
check "$X: the new fleetd registers and reconciles" wait_for 20 new_fleetd "$X" "$old"
untouched "systemctl restart fleet"
check "$X: the old fleetd saw the restart job and kept its units" eval \
	'machine_exec "$X" journalctl -u fleet.service -o cat --no-pager | grep -q "job for fleetd.s unit: restarting"'

old=$(fleetd_pid "$X")
check "$X: systemctl reload fleet (SIGHUP)" machine_exec "$X" systemctl reload fleet.service
check "$X: fleetd active again after the reload" wait_for $T eval 'unit_active "$X" fleet.service && curl -fsS -m 1 -o /dev/null "http://$(machine_ip "$X"):49153/fleet/v1/machines"'
is "$(fleetd_pid "$X")" "$old" "reload: same fleetd process"
is "$(placement)" "$before" "reload: every unit kept its MainPID"

# the restarted fleetd still drives its units
API=$X fok "stop web-discovery@1 (through $X's own API)" fblock stop web-discovery@1.service
check "systemd on $X: web-discovery@1 inactive" wait_for $T eval '[ "$(sdp "$X" web-discovery@1.service ActiveState)" = inactive ]'
fok "start web-discovery@1 again" fblock start web-discovery@1.service
check "web-discovery@1 active on $X again" wait_for $T active_is web-discovery@1.service "$X"

# the sidekick example: stopped with web@1 (BindsTo), started with it ([Install] WantedBy, which
# fleetd enables), and its record in etcd goes with it (its lease is revoked)
fok "stop web@1" fblock stop web@1.service
check "systemd on $X: web@1 and web-discovery@1 inactive" wait_for $T eval '[ "$(sdp "$X" web@1.service ActiveState) $(sdp "$X" web-discovery@1.service ActiveState)" = "inactive inactive" ]'
check "/services/web/1 removed from etcd" wait_for $T eval '[ -z "$(probe etcdctl_c get --print-value-only /services/web/1)" ]'
fok "start web@1" fblock start web@1.service
check "systemd on $X: web@1 and web-discovery@1 active again" wait_for $T eval 'active_is web@1.service "$X" && active_is web-discovery@1.service "$X"'
check "/services/web/1 announces $X again" wait_for $T eval '[ "$(etcdctl_c get --print-value-only /services/web/1)" = "$(machine_ip "$X"):8080" ]'

done_testing
