#!/bin/bash
# SPDX-License-Identifier: MIT
# 0901-web-ui: the web view (/ui/) on a 3-machine cluster, in a real browser (headless Chromium
# driven by test/e2e/ui-browser.py through chromium-driver and python3-selenium):
#   - HTTP: the page, its script and style with their types, ETag and revalidation, 404 under
#     /ui/, read-only (405), the feed is text/event-stream; also on the unix socket;
#   - the browser shows the 3 machines (leader marked) and a running unit with its state;
#     a unit started with fleetctl appears within 2 s without a reload; the filter box and
#     sorting work; a machine crashes and the page shows its unit moving, with the event; etcd
#     is paused (SIGSTOP): a banner says it is unreachable and the last state stays visible,
#     until etcd is back;
#   - a screenshot is saved as $BUILD/ui-screenshot.png (and -phone.png).
set -u
. "$(dirname "$0")/lib.sh"
export FLEET_CLUSTER_AGENT_TTL=5s

for f in /usr/bin/chromium /usr/bin/chromedriver /usr/bin/python3; do
	[ -x "$f" ] || bail_out "$f is missing: make deps installs chromium, chromium-driver and python3-selenium"
done
/usr/bin/python3 -c 'import selenium' 2>/dev/null || bail_out "python3-selenium is missing (make deps)"

. "$(dirname "$0")/lib-scenario.sh"

URL="http://$(machine_ip m1):49153/ui/"
BUILD_ABS=$BUILD
case $BUILD in /*) ;; *) BUILD_ABS=$E2E_ROOT/$BUILD ;; esac

# --- HTTP ------------------------------------------------------------------------------------------
hdr() { curl -sS -m 5 -o /dev/null -D - "$@" 2>/dev/null | tr -d '\r'; }
code() { curl -sS -m 5 -o /dev/null -w '%{http_code}' "$@" 2>/dev/null; }
h=$(hdr "$URL")
check "GET /ui/: 200 text/html" grep -q '^Content-Type: text/html; charset=utf-8' <<<"$h"
check "GET /ui/: ETag and Cache-Control: no-cache" eval 'grep -q "^ETag: \"" <<<"$h" && grep -q "^Cache-Control: no-cache" <<<"$h"'
check "GET /ui/: a Content-Security-Policy that allows no other origin" grep -q "^Content-Security-Policy: default-src 'none'" <<<"$h"
check "GET /ui/: no cookie" eval '! grep -qi "^Set-Cookie" <<<"$h"'
etag=$(sed -n 's/^ETag: //p' <<<"$h")
is "$(code -H "If-None-Match: $etag" "$URL")" 304 "If-None-Match with its ETag: 304"
check "GET /ui/app.js: text/javascript" eval 'hdr "${URL}app.js" | grep -q "^Content-Type: text/javascript"'
check "GET /ui/style.css: text/css" eval 'hdr "${URL}style.css" | grep -q "^Content-Type: text/css"'
is "$(code "${URL}nope.js")" 404 "GET /ui/nope.js: 404"
is "$(code "${URL}units/nope.service")" 404 "GET /ui/units/nope.service: 404"
is "$(code -X POST "$URL")" 405 "POST /ui/: 405 (read-only)"
is "$(code "${URL%/}")" 301 "GET /ui: 301 to /ui/"
check "GET /ui/events: text/event-stream, a snapshot first" eval \
	'curl -sS -m 2 -D - "${URL}events" 2>/dev/null | tr -d "\r" | grep -q "^Content-Type: text/event-stream" &&
	 curl -sS -m 2 "${URL}events" 2>/dev/null | grep -q "^event: snapshot"'
check "the fleet API still answers next to it" eval 'fctl list-machines --no-legend | grep -c . | grep -qx 3'
check "GET /ui/ on the unix socket /var/run/fleet.sock (inside m1)" eval \
	'machine_exec m1 curl -sS -m 5 -o /dev/null -w "%{http_code}" --unix-socket /var/run/fleet.sock http://localhost/ui/ | grep -qx 200'

# --- the browser -----------------------------------------------------------------------------------
fok "fleetctl start hello.service" fblock start "$E2E_ROOT/units/examples/hello.service"
check "hello.service active in systemd" wait_for $T eval '[ -n "$(active_on hello.service)" ]'
is "$(curl -sS -m 5 "${URL}units/hello.service" | grep -c '^ExecStart=')" 1 "GET /ui/units/hello.service: its unit text"
mkunit ui-new.service "Started while the page is open"
MACHINES=""
for m in $LIVE; do MACHINES+="$(machine_id "$m")=$m "; done
rm -f "$BUILD_ABS/ui-screenshot.png" "$BUILD_ABS/ui-screenshot-phone.png"
export UI_URL=$URL UI_MACHINES=$MACHINES UI_PAGE_MACHINE=$(machine_id m1) UI_RUNNING=hello.service
export UI_NEW_UNIT=ui-new.service UI_SCREENSHOT=$BUILD_ABS/ui-screenshot.png
export UI_START_CMD="FLEETCTL_ENDPOINT=http://$(machine_ip m1):49153 timeout 60 $FLEETCTL start --no-block $TMP/ui-new.service"
export UI_KILL_CMD="$FLEET_CLUSTER kill"
D=$(fleet_cluster env | sed -n 's/^FLEET_CLUSTER_DIR=//p')
eval "D=$D"
EPID=$(cat "$D/etcd.pid")
[ "$(cat "/proc/$EPID/comm" 2>/dev/null)" = etcd ] || bail_out "no etcd at pid $EPID"
at_exit kill -CONT "$EPID"
export UI_ETCD_PAUSE_CMD="kill -STOP $EPID" UI_ETCD_RESUME_CMD="kill -CONT $EPID"
while IFS= read -r line; do
	case $line in
	"PASS "*) ok "browser: ${line#PASS }" ;;
	"FAIL "*) not_ok "browser: ${line#FAIL }" ;;
	*) diag "${line#DIAG }" ;;
	esac
done < <(timeout 240 /usr/bin/python3 "$E2E_DIR/ui-browser.py" scenario 2>&1)
check "screenshot saved: $BUILD/ui-screenshot.png" test -s "$BUILD_ABS/ui-screenshot.png"

done_testing
