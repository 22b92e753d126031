import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runner } from '@one-gfs2clvm/ssh-remote';

/** Paths the host role touches, with mode, owner and content hash: equal before install and after uninstall. */
const STATE = [
  'for p in /etc/sudoers.d /etc/udev/rules.d /etc/libvirt /etc/polkit-1 /etc/systemd/system /usr/local/sbin /etc/one-gfs2clvm /var/lib/one-gfs2clvm; do',
  '  [ -e "$p" ] || { echo "absent $p"; continue; }',
  '  find "$p" -xdev \\( -type f -printf "%p %m %u:%g " -exec sha256sum {} \\; \\) -o \\( ! -type f -printf "%p %y %m %u:%g %l\\n" \\)',
  'done | sort',
].join('\n');

export async function hostState(root: Runner): Promise<string> {
  return (await root.run(['sh', '-c', STATE])).stdout;
}

/** Whether an install left its manifest on the host (other suites sharing the cluster install the role too). */
export async function hostRoleInstalled(root: Runner): Promise<boolean> {
  const r = await root.run(['test', '-e', '/var/lib/one-gfs2clvm/manifest.json'], { reject: false });
  return r.exitCode === 0;
}

/**
 * A hypervisor has libvirt's qemu.conf; the machine the guests share has no libvirt, so the guest
 * gets Debian's stock file (in its tmpfs overlay) before any "before" state is taken.
 */
export async function giveQemuConf(root: Runner): Promise<void> {
  await root.run(['mkdir', '-p', '/etc/libvirt']);
  await root.run(['sh', '-c', 'cat >/etc/libvirt/qemu.conf'], {
    stdin: readFileSync(join(import.meta.dirname, 'fixtures/qemu.conf.debian12')),
  });
}

export const CLI = join(import.meta.dirname, '..', 'bin', 'one-gfs2clvm.js');

/**
 * The built CLI copied to a fresh directory the guests can see (their root is the machine's over
 * 9p, but /tmp is their own): a guest caches what it once read, so a rebuilt dist/ at the same
 * path could reach it stale. Returns the path of the copy's bin script and a cleanup.
 */
export function stageCli(): { cli: string; cleanup: () => void } {
  const pkg = join(import.meta.dirname, '..');
  const dir = mkdtempSync('/var/tmp/one-gfs2clvm-cli-');
  for (const part of ['dist', 'bin', 'assets', 'package.json'])
    cpSync(join(pkg, part), join(dir, part), { recursive: true });
  symlinkSync(join(pkg, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'STAGED'), `${pkg}\n`);
  return {
    cli: join(dir, 'bin', 'one-gfs2clvm.js'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
export const HELPER = '/usr/local/sbin/one-gfs2clvm-helper';
