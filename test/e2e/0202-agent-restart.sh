#!/bin/bash
# SPDX-License-Identifier: MIT
# 0202-agent-restart: fleetd restarts never disturb running units, and a graceful stop unloads
# them. On m2, with a scheduled and a global unit running:
#   - fleetd SIGKILLed (systemctl kill -s KILL fleet) and started again: the new fleetd reuses
#     the lease, adopts both units (same MainPID), runs no task;
#   - upgrade exit (systemctl kill -s SIGUSR2 fleet; systemd restarts fleetd): the same;
#   - SIGHUP (systemctl reload fleet): same process, same lease, units untouched, API served;
#   - graceful stop (systemctl stop fleet): both units stopped and removed, the machine record
#     and its unit states gone at once (lease revoked), other machines untouched;
#   - started again: the units come back.
# The engine is disabled: the schedule is written with etcdctl.
set -u
. "$(dirname "$0")/lib.sh"

export FLEET_CLUSTER_CONF="disable_engine=true"
cluster_up 3

P=/_coreos.com/fleet
M1=$(machine_id m1) M2=$(machine_id m2) M3=$(machine_id m3)
T=10

unit() {
	local h
	h=$(printf '%s' "$1" | sha1sum | cut -c1-40)
	etcdctl_c put "$P/unit/$h" "$1" >/dev/null && echo "$h"
}
svc() {
	local t=$'[Unit]\nDescription='"$1"$'\n\n[Service]\nExecStart=/bin/sleep infinity\n'
	[ -z "${2:-}" ] || t+=$'\n[X-Fleet]\n'"$2"$'\n'
	printf '%s' "$t"
}
# (prop, lease_of, fleetd_log, passes and states_of are probes: see lib.sh)
prop() { probe machine_exec "$1" systemctl show -p "$3" --value "$2"; }
prop_is() { [ "$(prop "$1" "$2" "$3")" = "$4" ]; }
lease_of() { probe etcdctl_c get -w json "$P/machine/$1" | sed -n 's/.*"lease":\([0-9]*\).*/\1/p'; }
registered() { [ -n "$(lease_of "$1")" ]; }
fleetd_pid() { prop "$1" fleet.service MainPID; }
fleetd_log() { probe machine_exec "$1" journalctl -o cat --no-pager "_PID=$2"; }
passes() { metric "$1" fleet_agent_reconcile_count_total; }
has_passed() { [ "$(passes "$1")" -ge 1 ] 2>/dev/null; }
pids() { echo "$(prop m2 a.service MainPID) $(prop m2 g.service MainPID)"; }
gone() { prop_is "$1" "$2" LoadState not-found; }
states_of() { probe etcdctl_c get --prefix --keys-only "$P/state/" | grep -c "/$1\$"; }

check "all three machines registered" wait_for $T eval 'registered $M1 && registered $M2 && registered $M3'
HA=$(unit "$(svc "e2e scheduled a")")
HG=$(unit "$(svc "e2e global g" "Global=true")")
etcdctl_c put "$P/schedule/$M2/a.service" "{\"hash\":\"$HA\",\"desiredState\":\"launched\"}" >/dev/null
etcdctl_c put "$P/global/g.service" "{\"hash\":\"$HG\",\"desiredState\":\"launched\"}" >/dev/null
check "m2: a.service and g.service active" wait_for $T eval 'unit_active m2 a.service && unit_active m2 g.service'
check "m2: both unit states published" wait_for $T eval '[ "$(states_of $M2)" = 2 ]'
before=$(pids)
lease=$(lease_of "$M2")
diag "m2: MainPIDs $before, lease $lease"

# After each restart: fleetd active with a new PID, registered with the same lease, a pass run
# (metrics), the units untouched, and no task in the new fleetd's log.
# adopted WHAT OLD_FLEETD_PID
new_fleetd() { local p; p=$(fleetd_pid m2); [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$1" ] && unit_active m2 fleet.service; }
adopted() {
	local what=$1 old=$2 pid
	check "$what: a new fleetd is active" wait_for 15 new_fleetd "$old"
	pid=$(fleetd_pid m2)
	check "$what: it registered and ran a reconcile pass" wait_for $T eval 'registered $M2 && has_passed m2'
	is "$(lease_of "$M2")" "$lease" "$what: the previous lease was reused"
	is "$(pids)" "$before" "$what: a.service and g.service untouched (same MainPIDs)"
	is "$(fleetd_log m2 "$pid" | grep -c 'Completed task')" 0 "$what: the new fleetd ran no task"
	fleetd_log m2 "$pid" | grep -q "Reusing lease" && ok "$what: logged the lease reuse" || not_ok "$what: logged the lease reuse"
}

# A unit file an administrator put into the units directory is not fleetd's: no restart, reload
# or graceful stop may touch it.
machine_exec m2 sh -c 'printf "[Service]\nExecStart=/bin/true\n" > /run/fleet/units/admin.service'

# --- SIGKILL, then started again at once --------------------------------------------------------
old=$(fleetd_pid m2)
machine_exec m2 systemctl kill -s KILL fleet.service
machine_exec m2 systemctl start fleet.service
adopted "fleetd SIGKILLed and started" "$old"

# --- upgrade exit: SIGUSR2, systemd restarts fleetd (RestartSec=2s) ------------------------------
old=$(fleetd_pid m2)
machine_exec m2 systemctl kill -s SIGUSR2 fleet.service
check "SIGUSR2: fleetd exits on its own (exit 0)" wait_for 5 eval '[ "$(fleetd_pid m2)" != "$old" ]'
fleetd_log m2 "$old" | grep -q "exiting for an upgrade" && ok "SIGUSR2: logged the upgrade exit" || not_ok "SIGUSR2: logged the upgrade exit"
adopted "upgrade exit" "$old"

# --- SIGHUP: reload in place ---------------------------------------------------------------------
old=$(fleetd_pid m2)
check "SIGHUP: systemctl reload fleet" machine_exec m2 systemctl reload fleet.service
check "SIGHUP: the agent registered again and is served by the API" wait_for $T eval \
	'curl -fsS -m 1 "http://$(machine_ip m2):49153/fleet/v1/machines" | grep -q $M2'
is "$(fleetd_pid m2)" "$old" "SIGHUP: same fleetd process"
is "$(lease_of "$M2")" "$lease" "SIGHUP: same lease"
is "$(pids)" "$before" "SIGHUP: units untouched"
fleetd_log m2 "$old" | grep -q "Reloading configuration from /etc/fleet/fleet.conf" &&
	ok "SIGHUP: logged the reload" || not_ok "SIGHUP: logged the reload"

# --- graceful stop ------------------------------------------------------------------------------------
m1g=$(prop m1 g.service MainPID)
check "graceful stop: systemctl stop fleet" machine_exec m2 systemctl stop fleet.service
is "$(prop m2 a.service LoadState)/$(prop m2 g.service LoadState)" "not-found/not-found" \
	"graceful stop: a.service and g.service stopped and unloaded by the time fleetd exited"
is "$(machine_exec m2 ls -A /run/fleet/units)" "admin.service" \
	"graceful stop: units directory empty but for the file fleetd did not write"
is "$(machine_exec m2 cat /run/fleet/units/admin.service)" "$(printf '[Service]\nExecStart=/bin/true')" \
	"graceful stop: the administrator's file is untouched"
fleetd_log m2 "$old" | grep -q "Ignoring /run/fleet/units/admin.service: not written by fleetd" &&
	ok "restarts: the administrator's file was not claimed" || not_ok "restarts: the administrator's file was not claimed"
is "$(probe machine_exec m2 ls /run/systemd/system | grep -c -e a.service -e g.service)" 0 \
	"graceful stop: runtime links removed"
is "$(lease_of "$M2")" "" "graceful stop: machine record gone at once (lease revoked)"
is "$(states_of "$M2")" 0 "graceful stop: m2's unit states gone at once"
is "$(prop m1 g.service MainPID)" "$m1g" "graceful stop: m1's g.service untouched"
fleetd_log m2 "$old" | grep -q "Revoked lease" && ok "graceful stop: logged the revocation" || not_ok "graceful stop: logged the revocation"

# --- started again ----------------------------------------------------------------------------------
check "fleetd started again" machine_exec m2 systemctl start fleet.service
check "m2: a.service and g.service active again" wait_for $T eval 'unit_active m2 a.service && unit_active m2 g.service'
check "m2: registered with a new lease" wait_for $T eval '[ -n "$(lease_of $M2)" ] && [ "$(lease_of $M2)" != "$lease" ]'
check "m2: both unit states published again" wait_for $T eval '[ "$(states_of $M2)" = 2 ]'

done_testing
