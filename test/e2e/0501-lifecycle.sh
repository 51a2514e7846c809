#!/bin/bash
# SPDX-License-Identifier: MIT
# 0501-lifecycle: the life of units driven by fleetctl on 3 machines, checked at every step in
# systemd's own view inside the machines (systemctl show / is-active), not only in fleetctl's:
#   - a single unit: submit (known nowhere) -> load (file linked on one machine, inactive) ->
#     start (active there) -> stop (loaded, inactive) -> start (same machine) -> unload (gone
#     from systemd) -> destroy (gone from the registry);
#   - a template and its instances: the template cannot be started; instances created from the
#     registry's template get their %i, spread by Conflicts; stop, unload, destroy per instance;
#   - start --replace with new content restarts only that unit (another keeps its MainPID);
#   - list-unit-files and list-units are sorted (by name; by unit then machine).
set -u
. "$(dirname "$0")/lib.sh"
# FLEET_E2E_INDEX_BASE: machine IPs 127.0.0.(10+BASE+i), for running next to another cluster
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE

. "$(dirname "$0")/lib-scenario.sh"

check "3 machines in fleetctl list-machines" wait_for $T machines_up 3

# --- a single unit ---------------------------------------------------------------------------
mkunit life.service "e2e lifecycle"
fok "submit life.service" fctl submit "$TMP/life.service"
is "$(ulf life.service)" "inactive inactive -" "submit: list-unit-files says inactive, not scheduled"
is "$(loaded_on life.service)" "" "submit: systemd knows life.service on no machine"
fok "load life.service" fblock load "$TMP/life.service"
M=$(target life.service)
is "$(ulf life.service)" "loaded loaded ${M:-?}" "load: list-unit-files says loaded on one machine ($M)"
check "load: systemd on $M has it loaded, and only there" wait_for $T loaded_is life.service "$M"
is "$(sdp "${M:-m1}" life.service ActiveState)" inactive "load: $M: life.service not started (ActiveState inactive)"
check "load: $M: /run/fleet/units/life.service is the unit file" machine_exec "${M:-m1}" test -f /run/fleet/units/life.service
fok "start life.service" fblock start life.service
is "$(active_on life.service)" "$M" "start: systemd: life.service active on $M only"
is "$(lu life.service)" "$M active running" "start: list-units: active/running on $M"
is "$(ulf life.service)" "launched launched $M" "start: list-unit-files: launched on $M"
pid=$(sdp "${M:-m1}" life.service MainPID)
fok "stop life.service" fblock stop life.service
stopped() { [ "$(sdp "$M" life.service ActiveState)/$(sdp "$M" life.service LoadState)" = inactive/loaded ]; }
check "stop: $M: life.service inactive but still loaded" wait_for $T stopped
is "$(active_on life.service)" "" "stop: active nowhere"
is "$(ulf life.service)" "loaded loaded $M" "stop: list-unit-files: loaded on $M"
fok "start life.service again" fblock start life.service
is "$(active_on life.service)" "$M" "start again: active on the same machine $M"
pid2=$(sdp "${M:-m1}" life.service MainPID)
[ "$pid2" != "$pid" ] && [ "$pid2" != 0 ] && ok "start again: a new process ($pid -> $pid2)" ||
	not_ok "start again: a new process ($pid -> $pid2)"
fok "unload life.service" fblock unload life.service
check "unload: systemd on $M does not know life.service any more" wait_for $T eval '[ "$(sdp "$M" life.service LoadState)" = not-found ]'
check "unload: the unit file is removed from $M" machine_exec "${M:-m1}" test ! -e /run/fleet/units/life.service
is "$(loaded_on life.service)" "" "unload: loaded nowhere"
is "$(ulf life.service)" "inactive inactive -" "unload: list-unit-files: inactive, not scheduled"
fok "destroy life.service" fctl destroy life.service
is "$(ulf life.service)" "" "destroy: gone from list-unit-files"
out=$(fctl cat life.service 2>&1)
rc=$?
# (it must fail because the unit is not found, not because fleetctl could not ask)
[ "$rc" != 0 ] && grep -q "Unit life.service not found" <<<"$out" && ok "destroy: fleetctl cat life.service fails ($out)" ||
	not_ok "destroy: fleetctl cat life.service fails ($out)"

# destroy of a running unit stops and unloads it
mkunit gone.service "e2e destroyed while running"
fok "start gone.service" fblock start "$TMP/gone.service"
G=$(target gone.service)
check "gone.service active on $G" wait_for $T active_is gone.service "$G"
fok "destroy gone.service while it runs" fctl destroy gone.service
check "destroy: gone.service stopped and unloaded on $G" wait_for $T eval '[ "$(sdp "$G" gone.service LoadState)" = not-found ]'
is "$(lu gone.service)" "" "destroy: no list-units row left"

# --- a template and its instances -------------------------------------------------------------
mkunit tpl@.service "e2e template %i" 'Conflicts=tpl@*.service'
fok "submit the template tpl@.service" fctl submit "$TMP/tpl@.service"
is "$(ulf tpl@.service)" "inactive inactive -" "the template is listed, inactive"
out=$(fctl start --no-block tpl@.service 2>&1)
rc=$?
if [ "$rc" != 0 ] && grep -q 'cannot activate template' <<<"$out"; then ok "start of the template itself is refused ($out)"
else not_ok "start of the template itself is refused"; diag "exit $rc: $out"; fi
is "$(ulf tpl@.service)" "inactive inactive -" "the template stays inactive"
# instances from the registry's template (no file for them on disk here)
mkdir -p "$TMP/empty"
fok "start tpl@1 tpl@2 (created from the registry's template)" \
	eval 'cd "$TMP/empty" && fblock start tpl@1.service tpl@2.service'
T1=$(target tpl@1.service) T2=$(target tpl@2.service)
check "tpl@1 and tpl@2 on two different machines ($T1, $T2)" test -n "$T1" -a -n "$T2" -a "$T1" != "$T2"
is "$(active_on tpl@1.service)/$(active_on tpl@2.service)" "$T1/$T2" "systemd: tpl@1 active on $T1 only, tpl@2 on $T2 only"
is "$(sdp "${T1:-m1}" tpl@1.service Description)" "e2e template 1" "systemd on $T1: tpl@1's Description has its instance (%i -> 1)"
is "$(sdp "${T2:-m1}" tpl@2.service Description)" "e2e template 2" "systemd on $T2: tpl@2's Description has its instance (%i -> 2)"
fok "load tpl@3 (path next to the template file)" fblock load "$TMP/tpl@3.service"
T3=$(target tpl@3.service)
check "tpl@3 on the third machine ($T3)" test -n "$T3" -a "$T3" != "$T1" -a "$T3" != "$T2"
check "systemd on $T3: tpl@3 loaded, not active" eval '[ "$(sdp "$T3" tpl@3.service LoadState)/$(sdp "$T3" tpl@3.service ActiveState)" = loaded/inactive ]'
fok "stop tpl@1" fblock stop tpl@1.service
check "systemd on $T1: tpl@1 inactive, still loaded" wait_for $T eval '[ "$(sdp "$T1" tpl@1.service ActiveState)/$(sdp "$T1" tpl@1.service LoadState)" = inactive/loaded ]'
is "$(active_on tpl@2.service)" "$T2" "tpl@2 still active on $T2"
fok "unload tpl@2" fblock unload tpl@2.service
check "systemd on $T2: tpl@2 gone" wait_for $T eval '[ "$(sdp "$T2" tpl@2.service LoadState)" = not-found ]'
is "$(ulf tpl@1.service)|$(ulf tpl@2.service)|$(ulf tpl@3.service)" "loaded loaded $T1|inactive inactive -|loaded loaded $T3" \
	"list-unit-files: tpl@1 loaded, tpl@2 inactive, tpl@3 loaded"
fok "destroy the instances" fctl destroy tpl@1.service tpl@2.service tpl@3.service
check "instances gone from systemd everywhere" wait_for $T eval '[ -z "$(loaded_on tpl@1.service)$(loaded_on tpl@3.service)" ]'
is "$(fctl list-unit-files --no-legend --fields unit 2>&1)" "tpl@.service" "only the template is left"
fok "destroy the template" fctl destroy tpl@.service
is "$(probe fctl list-unit-files --no-legend --fields unit)" "" "nothing left in list-unit-files"

# --- start --replace: only the replaced unit restarts ----------------------------------------
mkunit ra.service "e2e replace v1"
mkunit rb.service "e2e replace bystander"
fok "start ra.service rb.service" fblock start "$TMP/ra.service" "$TMP/rb.service"
A=$(target ra.service) B=$(target rb.service)
check "ra active on $A, rb active on $B" eval '[ "$(active_on ra.service)/$(active_on rb.service)" = "$A/$B" ]'
apid=$(sdp "${A:-m1}" ra.service MainPID) bpid=$(sdp "${B:-m1}" rb.service MainPID)
hb=$(probe fctl list-unit-files --no-legend --full --fields unit,hash | awk '$1 == "rb.service" {print $2}')
diag "ra on $A pid $apid, rb on $B pid $bpid"
mkunit ra.service "e2e replace v2"
out=$(fctl start "$TMP/ra.service" 2>&1)
if grep -q 'differs from local unit file' <<<"$out"; then ok "start without --replace: warns that the local file differs"
else not_ok "start without --replace: warns that the local file differs"; diag "$out"; fi
is "$(sdp "${A:-m1}" ra.service Description)" "e2e replace v1" "without --replace the registry's version runs on"
fok "start --replace ra.service (new content)" fblock start --replace "$TMP/ra.service"
ra_v2() { local m; m=$(active_on ra.service); [ -n "$m" ] && [ "$(wc -w <<<"$m")" = 1 ] && [ "$(sdp "$m" ra.service Description)" = "e2e replace v2" ]; }
check "ra.service runs its new content (Description v2) on one machine" wait_for $T ra_v2
A2=$(active_on ra.service)
apid2=$(sdp "${A2:-m1}" ra.service MainPID)
[ -n "$apid2" ] && [ "$apid2" != 0 ] && { [ "$A2" != "$A" ] || [ "$apid2" != "$apid" ]; } &&
	ok "ra.service was restarted ($A pid $apid -> $A2 pid $apid2)" || not_ok "ra.service was restarted ($A pid $apid -> $A2 pid $apid2)"
is "$(active_on rb.service) $(sdp "${B:-m1}" rb.service MainPID)" "$B $bpid" "rb.service untouched: same machine, same MainPID"
is "$(fctl cat ra.service 2>&1 | grep Description=)" "Description=e2e replace v2" "fleetctl cat ra.service shows the new content"
is "$(probe fctl list-unit-files --no-legend --full --fields unit,hash | awk '$1 == "rb.service" {print $2}')" "$hb" "rb.service's hash unchanged"
is "$(loaded_on ra.service)" "$A2" "ra.service loaded only where it runs"

# --- ordering of list-unit-files and list-units ----------------------------------------------
for n in zeta.service a-b.service alpha.service b.service a@1.service a@.service m.service 0.service; do
	mkunit "$n" "e2e order $n"
done
fok "submit units in scrambled order" fctl submit "$TMP/zeta.service" "$TMP/a-b.service" "$TMP/m.service" \
	"$TMP/alpha.service" "$TMP/b.service" "$TMP/a@.service" "$TMP/0.service"
fok "start a@1 (from the template)" fblock start a@1.service
got=$(fctl list-unit-files --no-legend --fields unit 2>&1)
want=$(printf '%s\n' zeta.service a-b.service alpha.service b.service a@1.service a@.service m.service 0.service ra.service rb.service | LC_ALL=C sort)
is "$got" "$want" "list-unit-files: sorted by unit name"
mkunit glob.service "e2e global" 'Global=true'
fok "start glob.service (global)" fctl start "$TMP/glob.service"
check "glob.service active on all 3 machines" wait_for $T active_is glob.service "m1 m2 m3"
three_rows() { [ "$(fctl list-units --no-legend --fields unit | grep -c '^glob.service$')" = 3 ]; }
check "list-units: glob.service has one row per machine" wait_for $T three_rows
got=$(fctl list-units --no-legend --full --fields unit,machine 2>&1)
is "$got" "$(LC_ALL=C sort <<<"$got")" "list-units: sorted by unit, then machine ID"
diag "$got"
is "$(fctl list-unit-files --no-legend --fields unit,dstate,state,target | awk '$1 == "glob.service" {print $2, $3, $4}')" \
	"launched - global" "list-unit-files: a global unit shows state - and target global"

done_testing
