import { Script } from 'node:vm';
import { InstallerError } from './errors.js';
import type { Validation } from './target.js';

/** `visudo -cf`: a broken sudoers fragment can lock every user out of sudo. */
export const visudoValidation: Validation = {
  argv: (temp) => ['visudo', '-c', '-q', '-f', temp],
  rejected: 'sudoers fragment rejected by visudo',
  missing: 'visudo not found: install sudo first (apt-get install sudo)',
};

/** `sh -n`: the helper must at least parse with the host's sh. */
export const shellSyntaxValidation: Validation = {
  argv: (temp) => ['sh', '-n', temp],
  rejected: 'helper does not parse',
  missing: 'sh not found',
};

/** polkit `.rules` files are JavaScript; one that does not compile stops polkit reading the rest. */
export const javascriptValidation: Validation = {
  check: (content) => {
    try {
      new Script(content);
    } catch (error) {
      throw new InstallerError('VALIDATION', `polkit rule does not compile: ${(error as Error).message}`);
    }
  },
};
