import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TestbedError } from './errors.js';
import { checkPlainPath } from './guest-files.js';
import { packageDir } from './paths.js';

const exec = promisify(execFile);

/** Debian's kernel unpacked in the cache, and the initramfs built for it. */
export interface Kernel {
  kernel: string;
  initrd: string;
  modules: string;
  version: string;
}

/** Runs scripts/prepare-kernel.sh (fetches Debian's kernel once, builds the initramfs). */
export async function prepareKernel(log: (line: string) => void): Promise<Kernel> {
  let stdout: string;
  try {
    ({ stdout } = await exec('bash', [join(packageDir, 'scripts', 'prepare-kernel.sh')], {
      maxBuffer: 1 << 20,
    }));
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    throw new TestbedError('KERNEL', `cannot prepare the guests' kernel: ${stderr.split('\n').pop() ?? ''}`, {
      cause: error,
    });
  }
  const fields = Object.fromEntries(
    stdout
      .trim()
      .split(/\s+/)
      .map((kv) => kv.split('=', 2) as [string, string]),
  );
  const { KERNEL, INITRD, MODULES, VERSION } = fields;
  if (!KERNEL || !INITRD || !MODULES || !VERSION) {
    throw new TestbedError('KERNEL', `prepare-kernel.sh printed ${JSON.stringify(stdout.trim())}`);
  }
  log(`testbed: kernel ${VERSION}`);
  return {
    kernel: checkPlainPath('kernel', KERNEL),
    initrd: checkPlainPath('initrd', INITRD),
    modules: MODULES,
    version: VERSION,
  };
}
