import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TestbedError } from '../src/errors.js';
import { checkPlainPath, corosyncConf, guestEnvFile, knownHostsLine } from '../src/guest-files.js';
import { resolveOptions } from '../src/options.js';
import { type QemuHostSpec, qemuArgv } from '../src/qemu-argv.js';
import { sshConfigText, writeSshConfig } from '../src/ssh-config.js';

const spec: QemuHostSpec = {
  name: 'node2',
  index: 2,
  kernel: '/cache/vmlinuz',
  initrd: '/cache/initrd.img',
  stateDir: '/state',
  workspaceDir: '/tmp/ci/repo',
  hostDir: '/state/hosts/node2',
  sshPort: 40022,
  sanImage: '/state/san.img',
  accel: 'tcg',
  memoryMiB: 1024,
  cpus: 1,
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return TestbedError.isInstance(error) ? error.code : 'not a TestbedError';
  }
  return undefined;
}

describe('qemuArgv', () => {
  it('attaches the LUN shared (no image locking, share-rw) and forwards SSH on loopback only', () => {
    const argv = qemuArgv(spec);
    expect(argv).toContain(
      'file=/state/san.img,format=raw,if=none,id=san,cache=none,aio=threads,file.locking=off',
    );
    expect(argv).toContain('virtio-blk-pci,drive=san,share-rw=on,serial=one-san');
    expect(argv).toContain('user,id=n0,hostfwd=tcp:127.0.0.1:40022-:22');
    expect(argv).toContain('local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap');
    // The repository again, since a clone under /tmp is hidden by the guest's own /tmp.
    expect(argv).toContain(
      'local,path=/tmp/ci/repo,mount_tag=workspace,security_model=none,readonly=on,multidevs=remap',
    );
    expect(argv.slice(argv.indexOf('-accel'), argv.indexOf('-accel') + 4)).toEqual([
      '-accel',
      'tcg',
      '-cpu',
      'max',
    ]);
    expect(argv.join(' ')).not.toContain('stream');
    expect(argv.join(' ')).not.toContain('one-plain');
  });

  it('adds the plain disk, the cluster link and KVM only when asked', () => {
    const argv = qemuArgv({
      ...spec,
      plainImage: '/state/plain.img',
      linkSocket: '/state/link.sock',
      accel: 'kvm',
    });
    expect(argv).toContain('virtio-blk-pci,drive=plain,share-rw=on,serial=one-plain');
    expect(argv).toContain('stream,id=c0,server=off,addr.type=unix,addr.path=/state/link.sock');
    expect(argv).toContain('virtio-net-pci,netdev=c0,mac=52:54:00:00:02:02,romfile=');
    expect(argv).toContain('host');
  });
});

describe('resolveOptions', () => {
  it('defaults to 2 hosts, a 4 GiB LUN, GFS2 over DLM, TCG', () => {
    expect(resolveOptions({}, {})).toEqual({
      hosts: 2,
      lunGiB: 4,
      plainVg: false,
      lockType: 'sanlock',
      gfs2: 'dlm',
      accel: 'tcg',
      memoryMiB: 1024,
      cpus: 1,
    });
    expect(resolveOptions({}, { TESTBED_ACCEL: 'kvm' }).accel).toBe('kvm');
  });

  it('takes the vCPUs per host from the option, else TESTBED_CPUS, and gives them to qemu', () => {
    expect(resolveOptions({}, { TESTBED_CPUS: '2' }).cpus).toBe(2);
    expect(resolveOptions({ cpus: 3 }, { TESTBED_CPUS: '2' }).cpus).toBe(3);
    const argv = qemuArgv({ ...spec, cpus: 2 });
    expect(argv[argv.indexOf('-smp') + 1]).toBe('2');
  });

  it.each(['0', '9', 'two', '2;reboot', '-1', '1e3'])(
    'refuses TESTBED_CPUS=%j with INVALID_ARGUMENT',
    (value) => {
      expect(codeOf(() => resolveOptions({}, { TESTBED_CPUS: value }))).toBe('INVALID_ARGUMENT');
    },
  );

  it.each([
    [{ hosts: 0 }],
    [{ hosts: 9 }],
    [{ hosts: 1.5 }],
    [{ hosts: '2' as unknown as number }],
    [{ lunGiB: -1 }],
    [{ lunGiB: 1e9 }],
    [{ gfs2: 'ocfs2' as 'dlm' }],
    [{ accel: 'hvf' as 'kvm' }],
    [{ lockType: 'dlm' as const, gfs2: 'nolock' as const }],
    [{ lockType: 'clvmd' as 'dlm' }],
  ])('refuses %j with INVALID_ARGUMENT', (options) => {
    expect(codeOf(() => resolveOptions(options, {}))).toBe('INVALID_ARGUMENT');
  });
});

describe('guest files', () => {
  it.each(['relative/path', '/a,b', '/a b', '/$(reboot)', '/a;b', "/a'b", '/a\nb', ''])(
    'refuses the path %j (it would reach qemu options or a sourced shell file)',
    (path) => {
      expect(codeOf(() => checkPlainPath('state folder', path))).toBe('INVALID_ARGUMENT');
    },
  );

  it('writes the env file stage2.sh sources', () => {
    const env = guestEnvFile({
      name: 'node1',
      index: 1,
      hosts: 2,
      modulesDir: '/var/cache/x/lib/modules/6.1.0-56-amd64',
      workspaceDir: '/tmp/ci/repo',
      kernelVersion: '6.1.0-56-amd64',
      gfs2: 'dlm',
      lockType: 'dlm',
    });
    expect(env).toContain('TB_INDEX=1\n');
    expect(env).toContain('TB_WORKSPACE=/tmp/ci/repo\n');
    expect(env).toContain('TB_LOCK_TYPE=dlm\n');
    expect(env).toContain('TB_MAC_USER=52:54:00:00:01:01\n');
    expect(env).toContain('TB_MAC_CLUSTER=52:54:00:00:02:01\n');
    expect(
      codeOf(() =>
        guestEnvFile({
          name: 'n',
          index: 1,
          hosts: 1,
          modulesDir: '/m',
          workspaceDir: '/w',
          kernelVersion: '6.1;reboot',
          gfs2: 'none',
          lockType: 'sanlock',
        }),
      ),
    ).toBe('KERNEL');
  });

  it('writes corosync.conf with a newline after every brace and two_node only for two hosts', () => {
    const two = corosyncConf(2);
    expect(two).toMatch(/two_node: 1/);
    expect(two).toContain('ring0_addr: 169.254.100.2');
    expect(two.match(/\{(?!\n)/g)).toBeNull();
    expect(corosyncConf(3)).not.toMatch(/two_node/);
    expect(corosyncConf(3).match(/nodeid:/g)).toHaveLength(3);
  });

  it('writes known_hosts lines for a loopback port', () => {
    expect(knownHostsLine(2201, 'ssh-ed25519 AAAAC3Nza node1\n')).toBe(
      '[127.0.0.1]:2201 ssh-ed25519 AAAAC3Nza\n',
    );
    expect(codeOf(() => knownHostsLine(2201, 'garbage'))).toBe('SETUP_FAILED');
  });
});

describe('TestbedError', () => {
  it('is recognised across copies and says which failures may pass on a retry', () => {
    const error = new TestbedError('PORT_IN_USE', 'taken');
    expect(TestbedError.isInstance(error)).toBe(true);
    expect(TestbedError.isInstance(new Error('x'))).toBe(false);
    expect(TestbedError.isRetryable(error)).toBe(true);
    expect(new TestbedError('NO_SPACE', 'full').retryable).toBe(false);
  });
});

describe('ssh_config of the testbed hosts', () => {
  const hosts = [
    { name: 'node1', sshPort: 40022, identityFile: '/state/id_ed25519' },
    { name: 'node2', sshPort: 40023, identityFile: '/state/id_ed25519' },
  ];

  it('one Host entry per host, 127.0.0.1 on its port with the testbed key, root by default', () => {
    expect(sshConfigText(hosts)).toBe(
      'Host node1\n  HostName 127.0.0.1\n  Port 40022\n  User root\n  IdentityFile /state/id_ed25519\n' +
        'Host node2\n  HostName 127.0.0.1\n  Port 40023\n  User root\n  IdentityFile /state/id_ed25519\n',
    );
  });

  it('another user; extra entries appended as given', () => {
    const text = sshConfigText(hosts.slice(0, 1), { user: 'oneadmin', extra: 'Host x\n  Port 1\n' });
    expect(text).toBe(
      'Host node1\n  HostName 127.0.0.1\n  Port 40022\n  User oneadmin\n  IdentityFile /state/id_ed25519\nHost x\n  Port 1\n',
    );
  });

  it.each([
    [{ name: 'node1\n  ProxyCommand sh', sshPort: 1, identityFile: '/k' }],
    [{ name: 'node 1', sshPort: 1, identityFile: '/k' }],
    [{ name: 'node1', sshPort: 1, identityFile: '/a b/k' }],
    [{ name: 'node1', sshPort: 1, identityFile: '/k"' }],
    [{ name: 'node1', sshPort: 0, identityFile: '/k' }],
    [{ name: 'node1', sshPort: 1.5, identityFile: '/k' }],
  ])('refuses %j with one INVALID_ARGUMENT line and writes nothing', async (host) => {
    expect(codeOf(() => sshConfigText([host]))).toBe('INVALID_ARGUMENT');
    const dir = mkdtempSync(join(tmpdir(), 'testbed-ssh-config-'));
    try {
      await expect(writeSshConfig({ hosts: [host] }, join(dir, 'ssh_config'))).rejects.toThrow(
        /^ssh_config: [^\n]+$/,
      );
      expect(existsSync(join(dir, 'ssh_config'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writeSshConfig writes the text to the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'testbed-ssh-config-'));
    try {
      await writeSshConfig({ hosts }, join(dir, 'ssh_config'), { user: 'oneadmin' });
      expect(readFileSync(join(dir, 'ssh_config'), 'utf8')).toBe(sshConfigText(hosts, { user: 'oneadmin' }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
