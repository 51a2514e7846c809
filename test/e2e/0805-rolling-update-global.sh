#!/bin/bash
# SPDX-License-Identifier: MIT
# 0805-rolling-update-global: fleet-c's rolling update of a global unit on 3 machines
# (start --replace --rolling with pin/<machineID>/<name> keys), in systemd's own view inside the
# machines:
#   - the pin API refuses bad input (a machine not in the cluster 404, a bad body 400, a unit that
#     is not global 400) and changes nothing;
#   - a sampler watching all three machines never sees the unit down on two at once
#     (--max-unavailable 1); every machine ends on the new content (the unit's Description and
#     the hash its agent reports), with a new MainPID, and no pin is left;
#   - an update that fails half-way (the new content refuses to start where /run/e2e-refuse
#     exists, on the second machine of the rollout) stops there and exits 1, names what was
#     updated, and leaves the third machine running the old content (same MainPID) and pinned
#     to it; deleting that pin finishes the rollout there.
set -u
. "$(dirname "$0")/lib.sh"
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
. "$(dirname "$0")/lib-scenario.sh"

# mkg VERSION: the global unit g.service; it refuses to start where /run/e2e-refuse exists
mkg() { printf '[Unit]\nDescription=e2e global %s\n\n[Service]\nExecStartPre=/bin/sh -c "! test -e /run/e2e-refuse"\nExecStart=/bin/sleep infinity\n\n[X-Fleet]\nGlobal=true\n' "$1" >"$TMP/g.service"; }
# the version systemd runs on machine M ("v2"), from the unit's Description
version_on() { sdp "$1" g.service Description | sed -n 's/^e2e global \(v[0-9]\)$/\1/p'; }
versions() { echo "$(version_on m1) $(version_on m2) $(version_on m3)"; }
pids() { echo "$(sdp m1 g.service MainPID) $(sdp m2 g.service MainPID) $(sdp m3 g.service MainPID)"; }
everywhere() { for m in $LIVE; do unit_active "$m" g.service || return 1; done; }
# the hashes the agents report for g.service, one per machine, sorted
hashes() { probe fctl list-units --no-legend --full --fields unit,hash | awk '$1 == "g.service" { print $2 }' | sort; }
api() { curl -sS -m 5 -o "$TMP/body" -w '%{http_code}' -X "$1" "http://$(machine_ip "$API"):49153$2" ${3:+-d "$3"}; }
pins() { curl -fsS -m 5 "http://$(machine_ip "$API"):49153/fleet-c/v1/pins"; }
sampler() {
	while [ ! -e "$TMP/stop-sampler" ]; do
		n=0
		for m in $LIVE; do unit_active "$m" g.service && n=$((n + 1)); done
		echo "$n"
		sleep 0.1
	done
}

check "3 machines registered" wait_for $T machines_up 3
mkg v1
fok "start g.service (v1)" fctl start "$TMP/g.service"
check "g.service active on m1 m2 m3" wait_for $T everywhere
is "$(versions)" "v1 v1 v1" "every machine runs v1"

# --- the pin API refuses bad input ---------------------------------------------------------------
h1=$(hashes | head -1)
check "the agents report the content hash" [ -n "$h1" ]
is "$(api PUT /fleet-c/v1/pins/ffffffffffffffffffffffffffffffff/g.service "{\"hash\":\"$h1\"}")" 404 "a pin for a machine not in the cluster: 404"
case $(cat "$TMP/body") in *"machine does not exist"*) ok "... machine does not exist" ;; *) not_ok "... machine does not exist: $(cat "$TMP/body")" ;; esac
id1=$(machine_id m1)
is "$(api PUT "/fleet-c/v1/pins/$id1/g.service" '{"hash":"xyz"}')" 400 "a pin with a bad hash: 400"
is "$(api PUT "/fleet-c/v1/pins/$id1/g.service" '{')" 400 "a pin with a bad body: 400"
mkunit plain.service "e2e plain"
fok "submit plain.service" fctl submit "$TMP/plain.service"
is "$(api PUT "/fleet-c/v1/pins/$id1/plain.service" "{\"hash\":\"$h1\"}")" 400 "a pin of a unit that is not global: 400"
is "$(api PUT "/fleet-c/v1/pins/$id1/nosuch.service" "{\"hash\":\"$h1\"}")" 404 "a pin of a unit that does not exist: 404"
is "$(pins)" '{"pins":[]}' "no pin was written"

# --- a rolling update ----------------------------------------------------------------------------
mkg v2
before=$(pids)
rm -f "$TMP/stop-sampler"
sampler >"$TMP/samples" &
spid=$!
fok "start --replace --rolling --min-healthy 1 g.service (v2)" fctl start --replace --rolling --min-healthy 1 --block-attempts 10 "$TMP/g.service"
touch "$TMP/stop-sampler"
wait $spid
diag "machines with g.service active, sampled: $(sort -n "$TMP/samples" | uniq -c | tr '\n' ' ')"
check "the sampler saw the rollout ($(wc -l <"$TMP/samples") samples)" [ "$(wc -l <"$TMP/samples")" -ge 10 ]
check "the sampler never saw g.service down on two machines" eval '[ "$(sort -n "$TMP/samples" | head -1)" -ge 2 ]'
is "$(versions)" "v2 v2 v2" "every machine runs v2 (systemd's view)"
set -- $(hashes)
check "every agent reports the one new hash" [ $# = 3 ] && [ "$1" = "$2" ] && [ "$2" = "$3" ] && [ "$1" != "$h1" ]
h2=$1
set -- $before
b1=$1 b2=$2 b3=$3
set -- $(pids)
check "every machine's copy has a new MainPID" [ "$1" != "$b1" ] && [ "$2" != "$b2" ] && [ "$3" != "$b3" ]
case $OUT in *"Updated 1 unit"*) ok "it reports the unit updated" ;; *) not_ok "it reports the unit updated" ;; esac
is "$(pins)" '{"pins":[]}' "no pin is left"

# --- an update that fails half-way ---------------------------------------------------------------
# the rollout goes through the machines in machine ID order: the second one refuses v3
declare -A ID2M
for m in $LIVE; do ID2M[$(machine_id "$m")]=$m; done
order=$(printf '%s\n' "${!ID2M[@]}" | sort | tr '\n' ' ')
set -- $order
i1=$1 i2=$2 i3=$3
ma=${ID2M[$i1]} mb=${ID2M[$i2]} mc=${ID2M[$i3]}
diag "rollout order: $ma $mb $mc"
machine_exec "$mb" touch /run/e2e-refuse
mkg v3
pid_c=$(sdp "$mc" g.service MainPID)
rm -f "$TMP/stop-sampler"
sampler >"$TMP/samples" &
spid=$!
out=$(fctl start --replace --rolling --block-attempts 5 "$TMP/g.service" 2>&1)
rc=$?
touch "$TMP/stop-sampler"
wait $spid
diag "$out"
is "$rc" 1 "a rolling update that fails on the second machine: exit 1"
want="Rolling update stopped. Updated: [g.service/$i1]; not updated: [g.service/$i2 g.service/$i3]"
case $out in *"$want"*) ok "it reports what was and was not updated" ;; *) not_ok "it reports what was and was not updated (want: $want)" ;; esac
check "the sampler never saw g.service down on two machines" eval '[ "$(sort -n "$TMP/samples" | head -1)" -ge 2 ]'
is "$(version_on "$ma") $(version_on "$mc")" "v3 v2" "the first machine runs v3, the third still v2"
is "$(sdp "$mc" g.service MainPID)" "$pid_c" "the third machine's copy was not touched (same MainPID)"
check "g.service failed on the second machine" wait_for $T eval "[ \"\$(unit_state $mb g.service)\" = failed ]"
is "$(pins)" "{\"pins\":[{\"machineID\":\"$i3\",\"name\":\"g.service\",\"hash\":\"$h2\"}]}" "the third machine stays pinned to v2"

# finishing it: the pin goes, the third machine takes v3
is "$(api DELETE "/fleet-c/v1/pins/$i3/g.service")" 204 "DELETE the pin left by the stopped rollout"
check "the third machine runs v3" wait_for $T eval "[ \"\$(version_on $mc)\" = v3 ] && unit_active $mc g.service"
machine_exec "$mb" rm -f /run/e2e-refuse
fok "destroy the units" fctl destroy g.service plain.service
done_testing
