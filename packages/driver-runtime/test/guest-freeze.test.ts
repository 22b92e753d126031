import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { FakeRunner } from '@one-gfs2clvm/ssh-remote/testing';
import { describe, expect, it } from 'vitest';
import {
  checkDeployId,
  DriverError,
  type FreezeMode,
  freezeMode,
  Log,
  parseVmXml,
  virshArgv,
  withGuestFrozen,
} from '../src/index.js';

// The guest freeze around a point-in-time step, on a fake host: argv, order, thaw on every way out,
// the AGENT → SUSPEND fall-back, the one line of a failed thaw, hostile deploy ids.

const guest = { vmId: 7, deployId: 'one-7' };
const virsh = (op: string) => ['virsh', '-c', 'qemu:///system', op, 'one-7'];

/** A fake node1 whose virsh succeeds except the ops in `fail` (op → stderr); `order` records the ops. */
function setup(fail: Record<string, string> = {}) {
  const node1 = new FakeRunner({ host: 'node1' });
  const out = new PassThrough();
  let text = '';
  out.on('data', (c) => (text += c));
  const signals = new EventEmitter();
  const exits: number[] = [];
  const order: string[] = [];
  node1.on(
    (argv) => argv[0] === 'virsh',
    (call) => {
      const op = call.argv[3] as string;
      order.push(op);
      return op in fail ? { exitCode: 1, stderr: fail[op] } : {};
    },
  );
  const options = { log: new Log(out, 'snap_create_live'), action: 'snap_create_live', signals };
  const run = <T>(mode: FreezeMode, fn: () => Promise<T>) =>
    withGuestFrozen({ name: 'node1', runner: node1 }, guest, mode, fn, {
      ...options,
      exit: (code) => exits.push(code),
    });
  return { node1, order, run, signals, exits, lines: () => text.split('\n').filter(Boolean) };
}

describe('guest-freeze argv', () => {
  it('virsh on the system URI with the deploy id last', () => {
    expect(virshArgv('domfsfreeze', 'one-7')).toEqual(virsh('domfsfreeze'));
    expect(virshArgv('resume', 'my_vm.1')).toEqual(['virsh', '-c', 'qemu:///system', 'resume', 'my_vm.1']);
  });

  it.each(['-one-7', '--help', 'one-7;reboot', 'one 7', '$(id)', 'one-7\n', '', 'a/b', 'x'.repeat(200)])(
    'refuses the deploy id %j with one line',
    (id) => {
      let error: unknown;
      try {
        checkDeployId(id);
      } catch (e) {
        error = e;
      }
      expect(DriverError.hasCode(error, 'INVALID_ARGUMENT')).toBe(true);
      expect((error as Error).message).toMatch(/^deploy id .* is not a libvirt domain name$/);
      expect((error as Error).message).not.toMatch(/\n/);
    },
  );

  it('FS_FREEZE: unset is AGENT, the three values kept, anything else NONE', () => {
    expect(freezeMode(undefined)).toBe('AGENT');
    expect(freezeMode(' suspend ')).toBe('SUSPEND');
    expect(freezeMode('AGENT')).toBe('AGENT');
    expect(freezeMode('NONE')).toBe('NONE');
    expect(freezeMode('yes')).toBe('NONE');
  });

  it('the VM XML gives DEPLOY_ID and BACKUP_CONFIG/FS_FREEZE', () => {
    const vm = parseVmXml(
      '<VM><ID>7</ID><DEPLOY_ID>one-7</DEPLOY_ID><BACKUPS><BACKUP_CONFIG><FS_FREEZE>SUSPEND</FS_FREEZE></BACKUP_CONFIG></BACKUPS></VM>',
    );
    expect(vm).toMatchObject({ deployId: 'one-7', fsFreeze: 'SUSPEND' });
    expect(parseVmXml('<VM><ID>7</ID></VM>')).toMatchObject({ deployId: undefined, fsFreeze: undefined });
  });
});

describe('withGuestFrozen', () => {
  it('AGENT: freeze, the step, thaw; one line each with durations', async () => {
    const { node1, order, run, lines } = setup();
    const result = await run('AGENT', async () => {
      order.push('step');
      return 42;
    });
    expect(result).toBe(42);
    expect(order).toEqual(['domfsfreeze', 'step', 'domfsthaw']);
    expect(node1.calls.map((c) => c.argv)).toEqual([virsh('domfsfreeze'), virsh('domfsthaw')]);
    expect(node1.calls[0]?.options.timeoutMs).toBe(60_000);
    expect(lines()).toEqual([
      expect.stringMatching(/^INFO: snap_create_live: froze one-7 \(domfsfreeze\) on node1 in \d+ ms$/),
      expect.stringMatching(/^INFO: snap_create_live: domfsthaw one-7 on node1 in \d+ ms, frozen \d+ ms$/),
    ]);
  });

  it('SUSPEND: suspend and resume; NONE: no virsh at all', async () => {
    const s = setup();
    await s.run('SUSPEND', async () => s.order.push('step'));
    expect(s.order).toEqual(['suspend', 'step', 'resume']);
    const n = setup();
    await n.run('NONE', async () => n.order.push('step'));
    expect(n.order).toEqual(['step']);
    expect(n.lines()).toEqual(['INFO: snap_create_live: VM 7 not frozen (FS_FREEZE=NONE)']);
  });

  it('thaws after the step throws, and the step error is what the action gets', async () => {
    const { order, run } = setup();
    const error = await run('AGENT', async () => {
      order.push('step');
      throw new Error('lvcreate failed');
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('lvcreate failed');
    expect(order).toEqual(['domfsfreeze', 'step', 'domfsthaw']);
  });

  it('AGENT failing falls back to suspend/resume (a thaw attempt first, in case it half froze)', async () => {
    const { node1, order, run, lines } = setup({ domfsfreeze: 'error: Guest agent is not responding' });
    await run('AGENT', async () => order.push('step'));
    expect(node1.calls.map((c) => c.argv[3])).toEqual(['domfsfreeze', 'domfsthaw', 'suspend', 'resume']);
    expect(order).toEqual(['domfsfreeze', 'domfsthaw', 'suspend', 'step', 'resume']);
    expect(lines()[0]).toBe(
      'INFO: snap_create_live: domfsfreeze of one-7 on node1 failed (error: Guest agent is not responding): suspending it instead',
    );
  });

  it('a failed thaw fails with one line naming the VM and the command to run', async () => {
    const { run } = setup({ domfsthaw: 'error: timed out' });
    const error = await run('AGENT', async () => 1).catch((e: unknown) => e);
    expect(DriverError.hasCode(error, 'EXEC')).toBe(true);
    expect((error as Error).message).toBe(
      'snap_create_live: VM 7 left frozen: domfsthaw failed (error: timed out); run on node1: virsh -c qemu:///system domfsthaw one-7',
    );
  });

  it('a failed thaw after a failed step: the thaw line wins, the step error is logged', async () => {
    const { run, lines } = setup({ resume: 'error: resume failed' });
    const error = await run('SUSPEND', async () => {
      throw new Error('pool full');
    }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^snap_create_live: VM 7 left frozen: resume failed/);
    expect(lines()).toContain('ERROR: snap_create_live: after a failure: pool full');
  });

  it('suspend failing too: one line, the step never runs', async () => {
    const { order, run } = setup({ domfsfreeze: 'error: no agent', suspend: 'error: domain is not running' });
    const error = await run('AGENT', async () => order.push('step')).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'snap_create_live: cannot suspend VM 7 (one-7) on node1: error: domain is not running',
    );
    expect(order).not.toContain('step');
  });

  it('SIGTERM mid-step: thaw sent, then exit 143; the handlers are gone afterwards', async () => {
    const { order, run, signals, exits } = setup();
    let release: () => void = () => undefined;
    const done = run('AGENT', async () => {
      order.push('step');
      signals.emit('SIGTERM', 'SIGTERM');
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual(['domfsfreeze', 'step', 'domfsthaw']);
    expect(exits).toEqual([143]);
    release();
    await done;
    // The same thaw: not sent twice.
    expect(order.filter((o) => o === 'domfsthaw')).toHaveLength(1);
    expect(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT')).toBe(0);
  });

  it('SIGINT: exit 130 after the resume', async () => {
    const { order, run, signals, exits } = setup();
    await run('SUSPEND', async () => {
      signals.emit('SIGINT', 'SIGINT');
      await new Promise((r) => setTimeout(r, 10));
    });
    expect(order).toEqual(['suspend', 'resume']);
    expect(exits).toEqual([130]);
  });

  it('a hostile deploy id is refused before any command', async () => {
    const { node1 } = setup();
    const error = await withGuestFrozen(
      { name: 'node1', runner: node1 },
      { vmId: 7, deployId: '-c;reboot' },
      'AGENT',
      async () => 1,
      { log: new Log(new PassThrough(), 'x'), action: 'x' },
    ).catch((e: unknown) => e);
    expect(DriverError.hasCode(error, 'INVALID_ARGUMENT')).toBe(true);
    expect(node1.calls).toHaveLength(0);
  });
});
