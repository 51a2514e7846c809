#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs the test tiers named on the command line (unit, integration, e2e) and ends with one
# summary line over all of them: "N passed, N failed".
#   unit, integration: Check binaries under $BUILD/test/<tier>/; their
#     "Checks: N, Failures: F, Errors: E" lines are summed.
#   e2e: TAP scripts test/e2e/NNNN-*.sh; "ok"/"not ok" lines are counted.
# A binary or script that exits non-zero without reporting a failure counts as one failure.
# FLEET_TEST_WRAPPER (e.g. valgrind ...) prefixes every binary. FLEET_TEST_FILTER selects by name.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
pass=0
fail=0
failed_names=()

run_check_binary() {
        local bin=$1 out rc n f e
        out=$(mktemp)
        # shellcheck disable=SC2086
        ${FLEET_TEST_WRAPPER:-} "$bin" >"$out" 2>&1
        rc=$?
        cat "$out"
        read -r n f e < <(sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' "$out" | tail -1)
        rm -f "$out"
        if [ -z "${n:-}" ]; then
                fail=$((fail + 1)); failed_names+=("$bin (exit $rc, no summary)")
                return
        fi
        pass=$((pass + n - f - e))
        fail=$((fail + f + e))
        if [ $((f + e)) -gt 0 ]; then
                failed_names+=("$bin")
        elif [ "$rc" -ne 0 ]; then
                fail=$((fail + 1)); failed_names+=("$bin (exit $rc)")
        fi
}

run_tap_script() {
        local script=$1 out rc p f
        out=$(mktemp)
        bash "$script" >"$out" 2>&1
        rc=$?
        cat "$out"
        p=$(grep -c '^ok ' "$out")
        f=$(grep -c '^not ok ' "$out")
        rm -f "$out"
        pass=$((pass + p))
        fail=$((fail + f))
        if [ "$f" -gt 0 ]; then
                failed_names+=("$script")
        elif [ "$rc" -ne 0 ] || [ "$p" -eq 0 ]; then
                fail=$((fail + 1)); failed_names+=("$script (exit $rc)")
        fi
}

for tier in "$@"; do
        echo "=== tier: $tier"
        case "$tier" in
        unit|integration)
                # The sources say which binaries must exist: a missing one is a failure.
                for src in test/"$tier"/test-*.c; do
                        [ -f "$src" ] || continue
                        bin=$BUILD/test/$tier/$(basename "$src" .c)
                        [ -n "${FLEET_TEST_FILTER:-}" ] && [[ "$bin" != *"$FLEET_TEST_FILTER"* ]] && continue
                        echo "--- $bin"
                        if [ ! -x "$bin" ]; then
                                fail=$((fail + 1)); failed_names+=("$bin (not built)")
                                continue
                        fi
                        run_check_binary "$bin"
                done ;;
        e2e)
                for script in test/e2e/[0-9]*.sh; do
                        [ -f "$script" ] || continue
                        [ -n "${FLEET_TEST_FILTER:-}" ] && [[ "$script" != *"$FLEET_TEST_FILTER"* ]] && continue
                        echo "--- $script"
                        BUILD=$BUILD run_tap_script "$script"
                done ;;
        *) echo "unknown tier $tier" >&2; fail=$((fail + 1)) ;;
        esac
done

for n in "${failed_names[@]}"; do
        echo "FAILED: $n"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
