#!/bin/bash
# SPDX-License-Identifier: MIT
# 0708-watch-compaction: a real agent's registry watches recover after etcd compacted past the
# revision they had seen (issue 12: the recovery was never exercised; fleet_etcd_watch_restarts
# stayed 0). 2 machines, agent_ttl 15s: m1 runs the engine; m2 (disable_engine) reaches etcd
# through a fault-injecting TCP proxy (test/tools/tcp-proxy.c). m2's link is cut for a few
# seconds (connections reset, new ones blackholed: far shorter than m2's fencing deadline), and
# meanwhile one of m2's units is destroyed, another one is started on m2, and etcd compacts its
# history. When the link heals, m2's watches resume from a compacted revision, etcd refuses,
# and the agent lists again: the destroyed unit is stopped and unloaded, the new one starts,
# the unit that stayed keeps its MainPID, and m2 was never fenced.
set -u
. "$(dirname "$0")/lib.sh"
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
export FLEET_CLUSTER_AGENT_TTL=15s

FLEETCTL=$E2E_ROOT/$BUILD/bin/fleetctl
case $BUILD in /*) FLEETCTL=$BUILD/bin/fleetctl ;; esac
[ -x "$FLEETCTL" ] || bail_out "$FLEETCTL is not built"
TMP=$(mktemp -d /tmp/fleet-e2e-07.XXXXXX)
at_exit rm -rf "$TMP"

# the proxy, started before the cluster so that m2's fleet.conf can name it
proxy_start "$TMP"
export FLEET_CLUSTER_CONF_m2="etcd_servers=http://127.0.0.1:$PPORT
disable_engine=true"
export FLEET_CLUSTER_NO_FLEETD=1
cluster_up 2
proxy_to_etcd
out=$(fleet_cluster start-fleetd all 2>&1) || bail_out "start-fleetd: $out"

T=20
fctl() { FLEETCTL_ENDPOINT="http://$(machine_ip m1):49153" timeout 60 "$FLEETCTL" "$@"; }
sdp() { machine_exec m2 systemctl show -p "$2" --value "$1" 2>/dev/null; }
P=/_coreos.com/fleet
M2=$(machine_id m2)
registered() { [ "$(etcdctl_c get --prefix --keys-only "$P/machine/" | grep -c .)" = 2 ]; }
scheduled() { [ -n "$(etcdctl_c get --keys-only "$P/schedule/$M2/$1")" ]; }
metric() { curl -fsS -m 2 "http://$(machine_ip m2):49153/metrics" 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'; }
log_count() { machine_exec m2 journalctl -u fleet.service -o cat --no-pager 2>/dev/null | grep -c "$1"; }

check "2 machines registered (m2 through the proxy)" wait_for $T registered
for u in stay gone; do
	printf '[Unit]\nDescription=e2e compaction %s\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[X-Fleet]\nMachineID=%s\n' "$u" "$M2" >"$TMP/$u.service"
done
out=$(cd "$TMP" && fctl start --block-attempts=20 stay.service gone.service 2>&1)
is "$?" 0 "start stay.service and gone.service on m2"
check "m2: stay and gone active" wait_for $T eval '[ "$(sdp stay.service ActiveState) $(sdp gone.service ActiveState)" = "active active" ]'
S=$(sdp stay.service MainPID)
R0=$(metric fleet_etcd_watch_restarts_total)
F0=$(log_count "Fencing")

# --- cut, change, compact, heal ---------------------------------------------------------------------
check "cut m2's link to etcd (reset; new connections blackholed)" proxy_signal USR1
t_cut=${EPOCHREALTIME/./}
# through m1's API straight (fleetctl would wait for m2's unit states, which cannot change now)
API="http://$(machine_ip m1):49153/fleet/v1/units"
is "$(curl -sS -m 5 -o /dev/null -w '%{http_code}' -X DELETE "$API/gone.service")" 204 "DELETE gone.service"
check "gone.service's schedule entry removed by the engine" wait_for $T eval '! scheduled gone.service'
is "$(curl -sS -m 5 -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' -d \
	'{"desiredState":"launched","options":[{"section":"Unit","name":"Description","value":"e2e compaction new"},{"section":"Service","name":"ExecStart","value":"/bin/sleep infinity"},{"section":"X-Fleet","name":"MachineID","value":"'"$M2"'"}]}' \
	"$API/new.service")" 201 "PUT new.service (launched, MachineID=m2)"
check "new.service scheduled on m2 by the engine" wait_for $T scheduled new.service
diag "changes made $(( (${EPOCHREALTIME/./} - t_cut) / 1000 )) ms after the cut"
rev=$(etcdctl_c put /e2e/compaction-marker x -w json | sed -n 's/.*"revision":\([0-9]*\).*/\1/p')
check "etcd compacted at revision $rev" etcdctl_c compact "$rev"
is "$(sdp gone.service ActiveState) $(sdp new.service ActiveState)" "active inactive" \
	"m2 still runs the old desired state (it heard nothing)"
check "heal m2's link" proxy_signal USR2
diag "m2 cut off for $(( (${EPOCHREALTIME/./} - t_cut) / 1000 )) ms (fencing deadline: 12 s after its last keepalive)"

# --- m2's watches re-list and the agent converges ---------------------------------------------------
t_heal=${EPOCHREALTIME/./}
check "m2: new.service active" wait_for $T eval '[ "$(sdp new.service ActiveState)" = active ]'
check "m2: gone.service stopped and unloaded" wait_for $T eval '[ "$(sdp gone.service LoadState)" = not-found ]'
diag "converged $(( (${EPOCHREALTIME/./} - t_heal) / 1000 )) ms after the heal"
is "$(sdp stay.service MainPID)" "$S" "stay.service untouched (same MainPID)"
is "$(log_count "Fencing")" "$F0" "m2 was never fenced"
R1=$(metric fleet_etcd_watch_restarts_total)
diag "m2: fleet_etcd_watch_restarts_total $R0 -> $R1"
check "m2's watch streams were re-opened" test "${R1:-0}" -gt "${R0:-0}"
check "fleetctl list-units: new.service active on m2" eval \
	'fctl list-units --no-legend --full --fields unit,machine,active | grep -q "^new.service.*$M2.*active"'
is "$(fctl list-units --no-legend --fields unit 2>/dev/null | grep -c '^gone.service')" 0 "gone.service no longer listed"

done_testing
