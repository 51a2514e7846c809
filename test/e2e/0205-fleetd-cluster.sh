#!/bin/bash
# SPDX-License-Identifier: MIT
# 0205-fleetd-cluster: the whole fleetd (API, engine, agent) on 3 machines, driven by fleetctl,
# checked in systemd's own view: a started unit runs on exactly one machine; a graceful stop of
# that machine's fleetd moves it at once; a crash of its machine moves it once the lease
# expires; a global unit runs everywhere; destroy unloads everywhere.
set -u
. "$(dirname "$0")/lib.sh"

cluster_up 3

FLEETCTL=$E2E_ROOT/$BUILD/bin/fleetctl
case $BUILD in /*) FLEETCTL=$BUILD/bin/fleetctl ;; esac
[ -x "$FLEETCTL" ] || bail_out "$FLEETCTL is not built"
TMP=$(mktemp -d /tmp/fleet-e2e-cluster.XXXXXX)
at_exit rm -rf "$TMP"
T=10
P=/_coreos.com/fleet

# fleetctl through the API of machine $API (changed when that machine goes away)
API=m1
# (bounded: fleetctl start/destroy block until the cluster has done it)
fctl() { FLEETCTL_ENDPOINT="http://$(machine_ip $API):49153" timeout 60 "$FLEETCTL" "$@"; }
# where NAME is active, as systemd sees it: "m1 m3 " etc. (unit_active is a probe: see lib.sh)
active_on() { local m s=""; for m in $LIVE; do unit_active "$m" "$1" && s+="$m "; done; echo "$s"; }
runs_once() { local w; w=$(active_on "$1"); [ -n "$w" ] && [ "$(wc -w <<<"$w")" = 1 ]; }
LIVE="m1 m2 m3"

registered() { [ "$(etcdctl_c get --prefix --keys-only "$P/machine/" | grep -c .)" = "$1" ]; }
check "three machines registered" wait_for $T registered 3
check "an engine is the leader" wait_for $T eval '[ -n "$(etcdctl_c get --print-value-only "$P/engine/leader")" ]'

cat >"$TMP/web.service" <<'EOF'
[Unit]
Description=e2e web
[Service]
ExecStart=/bin/sleep infinity
EOF
out=$(fctl start "$TMP/web.service" 2>&1)
rc=$?
diag "$out"
is "$rc" 0 "fleetctl start web.service"
check "web.service active on exactly one machine" wait_for $T runs_once web.service
first=$(active_on web.service)
first=${first% }
diag "web.service runs on $first"
is "$(fctl list-units --no-legend --fields unit,active 2>&1)" "web.service	active" "fleetctl list-units: active"

# --- graceful stop of its machine's fleetd: moved at once ------------------------------------------
[ "$first" != m1 ] || API=m2
check "systemctl stop fleet on $first" machine_exec "$first" systemctl stop fleet.service
is "$(machine_exec "$first" systemctl show -p LoadState --value web.service)" not-found \
	"$first: web.service unloaded by the graceful stop"
LIVE=$(sed "s/$first//" <<<"m1 m2 m3")
check "web.service active on another machine right away" wait_for 5 runs_once web.service
second=$(active_on web.service)
second=${second% }
diag "web.service moved to $second"

# --- crash of the machine running it: moved after the lease expires ---------------------------------
[ "$second" != "$API" ] || API=$(sed "s/$second//; s/ //g" <<<"$LIVE")
check "$first: fleetd started again" machine_exec "$first" systemctl start fleet.service
LIVE="m1 m2 m3"
check "three machines registered again" wait_for $T registered 3
fleet_cluster kill "$second" 2>&1 | diag
LIVE=$(sed "s/$second//" <<<"m1 m2 m3")
t0=${EPOCHREALTIME/./}
check "$second crashed: web.service active on a surviving machine (agent_ttl 5s)" wait_for 15 runs_once web.service
diag "moved after $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms to $(active_on web.service)"

# --- a global unit ----------------------------------------------------------------------------------
cat >"$TMP/everywhere.service" <<'EOF'
[Unit]
Description=e2e global
[Service]
ExecStart=/bin/sleep infinity
[X-Fleet]
Global=true
EOF
out=$(fctl start "$TMP/everywhere.service" 2>&1)
is "$?" 0 "fleetctl start everywhere.service (Global=true)"
diag "$out"
everywhere() { [ "$(active_on everywhere.service | wc -w)" = 2 ]; }
check "everywhere.service active on both live machines" wait_for $T everywhere

# --- destroy ----------------------------------------------------------------------------------------
out=$(fctl destroy web.service everywhere.service 2>&1)
is "$?" 0 "fleetctl destroy web.service everywhere.service"
diag "$out"
nowhere() { [ -z "$(active_on web.service)$(active_on everywhere.service)" ]; }
check "destroyed units run nowhere" wait_for $T nowhere
unloaded() { local m; for m in $LIVE; do [ "$(probe machine_exec $m ls -A /run/fleet/units)" = "" ] || return 1; done; }
check "units directories empty" wait_for $T unloaded

done_testing
