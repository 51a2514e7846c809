# SPDX-License-Identifier: MIT
# Shared start of the scenario scripts (05NN-*.sh), sourced after lib.sh: boots the 3-machine
# cluster, then defines the helpers they use (fleetctl against the cluster, checks on
# systemd's view inside the machines).
cluster_up 3

FLEETCTL=$E2E_ROOT/$BUILD/bin/fleetctl
case $BUILD in /*) FLEETCTL=$BUILD/bin/fleetctl ;; esac
[ -x "$FLEETCTL" ] || bail_out "$FLEETCTL is not built"
TMP=$(mktemp -d /tmp/fleet-e2e-05.XXXXXX)
at_exit rm -rf "$TMP"
T=10
LIVE="m1 m2 m3"
API=m1
declare -A IP2M
for m in $LIVE; do IP2M[$(machine_ip "$m")]=$m; done
# fctl: fleetctl through machine $API's API (killed after 60 s); fblock CMD: a blocking command
# (load, start, stop, unload) that gives up after 5 attempts (~10 s)
fctl() { FLEETCTL_ENDPOINT="http://$(machine_ip "$API"):49153" timeout 60 "$FLEETCTL" "$@"; }
fblock() { local c=$1; shift; fctl "$c" --block-attempts=5 "$@"; }
# mkunit NAME DESCRIPTION [X-FLEET-LINE...]: a unit file $TMP/NAME running sleep
mkunit() {
	local n=$1 d=$2
	shift 2
	{
		printf '[Unit]\nDescription=%s\n\n[Service]\nExecStart=/bin/sleep infinity\n' "$d"
		[ $# = 0 ] || { printf '\n[X-Fleet]\n'; printf '%s\n' "$@"; }
	} >"$TMP/$n"
}
# systemd's view: sdp M UNIT PROPERTY. (sdp, ulf and lu are probes, see lib.sh: when they cannot
# look, the next test result is "not ok", and so is every helper built on them.)
sdp() { probe machine_exec "$1" systemctl show -p "$3" --value "$2"; }
# machines where UNIT is active / loaded, as systemd sees it ("m1 m3")
active_on() { local m s=""; for m in $LIVE; do unit_active "$m" "$1" && s+="$m "; done; echo "${s% }"; }
loaded_on() { local m s=""; for m in $LIVE; do [ "$(sdp "$m" "$1" LoadState)" = loaded ] && s+="$m "; done; echo "${s% }"; }
active_is() { [ "$(active_on "$1")" = "$2" ]; }
loaded_is() { [ "$(loaded_on "$1")" = "$2" ]; }
# list-unit-files row: "DSTATE STATE TARGET" with TARGET as a machine name (m2), - or global
ulf() {
	probe fctl list-unit-files --no-legend --full --fields unit,dstate,state,target |
		awk -v u="$1" '$1 == u { print $2, $3, $4 }' | while read -r d s t; do
		case $t in */*) t=${IP2M[${t##*/}]:-$t} ;; esac
		echo "$d $s $t"
	done
}
ulf_is() { [ "$(ulf "$1")" = "$2" ]; }
# the machine fleet says UNIT is scheduled on (from list-unit-files), or ""
target() { local r; r=$(ulf "$1"); r=${r##* }; case $r in m[0-9]*) echo "$r" ;; esac; }
# list-units rows of UNIT: "m2 active running" (one per machine)
lu() {
	probe fctl list-units --no-legend --full --fields unit,machine,active,sub |
		awk -v u="$1" '$1 == u { print $2, $3, $4 }' | while read -r mm a s; do
		echo "${IP2M[${mm##*/}]:-$mm} $a $s"
	done
}
lu_is() { [ "$(lu "$1")" = "$2" ]; }
# run fleetctl, report its exit code as a test; the output goes to diag (and into $OUT)
OUT=""
fok() { local desc=$1 rc; shift; OUT=$("$@" 2>&1); rc=$?; is "$rc" 0 "$desc"; [ -z "$OUT" ] || diag "$OUT"; return $rc; }
machines_up() { [ "$(fctl list-machines --no-legend 2>/dev/null | grep -c .)" = "$1" ]; }
