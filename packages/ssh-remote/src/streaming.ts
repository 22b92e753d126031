import { rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { type Readable, Transform, type Writable } from 'node:stream';
import { RemoteError } from './errors.js';
import type { Argv, Runner, RunOptions, RunResult } from './runner.js';

export interface SendResult extends RunResult {
  /** Bytes read from the source and handed to the command's stdin. */
  bytesSent: number;
}

export interface ReceiveResult extends RunResult {
  /** Bytes of the command's stdout written to the destination. */
  bytesReceived: number;
}

/**
 * Streams a local file (path) or stream into a command's stdin on the runner's host, e.g.
 * `sendToRemote(runner, ['dd', 'of=/dev/vg/lv', 'bs=1M', 'oflag=direct'], '/var/tmp/image.raw')`.
 * Flow control goes end to end: the source is read only as fast as the host takes it.
 */
export async function sendToRemote(
  runner: Runner,
  argv: Argv,
  source: string | Readable,
  options: Omit<RunOptions, 'stdin'> = {},
): Promise<SendResult> {
  let bytesSent = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytesSent += chunk.length;
      callback(null, chunk);
    },
  });
  const input = typeof source === 'string' ? await openForReading(source) : source;
  input.on('error', (err: Error) => counter.destroy(err));
  try {
    const result = await runner.run(argv, { ...options, stdin: input.pipe(counter) });
    return { ...result, bytesSent };
  } finally {
    // The command may have exited without reading everything (`head`): release the file.
    input.destroy();
  }
}

/** Opens the file before anything runs, so a missing or unreadable file fails cleanly. */
async function openForReading(path: string): Promise<Readable> {
  try {
    const handle = await open(path, 'r');
    return handle.createReadStream();
  } catch (cause) {
    throw new RemoteError(
      'STREAM_FAILED',
      `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}`,
      {
        cause,
      },
    );
  }
}

/**
 * Streams a command's stdout into a local file (path; removed again if the command fails) or stream,
 * e.g. `receiveFromRemote(runner, ['cat', '/var/lib/one/datastores/0/5/disk.0'], '/tmp/disk.0')`.
 */
export async function receiveFromRemote(
  runner: Runner,
  argv: Argv,
  destination: string | Writable,
  options: Omit<RunOptions, 'stdout'> = {},
): Promise<ReceiveResult> {
  const output = typeof destination === 'string' ? await openForWriting(destination) : destination;
  try {
    const result = await runner.run(argv, { ...options, stdout: output });
    return { ...result, bytesReceived: result.stdoutBytes };
  } catch (err) {
    // Nothing half-written is left behind under the caller's file name.
    if (typeof destination === 'string') {
      output.destroy();
      rmSync(destination, { force: true });
    }
    throw err;
  }
}

/** Creates the file before anything runs, so a path that cannot be written fails before the command. */
async function openForWriting(path: string): Promise<Writable> {
  try {
    const handle = await open(path, 'w');
    return handle.createWriteStream();
  } catch (cause) {
    throw new RemoteError(
      'STREAM_FAILED',
      `cannot write ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}`,
      {
        cause,
      },
    );
  }
}
