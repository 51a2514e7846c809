#!/bin/bash
# SPDX-License-Identifier: MIT
# 0806-drain-expired: fleet-c's drain of a machine whose lease expired and whose units the
# engine holds (majority rule), on 3 machines, in systemd's own view:
#   - m2 and m3 (agent_ttl 5s) crash, and etcd is paused (SIGSTOP) a little longer than their
#     TTL so that their leases expire together when it resumes (m1 has agent_ttl 30s and keeps
#     its lease): 2 of the 3 machines known expire, so the engine (now on m1) holds their units
#     instead of moving them (fleet_engine_machines_held 2), nothing of theirs starts on m1;
#   - fleetctl drain of the crashed m2 (by ID prefix) releases its units: they start on m1, each
#     once, while m3's stay held;
#   - draining m3 releases the rest; a drain of a machine that neither lives nor has units is
#     still an error.
set -u
. "$(dirname "$0")/lib.sh"
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
export FLEET_CLUSTER_AGENT_TTL=5s FLEET_CLUSTER_CONF_m1="agent_ttl=30s"
. "$(dirname "$0")/lib-scenario.sh"
D=$(fleet_cluster env | sed -n 's/^FLEET_CLUSTER_DIR=//p')
eval "D=$D"
EPID=$(cat "$D/etcd.pid")
[ "$(cat "/proc/$EPID/comm" 2>/dev/null)" = etcd ] || bail_out "no etcd at pid $EPID"
at_exit kill -CONT "$EPID"

ID2=$(machine_id m2) ID3=$(machine_id m3)
UNITS="d@1.service d@2.service d@3.service d@4.service d@5.service d@6.service"
# the units of ours active on machine M, sorted
ours_on() { local u s=""; for u in $UNITS; do unit_active "$1" "$u" && s+="$u "; done; echo "${s% }"; }
held_is() { [ "$(metric m1 fleet_engine_machines_held)" = "$1" ]; }
once() { local u; for u in "$@"; do [ "$(active_on "$u" | wc -w)" = 1 ] || return 1; done; }

check "3 machines registered" wait_for $T machines_up 3
printf '[Unit]\nDescription=e2e drain-expired %%i\n\n[Service]\nExecStart=/bin/sleep infinity\n' >"$TMP/d@.service"
# shellcheck disable=SC2086
out=$(cd "$TMP" && fctl start --block-attempts=10 $UNITS 2>&1)
is "$?" 0 "start d@1..6"
# shellcheck disable=SC2086
check "d@1..6 each active exactly once" wait_for $T once $UNITS
ON1=$(ours_on m1) ON2=$(ours_on m2) ON3=$(ours_on m3)
diag "m1: $ON1; m2: $ON2; m3: $ON3"
check "m2 and m3 run units of ours" [ -n "$ON2" ] && [ -n "$ON3" ]

# --- m2 and m3 crash together: their units are held --------------------------------------------
fleet_cluster kill m2 2>&1 | diag &
fleet_cluster kill m3 2>&1 | diag &
wait
kill -STOP "$EPID"
sleep 7
kill -CONT "$EPID"
LIVE=m1
check "the engine on m1 holds the units of 2 machines" wait_for 40 held_is 2
sleep 2
is "$(ours_on m1)" "$ON1" "nothing of m2's or m3's started on m1"

# --- drain the expired m2: its units are released --------------------------------------------------
fok "drain the expired m2 by an 8-character prefix" fctl drain --block-attempts=10 "${ID2:0:8}"
case $OUT in *"Draining expired machine $ID2: $(wc -w <<<"$ON2") unit"*) ok "drain says the machine expired and how many units move" ;; *) not_ok "drain says the machine expired and how many units move" ;; esac
case $OUT in *"Machine $ID2 drained"*) ok "drain says the machine is drained" ;; *) not_ok "drain says the machine is drained" ;; esac
# shellcheck disable=SC2086
check "m2's units ($ON2) active on m1, each once" wait_for $T eval 'once '"$ON2"' && [ "$(ours_on m1)" = "$(for u in $ON1 $ON2; do echo $u; done | sort | tr "\n" " " | sed "s/ $//")" ]'
check "m3 is still held" held_is 1
sleep 2
for u in $ON3; do
	check "$u (m3's) did not start on m1" eval '! unit_active m1 '"$u"
done

# --- drain m3 too; bad input ---------------------------------------------------------------------
fok "drain the expired m3" fctl drain --block-attempts=10 "$ID3"
# shellcheck disable=SC2086
check "every unit active exactly once, on m1" wait_for $T eval 'once '"$UNITS"' && [ "$(ours_on m1 | wc -w)" = 6 ]'
check "no machine held" wait_for $T held_is 0
out=$(fctl drain ffffffffff 2>&1)
is "$?:$out" "1:Error draining machine: machine ffffffffff does not exist" "drain of an unknown machine: exit 1"
fok "uncordon the expired m2" fctl uncordon "$ID2"
fok "destroy the units" fctl destroy $UNITS
done_testing
