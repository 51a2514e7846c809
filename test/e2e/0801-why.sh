#!/bin/bash
# SPDX-License-Identifier: MIT
# 0801-why: fleet-c's reasons on 3 machines (agent_ttl 20s):
#   - a fourth hello@N with Conflicts=hello@* cannot be placed: `fleetctl start` returns within
#     seconds, exit 1, with the engine's reason; `fleetctl why` shows it, the API serves it as
#     the unit's "reason" field (absent for placed units), `list-unit-files --fields` has a
#     reason column and its default output is unchanged; the reason is in etcd under
#     reason/<unit> and goes away once a machine frees up and the unit is placed;
#   - `fleetctl why` of a running unit names its machine and systemd's state there, of an
#     inactive or unknown unit says so (unknown: exit 1);
#   - issue 12's defect: a blocking `fleetctl start` whose unit is destroyed, or set to another
#     desired state by someone else, meanwhile stops waiting, says so and exits 1 (it waited
#     forever before). The unit's machine has its fleetd stopped (SIGSTOP), so that it stays
#     scheduled but never reports a state: no reason, nothing else ends the wait.
set -u
. "$(dirname "$0")/lib.sh"
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
export FLEET_CLUSTER_AGENT_TTL=20s
. "$(dirname "$0")/lib-scenario.sh"

P=/_coreos.com/fleet
now_ms() { date +%s%3N; }
api_get() { curl -sS -m 5 "http://$(machine_ip "$API"):49153/fleet/v1/units/$1"; }
why() { fctl why "$@" 2>&1; }
lufr() { fctl list-unit-files --no-legend --fields unit,reason 2>/dev/null | awk -v u="$1" '$1 == u { $1 = ""; sub(/^ +/, ""); print }'; }
reason_key() { etcdctl_c get --print-value-only "$P/reason/$1"; }

check "3 machines registered" wait_for $T machines_up 3
printf '[Unit]\nDescription=hello %%i\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[X-Fleet]\nConflicts=hello@*.service\n' >"$TMP/hello@.service"
fok "start hello@1 hello@2 hello@3 (one per machine)" fblock start "$TMP/hello@1.service" "$TMP/hello@2.service" "$TMP/hello@3.service"

# --- an unplaceable unit ------------------------------------------------------------------------
t0=$(now_ms)
out=$(fctl start "$TMP/hello@4.service" 2>&1)
rc=$?
t1=$(now_ms)
is "$rc" 1 "start hello@4 (no machine left): exit 1"
diag "$out"
diag "fleetctl start returned after $((t1 - t0)) ms"
case $out in *"Unit hello@4.service cannot be placed: no machine satisfies Conflicts"*"3 machines checked"*) ok "start prints the engine's reason" ;;
*) not_ok "start prints the engine's reason" ;; esac
check "start returned before the 60 s limit" [ $((t1 - t0)) -lt 55000 ]
w=$(why hello@4.service)
diag "$w"
case $w in "hello@4.service: not scheduled: no machine satisfies Conflicts"*) ok "why hello@4: the reason" ;; *) not_ok "why hello@4: the reason" ;; esac
j=$(api_get hello@4.service)
diag "$j"
case $j in *'"reason":"no machine satisfies Conflicts'*) ok "API: hello@4 has a reason field" ;; *) not_ok "API: hello@4 has a reason field" ;; esac
j1=$(api_get hello@1.service)
case $j1 in *'"reason"'*) not_ok "API: hello@1 has no reason field" ;; *) ok "API: hello@1 has no reason field" ;; esac
case $(lufr hello@4.service) in "no machine satisfies Conflicts"*) ok "list-unit-files --fields unit,reason: hello@4's reason" ;; *) not_ok "list-unit-files --fields unit,reason: hello@4's reason" ;; esac
is "$(lufr hello@1.service)" "-" "list-unit-files --fields unit,reason: - for hello@1"
is "$(fctl list-unit-files | head -1 | tr -s '\t' ' ')" "UNIT HASH DSTATE STATE TARGET" "list-unit-files: default columns unchanged"
check "etcd: reason/hello@4.service stored" eval '[ -n "$(reason_key hello@4.service)" ]'
diag "etcd: $(reason_key hello@4.service)"

# --- why for other units -------------------------------------------------------------------------
m=$(target hello@1.service)
w=$(why hello@1.service)
diag "$w"
case $w in "hello@1.service: launched on "*"/$(machine_ip "$m"); systemd: loaded active running") ok "why hello@1: its machine and systemd's state" ;; *) not_ok "why hello@1: its machine and systemd's state" ;; esac
out=$(why nosuch.service)
rc=$?
is "$rc" 1 "why of an unknown unit: exit 1"
is "$out" "Unit nosuch.service not found" "why of an unknown unit: message"
out=$(fctl why 2>&1)
is "$?" 1 "why without units: exit 1"

# --- the reason goes once the unit can be placed -------------------------------------------------
fok "destroy hello@1" fctl destroy hello@1.service
check "hello@4 placed where hello@1 was, active there" wait_for $T active_is hello@4.service "$m"
check "etcd: reason/hello@4.service deleted" wait_for $T eval '[ -z "$(reason_key hello@4.service)" ]'
case $(why hello@4.service) in "hello@4.service: launched on "*) ok "why hello@4: now launched" ;; *) not_ok "why hello@4: now launched" ;; esac
case $(api_get hello@4.service) in *'"reason"'*) not_ok "API: hello@4 has no reason any more" ;; *) ok "API: hello@4 has no reason any more" ;; esac
fok "destroy the hello units" fctl destroy hello@2.service hello@3.service hello@4.service

# --- a wait that can no longer end (issue 12) -----------------------------------------------------
# Stop m3's fleetd: units pinned to m3 are scheduled there but never report a state.
API=m1
ID3=$(machine_id m3)
mkunit stuck.service "e2e stuck" "MachineID=$ID3"
check "SIGSTOP m3's fleetd" machine_exec m3 systemctl kill -s SIGSTOP fleet.service
at_exit machine_exec m3 systemctl kill -s SIGCONT fleet.service
scheduled_m3() { etcdctl_c get --keys-only "$P/schedule/$ID3/stuck.service" | grep -q .; }

fctl start "$TMP/stuck.service" >"$TMP/start1.out" 2>&1 &
pid=$!
check "stuck.service scheduled on m3" wait_for $T scheduled_m3
check "fleetctl start still waiting" kill -0 $pid
fok "destroy stuck.service (another client)" fctl destroy --no-block stuck.service
check "the waiting start ended" wait_for $T eval "! kill -0 $pid 2>/dev/null"
wait $pid
is "$?" 1 "start of a unit destroyed meanwhile: exit 1"
diag "$(cat "$TMP/start1.out")"
check "it says the unit was destroyed" grep -q "Unit stuck.service was destroyed while waiting for it to be launched" "$TMP/start1.out"

fctl start "$TMP/stuck.service" >"$TMP/start2.out" 2>&1 &
pid=$!
check "stuck.service scheduled on m3 again" wait_for $T scheduled_m3
check "fleetctl start waiting again" kill -0 $pid
fok "load --no-block stuck.service (another client sets loaded)" fctl load --no-block stuck.service
check "the waiting start ended" wait_for $T eval "! kill -0 $pid 2>/dev/null"
wait $pid
is "$?" 1 "start of a unit set to loaded meanwhile: exit 1"
diag "$(cat "$TMP/start2.out")"
check "it says who changed what" grep -q "Unit stuck.service was set to loaded by someone else while waiting for it to be launched" "$TMP/start2.out"
check "SIGCONT m3's fleetd" machine_exec m3 systemctl kill -s SIGCONT fleet.service
fok "destroy stuck.service" fctl destroy stuck.service
done_testing
