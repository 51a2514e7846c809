#!/bin/bash
# SPDX-License-Identifier: MIT
# 0002-deps-output: `make deps` (tools/deps.sh) prints one line per step and keeps apt's own
# output (progress bars) in its log, which it shows only when a step fails; it installs only
# what is missing, removes the policy-rc.d it made, and exits 1 when apt fails. apt-get,
# dpkg-query and systemctl are stand-ins on PATH: nothing is installed and no service touched.
set -u
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || bail_out "run as root (deps.sh installs only as root)"
TMP=$(mktemp -d /tmp/fleet-e2e-deps.XXXXXX)
at_exit rm -rf "$TMP"
mkdir "$TMP/bin"
# dpkg-query: everything installed but the packages in $FAKE_MISSING
cat >"$TMP/bin/dpkg-query" <<'EOF'
#!/bin/sh
for a; do p=$a; done
case " $FAKE_MISSING " in *" $p "*) exit 1 ;; esac
printf 'install ok installed'
EOF
# apt-get: apt's chatter, and a failure of "install" when FAKE_APT_FAIL is set
cat >"$TMP/bin/apt-get" <<'EOF'
#!/bin/sh
echo "apt-get $*" >>"$FAKE_APT_CALLS"
[ -e "$FLEET_DEPS_POLICY_RC_D" ] || { echo "policy-rc.d missing during apt" >&2; exit 3; }
for i in 5 10 15 20 25; do echo "(Reading database ... $i%"; done
if [ "$1" = install ] && [ -n "${FAKE_APT_FAIL:-}" ]; then
	echo "E: Unable to locate package etcd-server"; exit 100
fi
echo "Setting up check (0.15.2-2) ..."
EOF
cat >"$TMP/bin/systemctl" <<'EOF'
#!/bin/sh
echo "systemctl $*" >>"$FAKE_APT_CALLS"
EOF
chmod +x "$TMP/bin/"*
export FAKE_APT_CALLS=$TMP/calls FLEET_DEPS_LOG=$TMP/deps.log FLEET_DEPS_POLICY_RC_D=$TMP/policy-rc.d
export FAKE_MISSING="check etcd-server libcurl4-openssl-dev"
run_deps() { PATH=$TMP/bin:$PATH sh "$E2E_ROOT/tools/deps.sh" >"$TMP/out" 2>"$TMP/err"; }

run_deps
is "$?" 0 "deps.sh succeeds"
is "$(cat "$TMP/out")" "deps: apt-get update
deps: installing 2 packages: check etcd-server
deps: done in $(sed -n 's/^deps: done in \([0-9]*\) s.*/\1/p' "$TMP/out") s (log: $TMP/deps.log)" "one line per step on stdout"
is "$(cat "$TMP/err")" "" "nothing on stderr"
grep -q 'Reading database ... 25%' "$TMP/deps.log" && ok "apt's progress is in the log" || not_ok "apt's progress is in the log"
is "$(grep apt-get "$TMP/calls")" "apt-get update -q
apt-get install -y -q --no-install-recommends check etcd-server" "apt-get ran for the missing packages only"
[ ! -e "$TMP/policy-rc.d" ] && ok "the policy-rc.d it made is gone" || not_ok "the policy-rc.d it made is gone"

: >"$TMP/calls"
FAKE_APT_FAIL=1 run_deps
is "$?" 1 "a failed apt-get install: exit 1"
grep -q '^deps: FAILED: installing 2 packages' "$TMP/err" && grep -q 'E: Unable to locate package' "$TMP/err" &&
	ok "the failure names the step and shows apt's output" || { not_ok "the failure names the step and shows apt's output"; diag "$(cat "$TMP/err")"; }
grep -q 'Reading database' "$TMP/out" && not_ok "stdout has no apt output" || ok "stdout has no apt output"
[ ! -e "$TMP/policy-rc.d" ] && ok "the policy-rc.d it made is gone after a failure" || not_ok "the policy-rc.d is gone after a failure"
grep -q systemctl "$TMP/calls" && not_ok "services are not touched after a failure" || ok "services are not touched after a failure"

# libcurl: the GnuTLS flavour on a fresh machine; with the OpenSSL flavour's -dev package
# installed, its runtime libcurl3-gnutls suffices (the Makefile links it by name)
: >"$TMP/calls"
FAKE_MISSING="libcurl4-gnutls-dev libcurl4-openssl-dev" run_deps
is "$(grep 'apt-get install' "$TMP/calls")" "apt-get install -y -q --no-install-recommends libcurl4-gnutls-dev" \
	"no libcurl: libcurl4-gnutls-dev is installed"
FAKE_MISSING="libcurl4-gnutls-dev" run_deps
is "$(cat "$TMP/out")" "deps: all packages present" "libcurl4-openssl-dev and libcurl3-gnutls: nothing to do"
FAKE_MISSING="libcurl4-gnutls-dev libcurl3-gnutls" run_deps
is "$(grep 'apt-get install' "$TMP/calls" | tail -1)" "apt-get install -y -q --no-install-recommends libcurl3-gnutls" \
	"libcurl4-openssl-dev without the GnuTLS runtime: libcurl3-gnutls is installed"

# an existing policy-rc.d is the admin's: kept
echo '#!/bin/sh' >"$TMP/policy-rc.d"
run_deps
is "$?" 0 "deps.sh with an existing policy-rc.d"
[ -e "$TMP/policy-rc.d" ] && ok "an existing policy-rc.d is kept" || not_ok "an existing policy-rc.d is kept"
done_testing
