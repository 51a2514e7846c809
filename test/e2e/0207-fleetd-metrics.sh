#!/bin/bash
# SPDX-License-Identifier: MIT
# 0207-fleetd-metrics: a live fleetd's /metrics serves every name fleet v1.0 serves (reference
# section 10, with fleet's labels) and the standard process_* metrics, with sensible values:
# a started unit counts as an attemptscheduleunit task, a unit no machine can run counts as a
# "schedule" reconcile failure, the leader's start time is now, and the process figures agree
# with the kernel's view of the fleetd process.
set -u
. "$(dirname "$0")/lib.sh"

cluster_up 1

FLEETCTL=$E2E_ROOT/$BUILD/bin/fleetctl
case $BUILD in /*) FLEETCTL=$BUILD/bin/fleetctl ;; esac
[ -x "$FLEETCTL" ] || bail_out "$FLEETCTL is not built"
TMP=$(mktemp -d /tmp/fleet-e2e-metrics.XXXXXX)
at_exit rm -rf "$TMP"
T=10
P=/_coreos.com/fleet
URL="http://$(machine_ip m1):49153/metrics"
fctl() { FLEETCTL_ENDPOINT="http://$(machine_ip m1):49153" timeout 60 "$FLEETCTL" "$@"; }
scrape() { curl -fsS -m 5 "$URL" >"$TMP/metrics"; }
# value of the sample NAME (with its labels, e.g. 'x{type="run"}') in the last scrape
value() { awk -v n="$1" '$1 == n {print $2}' "$TMP/metrics"; }
# awk comparison of numbers: ge A B, le A B
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a + 0 >= b + 0)}'; }
le() { ge "$2" "$1"; }

check "an engine is the leader" wait_for $T eval '[ -n "$(etcdctl_c get --print-value-only "$P/engine/leader")" ]'

cat >"$TMP/metrics-web.service" <<'EOF'
[Service]
ExecStart=/bin/sleep infinity
EOF
cat >"$TMP/metrics-nowhere.service" <<'EOF'
[Service]
ExecStart=/bin/sleep infinity
[X-Fleet]
MachineMetadata=region=nowhere
EOF
check "fleetctl start metrics-web.service" fctl start "$TMP/metrics-web.service"
check "fleetctl start --no-block metrics-nowhere.service" fctl start --no-block "$TMP/metrics-nowhere.service"
failed_schedule() { scrape && ge "$(value 'fleet_engine_reconcile_failure_count_total{type="schedule"}')" 1; }
check "a unit no machine can run counts as a schedule failure" wait_for $T failed_schedule
scrape || bail_out "GET $URL failed"
diag "$(grep -E '^(fleet_engine_(leader_start|task|reconcile)|process_)' "$TMP/metrics")"

# every name and label set fleet v1.0 exports (reference 10), with HELP and TYPE lines
for s in fleet_engine_leader_start_time \
	'fleet_engine_task_count_total{type="attemptscheduleunit"}' \
	'fleet_engine_task_count_total{type="unscheduleunit"}' \
	'fleet_engine_task_failure_count_total{type="attemptscheduleunit"}' \
	'fleet_engine_task_failure_count_total{type="unscheduleunit"}' \
	fleet_engine_reconcile_count_total \
	'fleet_engine_reconcile_failure_count_total{type="machine_away"}' \
	'fleet_engine_reconcile_failure_count_total{type="run"}' \
	'fleet_engine_reconcile_failure_count_total{type="schedule"}' \
	process_cpu_seconds_total process_resident_memory_bytes process_virtual_memory_bytes \
	process_open_fds process_max_fds process_start_time_seconds; do
	name=${s%%\{*}
	v=$(value "$s")
	if [ -n "$v" ] && grep -q "^# TYPE $name " "$TMP/metrics" && grep -q "^# HELP $name " "$TMP/metrics"; then
		ok "/metrics serves $s ($v)"
	else
		not_ok "/metrics serves $s with HELP and TYPE"
	fi
done

now=$(date +%s)
v=$(value fleet_engine_leader_start_time)
ge "$v" $((now - 600)) && le "$v" "$now" && ok "leader start time is a recent epoch ($v)" || not_ok "leader start time $v is not within 10 min before $now"
v=$(value 'fleet_engine_task_count_total{type="attemptscheduleunit"}')
ge "$v" 1 && ok "the started unit counted as an attemptscheduleunit task ($v)" || not_ok "attemptscheduleunit tasks: $v"
ge "$(value fleet_engine_reconcile_count_total)" 1 && ok "reconcile rounds counted" || not_ok "no reconcile rounds"

# the process figures against the kernel's view of this fleetd
pid=$(machine_exec m1 systemctl show -P MainPID fleet.service)
status=$(machine_exec m1 cat "/proc/$pid/status")
rss_kb=$(awk '$1 == "VmRSS:" {print $2}' <<<"$status")
vm_kb=$(awk '$1 == "VmSize:" {print $2}' <<<"$status")
nofile=$(machine_exec m1 sh -c "awk '/^Max open files/ {print \$4}' /proc/$pid/limits")
fds=$(machine_exec m1 sh -c "ls /proc/$pid/fd | wc -l")
diag "fleetd pid $pid: VmRSS $rss_kb kB, VmSize $vm_kb kB, $fds fds, limit $nofile"
v=$(value process_resident_memory_bytes)
ge "$v" $((rss_kb * 1024 / 2)) && le "$v" $((rss_kb * 1024 * 2)) && ok "resident memory $v near VmRSS" || not_ok "resident memory $v, VmRSS $rss_kb kB"
v=$(value process_virtual_memory_bytes)
ge "$v" $((vm_kb * 1024 * 9 / 10)) && le "$v" $((vm_kb * 1024 * 11 / 10)) && ok "virtual memory $v near VmSize" || not_ok "virtual memory $v, VmSize $vm_kb kB"
v=$(value process_open_fds)
ge "$v" 3 && le "$v" $((fds + 5)) && ok "open fds $v near $fds" || not_ok "open fds $v, /proc says $fds"
is "$(value process_max_fds)" "$nofile" "max fds is the soft RLIMIT_NOFILE"
v=$(value process_start_time_seconds)
# (the kernel's boot time, which it is computed from, has whole seconds: allow 2 s ahead)
ge "$v" $((now - 3600)) && le "$v" $((now + 2)) && ok "start time is a recent epoch ($v)" || not_ok "start time $v, now $now"
v=$(value process_cpu_seconds_total)
# (utime + stime count in clock ticks of 10 ms: an idle fleetd may well be at 0)
[ -n "$v" ] && ge "$v" 0 && le "$v" 3600 && ok "CPU seconds $v" || not_ok "CPU seconds $v"

fctl destroy metrics-web.service metrics-nowhere.service >/dev/null 2>&1
done_testing
