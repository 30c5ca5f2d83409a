#!/bin/sh
# Creates the images examples/instance.json names, so that the argv `npm start` prints can be
# run as it is (add `-S -display none` to keep the guest paused and headless).
set -eu
d=/tmp/qemu-devplan-example
mkdir -p "$d"
qemu-img create -q -f qcow2 "$d/web1-root.qcow2" 64M
qemu-img create -q -f raw "$d/web1-data.img" 16M
qemu-img create -q -f raw "$d/web1-extra.img" 16M
qemu-img create -q -f raw "$d/debian-12.iso" 1M
echo "images in $d"
