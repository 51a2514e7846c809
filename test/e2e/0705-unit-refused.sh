#!/bin/bash
# SPDX-License-Identifier: MIT
# 0705-unit-refused: systemd refuses or fails units that fleet asks it to start (1 machine,
# agent_ttl 10s), next to a healthy unit:
#   - bad-exec.service: ExecStart= names a missing binary (Type=exec: the start job fails);
#   - exit.service: its main process exits with an error at once (/bin/false);
#   - noexec.service: no ExecStart= at all (systemd: bad-setting, StartUnit is refused).
# Each is reported in fleet's own view (fleetctl list-units / the unit state in etcd): failed,
# or for the refused one inactive with load state bad-setting. A start that systemd refuses is
# retried with backoff; a unit that started and then failed is left failed (as in fleet v1.0:
# systemd's Restart= retries a failing service). Over a 20 s window the start attempts (systemd's
# journal, fleetd's log and task metrics) and fleetd's CPU time are printed: no busy loop. The
# healthy unit is untouched (same MainPID), a unit submitted meanwhile starts normally, and a
# fixed unit file (destroy + start) runs.
set -u
. "$(dirname "$0")/lib.sh"
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
export FLEET_CLUSTER_AGENT_TTL=10s
WINDOW=20

FLEETCTL=$E2E_ROOT/$BUILD/bin/fleetctl
case $BUILD in /*) FLEETCTL=$BUILD/bin/fleetctl ;; esac
[ -x "$FLEETCTL" ] || bail_out "$FLEETCTL is not built"
TMP=$(mktemp -d /tmp/fleet-e2e-07.XXXXXX)
at_exit rm -rf "$TMP"
cluster_up 1

T=10
fctl() { FLEETCTL_ENDPOINT="http://$(machine_ip m1):49153" timeout 60 "$FLEETCTL" "$@"; }
# (sdp, metric, attempts and refused are probes: see lib.sh)
sdp() { probe machine_exec m1 systemctl show -p "$2" --value "$1"; }
P=/_coreos.com/fleet
registered() { [ "$(etcdctl_c get --prefix --keys-only "$P/machine/" | grep -c .)" = 1 ]; }
cpu_ticks() { machine_exec m1 cat "/proc/$1/stat" 2>/dev/null | sed 's/.*) //' | awk '{ print $12 + $13 }'; }
TCK=$(getconf CLK_TCK)
# list-units: "ACTIVE SUB LOAD" of UNIT
lu() { fctl list-units --no-legend --full --fields unit,active,sub,load 2>/dev/null | awk -v u="$1" '$1 == u { print $2, $3, $4 }'; }
# the unit state fleet published in etcd (the API's and list-units' source)
st() { etcdctl_c get --print-value-only "$P/state/$1/$(machine_id m1)"; }
# start attempts as systemd logged them
attempts() { probe machine_exec m1 journalctl -u "$1" -o cat --no-pager | grep -c -E "$2"; }
# start attempts fleetd logged as failed tasks
refused() { probe machine_exec m1 journalctl -u fleet.service -o cat --no-pager | grep -c "Task failed: start $1"; }

check "m1 registered" wait_for $T registered
printf '[Unit]\nDescription=e2e healthy\n\n[Service]\nExecStart=/bin/sleep infinity\n' >"$TMP/good.service"
printf '[Unit]\nDescription=e2e missing binary\n\n[Service]\nType=exec\nExecStart=/nonexistent/flt-missing-binary\n' >"$TMP/bad-exec.service"
printf '[Unit]\nDescription=e2e exits at once\n\n[Service]\nExecStart=/bin/false\n' >"$TMP/exit.service"
printf '[Unit]\nDescription=e2e no ExecStart\n\n[Service]\nType=simple\n' >"$TMP/noexec.service"
out=$(cd "$TMP" && fctl start --block-attempts=10 good.service 2>&1)
is "$?" 0 "start good.service"
check "good.service active" wait_for $T eval '[ "$(sdp good.service ActiveState)" = active ]'
G=$(sdp good.service MainPID)
F=$(sdp fleet.service MainPID)
out=$(cd "$TMP" && fctl start --no-block bad-exec.service exit.service noexec.service 2>&1)
rc=$?
is "$rc" 0 "fleetctl start --no-block bad-exec exit noexec: accepted"
diag "$out"

# --- reported as failed ---------------------------------------------------------------------------
check "systemd: bad-exec.service failed" wait_for $T eval '[ "$(sdp bad-exec.service ActiveState)" = failed ]'
check "systemd: exit.service failed" wait_for $T eval '[ "$(sdp exit.service ActiveState)" = failed ]'
check "systemd: noexec.service refused (LoadState bad-setting)" wait_for $T eval '[ "$(sdp noexec.service LoadState)" = bad-setting ]'
for u in bad-exec.service exit.service; do
	check "fleetctl list-units: $u failed" wait_for $T eval '[ "$(lu '"$u"' | cut -d" " -f1)" = failed ]'
	diag "$u: list-units '$(lu $u)'; state in etcd: $(st $u)"
done
check "fleetctl list-units: noexec.service inactive, load state bad-setting" wait_for $T eval \
	'[ "$(lu noexec.service)" = "inactive dead bad-setting" ]'
diag "noexec.service: list-units '$(lu noexec.service)'; state in etcd: $(st noexec.service)"

# --- retried, without a busy loop -------------------------------------------------------------------
a0=$(attempts bad-exec.service "Failed with result") e0=$(attempts exit.service "Failed with result") n0=$(refused noexec.service)
t0=$(metric m1 fleet_agent_task_count_total) f0=$(metric m1 fleet_agent_task_failure_count_total)
c0=$(cpu_ticks "$F")
sleep $WINDOW
a1=$(attempts bad-exec.service "Failed with result") e1=$(attempts exit.service "Failed with result") n1=$(refused noexec.service)
t1=$(metric m1 fleet_agent_task_count_total) f1=$(metric m1 fleet_agent_task_failure_count_total)
c1=$(cpu_ticks "$F")
# a probe of the window that failed makes every result drawn from the window "not ok"
wbad=$(probe_take)
window() { [ -z "$wbad" ] || probe_failed "$wbad"; }
cpu=$(awk -v a="$c0" -v b="$c1" -v t="$TCK" 'BEGIN { printf "%.2f", (b - a) / t }')
diag "in ${WINDOW} s: bad-exec started $((a1 - a0)) time(s), exit $((e1 - e0)) time(s) (systemd's journal); noexec refused $((n1 - n0)) time(s) (fleetd's log); fleetd ran $((t1 - t0)) task(s), $((f1 - f0)) failed; fleetd CPU ${cpu} s"
# A start that systemd refuses is a failed task: retried with backoff (1 s, doubling, at most 60 s).
# A unit that started and then failed is not started again by fleet (as in fleet v1.0: systemd's
# Restart= is the way to retry a failing service); the test only checks it is not busy-looped.
window; check "noexec.service: the refused start is retried (${WINDOW} s window)" test $((n1 - n0)) -ge 1
window; check "no busy loop: at most one start attempt a second per unit" \
	test $((a1 - a0)) -le $WINDOW -a $((e1 - e0)) -le $WINDOW -a $((n1 - n0)) -le $WINDOW
window; check "no busy loop: at most 3 fleetd tasks (completed or failed) a second for the three units" test $((t1 - t0 + f1 - f0)) -le $((3 * WINDOW))
is "$(sdp fleet.service MainPID)" "$F" "fleetd still the same process"
is "$(sdp good.service MainPID)" "$G" "good.service untouched (same MainPID)"
printf '[Unit]\nDescription=e2e healthy 2\n\n[Service]\nExecStart=/bin/sleep infinity\n' >"$TMP/good2.service"
out=$(cd "$TMP" && fctl start --block-attempts=10 good2.service 2>&1)
is "$?" 0 "start good2.service while the failing units are retried"
check "good2.service active" wait_for $T eval '[ "$(sdp good2.service ActiveState)" = active ]'
check "fleetctl list-units: good.service active" eval '[ "$(lu good.service | cut -d" " -f1)" = active ]'
machine_exec m1 journalctl -u fleet -o cat --no-pager | grep -E 'bad-exec|exit.service|noexec' | tail -n 8 | diag

# --- fixed: the unit is replaced by a working one --------------------------------------------------
fctl destroy exit.service >/dev/null 2>&1
printf '[Unit]\nDescription=e2e fixed\n\n[Service]\nExecStart=/bin/sleep infinity\n' >"$TMP/exit.service"
out=$(cd "$TMP" && fctl start --block-attempts=10 exit.service 2>&1)
is "$?" 0 "destroy exit.service, start a fixed exit.service"
check "exit.service active now, list-units says so" wait_for $T eval '[ "$(sdp exit.service ActiveState)" = active ] && [ "$(lu exit.service | cut -d" " -f1)" = active ]'

done_testing
