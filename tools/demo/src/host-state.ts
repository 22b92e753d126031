import type { Runner } from '@one-gfs2clvm/ssh-remote';
import type { Cluster } from '@one-gfs2clvm/testbed';
import { DemoError } from './errors.js';

/** One LV as every host sees it: the lvmlockd lock each host holds (`lvmlockctl --info`). */
export interface LvView {
  name: string;
  sizeMiB: number;
  tags: string[];
  /** Per host: `ex`, `sh`, `on` (active, no lvmlockd lock: lock type none) or `-` (not active there). */
  locks: Record<string, 'ex' | 'sh' | 'on' | '-'>;
}

const LENIENT = { reject: false, timeoutMs: 120_000 } as const;

async function stdout(runner: Runner, argv: string[]): Promise<string> {
  const r = await runner.run(argv, LENIENT);
  if (r.exitCode !== 0) {
    throw new DemoError(`${argv[0]} on ${runner.host}: ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  }
  return r.stdout;
}

/**
 * The LVs of `vg` whose names `match`, with the lock each host holds. Under lvmlockd, `lvs` says
 * "active exclusively" for every local activation (LVM 2.03.16), so the mode comes from
 * lvmlockd itself: `lvmlockctl --info` lists `LK LV ex|sh <uuid>` for the locks this host holds.
 */
export async function readLvs(
  cluster: Cluster,
  vg: string,
  match: (name: string) => boolean,
): Promise<LvView[]> {
  const seen = await Promise.all(
    cluster.hosts.map(async (host) => {
      // One round trip per host: the report, a separator line, lvmlockd's locks.
      const out = await stdout(host.runner('root'), [
        'sh',
        '-c',
        'lvs --noheadings --separator "|" --units m --nosuffix -o lv_name,lv_uuid,lv_size,lv_active_locally,lv_tags "$1" && echo "%%" && lvmlockctl --info',
        'state',
        vg,
      ]);
      const [lvs = '', info = ''] = out.split(/^%%$/m);
      return { host: host.name, lvs, info };
    }),
  );
  return mergeHostLvs(seen, match);
}

/**
 * The pure part of `readLvs`: per host, the `lvs` report (`name|uuid|MiB|active locally|tags`) and
 * `lvmlockctl --info` → one view per matching LV with the lock mode each host holds.
 */
export function mergeHostLvs(
  seen: { host: string; lvs: string; info: string }[],
  match: (name: string) => boolean,
): LvView[] {
  const views = new Map<string, LvView>();
  for (const { host, lvs, info } of seen) {
    const held = new Map<string, string>();
    for (const words of info.split('\n').map((l) => l.trim().split(/\s+/))) {
      if (words[0] === 'LK' && words[1] === 'LV' && words[3]) held.set(words[3], words[2] ?? '');
    }
    for (const line of lvs.split('\n')) {
      const [name = '', uuid = '', size = '0', local = '', tags = ''] = line.split('|').map((f) => f.trim());
      if (!name || !match(name)) continue;
      const view = views.get(name) ?? {
        name,
        sizeMiB: Math.round(Number(size)),
        tags: tags ? tags.split(',') : [],
        locks: {},
      };
      const mode = held.get(uuid);
      view.locks[host] = local !== 'active locally' ? '-' : mode === 'ex' || mode === 'sh' ? mode : 'on';
      views.set(name, view);
    }
  }
  return [...views.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** A small table: LV, size, the lock per host, tags. `(none)` when there is no LV. */
export function formatLvs(views: LvView[], hosts: string[]): string {
  if (views.length === 0) return '(no LV)';
  const rows = [
    ['LV', 'size', ...hosts.map((h) => `lock@${h}`), 'tags'],
    ...views.map((v) => [
      v.name,
      `${v.sizeMiB} MiB`,
      ...hosts.map((h) => v.locks[h] ?? '-'),
      v.tags.join(',') || '-',
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `disk.N -> target` for every entry of a VM directory, read on `host` (GFS2: any host sees it). */
export async function readLinks(runner: Runner, dir: string): Promise<string> {
  const r = await runner.run(
    ['find', dir, '-mindepth', '1', '-maxdepth', '1', '-printf', '%f -> %l\n'],
    LENIENT,
  );
  if (r.exitCode !== 0) return `(${dir}: ${r.stderr.trim().split('\n').at(-1) ?? 'missing'})`;
  return (
    r.stdout
      .trim()
      .split('\n')
      .filter((l) => l)
      .sort()
      .map((l) => l.replace(/ -> $/, ' (file)'))
      .join('\n') || '(empty)'
  );
}

/** sha256 of the first `mib` MiB of a block device (direct I/O: what is on the LUN, not a cache). */
export async function checksum(runner: Runner, dev: string, mib: number): Promise<string> {
  const out = await stdout(runner, [
    'sh',
    '-c',
    'dd if="$1" bs=1M count="$2" iflag=direct status=none | sha256sum',
    'sum',
    dev,
    String(mib),
  ]);
  return out.split(' ')[0] ?? '';
}

/** Does `path` exist on the host? */
export async function exists(runner: Runner, path: string): Promise<boolean> {
  return (await runner.run(['test', '-e', path], LENIENT)).exitCode === 0;
}
