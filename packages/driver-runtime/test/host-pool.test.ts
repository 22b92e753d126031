import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { describe, expect, it } from 'vitest';
import { configFromValues } from '../src/config.js';
import { DATA_PATH, HostPool } from '../src/hosts.js';

/** A runner that records every argv and answers success. */
function recorder(host: string): { runner: Runner; calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    runner: {
      host,
      run: async (argv) => {
        calls.push([...argv]);
        return { exitCode: 0, signal: null, stdout: '', stderr: '' } as never;
      },
      close: async () => undefined,
    },
  };
}

describe('the data-path runner of a host', () => {
  it('finds mkswap and mkfs in sbin as an unprivileged user (sbin is not on its PATH over SSH)', async () => {
    const { runner, calls } = recorder('node1');
    const pool = new HostPool(configFromValues(new Map()), () => runner);
    await pool.get('node1').data.run(['mkswap', '/dev/vg-one-100/lv-one-7-2']);
    expect(calls).toEqual([
      [
        'env',
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'mkswap',
        '/dev/vg-one-100/lv-one-7-2',
      ],
    ]);
    expect(DATA_PATH[1]).toMatch(/(^|=|:)\/usr\/sbin(:|$)/);
  });

  it('puts DATA_PREFIX after the PATH', async () => {
    const { runner, calls } = recorder('node1');
    const pool = new HostPool(configFromValues(new Map([['DATA_PREFIX', 'sudo -n']])), () => runner);
    await pool.get('node1').data.run(['dd', 'if=/dev/zero', 'of=/dev/null', 'count=1']);
    expect(calls[0]).toEqual([...DATA_PATH, 'sudo', '-n', 'dd', 'if=/dev/zero', 'of=/dev/null', 'count=1']);
  });

  it('leaves LVM and file commands alone', async () => {
    const { runner, calls } = recorder('node1');
    const pool = new HostPool(configFromValues(new Map()), () => runner);
    await pool.get('node1').runner.run(['mkdir', '--', '/var/lib/one/datastores/100/7']);
    expect(calls[0]).toEqual(['mkdir', '--', '/var/lib/one/datastores/100/7']);
  });
});
