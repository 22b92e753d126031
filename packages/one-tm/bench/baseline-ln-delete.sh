#!/bin/sh
# Baseline for bench/overhead.mjs: the LVM and file calls of ln + delete of a persistent disk, the
# way the bash drivers make them — a new `ssh` process per command (fs_lvm's ssh_exec_and_log).
# Usage: SSH="ssh -F /dev/null -i key … -p port -l root 127.0.0.1" baseline-ln-delete.sh VG LV VMDIR TAG
set -eu
VG=$1 LV=$2 VMDIR=$3 TAG=$4
# ln
$SSH lvs --noheadings -o lv_name,lv_active,lv_tags "$VG/$LV" >/dev/null
$SSH stat -f -c %T "$(dirname "$VMDIR")" >/dev/null
$SSH mkdir -p "$VMDIR"
$SSH lvchange -aey "$VG/$LV"
$SSH lvchange --addtag "$TAG" --addtag one_written "$VG/$LV"
$SSH ln -sfn "/dev/$VG/$LV" "$VMDIR/disk.0"
# delete
$SSH readlink "$VMDIR/disk.0" >/dev/null
$SSH lvchange -an "$VG/$LV"
$SSH lvchange --deltag "$TAG" "$VG/$LV"
$SSH rm -f "$VMDIR/disk.0"
