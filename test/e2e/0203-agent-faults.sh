#!/bin/bash
# SPDX-License-Identifier: MIT
# 0203-agent-faults: presence and fencing (DESIGN.md 4, "Fencing and faults"), agent_ttl 5s.
#   - etcd unreachable for less than the lease deadline (etcd paused 1.5 s): units untouched;
#   - etcd unreachable past the deadline (paused 8 s): etcd is down for every machine, so at
#     its deadline each agent learns from its peers that etcd is down for the majority and keeps
#     its units running, unfrozen (issue 12); etcd back: every lease has expired, the agents
#     register again and keep their units (same MainPID) and publish their states again;
#   - a machine crash (fleet-cluster kill): its machine record and unit states vanish when its
#     lease expires;
#   - a second fleetd with the same machine ID refuses to register (and says why), leaving the
#     registered one alone.
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
# (prop, lease_of and states_of are probes: see lib.sh)
prop() { probe machine_exec "$1" systemctl show -p "$3" --value "$2"; }
lease_of() { probe etcdctl_c get -w json "$P/machine/$1" | sed -n 's/.*"lease":\([0-9]*\).*/\1/p'; }
registered() { [ -n "$(lease_of "$1")" ]; }
states_of() { probe etcdctl_c get --prefix --keys-only "$P/state/" | grep -c "/$1\$"; }
inactive() { [ "$(prop "$1" "$2" ActiveState)" = inactive ]; }

check "all three machines registered" wait_for $T eval 'registered $M1 && registered $M2 && registered $M3'
HS=$(unit "$(svc "e2e scheduled s")")
HG=$(unit "$(svc "e2e global g" "Global=true")")
for m in "$M1" "$M2" "$M3"; do
	etcdctl_c put "$P/schedule/$m/s.service" "{\"hash\":\"$HS\",\"desiredState\":\"launched\"}" >/dev/null
done
etcdctl_c put "$P/global/g.service" "{\"hash\":\"$HG\",\"desiredState\":\"launched\"}" >/dev/null
all_active() { local m; for m in m1 m2 m3; do unit_active $m s.service && unit_active $m g.service || return 1; done; }
check "s.service and g.service active on every machine" wait_for $T all_active
pids() { local m; for m in m1 m2 m3; do printf '%s ' "$(prop $m s.service MainPID)"; done; }
gpids() { local m; for m in m1 m2 m3; do printf '%s ' "$(prop $m g.service MainPID)"; done; }

# --- etcd unreachable: pause this cluster's etcd (our own child, by PID) ------------------------
D=$(fleet_cluster env | sed -n 's/^FLEET_CLUSTER_DIR=//p')
eval "D=$D"
EPID=$(cat "$D/etcd.pid")
if [ "$(cat "/proc/$EPID/comm" 2>/dev/null)" != etcd ]; then bail_out "no etcd at pid $EPID"; fi
at_exit kill -CONT "$EPID"
pause_etcd() { kill -STOP "$EPID"; diag "etcd ($EPID) paused"; }
resume_etcd() { kill -CONT "$EPID"; diag "etcd ($EPID) resumed"; }

before=$(pids) gbefore=$(gpids)
pause_etcd
sleep 1.5
resume_etcd
sleep 2
is "$(pids)" "$before" "etcd unreachable for 1.5 s (less than the lease deadline): s.service untouched everywhere"
is "$(prop m1 fleet.service ActiveState)" active "fleetd still active"

pause_etcd
grep_log() { machine_exec "$1" journalctl -u fleet -o cat --no-pager | grep -q "$2"; }
check "etcd unreachable past the deadline: m1 learns that etcd is down for the majority" \
	wait_for 8 grep_log m1 "etcd is down for the majority"
not_frozen() { local m; for m in m1 m2 m3; do [ "$(prop $m s.service FreezerState)" = running ] || return 1; done; }
check "s.service runs, not frozen, everywhere" not_frozen
is "$(pids)" "$before" "s.service untouched everywhere while etcd is down for everyone"
is "$(gpids)" "$gbefore" "global g.service kept running everywhere"
sleep 1
resume_etcd
check "etcd back: s.service active everywhere" wait_for 15 all_active
is "$(pids)" "$before" "s.service kept its MainPIDs (never stopped)"
check "every machine registered again" wait_for $T eval 'registered $M1 && registered $M2 && registered $M3'
check "every unit state published again" wait_for $T eval \
	'[ "$(states_of $M1)$(states_of $M2)$(states_of $M3)" = 222 ]'

# --- machine crash -------------------------------------------------------------------------------
fleet_cluster kill m3 2>&1 | diag
t0=${EPOCHREALTIME/./}
check "m3 crashed: its unit states and machine record vanish with its lease" wait_for 15 eval \
	'[ "$(states_of $M3)" = 0 ] && ! registered $M3'
diag "gone after $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms (agent_ttl 5s)"
is "$(states_of "$M1")/$(states_of "$M2")" "2/2" "m1's and m2's states unaffected"

# --- a second fleetd with the same machine ID ---------------------------------------------------
lease1=$(lease_of "$M1")
IP1=$(machine_ip m1)
pid1=$(prop m1 s.service MainPID)
EP=$(fleet_cluster etcd-endpoint)
FLEETD=$E2E_ROOT/$BUILD/bin/fleetd
case $BUILD in /*) FLEETD=$BUILD/bin/fleetd ;; esac
out=$(machine_exec m2 sh -c "
	mkdir -p /run/dup && echo $M1 >/run/dup/machine-id
	printf 'etcd_servers=$EP\npublic_ip=127.0.0.99\nagent_ttl=5s\ndisable_engine=true\nunits_directory=/run/dup/units\napi_listen=\n' >/run/dup/fleet.conf
	exec unshare -m sh -c 'mount --bind /run/dup/machine-id /etc/machine-id && exec timeout --preserve-status -s TERM 4 $FLEETD --config /run/dup/fleet.conf'" 2>&1)
rc=$?
diag "$out"
IP1=$(machine_ip m1)
if grep -q "Machine ID $M1 is already registered by another fleetd (lease [0-9a-f]*, public IP ${IP1//./\\.}): refusing to register" <<<"$out"; then
	ok "a second fleetd with m1's machine ID refuses to register and says why"
else
	not_ok "a second fleetd with m1's machine ID refuses to register and says why"
fi
is "$rc" 0 "it stops gracefully on SIGTERM (exit 0)"
is "$(lease_of "$M1")" "$lease1" "m1's machine record keeps m1's lease"
check "m1's machine record keeps m1's public IP" eval 'etcdctl_c get --print-value-only "$P/machine/$M1" | grep -qF "\"PublicIP\":\"$IP1\""'
is "$(prop m1 s.service MainPID)" "$pid1" "m1's s.service untouched"
is "$(states_of "$M1")" 2 "m1's unit states untouched"

done_testing
