import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { base64, DsDriver, type DsOptions, dsActionData, HarnessError } from '../src/index.js';
import { usePrefix } from './helpers.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const GFS2 = dsActionData({ dsMad: 'gfs2clvm', tmMad: 'gfs2clvm', id: 101 });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('DsDriver', () => {
  const prefix = usePrefix();

  const driver = (options: Partial<DsOptions> = {}) =>
    new DsDriver({
      remotesDir: prefix().remotesDir,
      drivers: ['gfs2clvm', 'gfs2fail'],
      systemDrivers: ['gfs2clvm'],
      env: prefix().env,
      ...options,
    });

  it('-w: terminates the script process group and reports `Timeout executing <cmd>` (code 255)', async () => {
    const result = await driver({ timeoutSeconds: 1 }).dsAction('CLONE', 5, GFS2);
    const cmd = `${prefix().remotesDir}/datastore/gfs2clvm/clone 5`;
    expect(result.lines).toEqual([
      `LOG I 5 Timeout executing ${cmd}`,
      `CLONE FAILURE 5 Timeout executing ${cmd}`,
    ]);
    expect(result.commands[0]).toMatchObject({ code: 255, timedOut: true, signal: 'SIGTERM' });
    // The shell and its `sleep 60` child are both gone: the whole group got TERM.
    const pid = Number(readFileSync(`${prefix().callsLog}.clone.pid`, 'utf8'));
    expect(alive(pid)).toBe(false);
  });

  it('a missing script is an internal error, logged and replied (RESTORE of §7.4)', async () => {
    const result = await driver().dsAction('RESTORE', 0, GFS2);
    const text = `Internal error No such file or directory - ${prefix().remotesDir}/datastore/gfs2clvm/restore`;
    expect(result.lines).toEqual([`LOG I 0 ${text}`, `RESTORE FAILURE 0 ${text}`]);
  });

  it('picks the driver from DS_MAD and the system-DS TM_MAD from real oned payloads', async () => {
    const ds = driver();
    const cp = await ds.dsAction('CP', 44, fixture('fs-cp-action-data.xml'));
    expect(cp.lines).toEqual(["CP FAILURE 44 Datastore driver 'fs' not available"]);
    const monitor = await ds.dsAction('MONITOR', 100, fixture('sysds-monitor-action-data.xml'));
    expect(monitor.lines).toEqual(["MONITOR FAILURE 100 System datastore driver 'fs_lvm' not available"]);
    // TYPE=1 matters only for MONITOR: any other action uses DS_MAD ('-' here).
    const stat = await ds.dsAction('STAT', 1, fixture('sysds-monitor-action-data.xml'));
    expect(stat.lines).toEqual(["STAT FAILURE 1 Datastore driver '-' not available"]);
    expect(prefix().calls()).toEqual([]);
  });

  it('without -d accepts every directory under datastore/, without -s only shared,ssh,ceph', async () => {
    const ds = new DsDriver({ remotesDir: prefix().remotesDir, env: prefix().env });
    expect([...ds.drivers].sort()).toEqual(['gfs2clvm', 'gfs2fail']);
    expect(ds.systemDrivers).toEqual(['shared', 'ssh', 'ceph']);
    expect((await ds.dsAction('STAT', 3, GFS2)).reply).toBe('STAT SUCCESS 3 1024');
  });

  it('pre-6.8 argv form: base64 as argv[1], id as argv[2], empty stdin', async () => {
    const result = await driver({ payload: 'argv' }).dsAction('STAT', 7, GFS2);
    expect(result.reply).toBe('STAT SUCCESS 7 1024');
    expect(prefix().calls()).toEqual([['stat', base64(GFS2), '7', 'stdin=']]);
    expect(result.commands[0]?.commandLine).toBe(
      `${prefix().remotesDir}/datastore/gfs2clvm/stat ${base64(GFS2)} 7`,
    );
  });

  it('a payload that is not XML gets no reply at all (the Ruby thread dies)', async () => {
    const result = await driver().dsActionBase64('CP', 9, base64('not xml'));
    expect(result.reply).toBeUndefined();
    expect(result.crash).toMatch(/not an XML document/);
    expect(result.lines).toEqual([]);
  });

  it('MONITOR failures are base64-encoded too', async () => {
    const xml = dsActionData({ dsMad: 'gfs2fail', id: 3 });
    const result = await driver().dsAction('MONITOR', 3, xml);
    const text = `Internal error No such file or directory - ${prefix().remotesDir}/datastore/gfs2fail/monitor`;
    expect(result.lines).toEqual([`LOG I 3 ${text}`, `MONITOR FAILURE 3 ${base64(text)}`]);
  });

  it('refuses what the wire could not carry, with one clear error', () => {
    const ds = driver();
    expect(() => ds.dsAction('EXPORT', 1, GFS2)).toThrow(/no action "EXPORT"/);
    expect(() => ds.dsAction('CP', '1 2', GFS2)).toThrow(HarnessError);
    expect(() => ds.dsAction('CP', '', GFS2)).toThrow(/one word/);
    expect(() => new DsDriver({ remotesDir: prefix().remotesDir, concurrency: 0 })).toThrow(
      /positive integer/,
    );
    expect(() => new DsDriver({ remotesDir: prefix().remotesDir, timeoutSeconds: -1 })).toThrow(
      /non-negative/,
    );
    try {
      ds.dsAction('cp', 'a\nb', GFS2);
    } catch (error) {
      expect(HarnessError.isInstance(error) && error.code).toBe('INVALID_ARGUMENT');
    }
    expect(existsSync(prefix().callsLog)).toBe(false);
  });
});
