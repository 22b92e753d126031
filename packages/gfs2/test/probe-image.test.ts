import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRunner } from '@one-gfs2clvm/ssh-remote';
import { FakeRunner } from '@one-gfs2clvm/ssh-remote/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeImage } from '../src/probe-image.js';
import { refusal } from './helpers.js';

// Real qemu-img (Debian package qemu-utils) on real files, through the real LocalRunner.
const runner = new LocalRunner();
let dir: string;

/** `qemu-img create -q -f <format> <extra…> <dir>/<name> <size>`; returns the file. */
function create(name: string, format: string, size: string, ...extra: string[]): string {
  const file = join(dir, name);
  execFileSync('qemu-img', ['create', '-q', '-f', format, ...extra, file, size], { stdio: 'ignore' });
  return file;
}

const BACKED_BY_SHADOW = ['-F', 'raw', '-b', '/etc/shadow', '-u'];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gfs2-probe-'));
  chmodSync(dir, 0o755);
  create('raw.img', 'raw', '1M');
  create('plain.qcow2', 'qcow2', '2M');
  create('shadow.qcow2', 'qcow2', '1M', ...BACKED_BY_SHADOW);
  create('df.qcow2', 'qcow2', '1M', '-o', `data_file=${join(dir, 'data.raw')}`);
  create('multi.vmdk', 'vmdk', '3G', '-o', 'subformat=twoGbMaxExtentFlat');
  create('mono.vmdk', 'vmdk', '1M');
  // A raw disk whose guest wrote a qcow2 header (backing file /etc/shadow) at its start.
  const header = create('header.qcow2', 'qcow2', '1M', ...BACKED_BY_SHADOW);
  const guest = create('guest.img', 'raw', '1M');
  execFileSync('dd', [`if=${header}`, `of=${guest}`, 'conv=notrunc', 'status=none']);
  writeFileSync(
    join(dir, 'shadow.vmdk'),
    '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 8 FLAT "/etc/shadow" 0\n',
  );
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  create('x; touch pwned $(id)', 'raw', '1M');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('probeImage with the real qemu-img', () => {
  it('probes raw, qcow2 and a monolithic VMDK', async () => {
    await expect(probeImage(runner, join(dir, 'raw.img'))).resolves.toMatchObject({
      format: 'raw',
      virtualSize: 1048576,
      filename: join(dir, 'raw.img'),
    });
    await expect(probeImage(runner, join(dir, 'plain.qcow2'))).resolves.toMatchObject({
      format: 'qcow2',
      virtualSize: 2097152,
    });
    await expect(probeImage(runner, join(dir, 'mono.vmdk'))).resolves.toMatchObject({ format: 'vmdk' });
  });

  it('passes a known format with -f, also together with -U', async () => {
    const probe = await probeImage(runner, `${dir}//plain.qcow2`, { format: 'qcow2', forceShare: true });
    expect(probe).toMatchObject({ format: 'qcow2', filename: join(dir, 'plain.qcow2') });
  });

  it.each([
    ['shadow.qcow2', 'unsafe image: backing file "/etc/shadow"'],
    ['df.qcow2', 'unsafe image: external data file'],
    ['multi.vmdk', 'unsafe image: VMDK with 2 extents'],
    ['guest.img', 'unsafe image: backing file "/etc/shadow"'],
  ])('refuses %s', async (name, words) => {
    const error = await refusal(probeImage(runner, join(dir, name)));
    expect(error.code).toBe('UNSAFE_IMAGE');
    expect(error.message.startsWith(words)).toBe(true);
    expect(error.message).toMatch(/ on local$/);
  });

  it('reads the guest-written header as the raw data it is when told -f raw', async () => {
    await expect(probeImage(runner, join(dir, 'guest.img'), { format: 'raw' })).resolves.toMatchObject({
      format: 'raw',
      virtualSize: 1048576,
    });
  });

  it('fails with PROBE_FAILED for a missing file, naming it first', async () => {
    const error = await refusal(probeImage(runner, join(dir, 'missing.img')));
    expect(error.code).toBe('PROBE_FAILED');
    expect(error.message).toMatch(/^qemu-img info \S+missing\.img on local: .*No such file/);
  });

  it('stops a probe that blocks (a FIFO) at its time limit', async () => {
    const error = await refusal(probeImage(runner, join(dir, 'fifo'), { timeoutMs: 1000 }));
    expect(error.code).toBe('EXEC');
    expect(error.message).toContain('timed out');
  });

  it('treats shell metacharacters in a file name as a name', async () => {
    const probe = await probeImage(runner, join(dir, 'x; touch pwned $(id)'));
    expect(probe.format).toBe('raw');
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });

  it.runIf(process.getuid?.() === 0)(
    'as an unprivileged user cannot even open the extent /etc/shadow of a descriptor',
    async () => {
      const nobody = new LocalRunner({
        prefix: ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'],
      });
      const error = await refusal(probeImage(nobody, join(dir, 'shadow.vmdk')));
      expect(error.code).toBe('PROBE_FAILED');
      expect(error.message).toContain('Permission denied');
      // As root it opens, and the validator is what refuses it.
      expect((await refusal(probeImage(runner, join(dir, 'shadow.vmdk')))).code).toBe('UNSAFE_IMAGE');
    },
  );
});

describe('probeImage refuses before running anything', () => {
  it.each([
    ['relative.img', {}, 'INVALID_PATH'],
    ['nbd:127.0.0.1:10809', {}, 'INVALID_PATH'],
    ['json:{"file":{"filename":"/etc/shadow"}}', {}, 'INVALID_PATH'],
    ['-f', {}, 'INVALID_PATH'],
    ['/x/../etc/shadow', {}, 'INVALID_PATH'],
    ['/images/a.img', { format: 'qed' }, 'UNSUPPORTED_IMAGE'],
    ['/images/a.img', { format: 'raw -U' }, 'UNSUPPORTED_IMAGE'],
  ])('%j %j → %s', async (path, options, code) => {
    const fake = new FakeRunner({ host: 'node1' });
    const error = await refusal(probeImage(fake, path, options));
    expect(error.code).toBe(code);
    expect(fake.calls).toHaveLength(0);
  });

  it('builds the documented argv', async () => {
    const fake = new FakeRunner({ host: 'node1' });
    fake.on(() => true, { stdout: '{"format":"raw","filename":"/images/a.img","virtual-size":512}' });
    await probeImage(fake, '/images//a.img', { format: 'raw', forceShare: true });
    expect(fake.argvs).toEqual([
      ['qemu-img', 'info', '--output=json', '-f', 'raw', '-U', '--', '/images/a.img'],
    ]);
  });
});
