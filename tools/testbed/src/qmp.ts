import { createConnection } from 'node:net';
import { createInterface } from 'node:readline';
import { TestbedError } from './errors.js';

/**
 * Sends one command to a qemu's QMP socket and returns its `return` value. QMP answers with one
 * JSON object per line; asynchronous events (`{"event": …}`) in between are skipped.
 */
export async function qmp(
  socketPath: string,
  command: string,
  args?: Record<string, unknown>,
  timeoutMs = 10_000,
): Promise<unknown> {
  const socket = createConnection(socketPath);
  const lines = createInterface({ input: socket });
  const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const send = (execute: string, a?: Record<string, unknown>) =>
      socket.write(`${JSON.stringify(a ? { execute, arguments: a } : { execute })}\n`);
    let negotiated = false;
    for await (const line of lines) {
      const message = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc?: string } };
      if (message.QMP) {
        send('qmp_capabilities');
      } else if (message.error) {
        throw new TestbedError('QMP', `qemu refused ${command}: ${message.error.desc ?? line}`);
      } else if ('return' in message) {
        if (negotiated) return message.return;
        negotiated = true;
        send(command, args);
      }
    }
    throw new TestbedError('QMP', `qemu closed its monitor before answering ${command}`);
  } catch (error) {
    if (TestbedError.isInstance(error)) throw error;
    throw new TestbedError('QMP', `cannot reach qemu's monitor ${socketPath}: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
    lines.close();
    socket.destroy();
  }
}

/** Runs a human-monitor (HMP) command through QMP and returns its text output. */
export async function hmp(socketPath: string, commandLine: string): Promise<string> {
  const out = await qmp(socketPath, 'human-monitor-command', { 'command-line': commandLine });
  return typeof out === 'string' ? out : '';
}
