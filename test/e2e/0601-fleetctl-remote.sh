#!/bin/bash
# SPDX-License-Identifier: MIT
# 0601-fleetctl-remote: fleetctl run on the HOST (not in a machine) against m1's API reaches
# the machine of a unit through the system ssh (sshd in every machine, FLEET_CLUSTER_SSH=1):
#   - status UNIT: systemd's status of the unit, from m2 where it runs;
#   - journal --lines N UNIT: the unit's output, from m2's journal;
#   - ssh MACHINE CMD: runs on that machine; the remote exit code becomes fleetctl's;
#   - the same with the etcd driver (--driver=etcd): list-*, status, journal, ssh, start,
#     destroy; list-units through --tunnel with both drivers;
#   - an unknown host key: fleet's question, answered from stdin; "y" stores a plain line;
#   - after a crash of m3 (fleet-cluster kill), m3 leaves list-machines once its lease
#     expires and its unit is rescheduled (list-units shows it on m2).
# fleetctl execs "ssh" from PATH with its own options (-l, -p, UserKnownHostsFile, ...); the
# cluster's client key is added by an "ssh" wrapper put first in PATH (OpenSSH reads
# ~/.ssh/config from the passwd home, not $HOME, so a temporary HOME would not do).
set -u
. "$(dirname "$0")/lib.sh"
[ -z "${FLEET_E2E_INDEX_BASE:-}" ] || export FLEET_CLUSTER_INDEX_BASE=$FLEET_E2E_INDEX_BASE
export FLEET_CLUSTER_SSH=1
# m2 and m3 are the workers: a unit for role=worker goes to the less loaded of them
export FLEET_CLUSTER_METADATA_m2=role=worker FLEET_CLUSTER_METADATA_m3=role=worker
cluster_up 3

FLEETCTL=$E2E_ROOT/$BUILD/bin/fleetctl
case $BUILD in /*) FLEETCTL=$BUILD/bin/fleetctl ;; esac
[ -x "$FLEETCTL" ] || bail_out "$FLEETCTL is not built"
TMP=$(mktemp -d /tmp/fleet-e2e-06.XXXXXX)
at_exit rm -rf "$TMP"
T=10

eval "$(fleet_cluster env)"
KEY=${FLEET_CLUSTER_SSH_KEY:-}
[ -n "$KEY" ] && [ -f "$KEY" ] || bail_out "the cluster has no ssh key (FLEET_CLUSTER_SSH=1)"
KNOWN=$(dirname "$KEY")/known_hosts
mkdir -p "$TMP/bin" "$TMP/home"
cat >"$TMP/bin/ssh" <<EOF
#!/bin/sh
exec /usr/bin/ssh -i '$KEY' -o IdentitiesOnly=yes -o BatchMode=yes "\$@"
EOF
chmod +x "$TMP/bin/ssh"

API=m1
fctl() {
	HOME=$TMP/home PATH="$TMP/bin:$PATH" FLEETCTL_ENDPOINT="http://$(machine_ip "$API"):49153" \
		timeout 60 "$FLEETCTL" "$@"
}
# remote commands: as root, host keys checked against the cluster's known_hosts
rctl() { local c=$1; shift; fctl "$c" --ssh-username root --strict-host-key-checking=true --known-hosts-file "$KNOWN" "$@"; }
machines_up() { [ "$(fctl list-machines --no-legend 2>/dev/null | grep -c .)" = "$1" ]; }

check "3 machines in fleetctl list-machines" wait_for $T machines_up 3
check "sshd of m2 answers (fleet-cluster ssh m2 true)" wait_for $T fleet_cluster ssh m2 true

M2=$(machine_id m2) M3=$(machine_id m3)
H2=$(machine_exec m2 hostname)
IP2=$(machine_ip m2) IP3=$(machine_ip m3)
ids=$(fctl list-machines --full --no-legend --fields machine 2>&1)
check "list-machines --full lists m2's machine ID ($M2)" grep -qx "$M2" <<<"$ids"
diag "$ids"

# --- a unit on m2, looked at from the host ---------------------------------------------------
printf '[Unit]\nDescription=e2e remote\n\n[Service]\nExecStart=/bin/sh -c "echo remote-hello-$$FLEET_MACHINE_NAME; exec sleep infinity"\n\n[X-Fleet]\nMachineID=%s\n' \
	"$M2" >"$TMP/u.service"
out=$(fctl start --block-attempts=5 "$TMP/u.service" 2>&1)
is "$?" 0 "start u.service (MachineID of m2)"
diag "$out"
check "u.service active in m2" wait_for $T unit_active m2 u.service
on_m2() { fctl list-units --no-legend --full --fields unit,machine,active,sub 2>/dev/null | grep -q "^u.service[[:space:]]*${M2}/${IP2}[[:space:]]*active[[:space:]]*running"; }
check "list-units: u.service active/running on m2" wait_for $T on_m2
logged() { machine_exec m2 journalctl -u u.service --no-pager -o cat | grep -q "remote-hello-$H2"; }
check "m2's journal has u.service's line" wait_for $T logged
# (systemctl status shows the log of the unit's current invocation only, and the unit's own
# first line is not always attributed to it yet: only systemd's "Started" line is asserted)
started() { machine_exec m2 journalctl -u u.service --no-pager -o cat | grep -q "^Started u.service"; }
check "m2's journal has systemd's Started line for u.service" wait_for $T started

out=$(rctl status u.service 2>&1)
rc=$?
is "$rc" 0 "fleetctl status u.service exits 0"
if grep -q 'Active: active (running)' <<<"$out"; then ok "status: Active: active (running)"
else not_ok "status: Active: active (running)"; fi
if grep -q "$H2" <<<"$out"; then ok "status: comes from m2 (its hostname $H2 in the log lines)"
else not_ok "status: comes from m2 (its hostname $H2 in the log lines)"; fi
diag "$out"

out=$(rctl journal --lines 5 u.service 2>&1)
rc=$?
is "$rc" 0 "fleetctl journal --lines 5 u.service exits 0"
if grep -q "$H2 .*remote-hello-$H2" <<<"$out"; then ok "journal: the unit's output line, logged on $H2"
else not_ok "journal: the unit's output line, logged on $H2"; fi
diag "$out"

out=$(rctl ssh "$M2" hostname 2>&1)
rc=$?
is "$rc|$out" "0|$H2" "fleetctl ssh <m2 id> hostname prints $H2"
out=$(rctl ssh "${M2:0:12}" hostname 2>&1)
is "$?|$out" "0|$H2" "fleetctl ssh <prefix of m2's id> hostname"
out=$(rctl ssh u.service hostname 2>&1)
is "$?|$out" "0|$H2" "fleetctl ssh u.service hostname (the unit's machine)"
# the words after the machine are joined with spaces and run by the remote shell (as fleet
# does: strings.Join), so a command with quoting is passed as one word
out=$(rctl ssh "$M2" "sh -c 'exit 3'" 2>&1)
rc=$?
is "$rc" 3 "fleetctl ssh <m2 id> \"sh -c 'exit 3'\" exits 3 (remote exit code passed through)"
[ -z "$out" ] || diag "$out"
out=$(rctl ssh "$M2" -- exit 7 2>&1)
is "$?" 7 "fleetctl ssh <m2 id> -- exit 7 exits 7"
out=$(rctl ssh "$M2" -- echo 'a  b' '$((1+2))' 2>&1)
is "$out" "a b 3" "fleetctl ssh: the words are joined with spaces for the remote shell"

# --- the same through the etcd driver (--driver=etcd: fleetctl reads etcd itself) ---------------
ETCD_EP=$(fleet_cluster etcd-endpoint)
ectl() { local c=$1; shift; fctl --driver=etcd --endpoint "$ETCD_EP" "$c" --ssh-username root --strict-host-key-checking=true --known-hosts-file "$KNOWN" "$@"; }
is "$(ectl list-units --full --no-legend 2>&1)" "$(fctl list-units --full --no-legend 2>&1)" "etcd driver: list-units as through the API"
is "$(ectl list-machines --full 2>&1)" "$(fctl list-machines --full 2>&1)" "etcd driver: list-machines as through the API"
out=$(ectl status u.service 2>&1)
rc=$?
is "$rc" 0 "etcd driver: fleetctl status u.service exits 0"
grep -q 'Active: active (running)' <<<"$out" && grep -q "$H2" <<<"$out" && ok "etcd driver: status from m2" || not_ok "etcd driver: status from m2"
is "$(ectl journal --lines 5 u.service 2>&1)" "$(rctl journal --lines 5 u.service 2>&1)" "etcd driver: journal as through the API"
out=$(ectl ssh u.service hostname 2>&1)
is "$?|$out" "0|$H2" "etcd driver: fleetctl ssh u.service hostname"
# through an ssh tunnel to m1 (both drivers): the connections are made from m1
tun() { fctl --tunnel "$(machine_ip m1)" --ssh-username root --strict-host-key-checking=true --known-hosts-file "$KNOWN" "$@"; }
want=$(fctl list-units --full --no-legend 2>&1)
is "$(tun list-units --full --no-legend 2>&1)" "$want" "--tunnel m1: list-units through the API"
is "$(tun --driver=etcd --endpoint "$ETCD_EP" list-units --full --no-legend 2>&1)" "$want" "--tunnel m1: list-units with the etcd driver"
# (and the tunnel is really taken: through a tunnel host nobody answers on, both fail)
out=$(fctl --tunnel 127.0.0.1:1 --request-timeout 2 list-units 2>&1)
[ $? = 1 ] && ok "--tunnel to nowhere: the API driver fails" || { not_ok "--tunnel to nowhere: the API driver fails"; diag "$out"; }
out=$(fctl --tunnel 127.0.0.1:1 --driver=etcd --endpoint "$ETCD_EP" --request-timeout 2 list-units 2>&1)
[ $? = 1 ] && ok "--tunnel to nowhere: the etcd driver fails" || { not_ok "--tunnel to nowhere: the etcd driver fails"; diag "$out"; }
printf '[Service]\nExecStart=/bin/sleep infinity\n\n[X-Fleet]\nMachineID=%s\n' "$M2" >"$TMP/e.service"
out=$(ectl start --block-attempts=5 "$TMP/e.service" 2>&1)
is "$?" 0 "etcd driver: start e.service waits until it runs"
diag "$out"
check "e.service active in m2" wait_for $T unit_active m2 e.service
out=$(ectl destroy e.service 2>&1)
is "$?|$out" "0|Destroyed e.service" "etcd driver: destroy e.service"
check "e.service gone from m2" wait_for $T eval '! unit_active m2 e.service'

# --- unknown host keys, as fleet: the question on stderr, the answer from stdin ------------------
# ssh without BatchMode (which would refuse to ask), against a known_hosts file of our own
mkdir -p "$TMP/ask"
cat >"$TMP/ask/ssh" <<EOF
#!/bin/sh
exec /usr/bin/ssh -i '$KEY' -o IdentitiesOnly=yes "\$@"
EOF
chmod +x "$TMP/ask/ssh"
KH=$TMP/kh/known_hosts
actl() {
	HOME=$TMP/home PATH="$TMP/ask:$PATH" FLEETCTL_ENDPOINT="http://$(machine_ip "$API"):49153" \
		timeout 60 "$FLEETCTL" --ssh-username root --known-hosts-file "$KH" "$@"
}
out=$(echo no | actl ssh "$M2" hostname 2>&1)
rc=$?
is "$rc" 255 "an unknown host key answered \"no\" on stdin: ssh fails (255)"
grep -q "continue connecting" <<<"$out" && grep -q "Host key verification failed" <<<"$out" &&
	ok "the question is asked, the refusal reported" || not_ok "the question is asked, the refusal reported"
diag "$out"
[ ! -s "$KH" ] && ok "a refused key is not stored" || not_ok "a refused key is not stored"
out=$(echo y | actl ssh "$M2" hostname 2>&1)
rc=$?
is "$rc" 0 "answered \"y\" on stdin: ssh runs"
grep -qx "$H2" <<<"$out" && grep -q "Permanently added '$IP2'" <<<"$out" &&
	ok "the command ran, and the key was added" || not_ok "the command ran, and the key was added"
diag "$out"
kh_line=$(cat "$KH" 2>/dev/null)
[[ "$kh_line" == "$IP2 "* ]] && [ "$(grep -c . "$KH")" = 1 ] &&
	ok "known_hosts holds one plain (not hashed) line for $IP2" || not_ok "known_hosts holds one plain line for $IP2"
diag "$kh_line"
is "$(stat -c %a "$(dirname "$KH")")" 700 "the known_hosts directory is created with mode 0700"
out=$(actl ssh "$M2" hostname </dev/null 2>&1)
is "$?|$out" "0|$H2" "a known key: no question"
out=$(actl --ssh-port 22 ssh "$M2" hostname </dev/null 2>&1)
is "$?|$out" "0|$H2" "fleetctl --ssh-port 22 ssh (the command's flag before the command)"

# --- a crashed machine ------------------------------------------------------------------------
printf '[Unit]\nDescription=e2e worker\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[X-Fleet]\nMachineMetadata=role=worker\n' \
	>"$TMP/w.service"
out=$(fctl start --block-attempts=5 "$TMP/w.service" 2>&1)
is "$?" 0 "start w.service (role=worker: m2 or m3, m3 is less loaded)"
diag "$out"
check "w.service active in m3" wait_for $T unit_active m3 w.service
lu_w() { fctl list-units --no-legend --full --fields unit,machine,active 2>/dev/null | awk '$1 == "w.service" { print $2, $3 }'; }
is "$(lu_w)" "$M3/$IP3 active" "list-units: w.service on m3"
out=$(fleet_cluster kill m3 2>&1)
is "$?" 0 "fleet-cluster kill m3"
diag "$out"
check "list-machines: m3 gone once its lease expires" wait_for 30 machines_up 2
ms=$(fctl list-machines --full --no-legend --fields machine 2>&1)
is "$(sort <<<"$ms")" "$(printf '%s\n' "$(machine_id m1)" "$M2" | sort)" "list-machines: m1 and m2 left"
w_on_m2() { [ "$(lu_w)" = "$M2/$IP2 active" ]; }
check "list-units: w.service rescheduled onto m2" wait_for 30 w_on_m2
check "w.service active in m2" wait_for $T unit_active m2 w.service
is "$(probe fctl list-units --no-legend --full --fields unit,machine | grep -c "/$IP3")" 0 "list-units: nothing on m3 any more"
out=$(rctl status u.service 2>&1)
is "$?" 0 "status u.service still works after m3's crash"

done_testing
