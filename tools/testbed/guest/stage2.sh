#!/bin/bash
# Second stage of an emulated host, PID 1 inside the overlay root (the machine's binaries).
# Brings up what a hypervisor of the cluster needs: udev, networking, the oneadmin user, sshd with the
# host keys made on the machine, sanlock + lvmlockd (host_id = host index) and, for GFS2 over DLM,
# corosync + dlm_controld. Everything is logged to the serial console (the host's console.log).
# The shared VG, the lockspaces and GFS2 are set up afterwards over SSH by the testbed.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C
exec </dev/null >/dev/console 2>&1

step() { echo "testbed-stage2: $*"; }
# PID 1 must never exit (the kernel would panic): failures are logged, and the host stays up for a look.
fail() { step "FAILED: $*"; }

host=$(sed -n 's/.*testbed\.host=\([a-z0-9]*\).*/\1/p' /proc/cmdline)
conf=/testbed/hosts/$host
# shellcheck source=/dev/null
. "$conf/env" || fail "no $conf/env"

mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/lock /run/sshd /run/lvm /run/sanlock /run/dlm /run/corosync /dev/shm /dev/pts
chmod 1777 /run/lock
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=000 devpts /dev/pts
mkdir -p /var/log /var/lock /var/tmp /var/lib/one && chmod 1777 /var/tmp
# A clean home for root: the machine's own dotfiles (shell start-up hooks, tool caches) stay out.
mount -t tmpfs -o mode=0700 tmpfs /root
# The repository at its own path, also when it lies under /tmp or /root (a CI clone), which the
# tmpfs mounts above hide: tests run the repository's built files on the hosts.
mkdir -p "$TB_WORKSPACE"
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose workspace "$TB_WORKSPACE" ||
  fail "cannot mount the repository at $TB_WORKSPACE"

# The machine has no modules for this kernel: expose the unpacked package's, so modprobe and udev work.
mkdir -p "/lib/modules/$TB_VERSION" && mount --bind "$TB_MODULES" "/lib/modules/$TB_VERSION"
modprobe configfs && mount -t configfs configfs /sys/kernel/config
for m in dm_mod dm_snapshot dm_thin_pool gfs2 dlm loop; do modprobe "$m" || fail "modprobe $m"; done

hostname "$host"
echo "$host" >/etc/hostname
{
  echo "127.0.0.1 localhost"
  for ((i = 1; i <= TB_HOSTS; i++)); do echo "169.254.100.$i node$i"; done
} >/etc/hosts

nic_by_mac() {
  local n
  for n in /sys/class/net/*; do
    [ "$(cat "$n/address")" = "$1" ] && basename "$n" && return 0
  done
  return 1
}
ip link set lo up
if nic=$(nic_by_mac "$TB_MAC_USER"); then
  ip link set "$nic" up
  ip addr add 10.0.2.15/24 dev "$nic"
  ip route add default via 10.0.2.2
else
  fail "no NIC with MAC $TB_MAC_USER"
fi
if [ -n "${TB_MAC_CLUSTER:-}" ]; then
  if nic=$(nic_by_mac "$TB_MAC_CLUSTER"); then
    ip link set "$nic" up
    ip addr add "169.254.100.$TB_INDEX/24" dev "$nic"
  else
    fail "no NIC with MAC $TB_MAC_CLUSTER"
  fi
fi

step "udev"
/lib/systemd/systemd-udevd --daemon || fail "systemd-udevd"
udevadm trigger --action=add
udevadm settle --timeout=30

step "users"
getent group oneadmin >/dev/null || groupadd -r oneadmin
getent passwd oneadmin >/dev/null || useradd -r -g oneadmin -d /var/lib/one -s /bin/bash oneadmin
# Without PAM, sshd refuses accounts whose password field is locked ('!'): '*' = no password, not locked.
usermod -p '*' oneadmin
for home in /root /var/lib/one; do
  mkdir -p "$home/.ssh"
  cp "$conf/authorized_keys" "$home/.ssh/authorized_keys"
  chmod 700 "$home/.ssh" && chmod 600 "$home/.ssh/authorized_keys"
done
mkdir -p /var/lib/one/datastores
chown -R oneadmin:oneadmin /var/lib/one

step "sshd"
rm -f /etc/ssh/sshd_config.d/*.conf 2>/dev/null
install -m 600 "$conf/ssh_host_ed25519_key" /etc/ssh/ssh_host_ed25519_key
install -m 644 "$conf/ssh_host_ed25519_key.pub" /etc/ssh/ssh_host_ed25519_key.pub
cat >/etc/ssh/sshd_config <<'EOF'
# Emulated host of the one-gfs2clvm testbed. UsePAM no: with PAM every command waited ~8 s.
Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile .ssh/authorized_keys
UseDNS no
MaxSessions 64
MaxStartups 64:30:128
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
EOF
/usr/sbin/sshd || fail "sshd"

step "lvm, sanlock, lvmlockd -g ${TB_LOCK_TYPE:-sanlock} (host_id $TB_INDEX)"
cat >/etc/lvm/lvmlocal.conf <<EOF
local {
	host_id = $TB_INDEX
}
global {
	use_lvmlockd = 1
	event_activation = 0
}
EOF
sanlock daemon -w 0 || fail "sanlock daemon"
lvmlockd -g "${TB_LOCK_TYPE:-sanlock}" || fail "lvmlockd"

if [ "${TB_GFS2:-}" = dlm ]; then
  step "corosync, dlm_controld"
  install -m 644 /testbed/corosync.conf /etc/corosync/corosync.conf
  mkdir -p /var/log/corosync /var/lib/corosync
  corosync || fail "corosync"
  # dlm_controld exits ("corosync cfg init error 2") if corosync does not answer yet.
  for _ in $(seq 60); do corosync-cfgtool -s >/dev/null 2>&1 && break; sleep 1; done
  dlm_controld --enable_fencing 0 || fail "dlm_controld"
fi

touch /run/testbed-ready
step "READY"
# Reap orphans (bash waits for any child on SIGCHLD) and never return.
while :; do
  sleep 3600 &
  wait $!
done
