#!/bin/bash
# SPDX-License-Identifier: MIT
# 0201-agent-units: the agent on real systemd, driven by registry entries written with
# etcdctl (the engine is disabled, so the schedule is ours). In systemd's own view and in etcd:
# a scheduled unit is loaded and started; stopped when its desired state drops to loaded;
# restarted with a new MainPID when its content changes, leaving its neighbour alone; removed
# (file, runtime link, systemd unit, state) when unscheduled; a schedule change for one machine
# does not wake another machine's agent; global units run where the machine's (config or
# dynamic) metadata matches, respect Conflicts among themselves and with scheduled units, and
# follow metadata changes.
set -u
. "$(dirname "$0")/lib.sh"

export FLEET_CLUSTER_CONF="disable_engine=true"
export FLEET_CLUSTER_METADATA_m1="role=web"
cluster_up 3

P=/_coreos.com/fleet
M1=$(machine_id m1) M2=$(machine_id m2) M3=$(machine_id m3)
T=10 # seconds any single convergence may take (it takes milliseconds)

# --- helpers (registry entries as the API and the engine write them) ----------------------------
# unit TEXT -> store unit/<sha1> = TEXT, print the hash
unit() {
	local h
	h=$(printf '%s' "$1" | sha1sum | cut -c1-40)
	etcdctl_c put "$P/unit/$h" "$1" >/dev/null && echo "$h"
}
# svc DESCRIPTION [EXTRA-LINES...]: a normalized service unit text that sleeps forever
svc() {
	local d=$1 t
	shift
	t=$'[Unit]\nDescription='"$d"$'\n\n[Service]\nExecStart=/bin/sleep infinity\n'
	if [ $# -gt 0 ]; then t+=$'\n[X-Fleet]\n'; t+=$(printf '%s\n' "$@"); t+=$'\n'; fi
	printf '%s' "$t"
}
sched() { etcdctl_c put "$P/schedule/$1/$2" "{\"hash\":\"$3\",\"desiredState\":\"$4\"}" >/dev/null; }
unsched() { etcdctl_c del "$P/schedule/$1/$2" >/dev/null; }
global() { etcdctl_c put "$P/global/$1" "{\"hash\":\"$2\",\"desiredState\":\"$3\"}" >/dev/null; }
# (prop, state, no_state and passes are probes: see lib.sh)
prop() { probe machine_exec "$1" systemctl show -p "$3" --value "$2"; }
prop_is() { [ "$(prop "$1" "$2" "$3")" = "$4" ]; }
state() { probe etcdctl_c get --print-value-only "$P/state/$2/$1"; }   # MACHINE-ID NAME
state_has() { state "$1" "$2" | grep -qF "$3"; }
no_state() { local k; k=$(probe etcdctl_c get --keys-only "$P/state/$2/$1") && [ -z "$k" ]; }
passes() { metric "$1" fleet_agent_reconcile_count_total; }
registered() { [ -n "$(etcdctl_c get --keys-only "$P/machine/$1")" ]; }
gone() { prop_is "$1" "$2" LoadState not-found; }

check "all three machines registered" wait_for $T eval 'registered $M1 && registered $M2 && registered $M3'

# --- a scheduled unit: load and start ----------------------------------------------------------
A=$(svc "e2e unit a")
HA=$(unit "$A")
sched "$M2" a.service "$HA" launched
check "m2: a.service becomes active" wait_for $T unit_active m2 a.service
is "$(machine_exec m2 cat /run/fleet/units/a.service)" "$(printf '# Written by fleetd; removed when the unit leaves this machine.\n%s' "$A")" \
	"m2: /run/fleet/units/a.service holds fleetd's marker and the normalized unit"
is "$(machine_exec m2 readlink /run/systemd/system/a.service)" /run/fleet/units/a.service \
	"m2: runtime link /run/systemd/system/a.service -> the units directory"
is "$(prop m2 a.service Description)" "e2e unit a" "m2: systemd loaded our content"
check "etcd: state/a.service/m2 is launched, active, running, with the unit hash" wait_for $T eval \
	"state_has $M2 a.service '\"fleetState\":\"launched\"' && state_has $M2 a.service '\"activeState\":\"active\"' && state_has $M2 a.service '\"subState\":\"running\"' && state_has $M2 a.service '\"unitHash\":\"$HA\"'"
is "$(prop m1 a.service LoadState)/$(prop m3 a.service LoadState)" "not-found/not-found" \
	"a.service exists on m2 only"

# --- isolation: m1's agent is not woken by m2's schedule ----------------------------------------
p1=$(passes m1)
B=$(svc "e2e unit b")
HB=$(unit "$B")
sched "$M2" b.service "$HB" launched
check "m2: b.service becomes active" wait_for $T unit_active m2 b.service
sleep 0.5
is "$(passes m1)" "$p1" "m1's agent ran no pass for m2's schedule change ($p1 passes)"

# --- desired state loaded: stop, keep loaded ----------------------------------------------------
sched "$M2" a.service "$HA" loaded
check "m2: a.service stops when desired state is loaded" wait_for $T prop_is m2 a.service ActiveState inactive
is "$(prop m2 a.service LoadState):$(machine_exec m2 test -f /run/fleet/units/a.service && echo file)" \
	"loaded:file" "m2: a.service stays loaded (unit and file)"
check "etcd: state/a.service/m2 is loaded, inactive" wait_for $T eval \
	"state_has $M2 a.service '\"fleetState\":\"loaded\"' && state_has $M2 a.service '\"activeState\":\"inactive\"'"
sched "$M2" a.service "$HA" launched
check "m2: a.service starts again when launched" wait_for $T unit_active m2 a.service

# --- new content: reload, restart only that unit -----------------------------------------------
pa=$(prop m2 a.service MainPID)
pb=$(prop m2 b.service MainPID)
A2=$(svc "e2e unit a, version 2")
HA2=$(unit "$A2")
sched "$M2" a.service "$HA2" launched
new_pid() { local p; p=$(prop m2 a.service MainPID); [ "$p" != 0 ] && [ "$p" != "$pa" ]; }
check "m2: a.service restarted with its new content (MainPID was $pa)" wait_for $T new_pid
is "$(prop m2 a.service Description)" "e2e unit a, version 2" "m2: systemd runs the new content"
is "$(prop m2 b.service MainPID)" "$pb" "m2: b.service untouched (same MainPID $pb)"
is "$(machine_exec m2 systemctl show -p NeedDaemonReload --value a.service)" no "m2: no daemon-reload pending"
check "etcd: state/a.service/m2 has the new hash" wait_for $T state_has "$M2" a.service "\"unitHash\":\"$HA2\""

# --- unscheduled: unload everything ------------------------------------------------------------
unsched "$M2" a.service
check "m2: a.service unloaded (systemd no longer knows it)" wait_for $T gone m2 a.service
is "$(machine_exec m2 ls /run/fleet/units)" "b.service" "m2: its file is removed, b.service's stays"
check "m2: its runtime link is removed" machine_exec m2 test ! -e /run/systemd/system/a.service
check "etcd: state/a.service/m2 deleted" wait_for $T no_state "$M2" a.service
check "m2: b.service still active" unit_active m2 b.service
unsched "$M2" b.service
check "m2: b.service unloaded" wait_for $T gone m2 b.service

# --- global units ----------------------------------------------------------------------------------
# m1 has role=web from fleet.conf; m3 gets it as dynamic metadata; m2 has none.
etcdctl_c put "$P/metadata/$M3/role" web >/dev/null
W=$(unit "$(svc "e2e global web" "Global=true" "MachineMetadata=role=web")")
global gweb.service "$W" launched
check "gweb.service (MachineMetadata=role=web) active on m1 (config metadata)" wait_for $T unit_active m1 gweb.service
check "gweb.service active on m3 (dynamic metadata)" wait_for $T unit_active m3 gweb.service
sleep 0.3
is "$(prop m2 gweb.service LoadState)" not-found "gweb.service not on m2 (no role)"
check "etcd: gweb.service states for m1 and m3 only" wait_for $T eval \
	"state_has $M1 gweb.service launched && state_has $M3 gweb.service launched && no_state $M2 gweb.service"
etcdctl_c put "$P/metadata/$M3/role" db >/dev/null
check "m3: gweb.service unloaded when its metadata changes to role=db" wait_for $T gone m3 gweb.service
check "m1: gweb.service still active" unit_active m1 gweb.service
etcdctl_c put "$P/metadata/$M1/role" "" >/dev/null
check "m1: dynamic metadata \"\" removes the config value: gweb.service unloaded" wait_for $T gone m1 gweb.service
etcdctl_c del "$P/metadata/$M1/role" >/dev/null
check "m1: config metadata applies again once the dynamic key is deleted" wait_for $T unit_active m1 gweb.service

# Conflicts between global units: of g-a and g-b (g-b conflicts with g-a), g-a wins everywhere.
GA=$(unit "$(svc "e2e global a" "Global=true")")
GB=$(unit "$(svc "e2e global b" "Global=true" "Conflicts=g-a.service")")
global g-b.service "$GB" launched
global g-a.service "$GA" launched
all_ga() { unit_active m1 g-a.service && unit_active m2 g-a.service && unit_active m3 g-a.service; }
check "g-a.service active on every machine" wait_for $T all_ga
is "$(prop m1 g-b.service LoadState)/$(prop m2 g-b.service LoadState)/$(prop m3 g-b.service LoadState)" \
	"not-found/not-found/not-found" "g-b.service (Conflicts=g-a.service) runs nowhere"

# A scheduled unit that conflicts with a global unit keeps it off its machine.
GC=$(unit "$(svc "e2e global c" "Global=true")")
X=$(unit "$(svc "e2e scheduled x" "Conflicts=g-c.service")")
sched "$M2" x.service "$X" launched
check "m2: x.service active" wait_for $T unit_active m2 x.service
global g-c.service "$GC" launched
check "g-c.service active on m1 and m3" wait_for $T eval 'unit_active m1 g-c.service && unit_active m3 g-c.service'
is "$(prop m2 g-c.service LoadState)" not-found "g-c.service not on m2, where x.service (Conflicts=g-c.service) runs"

# A global unit whose desired state is loaded is loaded but not started.
global g-c.service "$GC" loaded
check "g-c.service stopped but loaded on m1 when its desired state is loaded" wait_for $T eval \
	'prop_is m1 g-c.service ActiveState inactive && prop_is m1 g-c.service LoadState loaded'
etcdctl_c del "$P/global/g-c.service" >/dev/null
check "g-c.service unloaded on m1 and m3 when the global entry is deleted" wait_for $T eval \
	'gone m1 g-c.service && gone m3 g-c.service'

done_testing
