// Library overhead on the testbed: `listLvs` vs the bare `lvs` over the same runner (one SSH
// connection to node1), interleaved so that both see the same guest load. Ratios of medians.
import { attach } from '@one-gfs2clvm/testbed';
import { buildLvmCommands, Lvm } from '../dist/index.js';

export async function testbedOverhead(median, rounds = 20) {
  const cluster = await attach();
  const vg = cluster.sharedVg;
  const runner = cluster.host('node1').runner('root');
  const lvm = new Lvm({ runner, retry: false });
  const count = (await lvm.listLvs(vg)).length; // also warms the connection and the capability probe
  // The same argv the library runs (json flavour, same --config and fields) and plain `lvs <vg>`.
  const same = [
    'lvm',
    ...buildLvmCommands({ op: 'reportLvs', vg }, { jsonStd: false, setAutoActivation: true })[0].argv,
  ];
  const plain = ['lvs', vg];
  const t = { ours: [], same: [], plain: [] };
  const time = async (key, fn) => {
    const start = performance.now();
    await fn();
    t[key].push(performance.now() - start);
  };
  for (let i = 0; i < rounds; i++) {
    await time('ours', () => lvm.listLvs(vg));
    await time('same', () => runner.run(same));
    await time('plain', () => runner.run(plain));
  }
  await runner.close();
  const m = (k) => median(t[k]);
  console.log(`listLvs on the testbed (node1, ${vg}, ${count} LVs, ${rounds} interleaved rounds, medians):`);
  console.log(
    `  listLvs ${m('ours').toFixed(0)} ms; bare lvs with the same argv ${m('same').toFixed(0)} ms; plain "lvs ${vg}" ${m('plain').toFixed(0)} ms`,
  );
  console.log(
    `  ratio listLvs ÷ same argv = ${(m('ours') / m('same')).toFixed(2)} (target ≤ 1.1); ÷ plain lvs = ${(m('ours') / m('plain')).toFixed(2)}`,
  );
}
