#!/bin/bash
# SPDX-License-Identifier: MIT
# tools/start-timeline.sh — where the time of a `fleetctl start` goes (docs/performance.md,
# "Start latency"). Boots a 3-machine local cluster with fleetd at verbosity=1, runs N blocking
# `fleetctl start`s one after another (a `sleep infinity` service each), reads the machines'
# journals (monotonic timestamps: the machines share the host's CLOCK_MONOTONIC) and prints the
# distribution of each step of a start, from the moment fleetctl is exec'd:
#   fleetctl's first PUT, its second PUT (desiredState), the API's answer to it (the etcd
#   write done), the engine's schedule commit ("Scheduled ..."), the target agent's schedule
#   watch event, its unit content fetch, its planned tasks, the unit file written and linked,
#   StartUnit sent and answered, systemd's ActiveEnterTimestampMonotonic, fleetctl's exit.
# Then the floor: `systemctl start` of a plain unit new to systemd (the same `sleep infinity`
# service, no daemon-reload, as fleet does) N times in each machine, exec -> active.
# Journal timestamps are when journald read the line, so each step is a little late (tenths
# of a millisecond when the host is idle, more under load); compare distributions, not units.
#
#   tools/start-timeline.sh [N]            N starts (default 30)
# Environment: BUILD (default build; inside the checkout), TIMELINE_CLUSTER_NAME (default timeline),
# TIMELINE_INDEX_BASE (default 60), TIMELINE_OUT (raw outputs; default $BUILD/start-timeline).
# Wrap in `flock /tmp/fleet-c-bench.lock` on a shared host. Run as root.
set -eu
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
N=${1:-30}
OUT=${TIMELINE_OUT:-$B/start-timeline}
CLUSTER=$ROOT/test/cluster/fleet-cluster
NOW="$B/bench/bench-start --now"
FLEETCTL=$B/bin/fleetctl
case $N in '' | *[!0-9]* | 0) echo "start-timeline: N must be a positive number" >&2; exit 2 ;; esac
if [ ! -x "$B/bench/bench-start" ] || [ ! -x "$FLEETCTL" ]; then
	echo "start-timeline: build first (make)" >&2; exit 1
fi
case $B/ in "$ROOT"/*) ;; *)   # the machines see the checkout, and run bench-start for the floor
	echo "start-timeline: BUILD must be inside the checkout ($ROOT)" >&2; exit 2 ;;
esac

unset "${!FLEET_CLUSTER_@}" FLEETCTL_ENDPOINT FLEETCTL_TUNNEL
export FLEET_CLUSTER_NAME=${TIMELINE_CLUSTER_NAME:-timeline}
export FLEET_CLUSTER_INDEX_BASE=${TIMELINE_INDEX_BASE:-60}
export FLEET_CLUSTER_AGENT_TTL=5s FLEET_CLUSTER_CONF=verbosity=1 BUILD
if "$CLUSTER" is-up >/dev/null 2>&1; then
	echo "start-timeline: cluster '$FLEET_CLUSTER_NAME' is running already" >&2; exit 1
fi
trap '"$CLUSTER" down >/dev/null 2>&1' EXIT
"$CLUSTER" up 3 >/dev/null
eval "$("$CLUSTER" env)"
export FLEETCTL_ENDPOINT

rm -rf "$OUT"; mkdir -p "$OUT/units"
for i in $(seq -f %03g 1 "$N"); do
	printf '[Unit]\nDescription=timeline %s\n[Service]\nExecStart=/bin/sleep infinity\n' "$i" \
		>"$OUT/units/timeline-$i.service"
done
load0=$(cut -d' ' -f1-3 /proc/loadavg)
(
	cd "$OUT/units"
	for i in $(seq -f %03g 1 "$N"); do
		t0=$($NOW); "$FLEETCTL" start "timeline-$i.service" >/dev/null; t1=$($NOW)
		echo "timeline-$i.service $t0 $t1"
		sleep 0.2
	done
) >"$OUT/times"
for m in 1 2 3; do
	"$CLUSTER" exec "m$m" journalctl -o short-monotonic --no-pager | sed "s/^/m$m /" >"$OUT/journal-m$m"
	"$CLUSTER" exec "m$m" systemctl show -p Id -p ActiveEnterTimestampMonotonic 'timeline-*.service' \
		>"$OUT/active-m$m"
done
"$FLEETCTL" destroy "$OUT"/units/timeline-*.service >/dev/null
# the floor, in each machine
for m in 1 2 3; do
	"$CLUSTER" exec "m$m" bash -c '
		for i in $(seq 1 '"$N"'); do
			printf "[Service]\nExecStart=/bin/sleep infinity\n" >/run/systemd/system/floor-$i.service
			t0=$('"$NOW"'); systemctl start floor-$i.service
			echo "$t0 $(systemctl show -P ActiveEnterTimestampMonotonic floor-$i.service)"
			sleep 0.2
		done
		systemctl stop "floor-*.service"; rm -f /run/systemd/system/floor-*.service' >"$OUT/floor-m$m"
done
echo "start-timeline: $N starts, 3 machines, $(nproc) CPUs, load $load0 (before) $(cut -d' ' -f1-3 /proc/loadavg) (after); raw outputs in $OUT"
python3 - "$OUT" <<'EOF'
import glob, re, sys

out = sys.argv[1]
times = [l.split() for l in open(out + "/times")]
active = {}
for f in glob.glob(out + "/active-m*"):
    name = None
    for l in open(f):
        k, _, v = l.strip().partition("=")
        if k == "Id":
            name = v
        elif k == "ActiveEnterTimestampMonotonic" and name and int(v):
            active[name] = int(v)
lines = []
for f in glob.glob(out + "/journal-m*"):
    for l in open(f):
        m = re.match(r"(m\d) \[\s*([\d.]+)\] \S+ [^:]*: (.*)", l)
        if m:
            lines.append((round(float(m.group(2)) * 1e6), m.group(1), m.group(3)))
lines.sort()

def first(win, pat, machine=None, after=0):
    for t, mach, msg in win:
        if t >= after and (machine is None or mach == machine) and re.search(pat, msg):
            return t, mach
    return None, None

steps = [("t0", "fleetctl exec'd"), ("put1", "first PUT received"),
         ("put2", "second PUT (desiredState) received"), ("put2done", "API answered it (etcd write done)"),
         ("sched", "engine committed the schedule entry"), ("event", "agent: schedule watch event"),
         ("content", "agent: unit content fetched"), ("plan", "agent: tasks planned"),
         ("loaded", "agent: unit file written and linked"), ("sent", "agent: StartUnit sent"),
         ("done", "StartUnit answered (job queued)"), ("active", "systemd: unit active"),
         ("t1", "fleetctl returned")]
rows = []
for k, (name, t0, t1) in enumerate(times):
    t0, t1 = int(t0), int(t1)
    end = int(times[k + 1][1]) if k + 1 < len(times) else t1 + 10**6
    win = [x for x in lines if t0 - 1000 <= x[0] < end]
    n = re.escape(name)
    ev = {"t0": t0, "t1": t1, "active": active.get(name)}
    _, mach = first(win, r"StartUnit\(" + n + r"\) sent")
    ev["put1"], _ = first(win, r"^HTTP PUT /fleet/v1/units/" + n)
    ev["put2"], _ = first(win, r"^HTTP PUT /fleet/v1/units/" + n, after=(ev["put1"] or t0) + 1)
    ev["put2done"], _ = first(win, r"^HTTP 20\d for PUT /fleet/v1/units/" + n, after=ev["put2"] or t0)
    ev["sched"], _ = first(win, r"^Scheduled " + n)
    ev["event"], _ = first(win, r"Registry: this machine's schedule changed", mach, ev["put2done"] or t0)
    ev["content"], _ = first(win, r"Fetched unit content", mach, ev["event"] or t0)
    ev["plan"], _ = first(win, r"Planned task: load " + n, mach)
    ev["loaded"], _ = first(win, r"Completed task: load " + n, mach)
    ev["sent"], _ = first(win, r"StartUnit\(" + n + r"\) sent", mach)
    ev["done"], _ = first(win, r"StartUnit\(" + n + r"\) done", mach)
    rows.append(ev)

def pct(v, p):
    v = sorted(v)
    return v[max(0, min(len(v) - 1, int(p / 100 * len(v) + 0.999999) - 1))]

def line(label, d):
    if d:
        print("| %s | %.1f | %.1f | %.1f | %d |" % (label, pct(d, 50), pct(d, 90), max(d), len(d)))

def seg(a, b):
    return [(r[b] - r[a]) / 1000 for r in rows if r.get(a) and r.get(b)]

print("\n| step (ms) | p50 | p90 | max | n |\n|---|---|---|---|---|")
for (a, _), (b, what) in zip(steps, steps[1:]):
    line(what, seg(a, b))
for a, b, what in [("t0", "put2done", "= fleetctl and the API (exec -> desiredState written)"),
                   ("put2done", "sent", "= engine and agent (written -> StartUnit sent)"),
                   ("sent", "active", "= systemd (StartUnit sent -> active)"),
                   ("t0", "active", "**= fleetctl start -> active**"),
                   ("t0", "t1", "= fleetctl start -> fleetctl returned")]:
    line(what, seg(a, b))
floor = []
for f in glob.glob(out + "/floor-m*"):
    for l in open(f):
        p = l.split()
        if len(p) == 2 and int(p[1]):
            floor.append((int(p[1]) - int(p[0])) / 1000)
line("floor: `systemctl start` of a new unit -> active (each machine)", floor)
if floor and rows:
    fl = [(r["active"] - r["t0"]) / 1000 for r in rows if r.get("active")]
    print("\nratio fleetctl start / systemctl start: p50 %.2f, p90 %.2f"
          % (pct(fl, 50) / pct(floor, 50), pct(fl, 90) / pct(floor, 90)))
EOF
