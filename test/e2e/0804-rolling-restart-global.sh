#!/bin/bash
# SPDX-License-Identifier: MIT
# 0804-rolling-restart-global: fleet-c's rolling-restart of a global unit on 3 machines, from
# the host, machine by machine over the system ssh (sshd in every machine, FLEET_CLUSTER_SSH=1,
# as in 0601): a sampler inside the machines never sees the unit down on two machines at once,
# and every machine's copy gets a new MainPID.
set -u
. "$(dirname "$0")/lib.sh"
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
export FLEET_CLUSTER_SSH=1
cluster_up 3
FLEETCTL=$E2E_ROOT/$BUILD/bin/fleetctl
case $BUILD in /*) FLEETCTL=$BUILD/bin/fleetctl ;; esac
[ -x "$FLEETCTL" ] || bail_out "$FLEETCTL is not built"
TMP=$(mktemp -d /tmp/fleet-e2e-08.XXXXXX)
at_exit rm -rf "$TMP"
T=10
eval "$(fleet_cluster env)"
KEY=${FLEET_CLUSTER_SSH_KEY:-}
[ -n "$KEY" ] && [ -f "$KEY" ] || bail_out "the cluster has no ssh key (FLEET_CLUSTER_SSH=1)"
KNOWN=$(dirname "$KEY")/known_hosts
mkdir -p "$TMP/bin" "$TMP/home"
printf '#!/bin/sh\nexec /usr/bin/ssh -i %s -o IdentitiesOnly=yes -o BatchMode=yes "$@"\n' "'$KEY'" >"$TMP/bin/ssh"
chmod +x "$TMP/bin/ssh"
fctl() {
	HOME=$TMP/home PATH="$TMP/bin:$PATH" FLEETCTL_ENDPOINT="http://$(machine_ip m1):49153" \
		timeout 90 "$FLEETCTL" "$@"
}
machines_up() { [ "$(fctl list-machines --no-legend 2>/dev/null | grep -c .)" = "$1" ]; }
pid_on() { machine_exec "$1" systemctl show -p MainPID --value g.service 2>/dev/null; }
pids() { echo "$(pid_on m1) $(pid_on m2) $(pid_on m3)"; }
everywhere() { for m in m1 m2 m3; do unit_active "$m" g.service || return 1; done; }
sampler() {
	while [ ! -e "$TMP/stop-sampler" ]; do
		n=0
		for m in m1 m2 m3; do unit_active "$m" g.service && n=$((n + 1)); done
		echo "$n"
		sleep 0.1
	done
}

check "3 machines registered" wait_for $T machines_up 3
for m in m1 m2 m3; do check "sshd of $m answers" wait_for $T fleet_cluster ssh "$m" true; done
printf '[Unit]\nDescription=e2e global\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[X-Fleet]\nGlobal=true\n' >"$TMP/g.service"
out=$(fctl start "$TMP/g.service" 2>&1)
is "$?" 0 "start the global unit g.service"
check "g.service active on m1 m2 m3" wait_for $T everywhere
before=$(pids)

rm -f "$TMP/stop-sampler"
sampler >"$TMP/samples" &
spid=$!
out=$(fctl rolling-restart --min-healthy 1 --ssh-username root --strict-host-key-checking=true \
	--known-hosts-file "$KNOWN" g.service 2>&1)
rc=$?
touch "$TMP/stop-sampler"
wait $spid
is "$rc" 0 "rolling-restart g.service"
diag "$out"
after=$(pids)
diag "MainPIDs before: $before; after: $after"
diag "machines with g.service active, sampled: $(sort -n "$TMP/samples" | uniq -c | tr '\n' ' ')"
check "the sampler never saw g.service down on two machines" eval '[ "$(sort -n "$TMP/samples" | head -1)" -ge 2 ]'
set -- $before
b1=$1 b2=$2 b3=$3
set -- $after
check "every machine's copy has a new MainPID" [ "$1" != "$b1" ] && [ "$2" != "$b2" ] && [ "$3" != "$b3" ]
check "g.service active on m1 m2 m3 afterwards" everywhere
case $out in *"Restarted 1 unit"*) ok "it reports the unit restarted" ;; *) not_ok "it reports the unit restarted" ;; esac
done_testing
