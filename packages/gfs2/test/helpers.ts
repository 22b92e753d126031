import { type FakeResponse, FakeRunner } from '@one-gfs2clvm/ssh-remote/testing';
import { expect } from 'vitest';
import { type BatchStep, batchScript, emulateBatch } from '../src/batch.js';
import { Gfs2Error } from '../src/errors.js';
import { ENSURE_VM_DIR_AND_LINK_STEPS, ENSURE_VM_DIR_STEPS, LINK_DISK_STEPS } from '../src/vm-dir.js';

/** The `Gfs2Error` a promise rejects with (any other outcome fails the test); its message is one line. */
export async function refusal(promise: Promise<unknown>): Promise<Gfs2Error> {
  try {
    await promise;
  } catch (error) {
    if (!Gfs2Error.isInstance(error)) throw error;
    expect(error.message).not.toMatch(/\n/);
    return error;
  }
  throw new Error('expected a Gfs2Error');
}

/** The `code` of the `Gfs2Error` a call throws (any other outcome fails the test). */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (!Gfs2Error.isInstance(error)) throw error;
    expect(error.message).not.toMatch(/\n/);
    return error.code;
  }
  throw new Error('expected a Gfs2Error');
}

export interface FakeGfs2Options {
  /** Content of the `withdraw` sysfs file; default `0`. */
  withdraw?: string;
  /** Mount options in the mount table; default `rw,relatime`. */
  mountOptions?: string;
  /** The answer to `stat -f`; default `gfs/gfs2`. */
  statfs?: FakeResponse;
}

/**
 * A host whose `/var/lib/one/datastores` is a GFS2 (device 253:4, lock table `one:ds`), answering
 * the three commands of `assertOnGfs2` for any path: for the unit tests of command sequences; the
 * real GFS2 is in the testbed tests.
 */
export function fakeGfs2Host(options: FakeGfs2Options = {}): FakeRunner {
  const fake = answerBatches(new FakeRunner({ host: 'node1' }));
  fake.on(['stat', '-f', '-c', '%T', '--', /^\//], options.statfs ?? { stdout: 'gfs/gfs2\n' });
  fake.on(['findmnt', '-J', '-o', 'TARGET,SOURCE,FSTYPE,OPTIONS,MAJ:MIN', '-T', /^\//], {
    stdout: JSON.stringify({
      filesystems: [
        {
          target: '/var/lib/one/datastores',
          source: '/dev/mapper/vg--one--100-gfs2',
          fstype: 'gfs2',
          options: options.mountOptions ?? 'rw,relatime',
          'maj:min': '253:4',
        },
      ],
    }),
  });
  fake.on(['grep', '-r', '-s', '-H', '--include=id', '--include=withdraw', '-e', '', '/sys/fs/gfs2'], {
    stdout: `/sys/fs/gfs2/one:ds/id:253:4\n/sys/fs/gfs2/one:ds/withdraw:${options.withdraw ?? '0'}\n`,
  });
  return fake;
}

/**
 * Makes `fake` answer the batches of this package (`sh -c '<script>' sh <args>`) the way the script
 * would, from its answers to the single commands (each recorded in `fake.calls` after the `sh`
 * call); a command the fake was not told about counts as failed (exit 1, no output).
 */
export function answerBatches(fake: FakeRunner): FakeRunner {
  const batches: ReadonlyArray<readonly BatchStep[]> = [
    ENSURE_VM_DIR_STEPS,
    LINK_DISK_STEPS,
    ENSURE_VM_DIR_AND_LINK_STEPS,
  ];
  fake.on(
    (argv) => argv[0] === 'sh' && argv[1] === '-c' && batches.some((b) => batchScript(b) === argv[2]),
    (call) => {
      const steps = batches.find((b) => batchScript(b) === call.argv[2]) as readonly BatchStep[];
      return emulateBatch(steps, call.argv.slice(4), (argv) =>
        fake.run(argv, { reject: false }).catch(() => ({ exitCode: 1, stdout: '', stderr: '' })),
      );
    },
  );
  return fake;
}
