#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs the test tiers named on the command line (unit, integration, e2e) and ends with one
# summary line over all of them, alone and last: "N passed, N failed", or
# "N passed, N failed, N skipped" when some test was skipped.
#   unit, integration: Check binaries under $BUILD/test/<tier>/; their
#     "Checks: N, Failures: F, Errors: E" lines are summed.
#   e2e: TAP scripts test/e2e/NNNN-*.sh; "ok"/"not ok" lines are counted. A test with a SKIP
#     or TODO directive is neither a pass nor a failure but "skipped": "ok ... # SKIP why",
#     "not ok ... # TODO why" (an expected failure), "ok ... # TODO why" (a TODO that passes:
#     its directive should go), and a script's "1..0 # SKIP why" (the whole script). As in TAP,
#     "not ok ... # SKIP" is a failure.
# A binary or script that exits non-zero without reporting a failure counts as one failure, as
# does a tier with no tests at all.
# Every skip is listed ("SKIPPED: SCRIPT: REASON") and makes the run fail unless
# FLEET_TEST_ALLOW_SKIP=1: a test skipped because something is missing must not look green.
# A run that executes no test at all (a FLEET_TEST_FILTER that matches nothing) fails too.
# FLEET_TEST_WRAPPER (e.g. valgrind ...) prefixes every binary. FLEET_TEST_FILTER selects by name
# (the tiers it selects nothing in are not an error as long as it selects something somewhere).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
pass=0
fail=0
skip=0
failed_names=()
skipped_names=()

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

# tap_count <TAP: first line "PASSED FAILED SKIPPED", then one line per skipped test saying why
tap_count() {
        awk '
        function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
        /^(not )?ok([ \t]|$)/ {
                bad = /^not ok/
                kind = ""
                # the directive: "# SKIP..." or "# TODO" (any case), up to the end of the line
                if (match(tolower($0), /#[ \t]*(skip[^ \t]*|todo)([ \t]|$)/)) {
                        kind = tolower(trim(substr($0, RSTART + 1, RLENGTH - 1)))
                        kind = kind ~ /^skip/ ? "skip" : "todo"
                        why = trim(substr($0, RSTART + RLENGTH))
                        test = trim(substr($0, 1, RSTART - 1))
                        if (why == "") why = "no reason given"
                }
                if (kind == "skip" && !bad) { s++; r[++n] = why " (" test ")" }
                else if (kind == "todo" && bad) { s++; r[++n] = "TODO, fails as expected: " why " (" test ")" }
                else if (kind == "todo") { s++; r[++n] = "TODO, passes now (remove the TODO): " why " (" test ")" }
                else if (bad) f++
                else p++
                next
        }
        /^1\.\.0([ \t]|$)/ {
                why = "no reason given"
                if (match(tolower($0), /#[ \t]*skip[^ \t]*/)) why = trim(substr($0, RSTART + RLENGTH))
                s++; r[++n] = why " (1..0: the whole script)"
        }
        END { print p + 0, f + 0, s + 0; for (i = 1; i <= n; i++) print r[i] }'
}

run_tap_script() {
        local script=$1 out rc p f s reasons=() why
        out=$(mktemp)
        bash "$script" >"$out" 2>&1
        rc=$?
        cat "$out"
        { read -r p f s; mapfile -t reasons; } < <(tap_count <"$out")
        rm -f "$out"
        pass=$((pass + p))
        fail=$((fail + f))
        skip=$((skip + s))
        for why in "${reasons[@]}"; do skipped_names+=("$script: $why"); done
        if [ "$f" -gt 0 ]; then
                failed_names+=("$script")
        elif [ "$rc" -ne 0 ]; then
                fail=$((fail + 1)); failed_names+=("$script (exit $rc)")
        elif [ $((p + s)) -eq 0 ]; then
                fail=$((fail + 1)); failed_names+=("$script (exit 0 without a test)")
        fi
}

# no_tests TIER WHAT: TIER selected no test; an error unless FLEET_TEST_FILTER chose so
no_tests() {
        if [ -n "${FLEET_TEST_FILTER:-}" ]; then
                echo "(no test of tier $1 matches FLEET_TEST_FILTER='$FLEET_TEST_FILTER')"
        else
                fail=$((fail + 1)); failed_names+=("tier $1: no tests ($2 matches nothing)")
        fi
}

for tier in "$@"; do
        echo "=== tier: $tier"
        n=0
        case "$tier" in
        unit|integration)
                # The sources say which binaries must exist: a missing one is a failure.
                for src in test/"$tier"/test-*.c; do
                        [ -f "$src" ] || continue
                        bin=$BUILD/test/$tier/$(basename "$src" .c)
                        [ -n "${FLEET_TEST_FILTER:-}" ] && [[ "$bin" != *"$FLEET_TEST_FILTER"* ]] && continue
                        echo "--- $bin"
                        n=$((n + 1))
                        if [ ! -x "$bin" ]; then
                                fail=$((fail + 1)); failed_names+=("$bin (not built)")
                                continue
                        fi
                        run_check_binary "$bin"
                done
                [ "$n" -gt 0 ] || no_tests "$tier" "test/$tier/test-*.c" ;;
        e2e)
                for script in test/e2e/[0-9]*.sh; do
                        [ -f "$script" ] || continue
                        [ -n "${FLEET_TEST_FILTER:-}" ] && [[ "$script" != *"$FLEET_TEST_FILTER"* ]] && continue
                        echo "--- $script"
                        n=$((n + 1))
                        BUILD=$BUILD run_tap_script "$script"
                done
                [ "$n" -gt 0 ] || no_tests "$tier" "test/e2e/[0-9]*.sh" ;;
        *) echo "unknown tier $tier" >&2; fail=$((fail + 1)); failed_names+=("unknown tier $tier") ;;
        esac
done

# An empty run proves nothing: no test ran at all (no tier named, or the filter matched nothing).
if [ $((pass + fail + skip)) -eq 0 ]; then
        fail=$((fail + 1))
        if [ $# -eq 0 ]; then failed_names+=("no test ran: name the tiers to run (unit, integration, e2e)")
        elif [ -n "${FLEET_TEST_FILTER:-}" ]; then failed_names+=("no test ran: FLEET_TEST_FILTER='$FLEET_TEST_FILTER' matches no test in tier(s) $*")
        else failed_names+=("no test ran in tier(s) $*"); fi
fi

for n in "${failed_names[@]}"; do
        echo "FAILED: $n"
done
for n in "${skipped_names[@]}"; do
        echo "SKIPPED: $n"
done
rc=0
[ "$fail" -eq 0 ] || rc=1
if [ "$skip" -gt 0 ] && [ "${FLEET_TEST_ALLOW_SKIP:-0}" != 1 ]; then
        echo "$skip test(s) skipped: the run fails (FLEET_TEST_ALLOW_SKIP=1 allows skips)"
        rc=1
fi
if [ "$skip" -gt 0 ]; then
        echo "$pass passed, $fail failed, $skip skipped"
else
        echo "$pass passed, $fail failed"
fi
exit "$rc"
