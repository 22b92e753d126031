import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { DsDriver, isDsAction } from './ds.js';
import { rubyToI } from './ruby.js';
import type { TmDriver } from './tm.js';

export interface ServeOptions {
  /**
   * `true`: treat the end of `input` like FINALIZE (wait for running actions, exit 0) — handy for
   * `printf … | one-harness tm`. Default `false`: exit 255 at once, as the real drivers do.
   */
  eofFinalizes?: boolean;
}

/**
 * Speaks the driver side of the oned protocol over streams, like `one_tm.rb` /
 * `one_datastore.rb`: reads `INIT`, `TRANSFER  7 <path>`, `CP 42 <b64>`, `DRIVER_CANCEL 7`,
 * `FINALIZE` from `input`; replies go to the driver's `output` (give it one). Lines with an
 * unknown action or a wrong number of words are dropped without a reply, as the real ones are.
 *
 * Resolves with the exit code the real driver would have: 0 after FINALIZE once every action has
 * ended, 255 as soon as `input` ends (the real driver `exit!(-1)`s on EOF, in-flight actions or not).
 */
export function serveLines(
  driver: TmDriver | DsDriver,
  input: Readable,
  diagnostics?: Writable,
  options: ServeOptions = {},
): Promise<number> {
  return new Promise((resolve) => {
    let finalizing = false;
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      reader.close();
      resolve(code);
    };
    const reader = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    reader.on('close', () => {
      if (!options.eofFinalizes) return finish(255);
      if (!finalizing) void driver.idle().then(() => finish(0));
      finalizing = true;
    });
    reader.on('line', (line) => {
      const words = line.split(/[ \t\n\v\f\r]+/);
      while (words.at(-1) === '') words.pop();
      if (words.length === 0) return;
      if (words[0] === '') {
        diagnostics?.write(`Malformed message: ${JSON.stringify(line)}\n`);
        return;
      }
      const action = (words.shift() as string).toUpperCase();
      const id = words[0] === undefined ? 0 : rubyToI(words[0]);
      if (action === 'DRIVER_CANCEL') return driver.cancel(id);
      if (finalizing) return;
      if (action === 'FINALIZE') {
        finalizing = true;
        void driver.idle().then(() => finish(0));
        return;
      }
      if (action === 'INIT') {
        if (words.length === 0) void driver.init();
        return;
      }
      if (words.length !== 2) return;
      const [idWord, argument] = words as [string, string];
      if (driver instanceof DsDriver) {
        if (isDsAction(action)) void driver.dsActionBase64(action, idWord, argument);
      } else if (action === 'TRANSFER') {
        void driver.transfer(idWord, argument);
      }
    });
  });
}
