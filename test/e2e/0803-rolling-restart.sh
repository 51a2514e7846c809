#!/bin/bash
# SPDX-License-Identifier: MIT
# 0803-rolling-restart: fleet-c's rolling-restart of three web@N instances (Conflicts, one per
# machine), in systemd's own view inside the machines:
#   - a sampler watching all three never sees two down at once (--max-unavailable 1), every
#     instance gets a new MainPID, and each was active for --min-healthy before the next one
#     stopped (journal timestamps);
#   - errors change nothing: --max-unavailable 0, an unknown unit, a glob matching nothing, a
#     unit that is not running;
#   - a restart that fails half-way (web@2 refuses to start again) stops there: web@1 restarted,
#     web@3 untouched (same MainPID), and the report names both (exit 1);
#   - a rolling update (start --replace --rolling of web@.service): never two instances down,
#     every instance on the new content with a new MainPID; one that fails half-way leaves the
#     instances after it on the old content.
set -u
. "$(dirname "$0")/lib.sh"
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
. "$(dirname "$0")/lib-scenario.sh"

pid_of() { local m; m=$(active_on "$1"); [ -n "$m" ] && sdp "$m" "$1" MainPID; }
pids() { echo "$(pid_of web@1.service) $(pid_of web@2.service) $(pid_of web@3.service)"; }
# the sampler: one line per sample with the number of active instances
sampler() {
	while [ ! -e "$TMP/stop-sampler" ]; do
		n=0
		for m in $LIVE; do
			for i in 1 2 3; do unit_active "$m" "web@$i.service" && n=$((n + 1)); done
		done
		echo "$n"
		sleep 0.2
	done
}

check "3 machines registered" wait_for $T machines_up 3
# web@2 refuses to start while /run/e2e-refuse exists on its machine
printf '[Unit]\nDescription=e2e web %%i\n\n[Service]\nExecStartPre=/bin/sh -c "! test -e /run/e2e-refuse"\nExecStart=/bin/sleep infinity\n\n[X-Fleet]\nConflicts=web@*.service\n' >"$TMP/web@.service"
fok "start web@1 web@2 web@3" fblock start "$TMP/web@1.service" "$TMP/web@2.service" "$TMP/web@3.service"
check "one instance per machine" wait_for $T eval '[ "$(active_on web@1.service) $(active_on web@2.service) $(active_on web@3.service)" != "" ] && [ $(for i in 1 2 3; do active_on web@$i.service; done | sort -u | wc -l) = 3 ]'

# --- errors change nothing ---------------------------------------------------------------------
before=$(pids)
out=$(fctl rolling-restart --max-unavailable 0 'web@*' 2>&1)
is "$?:$out" "1:--max-unavailable must be at least 1" "--max-unavailable 0: exit 1"
out=$(fctl rolling-restart nosuch.service 2>&1)
is "$?:$out" "1:Unit nosuch.service not found" "an unknown unit: exit 1"
out=$(fctl rolling-restart 'db@*' 2>&1)
is "$?:$out" "1:no unit matches db@*.service" "a glob matching nothing: exit 1"
mkunit idle.service "e2e idle"
fok "submit idle.service" fctl submit "$TMP/idle.service"
out=$(fctl rolling-restart web@1.service idle.service 2>&1)
is "$?:$out" "1:Unit idle.service is not running (inactive), nothing restarted" "a unit that is not running: exit 1"
is "$(pids)" "$before" "nothing was restarted"

# --- a rolling restart ----------------------------------------------------------------------------
rm -f "$TMP/stop-sampler"
sampler >"$TMP/samples" &
spid=$!
fok "rolling-restart --min-healthy 2 'web@*'" fctl rolling-restart --min-healthy 2 'web@*'
touch "$TMP/stop-sampler"
wait $spid
after=$(pids)
diag "MainPIDs before: $before; after: $after"
diag "active instances sampled: $(sort -n "$TMP/samples" | uniq -c | tr '\n' ' ')"
check "the sampler never saw two instances down" eval '[ "$(sort -n "$TMP/samples" | head -1)" -ge 2 ]'
set -- $before
b1=$1 b2=$2 b3=$3
set -- $after
check "every instance has a new MainPID" [ "$1" != "$b1" ] && [ "$2" != "$b2" ] && [ "$3" != "$b3" ] && [ -n "$1$2$3" ]
case $OUT in *"Restarted 3 units"*) ok "it reports 3 units restarted" ;; *) not_ok "it reports 3 units restarted" ;; esac
# web@N+1 stopped at least --min-healthy after web@N started
t_start() { machine_exec "$(active_on "$1")" journalctl -u "$1" -o short-unix --no-pager 2>/dev/null | grep "Started" | tail -1 | awk '{ print int($1) }'; }
t_stop() { machine_exec "$(active_on "$1")" journalctl -u "$1" -o short-unix --no-pager 2>/dev/null | grep -E "Stopped|Deactivated successfully" | tail -1 | awk '{ print int($1) }'; }
s1=$(t_start web@1.service) x2=$(t_stop web@2.service) s2=$(t_start web@2.service) x3=$(t_stop web@3.service)
diag "web@1 started $s1, web@2 stopped $x2 started $s2, web@3 stopped $x3"
check "web@2 stopped >= 2 s after web@1 started, web@3 >= 2 s after web@2" [ $((x2 - s1)) -ge 1 ] && [ $((x3 - s2)) -ge 1 ]

# --- failing half-way -----------------------------------------------------------------------------
before=$(pids)
m2=$(active_on web@2.service)
machine_exec "$m2" touch /run/e2e-refuse
out=$(fctl rolling-restart --block-attempts 5 'web@*' 2>&1)
rc=$?
diag "$out"
is "$rc" 1 "a rolling restart that fails at web@2: exit 1"
case $out in *"Restarted: [web@1.service]; not restarted: [web@2.service web@3.service]"*) ok "it reports what was and was not restarted" ;; *) not_ok "it reports what was and was not restarted" ;; esac
set -- $before
b1=$1 b3=$3
now1=$(pid_of web@1.service) now3=$(pid_of web@3.service)
check "web@1 was restarted" [ -n "$now1" ] && [ "$now1" != "$b1" ]
is "$now3" "$b3" "web@3 was not touched (same MainPID)"
machine_exec "$m2" rm -f /run/e2e-refuse
fok "rolling-restart web@2 (it starts again)" fctl rolling-restart --block-attempts 10 web@2.service
check "web@1..3 active" wait_for $T eval '[ -n "$(active_on web@1.service)" ] && [ -n "$(active_on web@2.service)" ] && [ -n "$(active_on web@3.service)" ]'

# --- a rolling update (start --replace --rolling) -----------------------------------------------
version() { fctl cat "$1" 2>/dev/null | sed -n 's/^Description=e2e web \(v[0-9]\) .*/\1/p'; }
running_hash() { fctl list-units --no-legend --full --fields unit,hash 2>/dev/null | awk -v u="$1" '$1 == u { print $2 }'; }
mkweb() { printf '[Unit]\nDescription=e2e web %s %%i\n\n[Service]\nExecStartPre=/bin/sh -c "! test -e /run/e2e-refuse"\nExecStart=/bin/sleep infinity\n\n[X-Fleet]\nConflicts=web@*.service\n' "$1" >"$TMP/web@.service"; }
mkweb v2
before=$(pids)
rm -f "$TMP/stop-sampler"
sampler >"$TMP/samples" &
spid=$!
fok "start --replace --rolling --min-healthy 1 web@.service" fctl start --replace --rolling --min-healthy 1 --block-attempts 10 "$TMP/web@.service"
touch "$TMP/stop-sampler"
wait $spid
diag "active instances sampled: $(sort -n "$TMP/samples" | uniq -c | tr '\n' ' ')"
check "the sampler never saw two instances down during the update" eval '[ "$(sort -n "$TMP/samples" | head -1)" -ge 2 ]'
is "$(version web@1.service) $(version web@2.service) $(version web@3.service)" "v2 v2 v2" "every instance has the new content"
h=$(running_hash web@1.service)
is "$(running_hash web@2.service) $(running_hash web@3.service)" "$h $h" "every instance runs the new version"
set -- $before
b1=$1 b2=$2 b3=$3
set -- $(pids)
check "every instance has a new MainPID" [ "$1" != "$b1" ] && [ "$2" != "$b2" ] && [ "$3" != "$b3" ]
case $OUT in *"Updated 3 units"*) ok "it reports 3 units updated" ;; *) not_ok "it reports 3 units updated" ;; esac

# an update that fails half-way: v3 refuses to start on web@2's machine
mkweb v3
before=$(pids)
machine_exec "$m2" touch /run/e2e-refuse
out=$(fctl start --replace --rolling --block-attempts 5 "$TMP/web@.service" 2>&1)
rc=$?
diag "$out"
is "$rc" 1 "a rolling update that fails at web@2: exit 1"
case $out in *"Rolling update stopped. Updated: [web@1.service]; not updated: [web@2.service web@3.service]"*) ok "it reports what was and was not updated" ;; *) not_ok "it reports what was and was not updated" ;; esac
set -- $before
is "$(version web@1.service) $(version web@3.service)" "v3 v2" "web@1 has v3, web@3 still v2"
is "$(pid_of web@3.service)" "$3" "web@3 was not touched (same MainPID)"
out=$(fctl start --rolling "$TMP/web@.service" 2>&1)
is "$?:$out" "1:--rolling needs --replace" "--rolling without --replace: exit 1"
machine_exec "$m2" rm -f /run/e2e-refuse
fok "destroy the units" fctl destroy web@1.service web@2.service web@3.service idle.service
done_testing
