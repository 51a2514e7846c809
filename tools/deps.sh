#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages fleet-c needs to build, test and run its demo.
# Does nothing when everything is present; says what it installs otherwise.
set -eu

PKGS="build-essential pkg-config clang clang-format cppcheck libsystemd-dev libcurl4-openssl-dev libjansson-dev
libmicrohttpd-dev libgnutls28-dev libssl-dev check etcd-server etcd-client openssh-client openssh-server
valgrind util-linux iproute2 curl dbus systemd procps libclang-rt-dev python3 chromium chromium-driver python3-selenium"

missing=""
for p in $PKGS; do
        st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        case "$st" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
        esac
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

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Keep the packages' own services (etcd, sshd) from starting on the host while installing.
made_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        made_policy=1
fi
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
# Debian starts etcd and sshd as services when it installs them; the project starts its own.
for s in etcd ssh; do
        if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
                systemctl disable --now "$s" >/dev/null 2>&1 || true
        fi
done
echo "deps: done"
