#!/bin/bash
# SPDX-License-Identifier: MIT
# 0100-systemd-manager: agent/systemd.c against a real systemd. Boots one machine (no fleetd)
# and runs the Check binary $BUILD/test/systemd/test-systemd-manager inside it, on that
# machine's system bus: unit files written, linked, enabled, reloaded, started, stopped,
# failed, reset and unloaded, with the state callbacks and job results checked.
#   FLEET_TEST_DEBUG=1      debug log of the manager in the output
#   FLEET_E2E_INDEX_BASE=N  boot the machine with index N+1 (to keep clear of other clusters)
set -u
. "$(dirname "$0")/lib.sh"

export FLEET_CLUSTER_NO_FLEETD=1 # the manager is tested alone, fleetd must not touch systemd
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE

bin=$BUILD/test/systemd/test-systemd-manager
case $bin in /*) ;; *) bin=$E2E_ROOT/$bin ;; esac
plan 2
if [ ! -x "$bin" ]; then
	not_ok "systemd manager tests"
	diag "$bin is missing: build it with make (rule for test/systemd/test-*.c)"
	not_ok "no test unit left behind"
	exit 1
fi
# The checkout is bound into the machines; a build directory elsewhere must be bound too.
case $bin in "$E2E_ROOT"/*) ;; *) export FLEET_MACHINE_BINDS=${bin%/*} ;; esac

cluster_up 1

out=$(machine_exec m1 env ${FLEET_TEST_DEBUG:+FLEET_TEST_DEBUG=1} "$bin" 2>&1)
rc=$?
diag "$out"
summary=$(grep -E '^[0-9]+%: Checks: ' <<<"$out" | tail -1)
if [ "$rc" = 0 ] && grep -q 'Failures: 0, Errors: 0' <<<"$summary"; then
	ok "systemd manager tests"
else
	not_ok "systemd manager tests"
	diag "exit $rc: ${summary:-no Check summary}"
fi

# Every test removes its units; systemd must not know any of them any more. (A probe: it fails
# when ls or systemctl cannot look, rather than finding nothing.)
# shellcheck disable=SC2016
left=$(probe machine_exec m1 sh -c 'set -e; f=$(ls /run/systemd/system); u=$(systemctl list-units --all --no-legend --plain "fleettest-*")
	printf "%s\n" "$f" | grep "^fleettest-" || :; printf "%s\n" "$u" | grep -v "not-found *inactive *dead" | grep . || :')
is "$left" "" "no test unit left behind"

done_testing
