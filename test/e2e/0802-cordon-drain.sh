#!/bin/bash
# SPDX-License-Identifier: MIT
# 0802-cordon-drain: fleet-c's cordon, uncordon and drain on 3 machines (agent_ttl 5s), in
# systemd's own view inside the machines:
#   - cordon (by ID prefix): new units never land on the cordoned machine, a global unit still
#     runs there; list-machines --fields state shows it (default columns unchanged); unknown or
#     missing machines are errors; uncordon lets new units land there again;
#   - drain: every non-global unit leaves the machine, each stopped there (its ExecStop= ran)
#     before it started elsewhere (journal timestamps), a MachineOf sidekick with its leader,
#     Conflicts respected; only the global unit is left; the state column says draining;
#   - a drained unit pinned to the machine (MachineID=) is stopped, drain says it cannot be
#     placed elsewhere and exits 1;
#   - a drain that races a machine crash: every unit ends up active exactly once elsewhere.
set -u
. "$(dirname "$0")/lib.sh"
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
. "$(dirname "$0")/lib-scenario.sh"

ID1=$(machine_id m1) ID2=$(machine_id m2) ID3=$(machine_id m3)
# list-machines state of machine M
lm_state() { fctl list-machines --no-legend --full --fields machine,state 2>/dev/null | awk -v id="$(machine_id "$1")" '$1 == id { print $2 }'; }
# the units of ours active on machine M, sorted
ours_on() { local u s=""; for u in $UNITS; do unit_active "$1" "$u" && s+="$u "; done; echo "${s% }"; }
# unix time (µs) of the last "Stopped"/"Deactivated" line of UNIT on M, and of the first "Started"
t_stopped() { machine_exec "$1" journalctl -u "$2" -o short-unix --no-pager 2>/dev/null | grep -E "Stopped|Deactivated successfully" | tail -1 | awk '{ sub(/\./, "", $1); print $1 }'; }
t_started() { machine_exec "$1" journalctl -u "$2" -o short-unix --no-pager 2>/dev/null | grep "Started" | head -1 | awk '{ sub(/\./, "", $1); print $1 }'; }
active_once() { [ "$(active_on "$1" | wc -w)" = 1 ]; }

check "3 machines registered" wait_for $T machines_up 3
printf '[Unit]\nDescription=e2e global\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[X-Fleet]\nGlobal=true\n' >"$TMP/g.service"
fok "start the global unit" fctl start "$TMP/g.service"
check "g.service active on m1 m2 m3" wait_for $T active_is g.service "m1 m2 m3"

# --- cordon --------------------------------------------------------------------------------------
is "$(fctl list-machines | head -1 | tr -s '\t' ' ')" "MACHINE IP METADATA" "list-machines: default columns unchanged"
fok "cordon m1 by an 8-character prefix" fctl cordon "${ID1:0:8}"
is "$OUT" "Machine $ID1 cordoned" "cordon says which machine"
is "$(lm_state m1) $(lm_state m2)" "cordoned -" "list-machines --fields state: m1 cordoned, m2 -"
out=$(fctl cordon ffffffffff 2>&1)
is "$?" 1 "cordon of an unknown machine: exit 1"
is "$out" "Error cordoning machine: machine ffffffffff does not exist" "cordon of an unknown machine: message"
out=$(fctl cordon 2>&1)
is "$?" 1 "cordon without a machine: exit 1"
out=$(fctl drain 2>&1)
is "$?" 1 "drain without a machine: exit 1"
for i in 1 2 3 4; do mkunit "a$i.service" "e2e a$i"; done
fok "start a1..a4" fblock start "$TMP/a1.service" "$TMP/a2.service" "$TMP/a3.service" "$TMP/a4.service"
UNITS="a1.service a2.service a3.service a4.service"
is "$(ours_on m1)" "" "none of a1..a4 on the cordoned m1"
check "g.service still active on m1" unit_active m1 g.service
fok "uncordon m1" fctl uncordon "${ID1:0:8}"
is "$(lm_state m1)" "-" "list-machines --fields state: m1 -"
mkunit a5.service "e2e a5"
fok "start a5" fblock start "$TMP/a5.service"
check "a5 lands on the uncordoned, least-loaded m1" wait_for $T active_is a5.service m1
fok "destroy a1..a5" fctl destroy a1.service a2.service a3.service a4.service a5.service

# --- drain ----------------------------------------------------------------------------------------
# Cordons place the units for the test: web (its ExecStop leaves a mark), its sidekick and x@1
# on m1, x@2 (Conflicts=x@*) on m2.
printf '[Unit]\nDescription=e2e web\n\n[Service]\nExecStart=/bin/sleep infinity\nExecStop=/bin/sh -c "echo stopped >/run/e2e-web-stopped"\n' >"$TMP/web.service"
mkunit side.service "e2e sidekick" "MachineOf=web.service"
mkunit "x@1.service" "e2e x1" "Conflicts=x@*.service"
mkunit "x@2.service" "e2e x2" "Conflicts=x@*.service"
fok "cordon m2 m3" fctl cordon "$ID2" "$ID3"
fok "start web side x@1 (onto m1)" fblock start "$TMP/web.service" "$TMP/side.service" "$TMP/x@1.service"
fok "uncordon m2, cordon m1" eval 'fctl uncordon "$ID2" && fctl cordon "$ID1"'
fok "start x@2 (onto m2)" fblock start "$TMP/x@2.service"
fok "uncordon m1 m3" fctl uncordon "$ID1" "$ID3"
check "web side x@1 active on m1, x@2 on m2" wait_for $T eval '[ "$(active_on web.service) $(active_on side.service) $(active_on x@1.service) $(active_on x@2.service)" = "m1 m1 m1 m2" ]'
UNITS="web.service side.service x@1.service x@2.service g.service"
diag "before the drain: m1: $(ours_on m1); m2: $(ours_on m2); m3: $(ours_on m3)"

fok "drain m1" fctl drain "${ID1:0:12}"
case $OUT in *"Machine $ID1 drained"*) ok "drain reports the machine drained" ;; *) not_ok "drain reports the machine drained" ;; esac
is "$(ours_on m1)" "g.service" "only the global unit is left on m1"
w=$(active_on web.service) s=$(active_on side.service) x=$(active_on x@1.service)
diag "after the drain: web on '$w', side on '$s', x@1 on '$x'"
check "web runs on one other machine" eval '[ "$w" = m2 ] || [ "$w" = m3 ]'
is "$s" "$w" "its sidekick moved with it"
is "$x" "m3" "x@1 went to m3 (Conflicts with x@2 on m2)"
is "$(machine_exec m1 cat /run/e2e-web-stopped 2>/dev/null)" "stopped" "web's ExecStop ran on m1"
stop_t=$(t_stopped m1 web.service) start_t=$(t_started "$w" web.service)
diag "web stopped on m1 at $stop_t, started on $w at $start_t"
check "web stopped on m1 before it started on $w" [ -n "$stop_t" ] && [ -n "$start_t" ] && [ "$stop_t" -le "$start_t" ]
stop_t=$(t_stopped m1 x@1.service) start_t=$(t_started m3 x@1.service)
check "x@1 stopped on m1 before it started on m3" [ -n "$stop_t" ] && [ -n "$start_t" ] && [ "$stop_t" -le "$start_t" ]
is "$(lm_state m1)" "draining" "list-machines --fields state: m1 draining"
mkunit n1.service "e2e new"
fok "start a new unit" fblock start "$TMP/n1.service"
check "it does not land on the draining m1" eval '! unit_active m1 n1.service'

# a unit pinned to the drained machine
fok "uncordon m1" fctl uncordon "$ID1"
mkunit pinned.service "e2e pinned" "MachineID=$ID1"
fok "start pinned (MachineID=m1)" fblock start "$TMP/pinned.service"
out=$(fctl drain "$ID1" 2>&1)
rc=$?
diag "$out"
is "$rc" 1 "drain with a pinned unit: exit 1"
case $out in *"Unit pinned.service cannot be placed elsewhere: "*) ok "drain says the pinned unit cannot be placed" ;; *) not_ok "drain says the pinned unit cannot be placed" ;; esac
check "pinned.service stopped on m1" eval '! unit_active m1 pinned.service'
fok "destroy pinned n1" fctl destroy pinned.service n1.service
fok "uncordon m1" fctl uncordon "$ID1"

# --- a drain racing a machine crash -----------------------------------------------------------------
for i in 1 2 3 4; do mkunit "c$i.service" "e2e c$i"; done
fok "cordon m1 m3" fctl cordon "$ID1" "$ID3"
fok "start c1..c4 (onto m2)" fblock start "$TMP/c1.service" "$TMP/c2.service" "$TMP/c3.service" "$TMP/c4.service"
fok "uncordon m1 m3" fctl uncordon "$ID1" "$ID3"
check "c1..c4 on m2" wait_for $T eval '[ "$(active_on c1.service)$(active_on c2.service)$(active_on c3.service)$(active_on c4.service)" = m2m2m2m2 ]'
fok "drain m2 --no-block" fctl drain --no-block "$ID2"
fleet_cluster kill m2 2>&1 | diag
LIVE="m1 m3"
for i in 1 2 3 4; do
	check "c$i active exactly once, on m1 or m3" wait_for 30 active_once "c$i.service"
done
diag "c1..c4 on: $(active_on c1.service) $(active_on c2.service) $(active_on c3.service) $(active_on c4.service)"
done_testing
