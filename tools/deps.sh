#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages fleet-c needs to build, test and run its demo.
# Does nothing when everything is present. Otherwise it prints one line per step and sends
# apt's own output (progress bars, "Reading database ... 5%") to a log file, shown only if a
# step fails:
#   deps: apt-get update
#   deps: installing 3 packages: etcd-server etcd-client check
#   deps: done in 42 s (log: /tmp/fleet-deps.log)
# FLEET_DEPS_LOG names the log file (default /tmp/fleet-deps.log); FLEET_DEPS_POLICY_RC_D the
# policy-rc.d that keeps services from starting during the install (for tests).
set -eu

PKGS="build-essential pkg-config clang clang-format cppcheck libsystemd-dev libjansson-dev
libmicrohttpd-dev libgnutls28-dev nettle-dev check etcd-server etcd-client openssh-client openssh-server
openssl valgrind util-linux iproute2 curl dbus systemd procps libclang-rt-dev python3 chromium
chromium-driver python3-selenium"
LOG=${FLEET_DEPS_LOG:-${TMPDIR:-/tmp}/fleet-deps.log}
POLICY_RC_D=${FLEET_DEPS_POLICY_RC_D:-/usr/sbin/policy-rc.d}

installed() {
        case "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" in
        *"install ok installed"*) return 0 ;;
        *) return 1 ;;
        esac
}

# One TLS stack (GnuTLS, libmicrohttpd's): libcurl's GnuTLS flavour. libcurl4-gnutls-dev
# conflicts with libcurl4-openssl-dev (apt removes the latter); where that one is installed
# already, its headers serve and the Makefile links the GnuTLS runtime, libcurl3-gnutls.
if installed libcurl4-openssl-dev && ! installed libcurl4-gnutls-dev; then
        PKGS="$PKGS libcurl3-gnutls"
else
        PKGS="$PKGS libcurl4-gnutls-dev"
fi

missing=""
n=0
for p in $PKGS; do
        installed "$p" || missing="$missing $p" n=$((n + 1))
done

if [ -z "$missing" ]; then
        echo "deps: all packages present"
        exit 0
fi

if [ "$(id -u)" != 0 ]; then
        echo "deps: missing packages:$missing" >&2
        echo "deps: run 'make deps' as root to install them" >&2
        exit 1
fi

start=$(date +%s)
: >"$LOG"
made_policy=""
cleanup() {
        if [ -n "$made_policy" ]; then
                rm -f "$POLICY_RC_D"
        fi
}
trap cleanup EXIT

# step DESCRIPTION CMD...: one line on stdout, the command's output into the log; on failure
# the log and the step that failed, then exit 1
step() {
        desc=$1
        shift
        echo "deps: $desc"
        echo "### deps: $desc: $*" >>"$LOG"
        if ! "$@" >>"$LOG" 2>&1 </dev/null; then
                echo "deps: FAILED: $desc; apt's output ($LOG):" >&2
                cat "$LOG" >&2
                echo "deps: FAILED: $desc (log: $LOG)" >&2
                exit 1
        fi
}

export DEBIAN_FRONTEND=noninteractive
# Keep the packages' own services (etcd, sshd) from starting on the host while installing.
if [ ! -e "$POLICY_RC_D" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$POLICY_RC_D"
        chmod +x "$POLICY_RC_D"
        made_policy=1
fi
step "apt-get update" apt-get update -q
# shellcheck disable=SC2086
step "installing $n packages:$missing" apt-get install -y -q --no-install-recommends $missing
cleanup
made_policy=""
# Debian starts etcd and sshd as services when it installs them; the project starts its own.
for s in etcd ssh; do
        if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
                systemctl disable --now "$s" >/dev/null 2>&1 || true
        fi
done
echo "deps: done in $(($(date +%s) - start)) s (log: $LOG)"
