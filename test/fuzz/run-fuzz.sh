#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs the libFuzzer targets one after the other (one process each: the machines are shared),
# each for SECONDS, and prints per target the executions run and the crashes found; exits 1 if
# any target crashed. Called by `make fuzz` / `make fuzz-short` (mk/fuzz.mk), which build the
# binaries first.
#   test/fuzz/run-fuzz.sh SECONDS TARGET...
# Corpora: new inputs are written to $FUZZ_DIR/corpus/<target>/; the committed seeds
# (test/fuzz/corpus/<target>/) and regression inputs (test/fuzz/regressions/<target>/) are read
# only, and every one of them runs first. Crash inputs: $FUZZ_DIR/artifacts/<target>/.
# FUZZ_ARGS adds libFuzzer options (e.g. FUZZ_ARGS=-use_value_profile=1).
set -u
cd "$(dirname "$0")/../.." || exit 2
FUZZ_DIR=${FUZZ_DIR:-build/fuzz}

if [ $# -lt 2 ]; then
        echo "usage: $0 SECONDS TARGET..." >&2
        exit 2
fi
seconds=$1
shift

# Inputs longer than this are not generated; the unit-file parser's line guard needs more
# than 2048 bytes and its reader a 4096-byte buffer, so that target gets more room.
max_len() {
        case "$1" in
        unit-file | xfleet) echo 12288 ;;
        *) echo 4096 ;;
        esac
}

total_execs=0
total_crashes=0
failed=()
for t in "$@"; do
        bin=$FUZZ_DIR/fuzz-$t
        if [ ! -x "$bin" ]; then
                echo "fuzz: $bin is missing (make fuzz-build)" >&2
                exit 2
        fi
        corpus=$FUZZ_DIR/corpus/$t
        artifacts=$FUZZ_DIR/artifacts/$t
        log=$FUZZ_DIR/logs/$t.log
        mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
        dirs=("$corpus")
        for d in test/fuzz/corpus/$t test/fuzz/regressions/$t; do
                [ -d "$d" ] && dirs+=("$d")
        done
        dict=()
        [ -f "test/fuzz/dict/$t.dict" ] && dict=("-dict=test/fuzz/dict/$t.dict")
        before=$(find "$artifacts" -type f | wc -l)
        # shellcheck disable=SC2086
        "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
                -max_len="$(max_len "$t")" -print_final_stats=1 -artifact_prefix="$artifacts/" \
                "${dict[@]}" ${FUZZ_ARGS:-} "${dirs[@]}" >"$log" 2>&1
        rc=$?
        after=$(find "$artifacts" -type f | wc -l)
        crashes=$((after - before))
        [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ] && crashes=1
        execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
        execs=${execs:-0}
        corpus_n=$(find "$corpus" -type f | wc -l)
        printf 'fuzz: %-10s %10s executions in %ss, %s crashes, %s inputs in %s\n' \
                "$t" "$execs" "$seconds" "$crashes" "$corpus_n" "$corpus"
        total_execs=$((total_execs + execs))
        total_crashes=$((total_crashes + crashes))
        if [ "$crashes" -gt 0 ]; then
                failed+=("$t")
                # The report: what failed and on which input.
                grep -E '^(==[0-9]+==ERROR|fuzz-checks:|SUMMARY|artifact_prefix|Test unit written)' \
                        "$log" | head -20 | sed 's/^/    /'
                echo "    full log: $log"
        fi
done

echo "fuzz: $total_execs executions, $total_crashes crashes"
if [ ${#failed[@]} -gt 0 ]; then
        echo "fuzz: FAILED: ${failed[*]} (reproduce: $FUZZ_DIR/fuzz-<target> <crash file>)"
        exit 1
fi
exit 0
