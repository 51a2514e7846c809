#!/bin/bash
# SPDX-License-Identifier: MIT
# 0707-unit-name-refused: units that systemd refuses must not stop the agent (issue 12: a unit
# named ".service" got a 201, systemd refused the name, the agent waited forever for its state
# and no unit on that machine could be started or stopped until fleetd restarted). 1 machine:
#   - the API answers 400 for ".service" (and "x.snapshot"): names systemd refuses;
#   - ".service" written straight into etcd (as an older fleet-c stored it) next to x.scope (a
#     valid name whose file systemd links but never loads: StartUnit says NoSuchUnit): the agent
#     isolates ".service" at once (list-units and the API's state: failed / invalid-name, load
#     state error), retries x.scope with backoff, and starts and stops the other units as usual;
#   - the isolated unit alone is retried with backoff (reconcile passes over a 16 s window);
#   - the isolated unit's state goes when its job is deleted.
set -u
. "$(dirname "$0")/lib.sh"
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
export FLEET_CLUSTER_AGENT_TTL=10s

FLEETCTL=$E2E_ROOT/$BUILD/bin/fleetctl
case $BUILD in /*) FLEETCTL=$BUILD/bin/fleetctl ;; esac
[ -x "$FLEETCTL" ] || bail_out "$FLEETCTL is not built"
TMP=$(mktemp -d /tmp/fleet-e2e-07.XXXXXX)
at_exit rm -rf "$TMP"
cluster_up 1

T=15
WINDOW=16
EP() { echo "http://$(machine_ip m1):49153"; }
fctl() { FLEETCTL_ENDPOINT=$(EP) timeout 60 "$FLEETCTL" "$@"; }
sdp() { machine_exec m1 systemctl show -p "$2" --value "$1" 2>/dev/null; }
P=/_coreos.com/fleet
registered() { [ "$(etcdctl_c get --prefix --keys-only "$P/machine/" | grep -c .)" = 1 ]; }
# list-units: "ACTIVE SUB" of UNIT
lu() { fctl list-units --no-legend --full --fields unit,active,sub 2>/dev/null | awk -v u="$1" '$1 == u { print $2, $3 }'; }
# the API's unit state: "load active sub" of UNIT
api_state() {
	curl -fsS -m 5 "$(EP)/fleet/v1/state" 2>/dev/null | python3 -c '
import json, sys
for s in json.load(sys.stdin).get("states", []):
    if s["name"] == sys.argv[1]:
        print(s["systemdLoadState"], s["systemdActiveState"], s["systemdSubState"])' "$1"
}
put() { # NAME JSON: the HTTP status of PUT /fleet/v1/units/NAME
	curl -sS -m 10 -o "$TMP/body" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
		-d "$2" "$(EP)/fleet/v1/units/$1"
}
OPTS='"options":[{"section":"Unit","name":"Description","value":"e2e refused"},{"section":"Service","name":"ExecStart","value":"/bin/sleep infinity"}]'

check "m1 registered" wait_for $T registered
for u in good1 good2 good3; do
	printf '[Unit]\nDescription=e2e %s\n\n[Service]\nExecStart=/bin/sleep infinity\n' "$u" >"$TMP/$u.service"
done

# --- the API refuses what systemd refuses ---------------------------------------------------------
is "$(put .service "{\"desiredState\":\"launched\",$OPTS}")" 400 "PUT .service: 400"
is "$(cat "$TMP/body")" '{"error":{"code":400,"message":"unit name has nothing before its type: \".service\""}}' \
	"PUT .service: the reason"
is "$(put x.snapshot "{\"desiredState\":\"launched\",$OPTS}")" 400 "PUT x.snapshot: 400 (systemd has no snapshot units)"
is "$(etcdctl_c get --prefix --keys-only "$P/job/")" "" "nothing stored"

# --- a unit systemd refuses, stored anyway ---------------------------------------------------------
out=$(cd "$TMP" && fctl start --block-attempts=20 good1.service 2>&1)
is "$?" 0 "start good1.service"
check "good1.service active" wait_for $T eval '[ "$(sdp good1.service ActiveState)" = active ]'
G=$(sdp good1.service MainPID)
H=$(etcdctl_c get --print-value-only "$P/job/good1.service" | sed -n 's/.*"hash":"\([0-9a-f]*\)".*/\1/p')
check "good1's content hash known" test -n "$H"
check "etcd: job .service written straight into etcd (launched, good1's content)" \
	etcdctl_c put "$P/job/.service" "{\"name\":\".service\",\"hash\":\"$H\",\"desiredState\":\"launched\",\"global\":false}"
is "$(put x.scope "{\"desiredState\":\"launched\",\"options\":[{\"section\":\"Unit\",\"name\":\"Description\",\"value\":\"e2e scope\"}]}")" \
	201 "PUT x.scope (launched): systemd will not load a scope from a file"
check "fleetctl list-units: .service failed / invalid-name" wait_for $T eval '[ "$(lu .service)" = "failed invalid-name" ]'
is "$(api_state .service)" "error failed invalid-name" "API state of .service: load error, failed, invalid-name"
check "systemd: x.scope refused (not-found, start refused)" wait_for $T eval \
	'machine_exec m1 journalctl -u fleet.service -o cat --no-pager | grep -q "Task failed: start x.scope"'
check "fleetd logs why .service is isolated" eval \
	'machine_exec m1 journalctl -u fleet.service -o cat --no-pager | grep -q "Isolating .service: systemd refuses its name"'

# the agent goes on with the other units
out=$(cd "$TMP" && fctl start --block-attempts=20 good2.service 2>&1)
is "$?" 0 "start good2.service while .service and x.scope are refused"
check "good2.service active" wait_for $T eval '[ "$(sdp good2.service ActiveState)" = active ]'
out=$(cd "$TMP" && fctl stop --block-attempts=20 good2.service 2>&1)
is "$?" 0 "stop good2.service"
check "good2.service inactive" wait_for $T eval '[ "$(sdp good2.service ActiveState)" = inactive ]'
out=$(cd "$TMP" && fctl start --block-attempts=20 good3.service 2>&1)
is "$?" 0 "start good3.service"
check "good3.service active" wait_for $T eval '[ "$(sdp good3.service ActiveState)" = active ]'
is "$(sdp good1.service MainPID)" "$G" "good1.service untouched (same MainPID)"
is "$(lu .service)" "failed invalid-name" ".service still isolated"
machine_exec m1 journalctl -u fleet -o cat --no-pager | grep -E '\.service:|Isolating|x\.scope|Retrying' | tail -n 6 | diag

# (fleetctl, like fleet's, takes x.scope for x.scope.service: it knows only some unit types)
is "$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -X DELETE "$(EP)/fleet/v1/units/x.scope")" 204 "DELETE x.scope"
check "x.scope gone from list-units" wait_for $T eval '[ -z "$(lu x.scope)" ]'

# --- an isolated unit is retried with backoff, not in a loop ----------------------------------------
metric() { curl -fsS -m 2 "$(EP)/metrics" 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'; }
p0=$(metric fleet_agent_reconcile_count_total)
sleep $WINDOW
p1=$(metric fleet_agent_reconcile_count_total)
diag "in $WINDOW s with .service isolated: $((p1 - p0)) reconcile pass(es)"
check "retried with backoff: at most 8 passes in $WINDOW s (a retry a second would be $WINDOW)" test $((p1 - p0)) -le 8
is "$(lu .service)" "failed invalid-name" ".service still isolated"

# --- the isolated unit leaves -----------------------------------------------------------------------
check "etcd: delete job .service" etcdctl_c del "$P/job/.service"
check ".service gone from list-units and the API" wait_for $T eval '[ -z "$(lu .service)" ] && [ -z "$(api_state .service)" ]'
is "$(lu good1.service) / $(lu good3.service)" "active running / active running" "good1 and good3 still running"

done_testing
