#!/bin/bash
# SPDX-License-Identifier: MIT
# 0204-fleetd-cmdline: fleetd's command line and configuration errors (reference 2.1, 2.6;
# DESIGN.md 5: a bad value is an error at startup). No cluster: fleetd exits before it would
# touch etcd or systemd.
set -u
. "$(dirname "$0")/lib.sh"

FLEETD=$E2E_ROOT/$BUILD/bin/fleetd
case $BUILD in /*) FLEETD=$BUILD/bin/fleetd ;; esac
[ -x "$FLEETD" ] || bail_out "$FLEETD is not built"
VERSION=$(cat "$E2E_ROOT/VERSION")
TMP=$(mktemp -d /tmp/fleet-e2e-cmdline.XXXXXX)
at_exit rm -rf "$TMP"

# run ARGS...: stdout+stderr in $out, exit code in $rc (a clean environment: no FLEET_*)
run() { out=$(env -i PATH=/usr/bin:/bin "$@" 2>&1); rc=$?; }

for v in --version -version version -version=true; do
	run "$FLEETD" "$v"
	is "$rc:$out" "0:fleetd version $VERSION" "fleetd $v prints the version"
done

run "$FLEETD" start
is "$rc" 1 "a positional argument: exit 1"
grep -q "takes no arguments. Did you mean to invoke fleetctl instead?" <<<"$out" &&
	ok "a positional argument: fleet's message" || { not_ok "a positional argument: fleet's message"; diag "$out"; }
grep -q "^Usage of fleetd:" <<<"$out" && ok "a positional argument: usage follows" || not_ok "a positional argument: usage follows"

run "$FLEETD" --bogus
is "$rc" 2 "an unknown flag: exit 2 (Go's flag package)"
grep -q "flag provided but not defined: -bogus" <<<"$out" && ok "an unknown flag: Go's message" || { not_ok "an unknown flag: Go's message"; diag "$out"; }

run "$FLEETD" --config
is "$rc" 2 "--config without a value: exit 2"

run "$FLEETD" --config "$TMP/missing.conf"
is "$rc" 1 "--config of a missing file: exit 1"
grep -q "Unable to use config file $TMP/missing.conf" <<<"$out" && ok "--config of a missing file: fleet's message" || { not_ok "--config of a missing file: fleet's message"; diag "$out"; }

run "$FLEETD" --config "$TMP"
is "$rc" 1 "--config of a directory: exit 1"
grep -q "Provided config $TMP is a directory, not a file" <<<"$out" && ok "--config of a directory: fleet's message" || { not_ok "--config of a directory: fleet's message"; diag "$out"; }

printf 'agent_ttl=5s\nthis is not ini\n' >"$TMP/syntax.conf"
run "$FLEETD" --config="$TMP/syntax.conf"
is "$rc" 1 "an INI syntax error: exit 1"
grep -q "iniparser: syntax error at ':2'." <<<"$out" && ok "an INI syntax error: fleet's message" || { not_ok "an INI syntax error: fleet's message"; diag "$out"; }

printf 'agent_ttl=abc\n' >"$TMP/value.conf"
run "$FLEETD" -config "$TMP/value.conf"
is "$rc" 1 "a bad value in the file: exit 1 (fleet ignored it silently)"
grep -q 'invalid value for agent_ttl: "abc"' <<<"$out" && ok "a bad value in the file: names option and value" || { not_ok "a bad value in the file: names option and value"; diag "$out"; }

printf 'agent_ttl=5s\n' >"$TMP/good.conf"
run env FLEET_ETCD_REQUEST_TIMEOUT=soon "$FLEETD" --config "$TMP/good.conf"
is "$rc" 1 "a bad value in the environment: exit 1"
grep -q 'FLEET_ETCD_REQUEST_TIMEOUT' <<<"$out" && ok "a bad value in the environment: names the variable" || { not_ok "a bad value in the environment: names the variable"; diag "$out"; }

done_testing
