#!/usr/bin/env node
// Benchmarks of @one-gfs2clvm/lvm (ratios from one run; see README "Benchmarks").
//
//   pnpm --filter @one-gfs2clvm/lvm build && cd packages/lvm
//   node --expose-gc bench/run.mjs            # parse a recorded 5,000-LV report
//   node --expose-gc bench/run.mjs --testbed  # + listLvs vs bare lvs on the running testbed
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parseLvsReport } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(
  gunzipSync(readFileSync(join(here, 'fixtures', 'lvs-5000.json.gz'))).toString('utf8'),
);
const gc = globalThis.gc;
if (!gc) {
  console.error('run with node --expose-gc');
  process.exit(2);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);

function timeRuns(fn, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return times;
}

/** Heap grown by one call while its result is still referenced (after a full GC before). */
function heapOf(fn) {
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = fn();
  const after = process.memoryUsage().heapUsed;
  gc();
  const retained = process.memoryUsage().heapUsed - before;
  if (!kept) throw new Error('nothing parsed');
  return { peak: after - before, retained };
}

const text = fixture.stdout;
const cold = timeRuns(() => parseLvsReport(text), 1)[0];
const ours = timeRuns(() => parseLvsReport(text), 30);
const base = timeRuns(() => JSON.parse(text), 30);
const heap = heapOf(() => parseLvsReport(text));
const count = parseLvsReport(text).length;
console.log(`parse ${count} LVs (${mb(text.length)} MB of ${fixture.source} JSON):`);
console.log(
  `  parseLvsReport: first ${cold.toFixed(1)} ms, median ${median(ours).toFixed(1)} ms (target < 50 ms)`,
);
console.log(
  `  JSON.parse alone: median ${median(base).toFixed(1)} ms; ratio ours ÷ JSON.parse = ${(median(ours) / median(base)).toFixed(2)}`,
);
console.log(
  `  heap: +${mb(heap.peak)} MB during the parse, ${mb(heap.retained)} MB retained by the result (target < 50 MB)`,
);

if (process.argv.includes('--testbed')) {
  const { testbedOverhead } = await import('./testbed-overhead.mjs');
  await testbedOverhead(median);
}
