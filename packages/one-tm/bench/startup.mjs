// Start-up cost of one action process (oned runs one per transfer line or datastore action), per
// action, of both drivers (this package's TM actions and one-image's DS actions, both built), against
// a bare `node -e ''`:
//  - every action answering at once (no arguments: a usage error; or an unsupported action);
//  - TM `delete` as far as its first host contact: oned's `onedatastore show -x` (the fake command of
//    tools/one-harness), then SSH to 127.0.0.1:22, refused — everything an action loads to reach a host.
// BENCH_COMPARE_DIR: another build's `remotes/` (tm/gfs2clvm and datastore/gfs2clvm), measured in the
// same rounds, alternately first and second (keep the old `dist/remotes` trees there before a rebuild). BENCH_DRIVER_DIR: measure
// a copy of this build there instead of dist/ (which others' rebuilds empty for a while). Rounds interleave every
// command; each figure is the median of BENCH_RUNS rounds (default 11).
// Usage: pnpm --filter @one-gfs2clvm/one-tm bench   (builds this package; build one-image first)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFakeOned, datastoreXml } from '@one-gfs2clvm/one-harness';

const here = dirname(fileURLToPath(import.meta.url));
const driverRoot = process.env.BENCH_DRIVER_DIR;
const ours = driverRoot
  ? { tm: join(driverRoot, 'tm', 'gfs2clvm'), ds: join(driverRoot, 'datastore', 'gfs2clvm') }
  : {
      tm: join(here, '..', 'dist', 'remotes', 'tm', 'gfs2clvm'),
      ds: join(here, '..', '..', 'one-image', 'dist', 'remotes', 'datastore', 'gfs2clvm'),
    };
const compareRoot = process.env.BENCH_COMPARE_DIR;
const other = compareRoot && {
  tm: join(compareRoot, 'tm', 'gfs2clvm'),
  ds: join(compareRoot, 'datastore', 'gfs2clvm'),
};
const runs = Number(process.env.BENCH_RUNS ?? 11);
for (const dir of [...Object.values(ours), ...Object.values(other || {})])
  if (!existsSync(dir)) throw new Error(`not built: ${dir}`);

const fakeDir = mkdtempSync(join(tmpdir(), 'gfs2clvm-startup-'));
const fake = await createFakeOned(fakeDir);
await fake.setDatastore(0, datastoreXml({ id: 0, type: 1 }));
const hostEnv = { ...process.env, ...fake.env };

/** The action names of a build: its executable shims (every file but the bundle and its chunks). */
const actionsOf = (dir) => readdirSync(dir).filter((name) => !name.endsWith('.mjs'));

/** One command per row: [label, argv, env, expected stderr text] for this build and the other. */
const rows = [{ label: 'node -e ""', ours: [process.execPath, '-e', ''] }];
for (const [kind, dir] of Object.entries(ours)) {
  for (const action of actionsOf(dir)) {
    rows.push({
      label: `${kind.toUpperCase()} ${action}, answering at once`,
      ours: [join(dir, action)],
      ...(other ? { other: [join(other[kind], action)] } : {}),
      // Its one line: a usage error or "not supported" (a shim that cannot load says otherwise).
      expect: `${action}: `,
    });
  }
}
const hostArgs = ['127.0.0.1:/var/lib/one/datastores/0/5/disk.0', '5', '0'];
rows.push({
  label: 'TM delete, to its first host contact (refused)',
  ours: [join(ours.tm, 'delete'), ...hostArgs],
  ...(other ? { other: [join(other.tm, 'delete'), ...hostArgs] } : {}),
  env: hostEnv,
  expect: 'ECONNREFUSED',
});

function time(argv, row) {
  const started = process.hrtime.bigint();
  const result = spawnSync(argv[0], argv.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: row.env ?? process.env,
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (row.expect && !result.stderr.includes(row.expect))
    throw new Error(`${argv.join(' ')}: expected ${row.expect} in: ${result.stderr}`);
  return ms;
}

const samples = rows.map(() => ({ ours: [], other: [] }));
try {
  for (let round = 0; round < runs; round++) {
    rows.forEach((row, i) => {
      // Whichever runs first in a pair tends to be slower (seen: up to 8%): alternate the order.
      if (round % 2 === 1 && row.other) samples[i].other.push(time(row.other, row));
      samples[i].ours.push(time(row.ours, row));
      if (round % 2 === 0 && row.other) samples[i].other.push(time(row.other, row));
    });
  }
} finally {
  rmSync(fakeDir, { recursive: true, force: true });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const node = median(samples[0].ours);
const ratio = (ms) => (ms / node).toFixed(2);
console.log(
  other
    ? `| command | BENCH_COMPARE_DIR (ms) | ÷ node | this build (ms) | ÷ node |\n| --- | --- | --- | --- | --- |`
    : '| command | this build (ms) | ÷ node |\n| --- | --- | --- |',
);
rows.forEach((row, i) => {
  const mine = median(samples[i].ours);
  if (!other || !row.other) {
    console.log(`| ${row.label} | ${other ? '| | ' : ''}${mine.toFixed(0)} | ${ratio(mine)} |`);
    return;
  }
  const theirs = median(samples[i].other);
  console.log(
    `| ${row.label} | ${theirs.toFixed(0)} | ${ratio(theirs)} | ${mine.toFixed(0)} | ${ratio(mine)} |`,
  );
});
console.log(
  `\nmedians of ${runs} interleaved rounds; node ${process.version}, ${new Date().toISOString()}, load average ${loadavg()[0].toFixed(1)}`,
);
