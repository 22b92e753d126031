// Concurrency and cancellation as ActionManager does them. Nothing here depends on durations: the
// fixture scripts append `start <name>` / `end <name>` to an events file and wait on conditions
// (`barrier`: N starts seen; `hold`: a file exists), so overlap and order are read from that
// sequence and are the same on an idle or a loaded machine.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DsDriver, dsActionData, serveLines, TmDriver, writeTransferFile } from '../src/index.js';
import { capture, maxInFlight, usePrefix, waitUntil } from './helpers.js';

describe('concurrency (-t) and DRIVER_CANCEL', () => {
  const prefix = usePrefix();

  const driver = (concurrency?: number) =>
    new TmDriver({
      remotesDir: prefix().remotesDir,
      vmsDir: prefix().vmsDir,
      env: prefix().env,
      ...(concurrency === undefined ? {} : { concurrency }),
    });

  it('-t 2: never more than two transfers at once, started in FIFO order', async () => {
    const tm = driver(2);
    // Each waits until the 2 (or 4, 5) first have started: with more than two at once they would all start.
    const needed = [2, 2, 4, 4, 5];
    const results = await Promise.all(
      needed.map((starts, i) => tm.transferLines(i + 1, [`BARRIER gfs2clvm ${starts} t${i + 1}`])),
    );
    expect(results.map((r) => r.reply)).toEqual([1, 2, 3, 4, 5].map((n) => `TRANSFER SUCCESS ${n} -`));
    const events = prefix().events();
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
    await Promise.all([1, 2, 3, 4, 5].map((n) => tm.transferLines(n, [`BARRIER gfs2clvm 5 p${n}`])));
    expect(maxInFlight(prefix().events())).toBe(5);

    const sequential = driver();
    await sequential.transferLines(9, [
      'SLEEP gfs2clvm 0.1 a',
      'SLEEP gfs2clvm 0.1 b',
      'SLEEP gfs2clvm 0.1 c',
    ]);
    expect(prefix().events().slice(10)).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('cancelling a running transfer only logs; the script finishes, unreported, and its slot is freed', async () => {
    const tm = driver(1);
    // `slow` can only end once `quick` has started: that needs the slot the cancel frees.
    const cancelled = tm.transferLines(13, ['BARRIER gfs2clvm 2 slow', 'SLEEP gfs2clvm 0 never']);
    const next = tm.transferLines(14, ['SLEEP gfs2clvm 0 quick']);
    await waitUntil(() => prefix().events().includes('start slow'));
    tm.cancel(13);
    const [slow, quick] = await Promise.all([cancelled, next]);
    expect(slow).toMatchObject({ cancelled: true, lines: [] });
    expect(slow.reply).toBeUndefined();
    expect(quick.reply).toBe('TRANSFER SUCCESS 14 -');
    // 14 got the freed slot while 13's script was still running; 13's second line never ran.
    const events = prefix().events();
    expect(events.slice(0, 2)).toEqual(['start slow', 'start quick']);
    expect([...events].sort()).toEqual(['end quick', 'end slow', 'start quick', 'start slow']);
    expect(tm.lines).toEqual(['LOG I 13 Driver command for 13 cancelled', 'TRANSFER SUCCESS 14 -']);
  });

  it('a cancelled script that ends later does not give its freed slot back twice', async () => {
    const tm = driver(1);
    const [releaseA, releaseB] = [join(prefix().dir, 'release-a'), join(prefix().dir, 'release-b')];
    const a = tm.transferLines(1, [`HOLD gfs2clvm ${releaseA} a`]);
    await waitUntil(() => prefix().events().includes('start a'));
    const b = tm.transferLines(2, [`HOLD gfs2clvm ${releaseB} b`]);
    const c = tm.transferLines(3, ['SLEEP gfs2clvm 0 c']);
    tm.cancel(1);
    await waitUntil(() => prefix().events().includes('start b'));
    writeFileSync(releaseA, '');
    expect(await a).toMatchObject({ cancelled: true });
    // Had a's end freed a second slot, c would start now, beside b. Give it the chance to.
    await waitUntil(() => prefix().events().includes('start c'), 300).catch(() => undefined);
    writeFileSync(releaseB, '');
    await Promise.all([b, c]);
    const events = prefix().events();
    expect(events.slice(events.indexOf('end b'))).toEqual(['end b', 'start c', 'end c']);
  });

  it('cancelling a queued action drops it; cancelling an unknown id still logs', async () => {
    const tm = driver(1);
    const release = join(prefix().dir, 'release-first');
    const first = tm.transferLines(1, [`HOLD gfs2clvm ${release} first`]);
    const queued = tm.transferLines(2, ['SLEEP gfs2clvm 0 second']);
    await waitUntil(() => prefix().events().includes('start first'));
    tm.cancel(2);
    tm.cancel(99);
    expect(await queued).toMatchObject({ cancelled: true, commands: [] });
    writeFileSync(release, '');
    await first;
    expect(prefix().events()).toEqual(['start first', 'end first']);
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
      remotesDir: prefix().remotesDir,
      vmsDir: prefix().vmsDir,
      env: prefix().env,
      output: out.stream,
    });
    const served = serveLines(tm, input);
    const release = join(prefix().dir, 'release-slow');
    const file = writeTransferFile(prefix().vmsDir, '13', 0, 'prolog', [`HOLD gfs2clvm ${release} slow`]);
    // Two spaces after the action, as oned writes requests (empty STATUS field).
    input.write(`TRANSFER  13 ${file}\n`);
    await waitUntil(() => prefix().events().includes('start slow'));
    input.write('DRIVER_CANCEL 13\n');
    await waitUntil(() => out.text() !== '');
    input.end();
    expect(await served).toBe(255);
    expect(prefix().events()).toEqual(['start slow']); // EOF did not wait for it
    expect(out.text()).toBe('LOG I 13 Driver command for 13 cancelled\n');
    writeFileSync(release, '');
    await waitUntil(() => prefix().events().includes('end slow'));
    expect(out.text()).toBe('LOG I 13 Driver command for 13 cancelled\n');
  });

  it('line protocol: malformed lines, unknown actions and wrong word counts are dropped without a reply', async () => {
    const input = new PassThrough();
    const out = capture();
    const diagnostics = capture();
    const ds = new DsDriver({
      remotesDir: prefix().remotesDir,
      env: prefix().env,
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
    expect(existsSync(`${prefix().callsLog}`)).toBe(true);
    expect(
      prefix()
        .calls()
        .map((call) => call.slice(0, 2)),
    ).toEqual([['stat', '5']]);
  });
});
