import { existsSync } from 'node:fs';
import { LocalRunner } from '@one-gfs2clvm/ssh-remote';
import { describe, expect, it } from 'vitest';
import { type BatchStep, batchScript, emulateBatch, parseBatchOutput, runBatch } from '../src/batch.js';

const local = new LocalRunner();
const STEPS: readonly BatchStep[] = [
  { name: 'echo', argv: ['printf', '%s\n', '$1'] },
  { name: 'fail', argv: ['sh', '-c', 'echo oops >&2; exit 3'] },
  { name: 'onfail', argv: ['printf', 'ran after a failure'], when: { step: 'fail', ok: false } },
  { name: 'onok', argv: ['printf', 'must not run'], when: { step: 'fail', ok: true } },
  { name: 'ifsame', argv: ['printf', '%s', '$2'], when: { step: 'echo', stdout: 'a b' } },
];

describe('batches (one remote command for several)', () => {
  it('runs the steps with their own exit code, stdout and stderr, honouring the conditions', async () => {
    const batch = await runBatch(local, STEPS, ['a b', 'second']);
    expect(await batch.run(['printf', '%s\n', 'a b'])).toMatchObject({
      exitCode: 0,
      stdout: 'a b\n',
      stderr: '',
    });
    expect(await batch.run(['sh', '-c', 'echo oops >&2; exit 3'])).toMatchObject({
      exitCode: 3,
      stdout: '',
      stderr: 'oops\n',
    });
    expect((await batch.run(['printf', 'ran after a failure'])).stdout).toBe('ran after a failure\n');
    expect((await batch.run(['printf', '%s', 'second'])).stdout).toBe('second\n');
    await expect(batch.run(['printf', 'must not run'])).rejects.toThrow(/was not run in the batch/);
  });

  it('passes hostile values as data: never part of the script', async () => {
    const hostile = '$(touch /tmp/gfs2-batch-pwned)`id`;\'"\n-rf';
    const batch = await runBatch(local, STEPS, [hostile, 'x']);
    expect((await batch.run(['printf', '%s\n', hostile])).stdout).toBe(`${hostile}\n`);
    expect(existsSync('/tmp/gfs2-batch-pwned')).toBe(false);
    expect(batchScript(STEPS)).not.toContain('gfs2-batch-pwned');
  });

  it('the JavaScript emulation for test doubles gives what the script gives', async () => {
    const args = ['a b', 'second'];
    const real = await local.run(['sh', '-c', batchScript(STEPS), 'sh', ...args]);
    const emulated = await emulateBatch(STEPS, args, (argv) => local.run(argv, { reject: false }));
    expect(parseBatchOutput(emulated.stdout, emulated.stderr)).toEqual(
      parseBatchOutput(real.stdout, real.stderr),
    );
  });

  it('a runner failure of the batch is what every replayed step rejects with', async () => {
    const batch = await runBatch(local, STEPS, ['a', 'b'], { timeoutMs: 1, signal: AbortSignal.abort() });
    await expect(batch.run(['printf', '%s\n', 'a'])).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('refuses a step name that could break the script', () => {
    expect(() => batchScript([{ name: 'x;rm', argv: ['true'] }])).toThrow(/batch step name/);
  });
});
