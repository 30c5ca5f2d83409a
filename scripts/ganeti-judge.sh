#!/usr/bin/env bash
# Unpacks Ganeti 3.0.2's Python code from Debian (bookworm) under PREFIX (default
# /opt/qemu-devplan/ganeti-3.0.2), for spec/ganeti/judge.py, which runs Ganeti's own hv_kvm as the
# judge of the library's runtime, argv and placement. The packages `ganeti-3.0` (the Python
# modules, PREFIX/usr/share/ganeti/3.0) and `ganeti-testsuite` (Ganeti's own tests, for reference:
# PREFIX/usr/share/ganeti/testsuite) are fetched with `apt-get download` and unpacked with
# `dpkg -x`, never installed: the full install pulls services (ssh, lvm2, socat, the daemons).
# What `import ganeti.hypervisor.hv_kvm` needs is installed from apt for the system's python3
# (/usr/bin/python3): simplejson, bitarray, OpenSSL, pyparsing, psutil.
#
# Needs apt-get and dpkg (Debian bookworm), root for the python3 packages (sudo is used when not
# root). Idempotent: a PREFIX whose hv_kvm imports is left alone.
set -euo pipefail

prefix=${1:-/opt/qemu-devplan/ganeti-3.0.2}
version=3.0.2
packages=(ganeti-3.0 ganeti-testsuite)
python_packages=(python3 python3-simplejson python3-bitarray python3-openssl python3-pyparsing python3-psutil)
python=/usr/bin/python3
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

need=()
for pkg in "${python_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

imports() {
  PYTHONPATH="$prefix/usr/share/ganeti/3.0" "$python" -c \
    'from ganeti import _constants as c; from ganeti.hypervisor import hv_kvm; assert c.VERSION_MAJOR == 3 and c.VERSION_MINOR == 0 and c.VERSION_REVISION == 2, c.RELEASE_VERSION; print("Ganeti", c.RELEASE_VERSION, "hv_kvm imports")'
}

if [ -f "$prefix/usr/share/ganeti/3.0/ganeti/hypervisor/hv_kvm/__init__.py" ] && imports 2>/dev/null; then
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A private mktemp directory is not _apt's to write: download as the caller. An old package list
# may no longer name the archive's file: update once and try again.
download() { (cd "$work" && apt-get -qq -o "APT::Sandbox::User=$(id -un)" download "${packages[@]}"); }
download || { $SUDO apt-get update -qq && download; }

rm -rf "$prefix"
mkdir -p "$prefix"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$prefix"; done
imports
