#!/bin/bash
# SPDX-License-Identifier: MIT
# tools/bench.sh — `make bench`: fleet-c against the performance targets of DESIGN.md section 7.
# Run as root after the build (make bench does both). It measures and prints; it never fails
# because of a timing, only when something is broken (a unit never becomes active, a unit is
# lost, a cluster does not boot). Each figure is written with the host it ran on (nproc, load
# average when it started) and the exact command, as a markdown table and a CSV:
#   $BENCH_OUT/latest.md, $BENCH_OUT/latest.csv      (default bench/results/)
# Raw outputs (logs, per-unit timings, the engine's log) go to $BENCH_WORK (build/bench-run/).
#
# Sections (all by default, in this order; name some to run only those):
#   scheduler  bench-scheduler: one pure scheduler pass (no etcd) at the three sizes      ~5 s
#   scale      bench-scale, the scale simulator: real etcd, the real engine, M simulated
#              machines; (M,U) = (100,1000) (1000,10000) (10000,100000)          ~3.5 min
#   start      3 machines: `fleetctl start` of 100 units one after another (blocking, the
#              default) and 100 with --no-block back to back; command start -> systemd's
#              ActiveEnterTimestampMonotonic in the machine                       ~1 min
#   churn      the same 3 machines: 20 fleetctl clients in parallel, each churning its own
#              10 units (start, stop, destroy, blocking, one unit after another), twice:
#              wall time of each fleetctl command                              ~1-2 min
#   failover   3 machines, agent_ttl 5s: crash (fleet-cluster kill) the machine running a
#              unit -> active on another machine; 10 crashes with the engine leader
#              elsewhere, then 3 that take the engine leader's machine down too; the crashed
#              machines are rebooted between crashes                             ~2 min
#   fanout     the same cluster grown to 10 machines: agents that reconcile (and fleetds
#              that get watch events) for one `fleetctl start`                      ~30 s
#   idle       1 machine, 1 unit: etcd requests per minute over a 60 s window (etcd's own
#              grpc_server_started_total), fleetd RSS idle                         ~1.5 min
#   api        the same machine with 1,000 units loaded: fleetd RSS, GET /fleet/v1/units,
#              /state, /machines requests/s (bench-get: one keep-alive connection per client,
#              thousands of GETs), fleetctl list-units / list-unit-files wall time  ~1.5 min
# Altogether about 10 minutes on 2 CPUs.
#
# Settings (environment):
#   BUILD=build                   build directory (bin/, bench/)
#   BENCH_OUT=bench/results       where latest.md / latest.csv are written (from a tree with
#                                 uncommitted changes: BENCH_WORK, unless BENCH_ALLOW_DIRTY=1)
#   BENCH_WORK=build/bench-run    raw outputs
#   BENCH_SCALE_DISK=$BENCH_WORK/etcd-on-disk   etcd's data for the scale run under real
#                                 conditions (must be on a disk, not tmpfs)
#   BENCH_CLUSTER_NAME=bench      local cluster name (machines bench-m1...)
#   BENCH_INDEX_BASE=40           machine i gets 127.0.0.(10+BASE+i): 40 keeps clear of the
#                                 default (demo) and e2e clusters; set 0 on a machine of your own
#   BENCH_SCALE_SIZES="100:1000 1000:10000 10000:100000"   M:U pairs for bench-scale
#   BENCH_START_UNITS=100  BENCH_FAILOVER_REPS=10  BENCH_IDLE_WINDOW=60  BENCH_API_UNITS=1000
#   BENCH_API_REQUESTS=2000       GETs per API measurement
#   BENCH_CHURN_CLIENTS=20  BENCH_CHURN_UNITS=200  BENCH_CHURN_ROUNDS=2
#   BENCH_QUICK=1                 a shorter run for development: sizes up to 10,000 units, 3
#                                 failover crashes, a 20 s idle window (~5 min instead of ~10)
set -u
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
CLUSTER=$ROOT/test/cluster/fleet-cluster
OUT=${BENCH_OUT:-$ROOT/bench/results}
WORK=${BENCH_WORK:-$B/bench-run}
SCALE_DISK=${BENCH_SCALE_DISK:-$WORK/etcd-on-disk}
# The binaries are copied first: a rebuild of the checkout during the run (other people's
# `make`) must not change what the later sections measure.
BIN=$WORK/bin
BENCHBIN=$WORK/bin
FLEETCTL=$BIN/fleetctl

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	: "${BENCH_SCALE_SIZES:=100:1000 1000:10000}" "${BENCH_FAILOVER_REPS:=3}" "${BENCH_IDLE_WINDOW:=20}"
fi
SCALE_SIZES=${BENCH_SCALE_SIZES:-"100:1000 1000:10000 10000:100000"}
START_UNITS=${BENCH_START_UNITS:-100}
FAILOVER_REPS=${BENCH_FAILOVER_REPS:-10}
IDLE_WINDOW=${BENCH_IDLE_WINDOW:-60}
API_UNITS=${BENCH_API_UNITS:-1000}
API_REQUESTS=${BENCH_API_REQUESTS:-2000}
CHURN_CLIENTS=${BENCH_CHURN_CLIENTS:-20}
CHURN_UNITS=${BENCH_CHURN_UNITS:-200}
CHURN_ROUNDS=${BENCH_CHURN_ROUNDS:-2}
AGENT_TTL_S=5

# A developer's own cluster settings must neither leak in nor let us touch their cluster.
unset "${!FLEET_CLUSTER_@}" "${!FLEET_MACHINE_@}" FLEETCTL_ENDPOINT FLEETCTL_TUNNEL
export FLEET_CLUSTER_NAME=${BENCH_CLUSTER_NAME:-bench}
export FLEET_CLUSTER_INDEX_BASE=${BENCH_INDEX_BASE:-40}
export FLEET_CLUSTER_AGENT_TTL=${AGENT_TTL_S}s
export BUILD
BASE=$FLEET_CLUSTER_INDEX_BASE

ALL_SECTIONS="scheduler scale start churn failover fanout idle api"
SECTIONS=${*:-$ALL_SECTIONS}
for s in $SECTIONS; do
	case " $ALL_SECTIONS " in *" $s "*) ;; *)
		echo "bench: unknown section '$s' (sections: $ALL_SECTIONS)" >&2; exit 2 ;;
	esac
done

# --- output --------------------------------------------------------------------------------
T_START=${EPOCHREALTIME/./}
RC=0
LOG=$WORK/bench.log
CSV_ROWS=()
MD_ROWS=()

say() { printf '%s\n' "$*"; printf '%s\n' "$*" >>"$LOG"; }
note() { printf '  %s\n' "$*"; printf '  %s\n' "$*" >>"$LOG"; }
broken() { say "BROKEN: $*"; RC=1; MD_ROWS+=("| **broken**: $* | | | | | | |"); CSV_ROWS+=("broken,\"$*\",,,,,,,,"); }
host() { echo "$(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"; }
now_us() { "$BENCHBIN/bench-start" --now; }   # CLOCK_MONOTONIC, shared with the machines
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }

# met VALUE TARGET -> yes/no/"" ; TARGET: "<=N", ">=N", "=N" or empty
met() {
	[ -n "$2" ] || { echo ""; return; }
	awk -v v="$1" -v t="$2" 'BEGIN {
		op = substr(t, 1, 1) == "=" ? "=" : substr(t, 1, 2); n = substr(t, length(op) + 1) + 0
		if (v !~ /^-?[0-9.]+$/) { print "no"; exit }
		ok = (op == "<=") ? v + 0 <= n : (op == ">=") ? v + 0 >= n : v + 0 == n
		print ok ? "yes" : "no" }'
}

# record SECTION WHAT VALUE UNIT TARGET FLEET HOST COMMAND
record() {
	local sec=$1 what=$2 val=$3 unit=$4 target=$5 fleet=$6 h=$7 cmd=$8 m t
	m=$(met "$val" "$target")
	t=${target:+$target $unit}
	MD_ROWS+=("| $what | **$val** $unit | ${t:-—} | ${fleet:-—} | ${m:-—} | $h | \`$cmd\` |")
	CSV_ROWS+=("$sec,\"$what\",$val,$unit,\"$target\",\"$fleet\",$m,$(nproc),\"${h#*load }\",\"${cmd//\"/\"\"}\"")
	say "  => $what: $val $unit${target:+ (target $target $unit: ${m})}"
}

# percentile P FILE (numbers, one per line): nearest-rank
pct() { sort -n "$2" | awk -v p="$1" '{ a[NR] = $1 } END { if (!NR) { print "nan"; exit }
	k = int(p / 100 * NR + 0.999999); if (k < 1) k = 1; if (k > NR) k = NR; print a[k] }'; }

write_results() {
	local total_s commit dirty cpu
	total_s=$(( (${EPOCHREALTIME/./} - T_START) / 1000000 ))
	commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	dirty=$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo " (with uncommitted changes)")
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	# Published figures come from a commit: a run on a tree with uncommitted changes writes its
	# results next to its raw outputs instead of over bench/results/.
	if [ -n "$dirty" ] && [ "$OUT" = "$ROOT/bench/results" ] && [ "${BENCH_ALLOW_DIRTY:-0}" != 1 ]; then
		say "bench: the tree has uncommitted changes: results go to $WORK, not $OUT"
		OUT=$WORK
	fi
	mkdir -p "$OUT"
	{
		echo "# make bench: latest results"
		echo
		echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $commit$dirty; $FLEETD_ID; sections: $SECTIONS"
		echo "- host: $(nproc) cpus ($cpu), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r); $(etcd --version 2>/dev/null | head -1); $(systemctl --version 2>/dev/null | head -1 | cut -d' ' -f1-2)"
		echo "- total runtime of tools/bench.sh: ${total_s} s; exit status $RC"
		echo "- host column: CPUs and load average (1, 5, 15 min) when that measurement started"
		echo "  (the VM is shared: a high load means other work competed for the CPUs)"
		echo
		echo "| measurement | result | target | fleet v1.0 (quoted¹) | met | host | command |"
		echo "|---|---|---|---|---|---|---|"
		printf '%s\n' "${MD_ROWS[@]}"
		echo
		echo "¹ The fleet v1.0 column is **quoted, not measured by this run**: fleet v1.0.0 (Go) was run"
		echo "side by side with fleet-c on the same kind of 2-CPU VM, with the same etcd and simulated"
		echo "machines and agent_ttl 5 s, by the project's founders (DESIGN.md section 7) and again for"
		echo "issue 13; make bench cannot run it (no Go toolchain on CI). \"not published\" and"
		echo "\"capped\" quote fleet's own README (at most 100 machines / 1,000 units)."
		echo
		echo "Scale rows say their conditions in brackets: **easy** (the simulator's default: 900 s"
		echo "leases, etcd's data on tmpfs) or **real** (fleet's default agent_ttl 30 s, so every machine"
		echo "sends a keepalive every 10 s, and etcd's data on disk). In both, one watch over schedule/"
		echo "stands in for the per-machine watches of real agents (see docs/performance.md)."
		echo
		echo "Commands are run from the checkout as root; \`fleet-cluster\` is test/cluster/fleet-cluster"
		echo "with FLEET_CLUSTER_NAME=$FLEET_CLUSTER_NAME FLEET_CLUSTER_INDEX_BASE=$BASE"
		echo "FLEET_CLUSTER_AGENT_TTL=${AGENT_TTL_S}s. See docs/performance.md for what each figure means"
		echo "and what limits the ones that miss their target."
	} >"$OUT/latest.md"
	{
		echo "section,measurement,value,unit,target,fleet_v1_quoted,met,nproc,loadavg,command"
		printf '%s\n' "${CSV_ROWS[@]}"
	} >"$OUT/latest.csv"
	say ""
	say "bench: wrote $OUT/latest.md and $OUT/latest.csv (raw outputs in $WORK); ${total_s} s"
}

# --- cluster -------------------------------------------------------------------------------
CLUSTER_STARTED=""
cluster() { "$CLUSTER" "$@"; }
cluster_up() {
	if cluster is-up >/dev/null 2>&1; then
		broken "a cluster named '$FLEET_CLUSTER_NAME' is running already (remove it: FLEET_CLUSTER_NAME=$FLEET_CLUSTER_NAME FLEET_CLUSTER_INDEX_BASE=$BASE $CLUSTER down)"
		return 1
	fi
	CLUSTER_STARTED=1
	if ! cluster up "$1" >>"$LOG" 2>&1; then broken "fleet-cluster up $1 failed (see $LOG)"; return 1; fi
	eval "$(cluster env)"
	export FLEETCTL_ENDPOINT
}
cluster_down() {
	[ -n "$CLUSTER_STARTED" ] || return 0
	cluster down >>"$LOG" 2>&1
	CLUSTER_STARTED=""
}
on_exit() {
	trap - EXIT
	trap '' INT TERM HUP
	cluster_down
}
trap on_exit EXIT
trap 'say "bench: interrupted"; exit 130' INT TERM HUP

machine_of_ip() { echo "m$(( ${1##*.} - 10 - BASE ))"; }
# wait_for SECONDS CMD...: run CMD every 0.2 s until it succeeds
wait_for() {
	local end=$(( ${EPOCHREALTIME/./} + $1 * 1000000 ))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "${EPOCHREALTIME/./}" -lt "$end" ] || return 1
		sleep 0.2
	done
}
n_machines_is() { [ "$("$FLEETCTL" list-machines --no-legend 2>/dev/null | wc -l)" = "$1" ]; }

unit_file() {   # unit_file PATH DESCRIPTION
	printf '[Unit]\nDescription=%s\n\n[Service]\nExecStart=/bin/sleep infinity\n' "$2" >"$1"
}

# "name active_monotonic_usec" for every unit matching PATTERN, over every machine
active_times() {
	local m
	for m in $(cluster machines); do
		cluster exec "$m" systemctl show -p Id -p ActiveEnterTimestampMonotonic "$1" 2>/dev/null
		echo
	done | awk -F= '/^Id=/ { id = $2 } /^ActiveEnterTimestampMonotonic=/ { if ($2 > 0) print id, $2 }'
}

# --- scale ---------------------------------------------------------------------------------
scale_v() { printf '%s\n' "$SCALE_RES" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# scale_record WHAT VALUE UNIT TARGET FLEET: a figure of the current bench-scale run; after a
# failed run, only the figures its completed phases produced (non-zero) are recorded
scale_record() {
	if [ "$(scale_v ok)" != 1 ] && ! awk -v v="${2%% *}" 'BEGIN { exit !(v + 0 > 0) }'; then return 0; fi
	record scale "$1 [$SCALE_COND]" "$2" "$3" "$4" "$5" "$SCALE_H" "$SCALE_CMD"
}
section_scale() {
	local size m u out v deadline rc extra cond tag
	say "== scale: bench-scale (real etcd + the real engine, simulated machines)"
	# Each size runs under the simulator's easy conditions (900 s leases, so no keepalive load;
	# etcd's data on tmpfs, so fsync is free); the largest also under real ones: fleet's
	# default agent_ttl of 30 s (keepalives every 10 s from every machine) and etcd's data on
	# disk. Both leave out the per-agent watch streams (one schedule/ watch stands in for all
	# of them; the fan-out section measures watches on real machines).
	for size in $SCALE_SIZES "real:${SCALE_SIZES##* }"; do
		extra=() tag=""
		cond="easy: 900 s leases, etcd on tmpfs, 1 watch for all"
		if [ "${size%%:*}" = real ]; then
			size=${size#real:} tag=-real
			mkdir -p "$SCALE_DISK"
			extra=(--lease-ttl 30 --data-dir "$SCALE_DISK")
			cond="real: 30 s leases (keepalive every 10 s per machine), etcd on disk, 1 watch for all"
		fi
		m=${size%%:*} u=${size##*:}
		deadline=$(( u >= 100000 ? 480 : 240 ))
		SCALE_H=$(host)
		SCALE_COND=$cond
		out=$WORK/scale-$m-$u$tag.txt
		SCALE_CMD="$BUILD/bench/bench-scale -m $m -u $u --deadline $deadline${extra[*]:+ ${extra[*]}}"
		say "-- $SCALE_CMD   [$SCALE_H]"
		"$BENCHBIN/bench-scale" -m "$m" -u "$u" --deadline "$deadline" "${extra[@]}" \
			--engine-log "$WORK/scale-$m-$u$tag-engine.log" >"$out" 2>&1
		rc=$?
		sed 's/^/   /' "$out" | grep -v '^   RESULT' | tee -a "$LOG"
		SCALE_RES=$(grep '^RESULT ' "$out")
		if [ "$rc" != 0 ] || [ "$(scale_v ok)" != 1 ]; then
			broken "bench-scale -m $m -u $u failed (exit $rc) in phase '$(scale_v failed_phase)': $(grep -m1 -E '^bench-scale: .*(failed|wrong|died|interrupted|timed out)' "$out")"
		fi
		[ -n "$SCALE_RES" ] || continue
		scale_record "engine placement, $m machines / $u units: engine start -> all scheduled (election, listing, txns of 128)" \
			"$(scale_v place_per_s)" "units/s" ">=10000" "not published (100 machines / 1,000 units max)"
		scale_record "· the same, from the first schedule entry to the last (without election and listing)" \
			"$(scale_v place_commit_per_s)" "units/s" "" ""
		# issue 13: >= 10,000 units/s, or >= 80 % of etcd's own ceiling (1 txn in flight) in this run
		scale_record "· placement (engine start -> all scheduled) as a share of etcd's ceiling in this run (1 txn in flight)" \
			"$(awk -v p="$(scale_v place_per_s)" -v c="$(scale_v etcd_ceiling1_per_s)" 'BEGIN { if (c > 0) printf "%.0f", 100 * p / c; else print "nan" }')" "%" ">=80" ""
		scale_record "· time to the first schedule entry (campaign + listing the registry + first pass)" \
			"$(scale_v first_sched_s)" "s" "" ""
		scale_record "· engine CPU / etcd CPU during the placement ($(scale_v place_s) s wall)" \
			"$(scale_v place_cpu_engine_s) / $(scale_v place_cpu_etcd_s)" "s" "" ""
		scale_record "· etcd alone, fenced txns of 128 puts: 1 in flight / 4 in flight / 1 in flight + 1 watcher" \
			"$(scale_v etcd_ceiling1_per_s) / $(scale_v etcd_ceiling4_per_s) / $(scale_v etcd_ceiling1w_per_s)" "puts/s" "" ""
		scale_record "· API job creation (registry_create_job, 1 txn each, 32 in flight), $(scale_v submit_jobs) jobs" \
			"$(scale_v submit_per_s)" "jobs/s" "" ""
		scale_record "· $(scale_v stream_units) more units submitted while the engine leads: submit -> scheduled p99 (p50 $(scale_v stream_p50_ms) ms)" \
			"$(scale_v stream_p99_ms)" "ms" "<=250" ""
		scale_record "· $(scale_v failover_machines) machines' leases revoked: their $(scale_v failover_units) units placed and acknowledged elsewhere" \
			"$(awk -v s="$(scale_v failover_s)" 'BEGIN { printf "%.0f", s * 1000 }')" "ms" "" ""
		v=$(scale_v engine_hwm_kb)
		[ -n "$v" ] && scale_record "· engine peak RSS ($((u + $(scale_v stream_units))) units, $m machines)" \
			"$(awk -v k="$v" 'BEGIN { printf "%.1f", k / 1024 }')" "MB" "<=100" ""
		v=$(scale_v engine_terms)
		[ -n "$v" ] && scale_record "· engine leadership terms during the run (1 = never lost; each new term re-lists the registry)" \
			"$v" "" "" ""
		if [ "$m:$u" = "10000:100000" ] && [ -z "$tag" ]; then
			record scale "$u units on $m machines: all scheduled, acknowledged and failed over (1 = yes) [$SCALE_COND]" \
				"$(scale_v ok)" "" "=1" "no (capped at 1,000 units)" "$SCALE_H" "$SCALE_CMD"
		fi
	done
}

# --- scheduler -----------------------------------------------------------------------------
section_scheduler() {
	local h cmd out units machines pass dec unplaced msec
	say "== scheduler: bench-scheduler, one pure scheduler pass (no etcd), CPU time"
	h=$(host)
	cmd="$BUILD/bench/bench-scheduler"
	out=$WORK/scheduler.txt
	if [ ! -x "$BENCHBIN/bench-scheduler" ]; then note "bench-scheduler is not built: skipped"; return 0; fi
	if ! "$BENCHBIN/bench-scheduler" >"$out" 2>&1; then
		cat "$out" >>"$LOG"; broken "bench-scheduler failed"; return 1
	fi
	sed 's/^/   /' "$out" | tee -a "$LOG"
	while read -r units machines pass dec unplaced msec _; do
		[ "$pass" = place ] || [ "$pass" = failover ] || continue
		case $units in *[!0-9]*) continue ;; esac
		record scheduler "scheduler pass '$pass', $units units on $machines machines ($dec decisions, $unplaced unplaced)" \
			"$msec" "ms CPU" "" "" "$h" "$cmd"
	done <"$out"
}

# --- start ---------------------------------------------------------------------------------
start_measure() {   # start_measure LABEL PREFIX BENCH_START_FLAGS...
	local label=$1 prefix=$2 dir=$WORK/$2 h cmd i n t
	shift 2
	rm -rf "$dir"; mkdir -p "$dir"
	for i in $(seq -f '%03g' 1 "$START_UNITS"); do unit_file "$dir/$prefix-$i.service" "bench $prefix $i"; done
	h=$(host)
	cmd="fleetctl start $* UNIT (x$START_UNITS, one after another)"
	say "-- $label: $cmd   [$h]"
	if ! (cd "$dir" && "$BENCHBIN/bench-start" "$@" "$FLEETCTL" "$dir/times" "$prefix"-*.service) 2>>"$LOG"; then
		broken "fleetctl start failed ($label; see $LOG)"
		return 1
	fi
	# every unit must become active (bounded wait), then compare the clocks
	t=0
	while :; do
		active_times "$prefix-*.service" >"$dir/active"
		n=$(wc -l <"$dir/active")
		[ "$n" -ge "$START_UNITS" ] && break
		t=$((t + 1))
		if [ "$t" -gt 60 ]; then broken "$label: only $n of $START_UNITS units became active within 60 s"; return 1; fi
		sleep 0.5
	done
	awk 'NR == FNR { t0[$1] = $2; t1[$1] = $3; next } ($1 in t0) { printf "%.1f %.1f\n", ($2 - t0[$1]) / 1000, (t1[$1] - t0[$1]) / 1000 }' \
		"$dir/times" "$dir/active" >"$dir/lat"
	cut -d' ' -f1 "$dir/lat" >"$dir/lat-active"
	cut -d' ' -f2 "$dir/lat" >"$dir/lat-cmd"
	note "command -> active: p50 $(pct 50 "$dir/lat-active") ms, p90 $(pct 90 "$dir/lat-active") ms, p99 $(pct 99 "$dir/lat-active") ms, max $(pct 100 "$dir/lat-active") ms; fleetctl itself returned after p50 $(pct 50 "$dir/lat-cmd") ms"
	START_H=$h START_CMD=$cmd START_DIR=$dir
}

section_start() {
	say "== start: 3 machines, fleetctl start -> unit active in systemd"
	[ -n "$CLUSTER_STARTED" ] || cluster3_up || return 1
	if start_measure "blocking" bench-start --block-attempts 15; then
		record start "fleetctl start -> active, p50 (3 machines, blocking start, $START_UNITS units one after another)" \
			"$(pct 50 "$START_DIR/lat-active")" ms "<=50" "3800 ms" "$START_H" "$START_CMD"
		record start "fleetctl start -> active, p90" "$(pct 90 "$START_DIR/lat-active")" ms "" "" "$START_H" "$START_CMD"
		record start "fleetctl start -> active, p99" \
			"$(pct 99 "$START_DIR/lat-active")" ms "<=150" "4300 ms" "$START_H" "$START_CMD"
		record start "blocking fleetctl start returns (wall), p50" "$(pct 50 "$START_DIR/lat-cmd")" ms "" "" "$START_H" "$START_CMD"
	fi
	if start_measure "no-block" bench-burst --no-block; then
		record start "fleetctl --no-block start, $START_UNITS back to back -> each active, p50 / p99" \
			"$(pct 50 "$START_DIR/lat-active") / $(pct 99 "$START_DIR/lat-active")" ms "" "" "$START_H" "$START_CMD"
	fi
	# leave the cluster clean for the next sections
	local names=() f
	for f in "$WORK"/bench-start/*.service "$WORK"/bench-burst/*.service; do
		[ -e "$f" ] && names+=("${f##*/}")
	done
	[ "${#names[@]}" = 0 ] || "$FLEETCTL" destroy "${names[@]}" >>"$LOG" 2>&1
}

# --- churn ---------------------------------------------------------------------------------
churn_client() {   # churn_client DIR: start, stop, destroy each unit in DIR, CHURN_ROUNDS times
	local dir=$1 round f op t0 t1 rc
	cd "$dir" || return 1
	for round in $(seq 1 "$CHURN_ROUNDS"); do
		for f in *.service; do
			for op in start stop destroy; do
				t0=${EPOCHREALTIME/./}
				timeout 60 "$FLEETCTL" "$op" --block-attempts 120 "$f" >>"$dir/log" 2>&1
				rc=$?
				t1=${EPOCHREALTIME/./}
				echo "$op $(( (t1 - t0) / 1000 )) $rc $round $f"
			done
		done
	done >"$dir/ops"
}

section_churn() {
	local dir=$WORK/churn h cmd c u per n fails op
	say "== churn: 3 machines, $CHURN_CLIENTS parallel fleetctl clients churning $CHURN_UNITS units"
	if [ -z "$CLUSTER_STARTED" ] || [ "$(cluster machines | wc -l)" != 3 ]; then
		cluster_down; cluster3_up || return 1
	fi
	rm -rf "$dir"; mkdir -p "$dir"
	per=$((CHURN_UNITS / CHURN_CLIENTS))
	for c in $(seq -f '%02g' 1 "$CHURN_CLIENTS"); do
		mkdir -p "$dir/c$c"
		for u in $(seq -f '%03g' 1 "$per"); do unit_file "$dir/c$c/bench-churn-$c-$u.service" "bench churn $c $u"; done
	done
	h=$(host)
	cmd="$CHURN_CLIENTS x (for each of its $per units: fleetctl start; fleetctl stop; fleetctl destroy) x $CHURN_ROUNDS rounds, in parallel"
	say "-- $cmd   [$h]"
	for c in $(seq -f '%02g' 1 "$CHURN_CLIENTS"); do churn_client "$dir/c$c" & done
	wait
	cat "$dir"/c*/ops >"$dir/ops"
	n=$(wc -l <"$dir/ops")
	fails=$(awk '$3 != 0' "$dir/ops" | wc -l)
	awk '{ print $2 }' "$dir/ops" >"$dir/lat"
	for op in start stop destroy; do
		awk -v o=$op '$1 == o { print $2 }' "$dir/ops" >"$dir/lat-$op"
		note "$op: p50 $(pct 50 "$dir/lat-$op") ms, p90 $(pct 90 "$dir/lat-$op") ms, max $(pct 100 "$dir/lat-$op") ms"
	done
	[ "$fails" = 0 ] || broken "churn: $fails of $n fleetctl commands failed (see $dir/c*/log)"
	[ "$n" = $((CHURN_CLIENTS * per * 3 * CHURN_ROUNDS)) ] || broken "churn: $n commands ran, not $((CHURN_CLIENTS * per * 3 * CHURN_ROUNDS))"
	record churn "$CHURN_CLIENTS parallel fleetctl clients churning $CHURN_UNITS units (start/stop/destroy, blocking), per operation p50" \
		"$(pct 50 "$dir/lat")" ms "<=150" "" "$h" "$cmd"
	record churn "· per operation p90 ($n operations; start / stop / destroy p50 $(pct 50 "$dir/lat-start") / $(pct 50 "$dir/lat-stop") / $(pct 50 "$dir/lat-destroy") ms)" \
		"$(pct 90 "$dir/lat")" ms "<=500" "" "$h" "$cmd"
}

# --- failover ------------------------------------------------------------------------------
# The 3-machine cluster: m1 boots first and so normally holds the engine leadership; m2 and
# m3 carry role=worker, which the failover unit requires, so that a crash of the unit's machine
# is an agent crash only (the engine leader survives it). A separate, shorter series crashes
# the engine leader's machine together with the unit's.
cluster3_up() {
	export FLEET_CLUSTER_METADATA_m2=role=worker FLEET_CLUSTER_METADATA_m3=role=worker
	cluster_up 3
}
leader_machine() {   # name (mN) of the engine leader's machine, or empty
	local id m
	id=$(ETCDCTL_API=3 ETCDCTL_ENDPOINTS="$(cluster etcd-endpoint)" etcdctl get --print-value-only \
		/_coreos.com/fleet/engine/leader 2>/dev/null | sed -n 's/.*"MachineID":"\([0-9a-f]*\)".*/\1/p')
	for m in $(seq 1 "$(cluster machines | wc -l)"); do
		[ "$(cluster id "m$m" 2>/dev/null)" = "$id" ] && { echo "m$m"; return; }
	done
}
engine_lease_ttl() {   # granted TTL (s) of the lease engine/leader is on (the leader machine's), or "?"
	local id
	id=$(ETCDCTL_API=3 ETCDCTL_ENDPOINTS="$(cluster etcd-endpoint)" etcdctl get -w json \
		/_coreos.com/fleet/engine/leader 2>/dev/null | sed -n 's/.*"lease":\([0-9]*\).*/\1/p')
	[ -n "$id" ] || { echo "?"; return; }
	ETCDCTL_API=3 ETCDCTL_ENDPOINTS="$(cluster etcd-endpoint)" etcdctl lease timetolive \
		"$(printf '%x' "$id")" 2>/dev/null | sed -n 's/.*granted with TTL(\([0-9]*\)s).*/\1/p'
}
# failover_rep UNIT VICTIM... : crash the victims, print ms until UNIT is active elsewhere
failover_rep() {
	local unit=$1 t0 k v out st ts
	shift
	t0=$(now_us)
	for v in "$@"; do cluster kill "$v" >>"$LOG" 2>&1 || { echo "fleet-cluster kill $v failed"; return 1; }; done
	for _ in $(seq 1 300); do   # bounded: 300 rounds of >= 0.1 s
		for k in $(cluster machines); do
			for v in "$@"; do [ "$k" = "$FLEET_CLUSTER_NAME-$v" ] && continue 2; done
			out=$(cluster exec "$k" systemctl show -p ActiveState -p ActiveEnterTimestampMonotonic "$unit" 2>/dev/null)
			st=$(sed -n 's/^ActiveState=//p' <<<"$out")
			ts=$(sed -n 's/^ActiveEnterTimestampMonotonic=//p' <<<"$out")
			if [ "$st" = active ] && [ "${ts:-0}" -gt "$t0" ]; then ms $((ts - t0)); return 0; fi
		done
		sleep 0.1
	done
	echo "$unit never became active after $* crashed"
	return 1
}
unit_machine() {   # mN running UNIT, per fleetctl
	local ip
	ip=$("$FLEETCTL" list-units --no-legend --full --fields unit,machine 2>/dev/null |
		awk -v u="$1" '$1 == u { split($2, a, "/"); print a[2] }')
	[ -n "$ip" ] && machine_of_ip "$ip"
}
section_failover() {
	local dir=$WORK/failover h rep m l lat cmd victims n_leader=0 elt
	say "== failover: agent_ttl ${AGENT_TTL_S}s, crash the unit's machine -> active elsewhere"
	[ -n "$CLUSTER_STARTED" ] || cluster3_up || return 1
	rm -rf "$dir"; mkdir -p "$dir"
	unit_file "$dir/bench-failover.service" "bench failover"
	printf '\n[X-Fleet]\nMachineMetadata=role=worker\n' >>"$dir/bench-failover.service"
	if ! (cd "$dir" && "$FLEETCTL" start --block-attempts 15 bench-failover.service) >>"$LOG" 2>&1; then
		broken "failover: fleetctl start bench-failover.service failed"; return 1
	fi
	h=$(host)
	elt=$(engine_lease_ttl)
	cmd="fleet-cluster kill MACHINE-RUNNING-IT; poll systemctl show -p ActiveEnterTimestampMonotonic on the others"
	: >"$dir/lat"; : >"$dir/lat-leader"
	for rep in $(seq 1 "$FAILOVER_REPS") L1 L2 L3; do
		m=$(unit_machine bench-failover.service)
		[ -n "$m" ] || { broken "failover: bench-failover.service is not running anywhere before rep $rep"; return 1; }
		l=$(leader_machine)
		victims=("$m")
		case $rep in
		L*) [ -n "$l" ] && [ "$l" != "$m" ] && victims+=("$l") ;;
		*) [ "$l" = "$m" ] && note "rep $rep: $m is also the engine leader (counted with the leader series)" ;;
		esac
		lat=$(failover_rep bench-failover.service "${victims[@]}") || { broken "failover: $lat (rep $rep)"; return 1; }
		if [ "${rep#L}" != "$rep" ] || [ "$l" = "$m" ]; then
			echo "$lat" >>"$dir/lat-leader"
			note "rep $rep: crashed ${victims[*]} (engine leader: $l) -> active elsewhere after $lat ms"
		else
			echo "$lat" >>"$dir/lat"
			note "rep $rep: crashed $m (engine leader $l survives) -> active elsewhere after $lat ms"
		fi
		for m in "${victims[@]}"; do
			cluster restart "$m" >>"$LOG" 2>&1 || { broken "failover: fleet-cluster restart $m failed"; return 1; }
		done
		wait_for 30 n_machines_is 3 || { broken "failover: the crashed machines did not come back"; return 1; }
	done
	n_leader=$(wc -l <"$dir/lat-leader")
	if [ -s "$dir/lat" ]; then
		record failover "machine crash -> its unit active elsewhere, p50 (agent_ttl ${AGENT_TTL_S} s; $(wc -l <"$dir/lat") crashes, engine leader elsewhere)" \
			"$(pct 50 "$dir/lat")" ms "" "9900 ms" "$h" "$cmd"
		record failover "machine crash -> its unit active elsewhere, max (with at most 10 crashes, also the p99; target agent_ttl + 0.5 s)" \
			"$(pct 100 "$dir/lat")" ms "<=$((AGENT_TTL_S * 1000 + 500))" "" "$h" "$cmd"
	fi
	record failover "crash of the unit's machine and the engine leader's -> unit active elsewhere, p50 / max ($n_leader crashes; the leader key on the leader machine's lease, TTL ${elt:-?} s)" \
		"$(pct 50 "$dir/lat-leader") / $(pct 100 "$dir/lat-leader")" ms "" "" "$h" "fleet-cluster kill MACHINE-RUNNING-IT ENGINE-LEADER-MACHINE; ..."
	"$FLEETCTL" destroy bench-failover.service >>"$LOG" 2>&1
}

# --- fan-out -------------------------------------------------------------------------------
metric_of() {   # metric_of FILE NAME -> value (0 if absent)
	awk -v n="$2" '$1 == n { v = $2 } END { print v + 0 }' "$1"
}
scrape_all() {   # scrape_all TAG: /metrics of every machine into $dir/TAG-mN
	local m ip
	for m in $(seq 1 "$FANOUT_N"); do
		ip=127.0.0.$((10 + BASE + m))
		curl -sf --max-time 5 "http://$ip:49153/metrics" >"$dir/$1-m$m" || return 1
	done
}
section_fanout() {
	local dir=$WORK/fanout h cmd m a b c woken=0 baseline=0 watched=0 leader=""
	FANOUT_N=10
	say "== fanout: one schedule change in a $FANOUT_N-machine cluster"
	[ -n "$CLUSTER_STARTED" ] || cluster3_up || return 1
	rm -rf "$dir"; mkdir -p "$dir"
	local have
	have=$(cluster machines | wc -l)
	if [ "$have" -lt "$FANOUT_N" ]; then
		cluster add $((FANOUT_N - have)) >>"$LOG" 2>&1 || { broken "fanout: fleet-cluster add failed"; return 1; }
	fi
	wait_for 30 n_machines_is "$FANOUT_N" || { broken "fanout: $FANOUT_N machines did not register"; return 1; }
	unit_file "$dir/bench-fanout.service" "bench fanout"
	sleep 2
	h=$(host)
	cmd="fleetctl start bench-fanout.service; /metrics of every fleetd before and after"
	scrape_all a || { broken "fanout: /metrics unreachable"; return 1; }
	sleep 3
	scrape_all b || { broken "fanout: /metrics unreachable"; return 1; }
	(cd "$dir" && "$FLEETCTL" start --block-attempts 15 bench-fanout.service) >>"$LOG" 2>&1 ||
		{ broken "fanout: fleetctl start failed"; return 1; }
	wait_for 15 eval '[ -n "$(active_times bench-fanout.service)" ]' || { broken "fanout: unit never became active"; return 1; }
	sleep 1
	scrape_all c || { broken "fanout: /metrics unreachable"; return 1; }
	for m in $(seq 1 "$FANOUT_N"); do
		a=$(metric_of "$dir/a-m$m" fleet_agent_reconcile_count_total)
		b=$(metric_of "$dir/b-m$m" fleet_agent_reconcile_count_total)
		c=$(metric_of "$dir/c-m$m" fleet_agent_reconcile_count_total)
		[ "$b" -gt "$a" ] && baseline=$((baseline + 1))
		[ "$c" -gt "$b" ] && woken=$((woken + 1))
		a=$(metric_of "$dir/b-m$m" fleet_etcd_watch_events_total)
		b=$(metric_of "$dir/c-m$m" fleet_etcd_watch_events_total)
		[ "$b" -gt "$a" ] && watched=$((watched + 1))
		leader=""
		[ "$(metric_of "$dir/c-m$m" fleet_engine_leader)" = 1 ] && leader=" (engine leader)"
		note "m$m: agent reconciles +$(( $(metric_of "$dir/c-m$m" fleet_agent_reconcile_count_total) - $(metric_of "$dir/b-m$m" fleet_agent_reconcile_count_total) )), watch events +$((b - a))$leader"
	done
	[ "$baseline" = 0 ] || note "note: $baseline agents reconciled in the idle baseline window as well"
	record fanout "agents that reconcile after one schedule change ($FANOUT_N machines)" \
		"$woken" agents "=1" "all ($FANOUT_N)" "$h" "$cmd"
	record fanout "fleetds that receive any watch event for it (the engine leader's watch included)" \
		"$watched" fleetds "" "all ($FANOUT_N)" "$h" "$cmd"
	(cd "$dir" && "$FLEETCTL" destroy bench-fanout.service) >>"$LOG" 2>&1
}

# --- idle ----------------------------------------------------------------------------------
grpc_started() {   # per-method sums of etcd's grpc_server_started_total: "Method count" lines
	curl -sf --max-time 5 "$1/metrics" | awk '/^grpc_server_started_total/ {
		match($0, /grpc_method="[^"]*"/); m = substr($0, RSTART + 13, RLENGTH - 14); n[m] += $NF }
		END { for (m in n) print m, n[m] }' | sort
}
fleetd_status() {   # fleetd_status FIELD...: fields of /proc/<fleetd>/status and smaps_rollup in m1, kB
	# shellcheck disable=SC2016 # expanded inside the machine
	cluster exec m1 sh -c 'p=$(systemctl show -P MainPID fleet.service); cat /proc/$p/status /proc/$p/smaps_rollup' \
		2>/dev/null >"$WORK/fleetd-status"
	local f
	for f in "$@"; do
		case $f in
		Private) awk '$1 == "Private_Clean:" || $1 == "Private_Dirty:" { s += $2 } END { print s + 0 }' "$WORK/fleetd-status" ;;
		*) awk -v f="$f:" '$1 == f { print $2; exit }' "$WORK/fleetd-status" ;;
		esac
	done
}
kb_mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

section_idle() {
	local dir=$WORK/idle h e cmd total per_min rss anon file
	say "== idle: 1 machine, 1 unit, agent_ttl ${AGENT_TTL_S}s"
	cluster_down
	cluster_up 1 || return 1
	rm -rf "$dir"; mkdir -p "$dir"
	unit_file "$dir/bench-idle.service" "bench idle"
	(cd "$dir" && "$FLEETCTL" start --block-attempts 15 bench-idle.service) >>"$LOG" 2>&1 ||
		{ broken "idle: fleetctl start failed"; return 1; }
	sleep 5
	e=$(cluster etcd-endpoint)
	h=$(host)
	cmd="etcd /metrics grpc_server_started_total before and after ${IDLE_WINDOW} s idle"
	say "-- $cmd   [$h]"
	grpc_started "$e" >"$dir/before" || { broken "idle: etcd /metrics unreachable"; return 1; }
	sleep "$IDLE_WINDOW"
	grpc_started "$e" >"$dir/after" || { broken "idle: etcd /metrics unreachable"; return 1; }
	join -a 2 -e 0 -o 0,1.2,2.2 "$dir/before" "$dir/after" | awk '$3 - $2 > 0 { print $1, $3 - $2 }' >"$dir/delta"
	total=$(awk '{ s += $2 } END { print s + 0 }' "$dir/delta")
	per_min=$(awk -v t="$total" -v w="$IDLE_WINDOW" 'BEGIN { printf "%.0f", t * 60 / w }')
	note "requests in ${IDLE_WINDOW} s by method: $(tr '\n' ' ' <"$dir/delta")"
	record idle "etcd requests per minute, one idle machine with one unit, the engine leader (by gRPC method: $(tr '\n' ',' <"$dir/delta" | sed 's/,$//; s/,/, /g'))" \
		"$per_min" "req/min" "<=36" "780" "$h" "$cmd"
	h=$(host)
	read -r rss anon file < <(fleetd_status VmRSS RssAnon RssFile | tr '\n' ' ')
	cmd="grep VmRSS /proc/\$(systemctl show -P MainPID fleet.service)/status (in m1)"
	record idle "fleetd RSS, idle, 1 machine, 1 unit (anon $(kb_mb "$anon") MB + file-backed $(kb_mb "$file") MB, mostly shared libraries)" \
		"$(kb_mb "$rss")" MB "<=4" "13-17 MB" "$h" "$cmd"
	record idle "· of which anonymous memory (heap, stacks: RssAnon); the rest is shared-library code" \
		"$(kb_mb "$anon")" MB "" "" "$h" "grep RssAnon /proc/<fleetd>/status (in m1)"
	"$FLEETCTL" destroy bench-idle.service >>"$LOG" 2>&1
}

# --- api -----------------------------------------------------------------------------------
api_rate() {   # api_rate URL N PARALLEL -> requests/s (bench-get checks every answer is 200)
	local out
	out=$("$BENCHBIN/bench-get" "$2" "$3" "$1") || return 1
	echo "${out%% *}"
}
median_wall_ms() {   # median_wall_ms REPS CMD...: median wall time in ms of CMD
	local reps=$1 i t0 t1
	shift
	for i in $(seq 1 "$reps"); do
		t0=$(now_us); "$@" >/dev/null 2>&1 || return 1; t1=$(now_us)
		echo $(( (t1 - t0) / 1000 ))
	done >"$WORK/walls"
	pct 50 "$WORK/walls"
}

section_api() {
	local dir=$WORK/api h cmd t0 t1 i rss anon file url r1 r4 ip what
	say "== api: 1 machine, $API_UNITS units loaded"
	if [ -z "$CLUSTER_STARTED" ] || [ "$(cluster machines | wc -l)" != 1 ]; then
		cluster_down; cluster_up 1 || return 1
	fi
	rm -rf "$dir"; mkdir -p "$dir"
	for i in $(seq -f '%04g' 1 "$API_UNITS"); do unit_file "$dir/bench-api-$i.service" "bench api $i"; done
	h=$(host)
	cmd="fleetctl load bench-api-*.service ($API_UNITS units)"
	t0=$(now_us)
	(cd "$dir" && "$FLEETCTL" load --block-attempts 60 bench-api-*.service) >>"$LOG" 2>&1 ||
		{ broken "api: fleetctl load of $API_UNITS units failed"; return 1; }
	t1=$(now_us)
	record api "fleetctl load of $API_UNITS units on 1 machine (blocking, until all loaded)" \
		"$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 1e6 }')" s "<=5" "" "$h" "$cmd"
	sleep 3
	h=$(host)
	read -r rss anon file < <(fleetd_status VmRSS RssAnon RssFile | tr '\n' ' ')
	record api "fleetd RSS with $API_UNITS units loaded (anon $(kb_mb "$anon") MB + file-backed $(kb_mb "$file") MB)" \
		"$(kb_mb "$rss")" MB "" "13-17 MB idle" "$h" "grep VmRSS /proc/<fleetd>/status (in m1)"
	ip=$(cluster ip m1)
	url="http://$ip:49153/fleet/v1/units"
	h=$(host)
	cmd="bench-get $API_REQUESTS 1 $url (one keep-alive connection)"
	r1=$(api_rate "$url" "$API_REQUESTS" 1 2>>"$LOG") || { broken "api: GET /fleet/v1/units failed"; return 1; }
	record api "GET /fleet/v1/units (first page of $API_UNITS units), 1 keep-alive client" "$r1" "req/s" ">=2000" "13-15 req/s" "$h" "$cmd"
	h=$(host)
	cmd="bench-get $API_REQUESTS 4 $url (4 keep-alive connections in parallel)"
	r4=$(api_rate "$url" "$API_REQUESTS" 4 2>>"$LOG") || { broken "api: GET /fleet/v1/units failed"; return 1; }
	record api "GET /fleet/v1/units, 4 parallel keep-alive clients" "$r4" "req/s" "" "" "$h" "$cmd"
	for what in state machines; do
		h=$(host)
		cmd="bench-get $API_REQUESTS 1 http://$ip:49153/fleet/v1/$what (one keep-alive connection)"
		r1=$(api_rate "http://$ip:49153/fleet/v1/$what" "$API_REQUESTS" 1 2>>"$LOG") ||
			{ broken "api: GET /fleet/v1/$what failed"; return 1; }
		record api "GET /fleet/v1/$what (first page), 1 keep-alive client" "$r1" "req/s" "" "" "$h" "$cmd"
	done
	h=$(host)
	record api "fleetctl list-units wall time, $API_UNITS units (median of 5)" \
		"$(median_wall_ms 5 "$FLEETCTL" list-units --no-legend)" ms "<=30" "" "$h" "fleetctl list-units"
	h=$(host)
	record api "fleetctl list-unit-files wall time, $API_UNITS units (median of 5)" \
		"$(median_wall_ms 5 "$FLEETCTL" list-unit-files --no-legend)" ms "<=30" "848-931 ms" "$h" "fleetctl list-unit-files"
	h=$(host)
	read -r rss anon file < <(fleetd_status VmRSS RssAnon RssFile | tr '\n' ' ')
	record api "fleetd RssAnon with $API_UNITS units loaded, after the reads above (heap, stacks)" \
		"$(kb_mb "$anon")" MB "<=4" "" "$h" "grep RssAnon /proc/<fleetd>/status (in m1)"
	api_units_listed() { [ "$("$FLEETCTL" list-units --no-legend 2>/dev/null | grep -c '^bench-api-')" = "$API_UNITS" ]; }
	wait_for 30 api_units_listed ||
		broken "api: fleetctl list-units does not show $API_UNITS bench-api units (shows $("$FLEETCTL" list-units --no-legend 2>/dev/null | grep -c '^bench-api-'))"
}

# --- main ----------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || { echo "bench: run as root (the cluster sections boot systemd in namespaces)" >&2; exit 1; }
mkdir -p "$BIN" || exit 1
for f in bin/fleetd bin/fleetctl bench/bench-scale bench/bench-start bench/bench-scheduler bench/bench-get; do
	if [ -x "$B/$f" ]; then
		cp -f "$B/$f" "$BIN/" || exit 1
	elif [ "$f" != bench/bench-scheduler ]; then
		echo "bench: $B/$f is not built (run make)" >&2; exit 1
	fi
done
export FLEET_CLUSTER_FLEETD=$BIN/fleetd
: >"$LOG"
FLEETD_ID="fleetd $(sha1sum "$BIN/fleetd" | cut -c1-12), built $(date -u -r "$B/bin/fleetd" '+%Y-%m-%d %H:%M UTC')"
say "bench: sections: $SECTIONS; host: $(host); raw outputs in $WORK"
for s in $SECTIONS; do
	case $s in
	scheduler) section_scheduler ;;
	scale) section_scale ;;
	start) section_start ;;
	churn) section_churn ;;
	failover) section_failover ;;
	fanout) section_fanout ;;
	idle) section_idle ;;
	api) section_api ;;
	esac
done
cluster_down
write_results
exit "$RC"
