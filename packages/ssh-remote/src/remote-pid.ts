/**
 * The remote wrapper prints `ssh-remote-pid=<pid>` as the first line of stderr before it execs the
 * command, so the runner can end it (`kill` over a second channel) on timeout or abort: OpenSSH's
 * sshd ignores SSH `signal` requests for root logins (no post-auth privilege separation) and ssh2
 * cannot send them after stdin EOF, so they are no reliable way to stop a remote command.
 */
export const PID_MARKER = 'ssh-remote-pid=';
/** Output before the marker (a chatty shell rc file) is kept only up to this much before giving up. */
const MAX_PENDING = 4096;

/** Takes the PID line out of a stderr stream and passes everything else through unchanged. */
export class PidLineFilter {
  pid: number | null = null;
  private pending = Buffer.alloc(0);
  private done = false;

  push(chunk: Buffer): Buffer {
    if (this.done) return chunk;
    this.pending = Buffer.concat([this.pending, chunk]);
    let start = 0;
    for (;;) {
      const end = this.pending.indexOf(10, start);
      if (end < 0) break;
      const line = this.pending.subarray(start, end).toString('latin1');
      if (line.startsWith(PID_MARKER) && /^\d+$/.test(line.slice(PID_MARKER.length))) {
        this.pid = Number(line.slice(PID_MARKER.length));
        return this.finish(Buffer.concat([this.pending.subarray(0, start), this.pending.subarray(end + 1)]));
      }
      start = end + 1;
    }
    return this.pending.length > MAX_PENDING ? this.finish(this.pending) : Buffer.alloc(0);
  }

  /** What is still held back when the stream ends. */
  flush(): Buffer {
    return this.done ? Buffer.alloc(0) : this.finish(this.pending);
  }

  private finish(out: Buffer): Buffer {
    this.done = true;
    this.pending = Buffer.alloc(0);
    return out;
  }
}

/** `kill -s TERM <pid>`: `timeout` (that PID) passes the TERM to the command's process group, then KILLs it. */
export function buildKillCommand(pid: number): string {
  if (!Number.isSafeInteger(pid) || pid < 2) throw new Error(`not a process id: ${pid}`);
  return `kill -s TERM ${pid}`;
}
