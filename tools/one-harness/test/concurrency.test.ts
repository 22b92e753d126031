// Concurrency and cancellation as ActionManager does them. Nothing here asserts a duration: the
// `sleep` fixture script appends `start <name>` / `end <name>` to an events file, and overlap and
// order are read from that sequence.
import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DsDriver, dsActionData, serveLines, TmDriver, writeTransferFile } from '../src/index.js';
import { capture, makePrefix, maxInFlight, type Prefix, waitUntil } from './helpers.js';

describe('concurrency (-t) and DRIVER_CANCEL', () => {
  let prefix: Prefix;
  beforeEach(() => {
    prefix = makePrefix();
  });
  afterEach(() => prefix.remove());

  const driver = (concurrency?: number) =>
    new TmDriver({
      remotesDir: prefix.remotesDir,
      vmsDir: prefix.vmsDir,
      env: prefix.env,
      ...(concurrency === undefined ? {} : { concurrency }),
    });

  it('-t 2: never more than two transfers at once, started in FIFO order', async () => {
    const tm = driver(2);
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => tm.transferLines(n, [`SLEEP gfs2clvm 0.4 t${n}`])),
    );
    expect(results.map((r) => r.reply)).toEqual([1, 2, 3, 4, 5].map((n) => `TRANSFER SUCCESS ${n} -`));
    const events = prefix.events();
    expect(events).toHaveLength(10);
    expect(maxInFlight(events)).toBe(2);
    expect(events.filter((e) => e.startsWith('start')).map((e) => e.slice(6))).toEqual([
      't1',
      't2',
      't3',
      't4',
      't5',
    ]);
  });

  it('default -t 15: five transfers overlap; the lines of one transfer file run one after another', async () => {
    const tm = driver();
    await Promise.all([...[1, 2, 3, 4, 5].map((n) => tm.transferLines(n, [`SLEEP gfs2clvm 0.8 p${n}`]))]);
    expect(maxInFlight(prefix.events())).toBe(5);

    const sequential = driver();
    await sequential.transferLines(9, [
      'SLEEP gfs2clvm 0.1 a',
      'SLEEP gfs2clvm 0.1 b',
      'SLEEP gfs2clvm 0.1 c',
    ]);
    expect(prefix.events().slice(10)).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('cancelling a running transfer only logs; the script finishes, unreported, and its slot is freed', async () => {
    const tm = driver(1);
    const cancelled = tm.transferLines(13, ['SLEEP gfs2clvm 1 slow', 'SLEEP gfs2clvm 0 never']);
    const next = tm.transferLines(14, ['SLEEP gfs2clvm 0 quick']);
    await waitUntil(() => prefix.events().includes('start slow'));
    tm.cancel(13);
    const [slow, quick] = await Promise.all([cancelled, next]);
    expect(slow).toMatchObject({ cancelled: true, lines: [] });
    expect(slow.reply).toBeUndefined();
    expect(quick.reply).toBe('TRANSFER SUCCESS 14 -');
    // 14 got the freed slot while 13's script was still running; 13's second line never ran.
    expect(prefix.events()).toEqual(['start slow', 'start quick', 'end quick', 'end slow']);
    expect(tm.lines).toEqual(['LOG I 13 Driver command for 13 cancelled', 'TRANSFER SUCCESS 14 -']);
  });

  it('cancelling a queued action drops it; cancelling an unknown id still logs', async () => {
    const tm = driver(1);
    const first = tm.transferLines(1, ['SLEEP gfs2clvm 0.2 first']);
    const queued = tm.transferLines(2, ['SLEEP gfs2clvm 0 second']);
    await waitUntil(() => prefix.events().includes('start first'));
    tm.cancel(2);
    tm.cancel(99);
    expect(await queued).toMatchObject({ cancelled: true, commands: [] });
    await first;
    expect(prefix.events()).toEqual(['start first', 'end first']);
    expect(tm.lines).toEqual([
      'LOG I 2 Driver command for 2 cancelled',
      'LOG I 99 Driver command for 99 cancelled',
      'TRANSFER SUCCESS 1 -',
    ]);
  });

  it('line protocol: DRIVER_CANCEL replies nothing for the action; EOF ends the driver at once with 255', async () => {
    const input = new PassThrough();
    const out = capture();
    const tm = new TmDriver({
      remotesDir: prefix.remotesDir,
      vmsDir: prefix.vmsDir,
      env: prefix.env,
      output: out.stream,
    });
    const served = serveLines(tm, input);
    const file = await writeTransferFile(prefix.vmsDir, '13', 0, 'prolog', ['SLEEP gfs2clvm 1 slow']);
    // Two spaces after the action, as oned writes requests (empty STATUS field).
    input.write(`TRANSFER  13 ${file}\n`);
    await waitUntil(() => prefix.events().includes('start slow'));
    input.write('DRIVER_CANCEL 13\n');
    await waitUntil(() => out.text() !== '');
    input.end();
    expect(await served).toBe(255);
    expect(out.text()).toBe('LOG I 13 Driver command for 13 cancelled\n');
    await waitUntil(() => prefix.events().includes('end slow'));
    expect(out.text()).toBe('LOG I 13 Driver command for 13 cancelled\n');
  });

  it('line protocol: malformed lines, unknown actions and wrong word counts are dropped without a reply', async () => {
    const input = new PassThrough();
    const out = capture();
    const diagnostics = capture();
    const ds = new DsDriver({
      remotesDir: prefix.remotesDir,
      env: prefix.env,
      output: out.stream,
      concurrency: 1,
    });
    const served = serveLines(ds, input, diagnostics.stream);
    const b64 = Buffer.from(dsActionData({ dsMad: 'gfs2clvm' })).toString('base64');
    input.write(
      [
        'INIT extra',
        ' STAT 1 x',
        'TRANSFER 7 /x',
        'STAT 2',
        `STAT 3 ${b64} extra`,
        'EXPORT 4 x',
        '',
        `stat 5 ${b64}`,
        'FINALIZE',
        `STAT 6 ${b64}`,
      ].join('\n'),
    );
    input.write('\n');
    expect(await served).toBe(0);
    expect(out.text()).toBe('STAT SUCCESS 5 1024\n');
    expect(diagnostics.text()).toBe('Malformed message: " STAT 1 x"\n');
    expect(existsSync(`${prefix.callsLog}`)).toBe(true);
    expect(prefix.calls().map((call) => call.slice(0, 2))).toEqual([['stat', '5']]);
  });
});
