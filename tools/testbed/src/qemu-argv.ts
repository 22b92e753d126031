import type { Accel } from './options.js';

/** Everything qemu needs to start one emulated host. */
export interface QemuHostSpec {
  name: string;
  index: number;
  kernel: string;
  initrd: string;
  /** Shared read-only with the guest as 9p tag `testbed` (stage2.sh, keys, env files). */
  stateDir: string;
  /**
   * The repository, shared read-only as 9p tag `workspace` and mounted at the same path in the guest:
   * a checkout under /tmp or /root (a CI clone) is hidden there by the guest's own tmpfs mounts.
   */
  workspaceDir: string;
  hostDir: string;
  sshPort: number;
  sanImage: string;
  plainImage?: string;
  /** The cluster link hub's unix socket (GFS2 over DLM), if any. */
  linkSocket?: string;
  accel: Accel;
  memoryMiB: number;
  /** Virtual CPUs (`-smp`). */
  cpus: number;
}

const hex = (n: number) => n.toString(16).padStart(2, '0');
/** The guest finds its NICs by these MACs (names vary with the PCI layout). */
export const userMac = (index: number) => `52:54:00:00:01:${hex(index)}`;
export const clusterMac = (index: number) => `52:54:00:00:02:${hex(index)}`;

/** A raw image every guest opens at once: no image locking, and writes shared like a SAN LUN. */
function sharedDisk(id: string, file: string, serial: string): string[] {
  return [
    '-drive',
    `file=${file},format=raw,if=none,id=${id},cache=none,aio=threads,file.locking=off`,
    '-device',
    `virtio-blk-pci,drive=${id},share-rw=on,serial=${serial}`,
  ];
}

/** qemu's argv for one host. Paths must not contain commas (qemu's option separator); callers check. */
export function qemuArgv(spec: QemuHostSpec): string[] {
  const accel = spec.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max'];
  const argv = [
    '-name',
    `testbed-${spec.name}`,
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-machine',
    'q35',
    ...accel,
    '-smp',
    String(spec.cpus),
    '-m',
    String(spec.memoryMiB),
    '-kernel',
    spec.kernel,
    '-initrd',
    spec.initrd,
    '-append',
    `console=ttyS0 panic=-1 quiet testbed.host=${spec.name}`,
    '-no-reboot',
    '-serial',
    `file:${spec.hostDir}/console.log`,
    '-virtfs',
    'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs',
    `local,path=${spec.stateDir},mount_tag=testbed,security_model=none,readonly=on,multidevs=remap`,
    '-virtfs',
    `local,path=${spec.workspaceDir},mount_tag=workspace,security_model=none,readonly=on,multidevs=remap`,
    ...sharedDisk('san', spec.sanImage, 'one-san'),
    ...(spec.plainImage ? sharedDisk('plain', spec.plainImage, 'one-plain') : []),
    '-netdev',
    `user,id=n0,hostfwd=tcp:127.0.0.1:${spec.sshPort}-:22`,
    '-device',
    `virtio-net-pci,netdev=n0,mac=${userMac(spec.index)},romfile=`,
  ];
  if (spec.linkSocket) {
    argv.push(
      '-netdev',
      `stream,id=c0,server=off,addr.type=unix,addr.path=${spec.linkSocket}`,
      '-device',
      `virtio-net-pci,netdev=c0,mac=${clusterMac(spec.index)},romfile=`,
    );
  }
  argv.push(
    '-qmp',
    `unix:${spec.hostDir}/qmp.sock,server=on,wait=off`,
    '-pidfile',
    `${spec.hostDir}/qemu.pid`,
    '-daemonize',
  );
  return argv;
}
