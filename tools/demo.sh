#!/bin/bash
# SPDX-License-Identifier: MIT
# tools/demo.sh — fleet-c's classic scenario on a local cluster (run by `make demo`, as root,
# after `make deps` and the build). It boots an etcd and 3 simulated machines (each a real
# systemd as PID 1 running this build's fleetd; machine i is m<i> at 127.0.0.(10+i), its fleet
# API at 127.0.0.(10+i):49153) with test/cluster/fleet-cluster, then shows, printing every
# command and what it answers:
#   1. fleetctl list-machines; hello.service started, where it runs, its journal
#   2. a global unit on every machine
#   3. failover: web@1 (HTTP on its machine's IP:8080) and its sidekick web-discovery@1 (puts
#      ip:port into etcd under /services/web/1); its machine is crashed; web@1 comes back on
#      another machine, the sidekick announces the new endpoint, curl answers from there;
#      the failover time is measured (crash -> curl answering from the new machine)
#   4. templates: web@1..3 spread over the 3 machines by Conflicts=web@*.service
#   5. fleet-c's maintenance commands: a rolling update of web@2 and web@3, one of the global
#      unit machine by machine, then a drain of web@1's machine (web@1 and its sidekick move
#      together; the global unit stays)
# Every step checks what it shows (fleetctl, etcd, curl, and systemd inside the machines);
# the demo exits non-zero with a clear message at the first step that does not behave.
# The cluster is taken down at the end, also on failure or ^C.
#
# Usage: tools/demo.sh [--keep]
#   --keep, DEMO_KEEP=1     leave the cluster running at the end (says how to use it and
#                           how to take it down)
#   DEMO_NAME=demo          cluster name (machines demo-m1..., state /var/lib/fleet-cluster/NAME)
#   DEMO_INDEX_BASE=0       machine i gets IP 127.0.0.(10+BASE+i) (another cluster may use 0)
#   DEMO_AGENT_TTL=5s       fleetd's agent_ttl (how long a crashed machine stays registered)
#   BUILD=build             the build whose bin/fleetd and bin/fleetctl are used
set -u
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BUILD=${BUILD:-build}
case $BUILD in /*) BIN=$BUILD/bin ;; *) BIN=$ROOT/$BUILD/bin ;; esac
CLUSTER=$ROOT/test/cluster/fleet-cluster
EXAMPLES=units/examples

KEEP=${DEMO_KEEP:-0}
for a in "$@"; do
	case $a in
	--keep) KEEP=1 ;;
	-h | --help) sed -n '3,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo: unknown argument '$a' (usage: tools/demo.sh [--keep])" >&2; exit 2 ;;
	esac
done

# The user's own cluster settings must not leak in (and must not let us touch their cluster).
unset "${!FLEET_CLUSTER_@}" "${!FLEET_MACHINE_@}" FLEETCTL_ENDPOINT FLEETCTL_TUNNEL
export FLEET_CLUSTER_NAME=${DEMO_NAME:-demo}
export FLEET_CLUSTER_INDEX_BASE=${DEMO_INDEX_BASE:-0}
export FLEET_CLUSTER_AGENT_TTL=${DEMO_AGENT_TTL:-5s}
export BUILD
export ETCDCTL_API=3
NAME=$FLEET_CLUSTER_NAME

# --- output ------------------------------------------------------------------------------------
if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'; else B="" G="" R="" D="" N=""; fi
STEP="start"
T_START=${EPOCHREALTIME/./}
now_us() { echo "${EPOCHREALTIME/./}"; }
ms_since() { echo $(( ($(now_us) - $1) / 1000 )); }
secs() { printf '%d.%01d' $(($1 / 1000)) $(($1 % 1000 / 100)); }   # ms -> "5.2"

section() { STEP=$1; printf '\n%s==> %s%s\n' "$B" "$1" "$N"; }
say() { printf '%s\n' "$*"; }
good() { printf '%s  ok: %s%s\n' "$G" "$*" "$N"; }
indent() { sed 's/^/    /'; }
# show "$ CMD" as a user would type it (paths relative to the checkout)
show_cmd() { printf '%s$ %s%s\n' "$D" "$*" "$N"; }

fail() {
	printf '\n%sDEMO FAILED in step "%s": %s%s\n' "$R$B" "$STEP" "$*" "$N" >&2
	if [ -n "$STARTED" ] && cluster is-up >/dev/null 2>&1; then
		{
			echo "--- for diagnosis:"
			echo "\$ fleetctl list-units"; fleetctl list-units 2>&1
			echo "\$ fleetctl list-unit-files"; fleetctl list-unit-files 2>&1
			echo "\$ fleet-cluster status"; "$CLUSTER" status 2>&1
		} | indent >&2
	fi
	exit 1
}

# --- the cluster and its tools ---------------------------------------------------------------------
STARTED=""   # set once `up` ran: from then on the cluster is ours to take down
API=m1       # the machine whose API fleetctl talks to (changed when it is about to crash)

cluster() { "$CLUSTER" "$@"; }
mip() { echo "127.0.0.$((10 + FLEET_CLUSTER_INDEX_BASE + ${1#m}))"; }
ip2m() { local o=${1##*.}; echo "m$((o - 10 - FLEET_CLUSTER_INDEX_BASE))"; }
# (a fleetctl that waits longer than a minute is a failure, not something to wait for forever)
fleetctl() { FLEETCTL_ENDPOINT="http://$(mip "$API"):49153" timeout 60 "$BIN/fleetctl" "$@"; }
etcdctl_c() { etcdctl --endpoints="$ETCD" "$@"; }

# run_show DISPLAY CMD...: print "$ DISPLAY", run CMD with its output indented; CMD's status
run_show() {
	local disp=$1 rc
	shift
	show_cmd "$disp"
	"$@" 2>&1 | indent
	rc=${PIPESTATUS[0]}
	return "$rc"
}
fctl() { run_show "fleetctl $*" fleetctl "$@"; }

# poll TIMEOUT_S CMD...: run CMD every 0.1 s until it succeeds; 1 after TIMEOUT_S seconds
poll() {
	local end=$(( $(now_us) + $1 * 1000000 ))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(now_us)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

machines_up() { [ "$(fleetctl list-machines --no-legend 2>/dev/null | grep -c .)" = "$1" ]; }
# the machine (m2) a unit is scheduled on, from fleetctl list-units (empty if none)
where() {
	local ip
	ip=$(fleetctl list-units --no-legend --fields unit,machine 2>/dev/null |
		awk -v u="$1" '$1 == u { n = split($2, a, "/"); print a[n] }')
	[ -n "$ip" ] && [ "$(wc -l <<<"$ip")" = 1 ] || return 0
	ip2m "$ip"
}
# systemd's own view, inside the machine
sd_active() { [ "$(cluster exec "$1" systemctl is-active "$2" 2>/dev/null)" = active ]; }
active_on() { local m s=""; for m in $LIVE; do sd_active "$m" "$1" && s+="$m "; done; echo "${s% }"; }

on_exit() {
	local rc=$?
	trap - EXIT
	trap '' INT TERM HUP
	[ -n "$STARTED" ] || exit "$rc"
	if [ "$KEEP" = 1 ]; then
		cat <<-EOF

		${B}The cluster is still up${N} (--keep / DEMO_KEEP=1). To use it, from $ROOT:
		    export FLEET_CLUSTER_NAME=$NAME
		    eval "\$(test/cluster/fleet-cluster env)"      # FLEETCTL_ENDPOINT (m1's API), ETCDCTL_*
		    $BUILD/bin/fleetctl list-units
		    test/cluster/fleet-cluster exec m1 systemctl status global-monitor.service
		    curl http://$(mip m1):8080/
		The web view, live: ${B}http://$(mip "$API"):49153/ui/${N} (any machine's API serves it)
		Take it down with:
		    FLEET_CLUSTER_NAME=$NAME test/cluster/fleet-cluster down
		EOF
	else
		section "Tearing the cluster down"
		run_show "fleet-cluster down" cluster down || rc=1
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'echo; echo "demo: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- checks before anything starts -------------------------------------------------------------
[ "$(id -u)" = 0 ] || fail "the demo needs root (it boots systemd in Linux namespaces): sudo make demo"
for b in fleetd fleetctl; do
	[ -x "$BIN/$b" ] || fail "$BIN/$b is not built (run make)"
done
for c in etcd etcdctl curl perl; do
	command -v "$c" >/dev/null || fail "$c is not installed (run make deps)"
done
if cluster is-up >/dev/null 2>&1; then
	fail "a cluster named '$NAME' is already running (left by --keep?). Take it down with: FLEET_CLUSTER_NAME=$NAME $CLUSTER down"
fi
cd "$ROOT" || fail "cannot cd to $ROOT"

IPS="127.0.0.(10+i)"
[ "$FLEET_CLUSTER_INDEX_BASE" = 0 ] || IPS="127.0.0.(10+$FLEET_CLUSTER_INDEX_BASE+i)"
cat <<EOF
${B}fleet-c demo${N}: a 3-machine cluster on this host. Every machine is a set of Linux
namespaces with a real systemd as PID 1, running $BUILD/bin/fleetd. Machine mi has the IP
$IPS ($(mip m1), $(mip m2), $(mip m3)), and fleet's API at port 49153 there.
Watch it live in a browser: the web view at http://$(mip m1):49153/ui/ (once the cluster is up).
Below, fleetctl is $BUILD/bin/fleetctl talking to one machine's API, etcdctl is
ETCDCTL_API=3 etcdctl, fleet-cluster is test/cluster/fleet-cluster.
EOF

# --- 0. boot -----------------------------------------------------------------------------------
section "Booting etcd and three machines"
t0=$(now_us)
STARTED=1
run_show "fleet-cluster up 3" cluster up 3 ||
	fail "fleet-cluster up 3 failed (if the addresses are taken by another cluster, DEMO_INDEX_BASE=20 moves the machines to 127.0.0.31-33)"
T_UP=$(ms_since "$t0")
ETCD=$(cluster etcd-endpoint) || fail "no etcd endpoint"
LIVE="m1 m2 m3"
poll 20 machines_up 3 || fail "fleetctl list-machines does not show 3 machines after 20 s"
T_READY=$(ms_since "$t0")
say "cluster up in $(secs "$T_UP") s, all 3 fleetds registered after $(secs "$T_READY") s; etcd at $ETCD"
for m in $LIVE; do curl -s -o /dev/null -m 2 "http://$(mip "$m"):49153/ui/state"; done   # web views record from now
say "the web view, live: http://$(mip m1):49153/ui/"

# --- 1. hello ----------------------------------------------------------------------------------
section "1. The machines, and a first unit: hello.service"
fctl list-machines || fail "fleetctl list-machines failed"
n=$(fleetctl list-machines --no-legend | awk -v b="$FLEET_CLUSTER_INDEX_BASE" '
	{ split($2, a, "."); if (a[4] >= 11 + b && a[4] <= 13 + b) n++ } END { print n + 0 }')
[ "$n" = 3 ] || fail "list-machines does not show the 3 machines' IPs"
good "3 machines, one line each, with their public IPs"

t0=$(now_us)
fctl start "$EXAMPLES/hello.service" || fail "fleetctl start hello.service failed"
T_HELLO=$(ms_since "$t0")
say "(fleetctl start returned after $T_HELLO ms: the unit is launched and active in systemd)"
fctl list-units || fail "fleetctl list-units failed"
HM=$(where hello.service)
[ -n "$HM" ] || fail "hello.service is not listed on exactly one machine"
[ "$(active_on hello.service)" = "$HM" ] ||
	fail "systemd: hello.service should be active on $HM only, is active on: '$(active_on hello.service)'"
good "hello.service runs on $HM ($(mip "$HM")), and systemd inside $HM says it is active"
say "fleetctl journal runs journalctl where the unit is: here, fleetctl inside $HM (the checkout is"
say "mounted read-only in every machine, and fleetctl there talks to its own fleetd)"
journal_has() { cluster exec "$HM" journalctl -u hello.service -o cat --no-pager 2>/dev/null | grep -q "Hello from $NAME-$HM"; }
poll 10 journal_has || fail "no 'Hello from $NAME-$HM' in hello.service's journal"
run_show "fleet-cluster exec $HM $BUILD/bin/fleetctl journal --lines 3 hello.service" \
	cluster exec "$HM" "$BIN/fleetctl" journal --lines 3 hello.service ||
	fail "fleetctl journal hello.service inside $HM failed"
good "its journal, read through fleetctl: \"Hello from $NAME-$HM\""

# --- 2. global unit ----------------------------------------------------------------------------
section "2. A global unit: global-monitor.service (Global=true) runs on every machine"
fctl start "$EXAMPLES/global-monitor.service" || fail "fleetctl start global-monitor.service failed"
everywhere() { [ "$(active_on global-monitor.service)" = "m1 m2 m3" ]; }
poll 10 everywhere || fail "global-monitor.service is active in systemd on '$(active_on global-monitor.service)', not on m1 m2 m3"
gm_rows() { [ "$(fleetctl list-units --no-legend --fields unit | grep -c '^global-monitor.service$')" = 3 ]; }
poll 5 gm_rows || fail "fleetctl list-units does not show global-monitor.service on 3 machines"
fctl list-units || fail "fleetctl list-units failed"
for m in $LIVE; do
	run_show "fleet-cluster exec $m systemctl is-active global-monitor.service" \
		cluster exec "$m" systemctl is-active global-monitor.service
done
good "global-monitor.service is active on m1, m2 and m3"
gm_logged() { cluster exec m3 journalctl -u global-monitor.service -o cat --no-pager 2>/dev/null | grep -q "$NAME-m3 up"; }
poll 10 gm_logged || fail "no output of global-monitor.service in m3's journal"
run_show "fleet-cluster exec m3 journalctl -u global-monitor.service -o cat -n 1" \
	cluster exec m3 journalctl -u global-monitor.service -o cat -n 1 --no-pager

# --- 3. failover -------------------------------------------------------------------------------
section "3. Failover: web@1.service and its sidekick web-discovery@1.service"
say "web@1 serves its machine's hostname on IP:8080; web-discovery@1 (BindsTo=web@1, MachineOf=web@1)"
say "writes ip:port to etcd under /services/web/1 with a lease that it keeps alive."
fctl start "$EXAMPLES/web@1.service" "$EXAMPLES/web-discovery@1.service" ||
	fail "fleetctl start web@1.service web-discovery@1.service failed"
W1=$(where web@1.service)
[ -n "$W1" ] || fail "web@1.service is not listed on exactly one machine"
[ "$(where web-discovery@1.service)" = "$W1" ] || fail "web-discovery@1.service is not on web@1's machine $W1"
fctl list-units || fail "fleetctl list-units failed"
announced() { [ "$(etcdctl_c get --print-value-only /services/web/1)" = "$1" ]; }
poll 10 announced "$(mip "$W1"):8080" || fail "/services/web/1 in etcd is '$(etcdctl_c get --print-value-only /services/web/1)', not $(mip "$W1"):8080"
run_show "etcdctl get /services/web/1" etcdctl_c get /services/web/1
EP=$(etcdctl_c get --print-value-only /services/web/1)
answers() { [ "$(curl -fsS -m 1 "http://$1/" 2>/dev/null)" = "$2" ]; }
poll 10 answers "$EP" "$NAME-$W1" || fail "curl http://$EP/ does not answer '$NAME-$W1'"
run_show "curl -s http://$EP/" curl -sS -m 2 "http://$EP/"
good "web@1 runs on $W1, announced at $EP, and answers with $W1's hostname"

LEADER_ID=$(etcdctl_c get --print-value-only /_coreos.com/fleet/engine/leader | sed -n 's/.*"MachineID":"\([0-9a-f]*\)".*/\1/p')
LEADER=""
for m in $LIVE; do [ "$(cluster id "$m")" != "$LEADER_ID" ] || LEADER=$m; done
say "(the engine leader, from etcd's /_coreos.com/fleet/engine/leader, is the fleetd of ${LEADER:-?})"
if [ "$W1" = "$API" ]; then
	API=m1; [ "$W1" != m1 ] || API=m2
	say "(fleetctl now talks to $API's API, http://$(mip "$API"):49153, since $W1 is about to crash)"
fi
say ""
say "Crashing $W1: SIGKILL of its PID 1, so its fleetd cannot say goodbye. Its lease in etcd"
say "expires after agent_ttl ($FLEET_CLUSTER_AGENT_TTL); then the engine moves $W1's units elsewhere."
if [ "$W1" = "$LEADER" ]; then
	say "$W1 also runs the engine leader: first another fleetd must take the engine over, once"
	say "the dead leader's own lease has expired."
fi
OLD_EP=$EP
t0=$(now_us)
run_show "fleet-cluster kill $W1" cluster kill "$W1" || fail "fleet-cluster kill $W1 failed"
LIVE=$(echo $LIVE | tr ' ' '\n' | grep -vx "$W1" | tr '\n' ' '); LIVE=${LIVE% }
# Watch the way a client would: the announced endpoint, then an answer from a new machine.
T_ANN="" T_ANS="" NEW_EP="" BODY=""
end=$(( t0 + 40 * 1000000 ))
while [ "$(now_us)" -lt "$end" ]; do
	ep=$(etcdctl_c get --print-value-only /services/web/1 2>/dev/null)
	if [ -n "$ep" ] && [ "$ep" != "$OLD_EP" ]; then
		[ -n "$T_ANN" ] || { T_ANN=$(ms_since "$t0"); NEW_EP=$ep; }
		BODY=$(curl -fsS -m 1 "http://$ep/" 2>/dev/null)
		if [ -n "$BODY" ] && [ "$BODY" != "$NAME-$W1" ]; then T_ANS=$(ms_since "$t0"); NEW_EP=$ep; break; fi
	fi
	sleep 0.1
done
[ -n "$T_ANS" ] || fail "40 s after the crash, no new endpoint answers (etcd /services/web/1: '$(etcdctl_c get --print-value-only /services/web/1)')"
W1B=$(ip2m "${NEW_EP%:*}")
say "after $(secs "$T_ANN") s: the sidekick announced the new endpoint $NEW_EP"
say "after $(secs "$T_ANS") s: curl http://$NEW_EP/ answered '$BODY'"
[ "$BODY" = "$NAME-$W1B" ] || fail "the new endpoint $NEW_EP answered '$BODY', not $W1B's hostname"
[ "$(where web@1.service)" = "$W1B" ] || fail "fleetctl list-units does not show web@1.service on $W1B"
[ "$(where web-discovery@1.service)" = "$W1B" ] || fail "fleetctl list-units does not show web-discovery@1.service on $W1B"
[ "$(active_on web@1.service)" = "$W1B" ] || fail "systemd: web@1.service active on '$(active_on web@1.service)', want $W1B"
[ "$(active_on web-discovery@1.service)" = "$W1B" ] || fail "systemd: web-discovery@1.service active on '$(active_on web-discovery@1.service)', want $W1B"
fctl list-machines || fail "fleetctl list-machines failed"
fctl list-units || fail "fleetctl list-units failed"
run_show "etcdctl get /services/web/1" etcdctl_c get /services/web/1
run_show "curl -s http://$NEW_EP/" curl -sS -m 2 "http://$NEW_EP/" || fail "curl http://$NEW_EP/ failed"
show_cmd "curl -s http://$OLD_EP/"
if curl -fsS -m 2 "http://$OLD_EP/" >/dev/null 2>&1; then fail "the crashed machine's endpoint $OLD_EP still answers"; fi
say "    (no answer: $W1 is gone)"
T_FAILOVER=$T_ANS
good "web@1 and its sidekick moved together from $W1 to $W1B; failover (crash -> curl answered by $W1B): $(secs "$T_FAILOVER") s"

# --- 4. templates ------------------------------------------------------------------------------
section "4. Templates: web@1..3 spread over the machines by Conflicts=web@*.service"
say "First $W1 comes back (same machine-id); units do not move back to it."
t0=$(now_us)
run_show "fleet-cluster restart $W1" cluster restart "$W1" || fail "fleet-cluster restart $W1 failed"
LIVE="m1 m2 m3"
poll 20 machines_up 3 || fail "$W1 did not register again within 20 s"
T_REJOIN=$(ms_since "$t0")
fctl list-machines || fail "fleetctl list-machines failed"
[ "$(where web@1.service)" = "$W1B" ] && [ "$(active_on web@1.service)" = "$W1B" ] ||
	fail "web@1.service moved when $W1 came back (now on '$(active_on web@1.service)')"
good "$W1 is back after $(secs "$T_REJOIN") s; web@1 stays on $W1B"
fctl start "$EXAMPLES/web@2.service" "$EXAMPLES/web@3.service" ||
	fail "fleetctl start web@2.service web@3.service failed"
fctl list-units --fields unit,machine,active,sub || fail "fleetctl list-units failed"
placed=""
for i in 1 2 3; do
	m=$(where "web@$i.service")
	[ -n "$m" ] || fail "web@$i.service is not listed on exactly one machine"
	[ "$(active_on "web@$i.service")" = "$m" ] || fail "systemd: web@$i.service active on '$(active_on "web@$i.service")', want $m"
	placed+="$m "
done
[ "$(echo $placed | tr ' ' '\n' | sort -u | wc -l)" = 3 ] || fail "web@1..3 are not on 3 different machines: $placed"
for m in m1 m2 m3; do
	poll 10 answers "$(mip "$m"):8080" "$NAME-$m" || fail "http://$(mip "$m"):8080/ does not answer '$NAME-$m'"
	run_show "curl -s http://$(mip "$m"):8080/" curl -sS -m 2 "http://$(mip "$m"):8080/"
done
good "web@1, web@2, web@3 on $placed- one per machine, each answering with its hostname"
fctl list-unit-files || fail "fleetctl list-unit-files failed"

# --- 5. maintenance: a rolling update and a drain ------------------------------------------------
section "5. Maintenance (fleet-c): a rolling update, then a drain"
say "A new version of web@.service, rolled out to web@2 and web@3 one at a time: each must run"
say "the new content and stay active for 1 s before the next one is touched."
VDIR=$(mktemp -d /tmp/fleet-demo-v2.XXXXXX)
sed 's/^Description=Web server %i$/Description=Web server %i, version 2/' "$EXAMPLES/web@.service" >"$VDIR/web@2.service"
cp "$VDIR/web@2.service" "$VDIR/web@3.service"
t0=$(now_us)
fctl start --replace --rolling --min-healthy 1 "$VDIR/web@2.service" "$VDIR/web@3.service" ||
	fail "the rolling update of web@2 and web@3 failed"
T_ROLL=$(ms_since "$t0")
rm -rf "$VDIR"
for i in 2 3; do
	fleetctl cat "web@$i.service" | grep -q "version 2" || fail "web@$i.service does not have the new content"
	m=$(where "web@$i.service")
	poll 10 answers "$(mip "$m"):8080" "$NAME-$m" || fail "web@$i on $m does not answer after the update"
done
good "web@2 and web@3 run version 2, updated one after the other in $(secs "$T_ROLL") s"

say ""
say "A new version of the global unit global-monitor.service, machine by machine: fleetctl pins"
say "every machine to the old content, gives the unit the new one, then unpins one machine at a"
say "time; each must run the new content before the next one is touched."
GDIR=$(mktemp -d /tmp/fleet-demo-gm.XXXXXX)
sed 's/^Description=Per-machine monitor$/Description=Per-machine monitor, version 2/' \
	"$EXAMPLES/global-monitor.service" >"$GDIR/global-monitor.service"
t0=$(now_us)
fctl start --replace --rolling --min-healthy 0.5 "$GDIR/global-monitor.service" ||
	fail "the rolling update of global-monitor.service failed"
T_GROLL=$(ms_since "$t0")
rm -rf "$GDIR"
for m in $LIVE; do
	d=$(cluster exec "$m" systemctl show -p Description --value global-monitor.service 2>/dev/null)
	[ "$d" = "Per-machine monitor, version 2" ] || fail "global-monitor.service on $m is '$d', not version 2"
	sd_active "$m" global-monitor.service || fail "global-monitor.service is not active on $m after the update"
done
good "global-monitor.service runs version 2 on $LIVE, updated one machine after the other in $(secs "$T_GROLL") s"

say ""
say "Draining $W1B, where web@1 and its sidekick run: fleet stops them there, then starts them"
say "together on another machine; the global unit stays. First web@2 and web@3 go, so that"
say "web@1 (Conflicts=web@*) has somewhere to go."
fctl destroy web@2.service web@3.service || fail "fleetctl destroy web@2 web@3 failed"
t0=$(now_us)
fctl drain "$(cluster id "$W1B" | cut -c1-8)" || fail "fleetctl drain $W1B failed"
T_DRAIN=$(ms_since "$t0")
W1C=$(where web@1.service)
[ -n "$W1C" ] && [ "$W1C" != "$W1B" ] || fail "web@1.service did not leave $W1B (on '$W1C')"
[ "$(active_on web@1.service)" = "$W1C" ] && [ "$(active_on web-discovery@1.service)" = "$W1C" ] ||
	fail "web@1 and its sidekick are not both active on $W1C"
sd_active "$W1B" global-monitor.service || fail "global-monitor.service no longer runs on $W1B"
fctl list-machines --fields machine,ip,state || fail "fleetctl list-machines --fields state failed"
poll 10 announced "$(mip "$W1C"):8080" || fail "the sidekick did not announce $(mip "$W1C"):8080"
poll 10 answers "$(mip "$W1C"):8080" "$NAME-$W1C" || fail "web@1 does not answer on $W1C"
run_show "curl -s http://$(mip "$W1C"):8080/" curl -sS -m 2 "http://$(mip "$W1C"):8080/"
good "web@1 and its sidekick moved from $W1B to $W1C in $(secs "$T_DRAIN") s; only the global unit is left on $W1B"
fctl uncordon "$(cluster id "$W1B")" || fail "fleetctl uncordon failed"

# --- summary -----------------------------------------------------------------------------------
section "Summary"
cat <<EOF
  cluster up (etcd + 3 machines + fleetd):        $(secs "$T_UP") s ($(secs "$T_READY") s until all registered)
  fleetctl start hello.service -> active:         $T_HELLO ms
  failover of web@1 after the crash of $W1:        $(secs "$T_FAILOVER") s (crash -> curl answered by $W1B; agent_ttl $FLEET_CLUSTER_AGENT_TTL$([ "$W1" != "$LEADER" ] || echo "; $W1 ran the engine leader"))
  a crashed machine back in the cluster:          $(secs "$T_REJOIN") s
  rolling update of web@2 and web@3:              $(secs "$T_ROLL") s (1 s healthy each)
  rolling update of global-monitor.service:       $(secs "$T_GROLL") s (3 machines, 0.5 s healthy each)
  drain of $W1B (web@1 and its sidekick moved):    $(secs "$T_DRAIN") s
  whole demo:                                     $(secs "$(ms_since "$T_START")") s
${G}${B}demo: every step behaved${N}
EOF
exit 0
