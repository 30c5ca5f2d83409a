#!/usr/bin/env bash
# Unpacks QEMU 10.0 from bookworm-backports under PREFIX (default /opt/qemu-devplan/qemu-10.0),
# beside the system's QEMU 7.2: the packages conflict with Debian's own, so they are fetched with
# `apt-get download` from a sources list that holds bookworm-backports alone, and unpacked with
# `dpkg -x`, never installed. PREFIX/bin then holds qemu-system-x86_64, qemu-img, qemu-nbd and
# qemu-io wrappers that find this build's firmware (-L) and block modules (QEMU_MODULE_DIR);
# put PREFIX/bin first on PATH to test against it (see the README).
#
# Needs apt-get and dpkg (Debian bookworm), no root unless PREFIX needs it. Idempotent: a PREFIX
# that already answers `--version` with 10.0 is left alone.
set -euo pipefail

prefix=${1:-/opt/qemu-devplan/qemu-10.0}
suite=bookworm-backports
# The spice modules hold qxl and SPICE, which Debian 13 ships apart (7.2 has them built in);
# they load the opengl modules they name.
packages=(qemu-system-x86 qemu-system-data qemu-system-common qemu-block-extra qemu-utils qemu-system-modules-spice qemu-system-modules-opengl)

if [ -x "$prefix/bin/qemu-system-x86_64" ] && "$prefix/bin/qemu-system-x86_64" --version 2>/dev/null | grep -q 'version 10\.0\.' && [ -e "$prefix/usr/lib/x86_64-linux-gnu/qemu/hw-display-qxl.so" ]; then
  "$prefix/bin/qemu-system-x86_64" --version | head -1
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
echo "deb http://deb.debian.org/debian $suite main" >"$work/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$work/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache=$work/cache"
  -o "APT::Get::List-Cleanup=0"
  -o "Debug::NoLocking=1"
  # A private mktemp directory is not _apt's to write: download as the caller.
  -o "APT::Sandbox::User=$(id -un)"
)
apt-get "${apt_opts[@]}" -qq update
(cd "$work/debs" && apt-get "${apt_opts[@]}" -qq download "${packages[@]/%//$suite}")

rm -rf "$prefix"
mkdir -p "$prefix/bin"
for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$prefix"; done

emulator="$prefix/usr/bin/qemu-system-x86_64"
"$emulator" --version | grep -q 'version 10\.0\.' || { echo "unpacked $emulator is not QEMU 10.0" >&2; exit 1; }

# exec keeps the pid, so a test that kills "QEMU" kills the emulator itself.
cat >"$prefix/bin/qemu-system-x86_64" <<EOF
#!/bin/sh
# QEMU 10.0 from $suite, unpacked by scripts/qemu-backports.sh: its own firmware first, then the
# system's (for what the -data package leaves out), and its own block modules.
QEMU_MODULE_DIR='$prefix/usr/lib/x86_64-linux-gnu/qemu' exec '$emulator' -L '$prefix/usr/share/qemu' -L /usr/share/qemu "\$@"
EOF
for tool in qemu-img qemu-nbd qemu-io; do
  cat >"$prefix/bin/$tool" <<EOF
#!/bin/sh
QEMU_MODULE_DIR='$prefix/usr/lib/x86_64-linux-gnu/qemu' exec '$prefix/usr/bin/$tool' "\$@"
EOF
done
chmod 0755 "$prefix"/bin/*
"$prefix/bin/qemu-system-x86_64" --version | head -1
