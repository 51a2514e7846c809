#!/bin/bash
# SPDX-License-Identifier: MIT
# 0001-cluster: the local-cluster tool itself (test/cluster/fleet-cluster). Boots etcd and
# 3 machines without fleetd and checks: identities, systemd in each machine, etcd reachable
# from inside, the fleet.service/fleet.conf the tool installs, a unit started by hand in m2
# serving on m2's IP, exec's exit codes, a crash of m3 (and its reboot with the same
# machine-id), and that `down` leaves no process, mount, cgroup or file behind.
set -u
. "$(dirname "$0")/lib.sh"

export FLEET_CLUSTER_NO_FLEETD=1          # this test is about the machines, not fleetd
export FLEET_CLUSTER_METADATA_m2="region=us,disk=ssd"
export FLEET_CLUSTER_AGENT_TTL=7s

# host state before: a file in the host's /tmp (systemd's tmpfiles setup would wipe it if a
# machine ever saw the host's /tmp), the host's mount table
sentinel=$(mktemp /tmp/fleet-e2e-sentinel.XXXXXX)
at_exit rm -f "$sentinel"
mounts_before=$(awk '{print $5, $9}' /proc/self/mountinfo | sort)
host_name=$(hostname)

t0=${EPOCHREALTIME/./}
cluster_up 3
ok "cluster up: etcd + 3 machines in $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms"

# --- identity -------------------------------------------------------------------------------
ids="" names=""
for i in 1 2 3; do
	ids+="$(machine_exec m$i cat /etc/machine-id) "
	names+="$(machine_exec m$i hostname) "
done
diag "machine-ids: $ids"
is "$(echo $ids | tr ' ' '\n' | grep -cE '^[0-9a-f]{32}$' | tr -d ' ')/$(echo $ids | tr ' ' '\n' | sort -u | wc -l)" "3/3" \
	"3 distinct machine-ids"
is "$ids" "$(machine_id m1) $(machine_id m2) $(machine_id m3) " "machine-ids are the ones fleet-cluster recorded"
is "$names" "$FLEET_CLUSTER_NAME-m1 $FLEET_CLUSTER_NAME-m2 $FLEET_CLUSTER_NAME-m3 " "hostnames; the host is still '$(hostname)'"
is "$(hostname)" "$host_name" "host name unchanged"

for i in 1 2 3; do
	is "$(machine_exec m$i systemctl is-system-running 2>&1)" running "m$i: systemctl is-system-running"
done

# --- etcd from inside -------------------------------------------------------------------------
ep=$(fleet_cluster etcd-endpoint)
for i in 1 2 3; do
	is "$(machine_exec m$i curl -sS -m 5 "$ep/health" 2>&1)" '{"health":"true"}' "m$i: etcd $ep answers from inside"
done
etcd_put_get() { etcdctl_c put /e2e/probe hello >/dev/null && [ "$(etcdctl_c get --print-value-only /e2e/probe)" = hello ]; }
check "etcdctl_c put/get from the host" etcd_put_get

# --- what the tool installs for fleetd ------------------------------------------------------------
conf=$(machine_exec m2 cat /etc/fleet/fleet.conf)
IP2=$(machine_ip m2)
diag "m2 /etc/fleet/fleet.conf:"$'\n'"$conf"
want="etcd_servers=$ep
public_ip=$IP2
api_listen=/var/run/fleet.sock,$IP2:49153
agent_ttl=7s
metadata=region=us,disk=ssd"
is "$(grep -v '^#' <<<"$conf")" "$want" "m2: fleet.conf has etcd, public_ip, api_listen, agent_ttl, metadata"
fleetd=$E2E_ROOT/$BUILD/bin/fleetd
case $BUILD in /*) fleetd=$BUILD/bin/fleetd ;; esac
show=$(machine_exec m1 systemctl show -p LoadState -p Type -p ActiveState -p ExecStart fleet.service)
if grep -qx LoadState=loaded <<<"$show" && grep -qx Type=notify <<<"$show" &&
	grep -qx ActiveState=inactive <<<"$show" && grep -q "path=$fleetd ;" <<<"$show"; then
	ok "m1: fleet.service from units/fleet.service runs $fleetd, not started (NO_FLEETD)"
else
	not_ok "m1: fleet.service from units/fleet.service runs $fleetd, not started (NO_FLEETD)"
	diag "$show"
fi

# --- a unit started by hand in m2 ----------------------------------------------------------------
port=""
for _ in $(seq 50); do
	p=$((18000 + RANDOM % 2000))
	[ -z "$(ss -Htan "( sport = :$p )")" ] && { port=$p; break; }
done
machine_exec m2 sh -c "mkdir -p /run/fleet/units /run/e2e-www
	echo \"\$(hostname) \$(cat /etc/machine-id)\" >/run/e2e-www/id
	cat >/run/fleet/units/e2e-hello.service <<-'EOF'
	[Unit]
	Description=e2e hello (0001-cluster)
	[Service]
	ExecStart=/usr/bin/python3 -m http.server --bind \${FLEET_PUBLIC_IP} --directory /run/e2e-www $port
	EOF"
check "m2: systemctl link --runtime + start of /run/fleet/units/e2e-hello.service" \
	machine_exec m2 sh -c 'systemctl link --runtime /run/fleet/units/e2e-hello.service && systemctl start e2e-hello.service'
got=""
wait_for 10 curl -fsS -m 1 "http://$IP2:$port/id" && got=$(curl -fsS -m 1 "http://$IP2:$port/id")
is "$got" "$FLEET_CLUSTER_NAME-m2 $(machine_id m2)" "host: http://$IP2:$port/id is served by m2"
[ -n "$got" ] || diag "$(machine_exec m2 journalctl -u e2e-hello.service --no-pager -n 10 2>&1)"
check "m2: e2e-hello.service is active" unit_active m2 e2e-hello.service
hp=$(head -1 "/sys/fs/cgroup/unified/fleet-machines/$FLEET_CLUSTER_NAME-m2/system.slice/e2e-hello.service/cgroup.procs" 2>/dev/null)
m2pid1=$(machine_pid1 m2)
# (probes: two failed readlinks would compare equal)
is "$(probe readlink "/proc/${hp:-0}/ns/pid")" "$(probe readlink "/proc/$m2pid1/ns/pid")" "its process ($hp) is in m2's pid namespace"
listen=$(ss -Htln "( sport = :$port )" | awk '{print $4}')
is "$listen" "$IP2:$port" "it listens on m2's IP only"

# --- exec ---------------------------------------------------------------------------------------
machine_exec m1 sh -c 'exit 7'
is "$?" 7 "exec passes the exit code through"

# --- crash of m3 -----------------------------------------------------------------------------------
p1=$(machine_pid1 m3)
pidns=$(readlink "/proc/$p1/ns/pid")
mntns=$(readlink "/proc/$p1/ns/mnt")
n_before=$(ns_procs pid "$pidns" | wc -l)
diag "m3: pid1 $p1, $n_before processes in $pidns"
fleet_cluster kill m3 2>&1 | diag
no_m3_procs() { [ -z "$(ns_procs pid "$pidns")$(ns_procs mnt "$mntns")" ]; }
if [ "$n_before" -ge 3 ] && wait_for 5 no_m3_procs; then
	ok "kill m3: all its processes ($n_before) are gone"
else
	not_ok "kill m3: all its processes ($n_before) are gone"
	diag "left: $(ns_procs pid "$pidns") $(ns_procs mnt "$mntns")"
fi
m1_m2_running() { [ "$(machine_exec m1 systemctl is-system-running)$(machine_exec m2 systemctl is-system-running)" = runningrunning ]; }
check "m1 and m2 still running after m3's crash" m1_m2_running
m3id=$(machine_id m3)
out=$(fleet_cluster restart m3 2>&1); rc=$?
diag "$out"
is "$rc:$(machine_exec m3 cat /etc/machine-id 2>&1)" "0:$m3id" "restart m3: boots again with the same machine-id"

# --- down --------------------------------------------------------------------------------------------
D=$(fleet_cluster env | sed -n 's/^FLEET_CLUSTER_DIR=//p')
eval "D=$D"
etcd_pid=$(cat "$D/etcd.pid")
etcd_port=${ep##*:}
nss=""
for i in 1 2 3; do
	p=$(machine_pid1 m$i)
	nss+="$(readlink "/proc/$p/ns/pid") $(readlink "/proc/$p/ns/mnt") "
done
t0=${EPOCHREALTIME/./}
cluster_down
is "$?" 0 "down: exit 0 ($(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms)"
left=""
# (each probe below checks an absence: it must have been able to look)
[ "$(wc -w <<<"$nss")" = 6 ] || probe_failed "namespaces of the 3 machines before down: '$nss'"
for ns in $nss; do left+=$(ns_procs "${ns%%:*}" "$ns"); done
left+=$(probe "$E2E_ROOT/test/cluster/machine.sh" running | grep "^$FLEET_CLUSTER_NAME-m")
is "$left" "" "down: no process left in any machine's pid or mount namespace, no supervisor"
st=$(cat "/proc/$etcd_pid/stat" 2>/dev/null)
[[ $etcd_pid =~ ^[0-9]+$ ]] || probe_failed "etcd's pid from $D/etcd.pid: '$etcd_pid'"
case $st in "" | *") Z "*) ok "down: etcd ($etcd_pid) has exited" ;; *) not_ok "down: etcd ($etcd_pid) has exited"; diag "$st" ;; esac
[[ $etcd_port =~ ^[0-9]+$ && $port =~ ^[0-9]+$ ]] || probe_failed "ports: etcd '$etcd_port', test unit '$port'"
is "$(probe ss -Htln "( sport = :$etcd_port or sport = :$port )")" "" "down: nothing listens on etcd's or the test unit's port"
cgs=$(ls -d /sys/fs/cgroup/unified/fleet-machines/"$FLEET_CLUSTER_NAME"-m* /sys/fs/cgroup/fleet-machines/"$FLEET_CLUSTER_NAME"-m* 2>/dev/null)
# (fleet-machines/ itself goes with the last cluster: the look needs the host's cgroup tree)
[ -e /sys/fs/cgroup/unified/cgroup.procs ] || [ -e /sys/fs/cgroup/cgroup.procs ] ||
	probe_failed "no cgroup2 tree on the host to look into"
is "$cgs" "" "down: the machines' cgroups are removed"
is "$(grep -cE "fleet-machine|$D" /proc/self/mountinfo)" 0 "down: no host mount of a machine or in the state directory"
mounts_after=$(awk '{print $5, $9}' /proc/self/mountinfo | sort)
if [ "$mounts_before" = "$mounts_after" ]; then
	ok "down: host mount table as before"
else
	not_ok "down: host mount table as before"
	diag "$(diff <(echo "$mounts_before") <(echo "$mounts_after"))"
fi
check "down: state directory $D removed" test -n "$D" -a ! -e "$D"
check "host /tmp untouched (sentinel file still there)" test -f "$sentinel"
out=$(fleet_cluster down 2>&1); rc=$?
diag "$out"
is "$rc" 0 "down again: nothing to do, exit 0"

done_testing
