#!/bin/bash
# SPDX-License-Identifier: MIT
# 0706-graceful-stop-execstop: `systemctl stop fleet` (graceful stop) stops each unit before
# it removes the unit's file, so the unit's ExecStop= runs to its end (fleet's issue #1000),
# agent_ttl 30s, 2 machines (0504 covers the rest of the graceful stop: unload, lease revoked,
# units moving, MachineOf pairs). gs.service writes a start marker (ExecStart) and, after a 1 s
# pause, a stop marker (ExecStop=) in /run of its machine:
#   - when the stop returns, the stop marker exists on the stopped machine, systemd logged a
#     clean stop of gs.service there (no kill, no timeout) and the unit is unloaded;
#   - gs.service moved at once (long before agent_ttl) and its copy on the other machine
#     started after the first copy's ExecStop= had finished (the gap is printed).
set -u
. "$(dirname "$0")/lib.sh"
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
export FLEET_CLUSTER_AGENT_TTL=30s

FLEETCTL=$E2E_ROOT/$BUILD/bin/fleetctl
case $BUILD in /*) FLEETCTL=$BUILD/bin/fleetctl ;; esac
[ -x "$FLEETCTL" ] || bail_out "$FLEETCTL is not built"
TMP=$(mktemp -d /tmp/fleet-e2e-07.XXXXXX)
at_exit rm -rf "$TMP"
cluster_up 2

T=10
LIVE="m1 m2"
API=m1
fctl() { FLEETCTL_ENDPOINT="http://$(machine_ip "$API"):49153" timeout 60 "$FLEETCTL" "$@"; }
# (sdp and unit_active are probes: see lib.sh)
sdp() { probe machine_exec "$1" systemctl show -p "$3" --value "$2"; }
active_on() { local m s=""; for m in $LIVE; do unit_active "$m" "$1" && s+="$m "; done; echo "${s% }"; }
P=/_coreos.com/fleet
registered() { [ "$(etcdctl_c get --prefix --keys-only "$P/machine/" | grep -c .)" = "$1" ]; }

check "2 machines registered" wait_for $T registered 2
cat >"$TMP/gs.service" <<'UNIT'
[Unit]
Description=e2e graceful stop with ExecStop

[Service]
ExecStart=/bin/sh -c 'date +%%s%%N >/run/flt-gs-start; exec sleep infinity'
ExecStop=/bin/sh -c 'sleep 1; date +%%s%%N >/run/flt-gs-stop'
UNIT
out=$(cd "$TMP" && fctl start --block-attempts=10 gs.service 2>&1)
is "$?" 0 "start gs.service"
[ -z "$out" ] || diag "$out"
check "gs.service active on one machine" wait_for $T eval '[ "$(active_on gs.service | wc -w)" = 1 ]'
V=$(active_on gs.service)
W=m1; [ "$V" != m1 ] || W=m2
API=$W
diag "gs.service on $V; the other machine is $W"
check "$V: start marker written" machine_exec "$V" test -s /run/flt-gs-start

t0=${EPOCHREALTIME/./}
check "$V: systemctl stop fleet (graceful)" machine_exec "$V" systemctl stop fleet.service
diag "the stop took $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms"
check "$V: ExecStop= ran to its end (stop marker written)" machine_exec "$V" test -s /run/flt-gs-stop
is "$(sdp "$V" gs.service LoadState)" not-found "$V: gs.service unloaded"
log=$(machine_exec "$V" journalctl -u gs.service -o cat --no-pager 2>/dev/null)
diag "$V: gs.service's journal:"$'\n'"$log"
check "$V: systemd stopped gs.service cleanly (no kill, no timeout, no failure)" eval \
	'grep -q -E "^(Stopped|gs.service: Deactivated successfully)" <<<"$log" && ! grep -q -E "Killing|timed out|Failed with result" <<<"$log"'
check "gs.service moved to $W long before agent_ttl (30 s)" wait_for 10 eval '[ "$(active_on gs.service)" = "$W" ]'
diag "gs.service active on $W $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms after the stop began"
wait_for 5 machine_exec "$W" test -s /run/flt-gs-start
stop_ns=$(machine_exec "$V" cat /run/flt-gs-stop)
start_ns=$(machine_exec "$W" cat /run/flt-gs-start)
diag "$W's copy started $(( (start_ns - stop_ns) / 1000000 )) ms after $V's ExecStop= finished"
check "$W's copy started after $V's ExecStop= finished" test "$start_ns" -gt "$stop_ns"

done_testing
