#!/bin/bash
# SPDX-License-Identifier: MIT
# tools/e2e-sanitize.sh — run e2e scripts against an ASan+UBSan build (make e2e-faults-san):
# by default the fault-injection tests test/e2e/07NN-*.sh and 0504 (fleetd stopped, restarted,
# crashed, upgraded, reloaded).
#
# Each script runs on its own with FLEET_E2E_KEEP=1, so that its cluster is still up when it
# ends: then the journal of every machine is searched for sanitizer reports (fleetd runs as
# fleet.service in each machine; ASan, LeakSanitizer and UBSan write to its stderr, i.e. the
# journal), and the cluster is taken down. A report counts as one failure of that script, as a
# failed TAP line does. The last line is "N passed, N failed" over all scripts.
#
# Settings: BUILD (default build/san), FLEET_SAN_TESTS (prefixes of the scripts' names,
# space-separated, default "07 0504"), FLEET_E2E_NAME (cluster name, default e2esan) and FLEET_E2E_INDEX_BASE (as for the e2e
# tier: machine IPs 127.0.0.(10+BASE+i)).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/san}
NAME=${FLEET_E2E_NAME:-e2esan}
TESTS=${FLEET_SAN_TESTS:-07 0504}
CLUSTER=test/cluster/fleet-cluster
REPORT='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer'

for b in fleetd fleetctl; do
	[ -x "$BUILD/bin/$b" ] || { echo "$BUILD/bin/$b is not built (make SANITIZE=address,undefined)" >&2; exit 2; }
done
nm -an "$BUILD/bin/fleetd" 2>/dev/null | grep -q __asan_init ||
	{ echo "$BUILD/bin/fleetd is not built with ASan" >&2; exit 2; }

pass=0
fail=0
failed=()
scripts=()
for prefix in $TESTS; do
	scripts+=(test/e2e/"$prefix"*.sh)
done
for script in "${scripts[@]}"; do
	[ -f "$script" ] || continue
	t=$(basename "$script" .sh)
	echo "--- $script ($BUILD)"
	out=$(FLEET_E2E_KEEP=1 FLEET_E2E_NAME=$NAME BUILD=$BUILD FLEET_TEST_FILTER=$t \
		test/run-tests.sh e2e 2>&1)
	echo "$out" | grep -E '^(not ok|ok|#.*(FAILED|Bail))' | grep -v '^ok' || true
	read -r p f < <(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' | tail -1)
	p=${p:-0} f=${f:-1}
	reports=""
	if FLEET_CLUSTER_NAME=$NAME $CLUSTER is-up >/dev/null 2>&1; then
		for m in $(FLEET_CLUSTER_NAME=$NAME $CLUSTER machines 2>/dev/null); do
			r=$(FLEET_CLUSTER_NAME=$NAME $CLUSTER exec "$m" journalctl -o cat --no-pager 2>/dev/null |
				grep -E -A12 "$REPORT")
			[ -z "$r" ] || reports+="== $m"$'\n'"$r"$'\n'
			# the machine ran this build's fleetd (else nothing was checked)
			FLEET_CLUSTER_NAME=$NAME $CLUSTER exec "$m" systemctl show -p ExecStart --value fleet.service 2>/dev/null |
				grep -q -- "/$BUILD/bin/fleetd" || reports+="== $m: fleet.service does not run $BUILD/bin/fleetd"$'\n'
		done
		FLEET_CLUSTER_NAME=$NAME $CLUSTER down >/dev/null 2>&1
	fi
	if [ -n "$reports" ]; then
		echo "sanitizer report(s) in $t:"
		echo "$reports"
		f=$((f + 1))
	fi
	echo "$t: $p passed, $f failed"
	pass=$((pass + p))
	fail=$((fail + f))
	[ "$f" = 0 ] || failed+=("$t")
done
for t in "${failed[@]}"; do
	echo "FAILED: $t"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
