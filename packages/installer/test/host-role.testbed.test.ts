import { randomInt } from 'node:crypto';
import { parseLvmJson } from '@one-gfs2clvm/lvm';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { attach, type Cluster } from '@one-gfs2clvm/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { giveQemuConf, HELPER, hostRoleInstalled, hostState, stageCli } from './testbed-host.js';

/** LVM 2.03.16 may end its `log` section with a comma: read reports as the lvm library does. */
// biome-ignore lint/suspicious/noExplicitAny: the tests walk LVM's JSON by the paths they check
const lvmJson = (text: string): any => parseLvmJson(text);

// `install --role host` into a real emulated hypervisor (tools/testbed: the machine's own root over
// 9p, so the built CLI and Node are there), then sudo, udev, LVM and doctor for real, then
// `uninstall` and a comparison with the state before. Everything runs on the last host, and the
// LVs made here carry a random VM id, so suites of other packages sharing the cluster are not
// disturbed.
const vmId = 90_000 + randomInt(9_000);
const lv = `lv-one-${vmId}-0`;

let cluster: Cluster;
let vg: string;
let root: Runner;
let oneadmin: Runner;
let hostName: string;
const staged = stageCli();

async function installer(...args: string[]) {
  return root.run([process.execPath, staged.cli, ...args], { reject: false, timeoutMs: 120_000 });
}

async function asOneadmin(...argv: string[]) {
  return oneadmin.run(argv, { reject: false, timeoutMs: 120_000 });
}

beforeAll(async () => {
  cluster = await attach();
  const host = cluster.hosts.at(-1);
  if (!host) throw new Error('testbed has no host');
  hostName = host.name;
  vg = cluster.sharedVg;
  root = host.runner('root');
  oneadmin = host.runner('oneadmin');
  // The one-tm suites lay the host role down on the shared cluster (the driver runs through the
  // helper): this test starts from a host without it.
  if (await hostRoleInstalled(root)) {
    const cleared = await installer('uninstall');
    if (cleared.exitCode !== 0) throw new Error(`uninstall before the test failed: ${cleared.stderr}`);
  }
  await giveQemuConf(root);
}, 300_000);

afterAll(async () => {
  await root?.run(['sh', '-c', `lvremove -y ${vg}/${lv} >/dev/null 2>&1; true`], { reject: false });
  await Promise.all([root?.close(), oneadmin?.close()]);
  staged.cleanup();
});

describe('install --role host on an emulated hypervisor', () => {
  let before: string;

  it('installs, and a second run changes nothing', async () => {
    before = await hostState(root);
    expect(before).toContain('/etc/libvirt/qemu.conf');
    const first = await installer('install', '--role', 'host');
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain('installed /etc/sudoers.d/one-gfs2clvm');
    expect(first.stdout).toContain('ran: udevadm control --reload');
    const installed = await hostState(root);
    const second = await installer('install', '--role', 'host');
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toContain('changed 0 file(s)');
    expect(await hostState(root)).toBe(installed);
  });

  it('leaves a sudoers that visudo -c accepts, the fragment 0440 root', async () => {
    const check = await root.run(['visudo', '-c'], { reject: false });
    expect(check.exitCode).toBe(0);
    expect((await root.run(['stat', '-c', '%a %U:%G', '/etc/sudoers.d/one-gfs2clvm'])).stdout.trim()).toBe(
      '440 root:root',
    );
  });

  it('lets oneadmin run the helper with sudo -n, and nothing else', async () => {
    const report = await asOneadmin('sudo', '-n', HELPER, 'report', 'vgs', vg);
    expect(report.stderr).toBe('');
    expect(report.exitCode).toBe(0);
    expect(lvmJson(report.stdout).report[0].vg[0].vg_name).toBe(vg);
    const listed = await asOneadmin('sudo', '-n', '-l');
    expect(listed.stdout).toContain(`(root) NOPASSWD: ${HELPER}`);
    for (const argv of [
      ['/usr/sbin/lvcreate', '-n', 'x', '-L', '4m', vg],
      ['/usr/sbin/lvm', 'version'],
      ['/bin/sh', '-c', 'id'],
      ['/usr/bin/dd', 'if=/dev/zero', 'of=/dev/null', 'count=1'],
    ]) {
      const refused = await asOneadmin('sudo', '-n', ...argv);
      expect(refused.exitCode, argv.join(' ')).toBe(1);
      expect(refused.stderr).toMatch(/sudo: a password is required|not allowed/);
    }
    // The environment cannot be smuggled in: sudo refuses to set variables for the helper.
    const env = await asOneadmin('sudo', '-n', 'PATH=/tmp:/usr/bin', HELPER, 'report', 'pvs');
    expect(env.exitCode).toBe(1);
    expect(env.stderr).toMatch(
      /not allowed to set the following environment variables|a password is required/,
    );
  });

  it('gives a new LV made through the helper to oneadmin, who writes it without root', async () => {
    const run = (...args: string[]) => asOneadmin('sudo', '-n', HELPER, ...args);
    const created = await run('create', vg, lv, String(16 * 1024 * 1024));
    expect(created.stderr).toBe('');
    expect(created.exitCode).toBe(0);
    try {
      const owner = await root.run(['stat', '-L', '-c', '%U:%G %a', `/dev/${vg}/${lv}`]);
      expect(owner.stdout.trim()).toBe('oneadmin:oneadmin 660');
      const write = await asOneadmin(
        'dd',
        'if=/dev/urandom',
        `of=/dev/${vg}/${lv}`,
        'bs=1M',
        'count=2',
        'oflag=direct',
        'status=none',
      );
      expect(write.exitCode).toBe(0);
      const wipe = await run('wipe', vg, lv);
      expect(wipe.exitCode).toBe(0);
      const zeros = await asOneadmin('cmp', '-n', String(16 * 1024 * 1024), `/dev/${vg}/${lv}`, '/dev/zero');
      expect(zeros.exitCode, zeros.stdout + zeros.stderr).toBe(0);
      expect((await run('tag', vg, lv, 'add', `one_active_${hostName}`)).exitCode).toBe(0);
      const report = await run('report', 'lvs', vg, lv);
      expect(lvmJson(report.stdout).report[0].lv[0].lv_tags).toContain(`one_active_${hostName}`);
      expect((await run('deactivate', vg, lv)).exitCode).toBe(0);
      // Boot-time re-activation finds the tag and activates the LV again, exclusively.
      const boot = await root.run([HELPER, 'reactivate-boot'], { reject: false });
      expect(boot.exitCode, boot.stderr).toBe(0);
      const active = await run('report', 'lvs', vg, lv);
      expect(lvmJson(active.stdout).report[0].lv[0]).toMatchObject({
        lv_active_exclusively: expect.stringMatching(/^(1|active exclusively)$/),
      });
      expect((await run('deactivate', vg, lv)).exitCode).toBe(0);
    } finally {
      const removed = await run('remove', vg, lv);
      expect(removed.exitCode, removed.stderr).toBe(0);
    }
  });

  it('runs every verb of the grammar against real LVM through sudo', async () => {
    const run = (...args: string[]) => asOneadmin('sudo', '-n', HELPER, ...args);
    const ok = async (...args: string[]) => {
      const result = await run(...args);
      expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      return result;
    };
    const base = `lv-one-${vmId}-1`;
    const names = [
      base,
      `lv-one-${vmId}-2`,
      `lv-one-${vmId}-snap`,
      `lv-one-${vmId}-pool`,
      `lv-one-${vmId}-thin`,
      `lv-one-${vmId}-tsnap`,
    ];
    const MiB = 1024 * 1024;
    try {
      await ok('create', vg, base, String(8 * MiB), 'linear');
      await ok('extend', vg, base, String(16 * MiB));
      const lvs = lvmJson((await ok('report', 'lvs', vg, base)).stdout).report[0].lv[0];
      expect(Number(lvs.lv_size)).toBe(16 * MiB);
      await ok('rename', vg, base, names[1] as string);
      await ok('refresh', vg, names[1] as string);
      await ok('tag', vg, names[1] as string, 'add', 'one_test');
      await ok('tag', vg, names[1] as string, 'del', 'one_test');
      // A range wipe inside the LV works; one past its end is refused before anything is written.
      await ok('wipe', vg, names[1] as string, String(MiB), String(4 * MiB));
      const beyond = await run('wipe', vg, names[1] as string, String(12 * MiB), String(8 * MiB));
      expect(beyond.exitCode).toBe(64);
      expect(beyond.stderr).toMatch(/^one-gfs2clvm-helper: wipe: range ends beyond the LV/);
      await ok('snapshot', vg, names[1] as string, names[2] as string, String(4 * MiB));
      await ok('remove', vg, names[2] as string);
      await ok('deactivate', vg, names[1] as string);
      // A shared activation (live migration) and back to exclusive, on an active LV.
      await ok('activate', vg, names[1] as string, 'shared');
      await ok('activate', vg, names[1] as string, 'exclusive');
      await ok('deactivate', vg, names[1] as string);
      await ok('activate', vg, names[1] as string, 'local');
      await ok('deactivate', vg, names[1] as string);
      // Thin provisioning: a pool, a thin LV in it, a thin snapshot that activates without -K.
      await ok('create', vg, names[3] as string, String(32 * MiB), 'thin-pool');
      await ok('create-thin', vg, names[3] as string, names[4] as string, String(64 * MiB));
      await ok('snapshot', vg, names[4] as string, names[5] as string);
      await ok('activate', vg, names[5] as string, 'exclusive');
      const status = lvmJson((await ok('lockstatus', vg)).stdout);
      expect(status.report[0].vg[0].vg_lock_type).toBe('sanlock');
      await ok('lockstart', vg);
      expect(lvmJson((await ok('report', 'pvs')).stdout).report[0].pv.length).toBeGreaterThan(0);
      expect(lvmJson((await ok('report', 'vgs')).stdout).report[0].vg.length).toBeGreaterThan(0);
    } finally {
      for (const name of [...names].reverse()) {
        await root.run(['lvremove', '-y', `${vg}/${name}`], { reject: false });
      }
    }
  });

  it('refuses hostile arguments through sudo with exit 64 and one line, changing nothing', async () => {
    const hostile = [
      ['create', vg, 'lv-one-1;reboot', '4194304'],
      ['create', vg, 'lv-one-$(id)', '4194304'],
      ['create', vg, '--config=global{}', '4194304'],
      ['create', vg, 'lv-one-1', '-4194304'],
      ['create', vg, 'lv-one-1', '99999999999999999999'],
      ['create', vg, 'lv-one-1', '4m'],
      ['create', vg, 'lv-one-1_tmeta', '4194304'],
      ['create', 'vg-root', 'lv-one-1', '4194304'],
      ['remove', vg, 'lvmlock'],
      ['remove', vg, '../../dev/sda'],
      ['remove', '..', 'lv-one-1'],
      ['activate', vg, 'lv-one-1', 'ey'],
      ['tag', vg, 'lv-one-1', 'add', '--config'],
      ['wipe', vg, 'lv-one-1', '1', '2', '3'],
      ['lvcreate', vg],
      [],
    ];
    for (const args of hostile) {
      const result = await asOneadmin('sudo', '-n', HELPER, ...args);
      expect(result.exitCode, JSON.stringify(args)).toBe(64);
      expect(result.stderr, JSON.stringify(args)).toMatch(/^one-gfs2clvm-helper: [^\n]+\n$/);
    }
    // Nothing was created (other suites may change the VG meanwhile: look only for these names).
    const made = await root.run([
      'lvs',
      '--noheadings',
      '-o',
      'lv_name',
      '--select',
      'lv_name=~^lv-one-1',
      vg,
    ]);
    expect(made.stdout.trim()).toBe('');
  });

  it('sets the qemu.conf keys', async () => {
    const conf = (await root.run(['cat', '/etc/libvirt/qemu.conf'])).stdout;
    expect(conf).toMatch(/^user = "oneadmin"$/m);
    expect(conf).toMatch(/^group = "oneadmin"$/m);
    expect(conf).toMatch(/^dynamic_ownership = 0$/m);
  });

  it('doctor says OK for the helper, sudo, the lockspace, qemu.conf and a test LV', async () => {
    const doctor = await installer('doctor', '--test-lv', vg);
    expect(doctor.stdout).toMatch(/^OK {3}helper: /m);
    expect(doctor.stdout).toMatch(/^OK {3}sudo: oneadmin may run the helper/m);
    expect(doctor.stdout).toMatch(/^OK {3}sudo: oneadmin may not run LVM commands directly/m);
    expect(doctor.stdout).toMatch(new RegExp(`^OK {3}VG ${vg}: sanlock lockspace started`, 'm'));
    expect(doctor.stdout).toMatch(/^OK {3}qemu.conf: /m);
    expect(doctor.stdout).toMatch(/^OK {3}udev rule: a new LV is owned by oneadmin:oneadmin/m);
  });

  it('doctor reports an unmounted GFS2 and a stopped lockspace, each with what to do', async () => {
    // A datastore location with nothing mounted on it.
    await root.run(['mkdir', '-p', '/var/tmp/one-gfs2clvm-unmounted']);
    // A second shared VG whose lockspace is then stopped, on a loop device of this host only
    // (stopping the cluster VG's lockspace would disturb the other suites).
    const doctorVg = `vg-one-doctor${vmId}`;
    const setup = await root.run(
      [
        'sh',
        '-c',
        `set -e; truncate -s 512M /var/tmp/${doctorVg}.img; dev=$(losetup -f --show /var/tmp/${doctorVg}.img); echo $dev; vgcreate --shared --lock-type sanlock ${doctorVg} $dev >&2; vgchange --lockstop ${doctorVg} >&2`,
      ],
      { reject: false, timeoutMs: 240_000 },
    );
    expect(setup.exitCode, setup.stderr).toBe(0);
    const loop = setup.stdout.trim();
    try {
      const doctor = await installer('doctor', '--datastore-location', '/var/tmp/one-gfs2clvm-unmounted');
      expect(doctor.exitCode).toBe(1);
      expect(doctor.stdout).toContain(
        'FAIL GFS2: nothing is mounted at /var/tmp/one-gfs2clvm-unmounted — mount the GFS2 file system there',
      );
      expect(doctor.stdout).toContain(
        `FAIL VG ${doctorVg}: sanlock lockspace not started — run: vgchange --lockstart ${doctorVg}`,
      );
      expect(doctor.stderr).toMatch(/^one-gfs2clvm: doctor: \d+ check\(s\) failed\n$/);
    } finally {
      await root.run(
        [
          'sh',
          '-c',
          `vgchange --lockstart ${doctorVg}; vgremove -y ${doctorVg}; losetup -d ${loop}; rm -f /var/tmp/${doctorVg}.img; rmdir /var/tmp/one-gfs2clvm-unmounted`,
        ],
        { reject: false, timeoutMs: 240_000 },
      );
    }
  }, 600_000);

  it('uninstall leaves the host as it was', async () => {
    const result = await installer('uninstall');
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(await hostState(root)).toBe(before);
    expect((await root.run(['visudo', '-c'], { reject: false })).exitCode).toBe(0);
    const gone = await asOneadmin('sudo', '-n', HELPER, 'report', 'pvs');
    expect(gone.exitCode).toBe(1);
  });
});
