// Start-up cost of one TM action process (oned runs one per transfer line): the bundled driver
// answering at once (an unsupported action, a usage error) against a bare `node -e ''`.
// Usage: pnpm --filter @one-gfs2clvm/one-tm bench   (BENCH_RUNS=30 by default)
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const actions = join(here, '..', 'dist', 'remotes', 'tm', 'gfs2clvm');
const runs = Number(process.env.BENCH_RUNS ?? 30);

function median(argv) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    spawnSync(argv[0], argv.slice(1), { stdio: 'ignore' });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const baseline = median([process.execPath, '-e', '']);
const rows = [
  ['node -e ""', baseline],
  [
    'snap_create (unsupported, whole bundle loaded)',
    median([join(actions, 'snap_create'), 'x', '1', '2', '3']),
  ],
  ['clone with 1 argument (usage error)', median([join(actions, 'clone'), 'x'])],
];
console.log(`| command | median of ${runs} (ms) | ÷ node -e "" |`);
console.log('| --- | --- | --- |');
for (const [name, ms] of rows) console.log(`| ${name} | ${ms.toFixed(1)} | ${(ms / baseline).toFixed(2)} |`);
