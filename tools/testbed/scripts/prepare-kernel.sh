#!/usr/bin/env bash
# Fetches Debian's kernel for the emulated hosts and builds their tiny initramfs. Idempotent.
#
# The kernel package is downloaded and unpacked into a cache folder (never installed: installing it
# would rebuild an initramfs and touch /boot). The initramfs holds static busybox, the modules needed
# to reach the 9p root and the virtio devices, and guest/init. Prints the cache folder on stdout:
#   KERNEL=<vmlinuz> INITRD=<initrd> MODULES=<lib/modules/<version> folder> VERSION=<version>
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
cache="${TESTBED_CACHE:-/var/cache/one-gfs2clvm-testbed}"
say() { echo "testbed: $*" >&2; }

for tool in apt-get apt-cache dpkg-deb depmod modprobe cpio gzip; do
  command -v "$tool" >/dev/null || { say "missing $tool: run scripts/setup.sh (or install-debian-packages.sh) first"; exit 3; }
done
busybox=/bin/busybox
[ -x "$busybox" ] && file_is_static=$(ldd "$busybox" 2>&1 | grep -c 'not a dynamic' || true)
if [ ! -x "$busybox" ] || [ "${file_is_static:-0}" = 0 ]; then
  say "need a static /bin/busybox (Debian package busybox-static)"
  exit 3
fi

# The kernel package the meta-package points at, e.g. linux-image-6.1.0-56-amd64 (pinnable).
pkg="${TESTBED_KERNEL_PACKAGE:-}"
if [ -z "$pkg" ]; then
  pkg="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
  if [ -z "$pkg" ]; then
    apt-get update -qq >&2
    pkg="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
  fi
fi
[[ "$pkg" =~ ^linux-image-[0-9][A-Za-z0-9.+-]*-amd64$ ]] || { say "cannot find Debian's kernel package (got '$pkg')"; exit 3; }
version="${pkg#linux-image-}"
kdir="$cache/$pkg"

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9 # two `up` at once must not unpack into the same folder

if [ ! -f "$kdir/.complete" ]; then
  say "fetching $pkg (apt-get download + dpkg-deb -x, no initramfs rebuild)"
  tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download -q "$pkg" >&2 2>/dev/null) || (apt-get update -qq >&2 && cd "$tmp" && apt-get download -q "$pkg" >&2)
  rm -rf "$kdir"
  mkdir -p "$kdir"
  dpkg-deb -x "$tmp"/*.deb "$kdir"
  depmod -b "$kdir" "$version"
  touch "$kdir/.complete"
  rm -rf "$tmp"
  trap - EXIT
fi

moddir="$kdir/lib/modules/$version"
# Modules the initramfs loads before the switch to the 9p root (dependencies resolved by modprobe).
modules=(crc32c_generic virtio_pci virtio_blk virtio_net 9pnet_virtio 9p overlay)
# The initramfs is rebuilt whenever guest/init or this script changes.
stamp="$(cat "$here/guest/init" "$0" | sha256sum | cut -c1-16)"
initrd="$kdir/initrd-$stamp.img"
if [ ! -f "$initrd" ]; then
  say "building initramfs $initrd"
  root="$(mktemp -d "$cache/.initrd.XXXXXX")"
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,dev,proc,sys,lower,rw,newroot,conf,modules}
  cp "$busybox" "$root/bin/busybox"
  ln -s busybox "$root/bin/sh"
  : >"$root/modules/order"
  for m in "${modules[@]}"; do
    modprobe -d "$kdir" -S "$version" --show-depends "$m" | while read -r kind path _; do
      [ "$kind" = insmod ] || continue
      name="$(basename "$path")"
      grep -qx "$name" "$root/modules/order" && continue
      cp "$path" "$root/modules/$name"
      echo "$name" >>"$root/modules/order"
    done
  done
  install -m 0755 "$here/guest/init" "$root/init"
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
  rm -rf "$root"
  trap - EXIT
  find "$kdir" -maxdepth 1 -name 'initrd-*.img' ! -name "$(basename "$initrd")" -delete
fi

echo "KERNEL=$kdir/boot/vmlinuz-$version INITRD=$initrd MODULES=$moddir VERSION=$version"
