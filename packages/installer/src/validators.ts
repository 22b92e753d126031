import { readFile } from 'node:fs/promises';
import { Script } from 'node:vm';
import { InstallerError } from './errors.js';
import type { Exec } from './exec.js';
import type { Validator } from './files.js';

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/** `visudo -cf`: a broken sudoers fragment can lock every user out of sudo. */
export function visudoValidator(exec: Exec): Validator {
  return async (temp) => {
    let result: Awaited<ReturnType<Exec>>;
    try {
      result = await exec(['visudo', '-c', '-q', '-f', temp]);
    } catch {
      throw new InstallerError('VALIDATION', 'visudo not found: install sudo first (apt-get install sudo)');
    }
    if (result.exitCode !== 0) {
      throw new InstallerError(
        'VALIDATION',
        `sudoers fragment rejected by visudo: ${firstLine(result.stderr || result.stdout)}`,
      );
    }
  };
}

/** `sh -n`: the helper must at least parse. */
export function shellSyntaxValidator(exec: Exec): Validator {
  return async (temp) => {
    const result = await exec(['sh', '-n', temp]);
    if (result.exitCode !== 0)
      throw new InstallerError('VALIDATION', `helper does not parse: ${firstLine(result.stderr)}`);
  };
}

/** polkit `.rules` files are JavaScript; one that does not compile stops polkit reading the rest. */
export const javascriptValidator: Validator = async (temp) => {
  try {
    new Script(await readFile(temp, 'utf8'), { filename: temp });
  } catch (error) {
    throw new InstallerError('VALIDATION', `polkit rule does not compile: ${(error as Error).message}`);
  }
};
