#!/bin/sh
# Baseline for bench/overhead.mjs: the LVM and file calls of ln + delete of a persistent disk, the
# way the bash drivers make them — a new `ssh` process per command (fs_lvm's ssh_exec_and_log).
# Usage: SSH="ssh -F /dev/null -i key … -p port -l root 127.0.0.1" [SUDO=sudo] baseline-ln-delete.sh VG LV VMDIR TAG
# SUDO=sudo (with SSH logging in as oneadmin): the LVM commands through sudo, as the 2012 driver
# (its sudoers rules for lvs, lvcreate, lvremove) and OpenNebula's fs_lvm (`$SUDO $LVCHANGE`) run them.
set -eu
VG=$1 LV=$2 VMDIR=$3 TAG=$4
SUDO=${SUDO:-}
# ln
$SSH $SUDO lvs --noheadings -o lv_name,lv_active,lv_tags "$VG/$LV" >/dev/null
$SSH stat -f -c %T "$(dirname "$VMDIR")" >/dev/null
$SSH mkdir -p "$VMDIR"
$SSH $SUDO lvchange -aey "$VG/$LV"
$SSH $SUDO lvchange --addtag "$TAG" --addtag one_written "$VG/$LV"
$SSH ln -sfn "/dev/$VG/$LV" "$VMDIR/disk.0"
# delete
$SSH readlink "$VMDIR/disk.0" >/dev/null
$SSH $SUDO lvchange -an "$VG/$LV"
$SSH $SUDO lvchange --deltag "$TAG" "$VG/$LV"
$SSH rm -f "$VMDIR/disk.0"
