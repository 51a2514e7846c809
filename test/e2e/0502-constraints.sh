#!/bin/bash
# SPDX-License-Identifier: MIT
# 0502-constraints: [X-Fleet] scheduling on 3 machines with metadata (m1 none, m2 region=us +
# disk=ssd, m3 region=eu + disk=ssd), checked in systemd's own view inside the machines:
#   - Conflicts spreads template instances; one too many waits, and takes a freed machine;
#   - one-way conflicts (declared by one unit) keep both units apart, whichever comes first;
#   - MachineOf: a follower waits for its leader, goes where it is, leaves with it;
#   - MachineID pins (full and short ID; an absent machine: never scheduled);
#   - MachineMetadata: static from fleet.conf, OR of values, AND of keys, fleet-c's "!=", for
#     scheduled and global units; dynamic through PATCH /fleet/v1/machines (units follow the
#     metadata as it changes, without moving for balance);
#   - Replaces: the replacing unit takes the machine, the replaced one moves away;
#   - global units and Conflicts: with a scheduled unit (both ways), and between two globals
#     (the first by name wins everywhere).
set -u
. "$(dirname "$0")/lib.sh"
# FLEET_E2E_INDEX_BASE: machine IPs 127.0.0.(10+BASE+i), for running next to another cluster
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
export FLEET_CLUSTER_METADATA_m2="region=us,disk=ssd"
export FLEET_CLUSTER_METADATA_m3="region=eu,disk=ssd"

. "$(dirname "$0")/lib-scenario.sh"

# X-Fleet constraints may use these
ID2=$(machine_id m2) ID3=$(machine_id m3)
# PATCH /fleet/v1/machines: md OP MACHINE KEY [VALUE]
md() {
	local op=$1 id body
	id=$(machine_id "$2")
	if [ "$op" = remove ]; then body="[{\"op\":\"remove\",\"path\":\"/$id/metadata/$3\"}]"
	else body="[{\"op\":\"$op\",\"path\":\"/$id/metadata/$3\",\"value\":{\"value\":\"$4\"}}]"; fi
	curl -sS -m 5 -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/json' \
		-d "$body" "http://$(machine_ip "$API"):49153/fleet/v1/machines"
}
# list-machines metadata column of machine M
lm_md() { fctl list-machines --no-legend --full 2>/dev/null | awk -v id="$(machine_id "$1")" '$1 == id { print $3 }'; }
unscheduled() { [ "$(ulf "$1")" = "launched inactive -" ] && [ -z "$(active_on "$1")" ]; }
# the engine leader's log line "Unable to schedule UNIT: REASON" (the last one)
P=/_coreos.com/fleet
leader_m() {
	local id m
	id=$(etcdctl_c get --print-value-only "$P/engine/leader" | sed -n 's/.*"MachineID":"\([0-9a-f]*\)".*/\1/p')
	for m in $LIVE; do [ "$(machine_id "$m")" != "$id" ] || echo "$m"; done
}
engine_reason() {
	local m
	m=$(leader_m)
	[ -n "$m" ] && machine_exec "$m" journalctl -u fleet.service -o cat --no-pager 2>/dev/null |
		grep -F "Unable to schedule $1: " | tail -1
}
# refused UNIT: the engine considered UNIT and left it unscheduled (as its log says), and it runs
# nowhere; the reason goes to diag
refused() { engine_reason "$1" | grep -q . && unscheduled "$1"; }
crefused() {
	local desc=$1 u=$2
	if wait_for $T refused "$u"; then ok "$desc"; else not_ok "$desc"; diag "list-unit-files: $(ulf "$u"); active on: $(active_on "$u")"; fi
	diag "engine: $(engine_reason "$u")"
}
# start with --no-block (for units that cannot be placed)
fnb() { fctl start --no-block "$@"; }
destroy_all() {
	local us
	us=$(fctl list-unit-files --no-legend --fields unit 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$us" ] || fctl destroy $us >/dev/null 2>&1
	wait_for $T eval '[ -z "$(probe machine_exec m1 ls -A /run/fleet/units)$(probe machine_exec m2 ls -A /run/fleet/units)$(probe machine_exec m3 ls -A /run/fleet/units)" ]'
}

check "3 machines in fleetctl list-machines" wait_for $T machines_up 3
is "$(lm_md m1)|$(lm_md m2)|$(lm_md m3)" "-|disk=ssd,region=us|disk=ssd,region=eu" \
	"list-machines: static metadata from fleet.conf (m2, m3), none on m1"

# --- Conflicts spreads instances; the one too many waits for a free machine -------------------
mkunit c@.service "e2e conflicts %i" 'Conflicts=c@*.service'
fok "start c@1 c@2 c@3 (Conflicts=c@*.service)" fblock start "$TMP/c@1.service" "$TMP/c@2.service" "$TMP/c@3.service"
spread="$(active_on c@1.service) $(active_on c@2.service) $(active_on c@3.service)"
is "$(tr ' ' '\n' <<<"$spread" | sort | tr '\n' ' ')" "m1 m2 m3 " "systemd: c@1..3 active on 3 different machines ($spread)"
fok "start --no-block c@4" fnb "$TMP/c@4.service"
crefused "c@4: no machine without a c@ instance: stays unscheduled, runs nowhere" c@4.service
C2=$(active_on c@2.service)
fok "destroy c@2" fctl destroy c@2.service
check "c@4 takes the machine c@2 left ($C2)" wait_for $T active_is c@4.service "$C2"
destroy_all

# --- one-way conflicts: declared by one side, they bind both ---------------------------------
# both may run only on m3 (region=eu); only oa declares the conflict
mkunit oa.service "e2e one-way a" 'MachineMetadata=region=eu' 'Conflicts=ob.service'
mkunit ob.service "e2e one-way b" 'MachineMetadata=region=eu'
fok "start ob.service (region=eu)" fblock start "$TMP/ob.service"
is "$(active_on ob.service)" m3 "ob.service runs on m3"
fok "start --no-block oa.service (region=eu, Conflicts=ob.service)" fnb "$TMP/oa.service"
crefused "oa.service is not placed next to ob.service" oa.service
fok "destroy ob.service" fctl destroy ob.service
check "oa.service now runs on m3" wait_for $T active_is oa.service m3
fok "start --no-block ob.service (it declares no conflict)" fnb "$TMP/ob.service"
crefused "ob.service is not placed next to oa.service: the conflict binds both ways" ob.service
is "$(active_on oa.service)|$(active_on ob.service)" "m3|" "oa still on m3, ob nowhere"
destroy_all

# --- MachineOf: a follower waits for its leader and goes where it is --------------------------
fok "start --no-block app.service (MachineOf=db.service) before db" fnb "$E2E_ROOT/units/examples/app.service"
crefused "app.service waits: unscheduled while db.service is not" app.service
fok "start db.service" fblock start "$E2E_ROOT/units/examples/db.service"
D=$(target db.service)
check "app.service follows db.service to $D" wait_for $T active_is app.service "$D"
is "$(active_on db.service)" "$D" "systemd: db.service active on $D"
fok "unload db.service" fblock unload db.service
check "app.service unscheduled with its leader, stopped and unloaded on $D" \
	wait_for $T eval 'unscheduled app.service && [ "$(sdp "$D" app.service LoadState)" = not-found ]'
fok "start db.service again" fblock start db.service
D2=$(target db.service)
check "app.service back with db.service on $D2" wait_for $T eval 'active_is app.service "$D2" && active_is db.service "$D2"'
destroy_all

# --- MachineID pins ---------------------------------------------------------------------------
mkunit pin2.service "e2e pinned to m2" "MachineID=$ID2"
mkunit pin3.service "e2e pinned to m3 by short ID" "MachineID=${ID3:0:8}"
mkunit pinx.service "e2e pinned to an absent machine" "MachineID=0123456789abcdef0123456789abcdef"
fok "start pin2 (MachineID=m2's ID) pin3 (MachineID=m3's 8-character short ID)" fblock start "$TMP/pin2.service" "$TMP/pin3.service"
is "$(active_on pin2.service)|$(active_on pin3.service)" "m2|m3" "systemd: pin2 on m2, pin3 on m3"
fok "start --no-block pinx (MachineID of no machine)" fnb "$TMP/pinx.service"
crefused "pinx.service stays unscheduled" pinx.service
destroy_all

# --- MachineMetadata: static (fleet.conf), OR of values, AND of keys, != --------------------
mkunit x@.service "e2e ssd %i" 'MachineMetadata=disk=ssd' 'Conflicts=x@*.service'
fok "start x@1 x@2 (disk=ssd, Conflicts=x@*)" fblock start "$TMP/x@1.service" "$TMP/x@2.service"
is "$(active_on x@1.service) $(active_on x@2.service)" "$(target x@1.service) $(target x@2.service)" "systemd agrees with fleet on x@1, x@2"
is "$(printf '%s\n' "$(target x@1.service)" "$(target x@2.service)" | sort | tr '\n' ' ')" "m2 m3 " "x@1 and x@2 on the ssd machines m2 and m3"
fok "start --no-block x@3" fnb "$TMP/x@3.service"
crefused "x@3 stays unscheduled: m1 has no disk=ssd" x@3.service
mkunit usssd.service "e2e us and ssd" 'MachineMetadata=region=us' 'MachineMetadata=disk=ssd'
mkunit euap.service "e2e eu or ap" 'MachineMetadata="region=eu" "region=ap"'
fok "start usssd (region=us AND disk=ssd), euap (region=eu OR region=ap)" fblock start "$TMP/usssd.service" "$TMP/euap.service"
is "$(active_on usssd.service)|$(active_on euap.service)" "m2|m3" "systemd: usssd on m2, euap on m3"
fok "start ssd-only.service (example: disk=ssd, region!=eu)" fblock start "$E2E_ROOT/units/examples/ssd-only.service"
is "$(active_on ssd-only.service)" m2 "ssd-only.service on m2 (m3 is region=eu, m1 has no ssd)"
mkunit gnotus.service "e2e global not in us" 'Global=true' 'MachineMetadata=region!=us'
mkunit gssd.service "e2e global ssd" 'Global=true' 'MachineMetadata=disk=ssd'
fok "start global units gnotus (region!=us) and gssd (disk=ssd)" fctl start "$TMP/gnotus.service" "$TMP/gssd.service"
check "gnotus active on m1 (no region) and m3 (eu), not on m2 (us)" wait_for $T active_is gnotus.service "m1 m3"
check "gssd active on m2 and m3, not on m1" wait_for $T active_is gssd.service "m2 m3"
mkunit nowhere.service "e2e region ap" 'MachineMetadata=region=ap'
fok "start --no-block nowhere.service (region=ap)" fnb "$TMP/nowhere.service"
crefused "nowhere.service stays unscheduled" nowhere.service

# --- MachineMetadata: dynamic, through PATCH /fleet/v1/machines -------------------------------
is "$(md replace m2 region eu)" 204 "PATCH: m2 region=eu (overrides fleet.conf's region=us)"
check "list-machines shows m2 with region=eu" wait_for $T eval '[ "$(lm_md m2)" = disk=ssd,region=eu ]'
crefused "ssd-only.service (region!=eu) leaves m2, and has nowhere to go" ssd-only.service
check "usssd.service (region=us) leaves m2 too" wait_for $T unscheduled usssd.service
check "global gnotus (region!=us) now runs on m2 as well" wait_for $T active_is gnotus.service "m1 m2 m3"
is "$(md replace m2 region us)" 204 "PATCH: m2 region=us again"
check "ssd-only.service and usssd.service back on m2" wait_for $T eval 'active_is ssd-only.service m2 && active_is usssd.service m2'
check "gnotus stops on m2" wait_for $T active_is gnotus.service "m1 m3"
destroy_all
mkunit dyn.service "e2e role web" 'MachineMetadata=role=web'
mkunit gdyn.service "e2e global role web" 'Global=true' 'MachineMetadata=role=web'
fok "start --no-block dyn.service (role=web) and global gdyn.service (role=web)" fnb "$TMP/dyn.service" "$TMP/gdyn.service"
crefused "no machine has role=web: dyn.service unscheduled" dyn.service
is "$(active_on gdyn.service)" "" "gdyn runs nowhere"
is "$(md add m1 role web)" 204 "PATCH add: m1 role=web"
check "list-machines shows role=web on m1" wait_for $T eval '[ "$(lm_md m1)" = role=web ]'
check "dyn.service placed on m1" wait_for $T active_is dyn.service m1
check "gdyn.service runs on m1" wait_for $T active_is gdyn.service m1
dpid=$(sdp m1 dyn.service MainPID)
is "$(md add m3 role web)" 204 "PATCH add: m3 role=web"
check "gdyn.service now on m1 and m3" wait_for $T active_is gdyn.service "m1 m3"
is "$(active_on dyn.service) $(sdp m1 dyn.service MainPID)" "m1 $dpid" "dyn.service stays on m1 (same MainPID): no move for balance"
is "$(md remove m1 role)" 204 "PATCH remove: m1 role"
check "dyn.service moves to m3, the machine left with role=web" wait_for $T active_is dyn.service m3
check "gdyn.service stops on m1" wait_for $T active_is gdyn.service m3
is "$(lm_md m1)" "-" "list-machines: m1 without metadata again"
is "$(md replace m3 role db)" 204 "PATCH replace: m3 role=db"
check "dyn.service unscheduled, runs nowhere" wait_for $T unscheduled dyn.service
check "gdyn.service runs nowhere" wait_for $T active_is gdyn.service ""
out=$(curl -sS -m 5 -w ' %{http_code}' -X PATCH -d '[{"op":"add","path":"/x/metadata/a b","value":{"value":"v"}}]' \
	"http://$(machine_ip "$API"):49153/fleet/v1/machines")
case $out in *"machine metadata path invalid"*" 400") ok "PATCH with an invalid path: 400 ($out)" ;;
*) not_ok "PATCH with an invalid path: 400"; diag "$out" ;; esac
md remove m3 role >/dev/null
destroy_all

# --- Replaces: the replacing unit takes the machine, the replaced one moves away ---------------
mkunit old.service "e2e to be replaced"
fok "start old.service" fblock start "$TMP/old.service"
O=$(target old.service)
is "$(md add "${O:-m1}" slot new)" 204 "PATCH: slot=new on old.service's machine $O"
mkunit new.service "e2e replacing" 'MachineMetadata=slot=new' 'Replaces=old.service'
fok "start new.service (MachineMetadata=slot=new, Replaces=old.service)" fblock start "$TMP/new.service"
check "new.service runs on $O" wait_for $T active_is new.service "$O"
moved() { local w; w=$(active_on old.service); [ -n "$w" ] && [ "$w" != "$O" ] && [ "$(wc -w <<<"$w")" = 1 ]; }
check "old.service moved off $O, runs once elsewhere" wait_for $T moved
diag "old.service now on $(active_on old.service)"
is "$(sdp "${O:-m1}" old.service LoadState)" not-found "old.service unloaded from $O"
md remove "${O:-m1}" slot >/dev/null
destroy_all

# --- global units and Conflicts ----------------------------------------------------------------
mkunit x.service "e2e pinned x" "MachineID=$ID2"
fok "start x.service (pinned to m2)" fblock start "$TMP/x.service"
mkunit gc.service "e2e global conflicting with x" 'Global=true' 'Conflicts=x.service'
fok "start global gc.service (Conflicts=x.service)" fctl start "$TMP/gc.service"
check "gc.service runs on m1 and m3, not next to x.service on m2" wait_for $T active_is gc.service "m1 m3"
mkunit y.service "e2e conflicting with a global" 'Conflicts=gc.service'
fok "start y.service (Conflicts=gc.service)" fblock start "$TMP/y.service"
is "$(active_on y.service)" m2 "y.service placed on m2, the only machine without gc.service"
# two global units in conflict: the first by name wins everywhere, whatever the order of start
mkunit gconf-b.service "e2e global b" 'Global=true'
mkunit gconf-a.service "e2e global a" 'Global=true' 'Conflicts=gconf-b.service'
fok "start global gconf-b.service" fctl start "$TMP/gconf-b.service"
check "gconf-b on every machine" wait_for $T active_is gconf-b.service "m1 m2 m3"
fok "start global gconf-a.service (Conflicts=gconf-b.service)" fctl start "$TMP/gconf-a.service"
check "gconf-a (first by name) replaces gconf-b on every machine" \
	wait_for $T eval 'active_is gconf-a.service "m1 m2 m3" && active_is gconf-b.service ""'
fok "destroy gconf-a.service" fctl destroy gconf-a.service
check "gconf-b comes back everywhere" wait_for $T active_is gconf-b.service "m1 m2 m3"
destroy_all

done_testing
