// Benchmarks of the DS `cp` data path on the testbed, each side by side with the same work done by
// hand, rounds alternated, from one run (ratio = hand time ÷ driver time; ≥ 0.9 is the target):
//  1. import of a qcow2 (2 GiB virtual, BENCH_QCOW2_DATA_MIB of data, default 400: the testbed's
//     GFS2 is 512 MiB) from GFS2 into an LV — the built `cp` run as oned runs it (argv [id], base64
//     payload on stdin) vs `qemu-img convert -f qcow2 -O raw <file> <LV>` on the host (timed inside
//     the host: no SSH, no lvcreate);
//  2. upload of a BENCH_UPLOAD_MIB (default 1024) raw file from the front-end — `cp` of a
//     front-end file vs `ssh host 'dd of=<LV> bs=4M' < file` (an LV made beforehand).
// Page caches on the host are dropped before every timed run. The last driver-made LV of each
// benchmark is checked against its source by sha256.
// Needs `pnpm testbed up` and `pnpm --filter @one-gfs2clvm/one-image build`; image ids 480–499.
// BENCH_ROUNDS (default 3), BENCH_ONLY=1|2, BENCH_TRACE=1 (the driver's DEBUG lines).
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setUpFrontEnd } from '@one-gfs2clvm/one-harness/testbed';
import { convertArgv } from '@one-gfs2clvm/one-image';
import { quoteForShell } from '@one-gfs2clvm/ssh-remote';

const here = dirname(fileURLToPath(import.meta.url));
// BENCH_DRIVER_DIR: another build of the scripts (default: this package's dist).
const cpScript = join(
  process.env.BENCH_DRIVER_DIR ?? join(here, '..', 'dist', 'remotes', 'datastore', 'gfs2clvm'),
  'cp',
);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const only = process.env.BENCH_ONLY;
const dataMiB = Number(process.env.BENCH_QCOW2_DATA_MIB ?? 400);
const uploadMiB = Number(process.env.BENCH_UPLOAD_MIB ?? 1024);
const VG = 'vg-one-100';
// BENCH_ID_OFFSET (0–4) moves every id, so that two runs do not share LVs.
const offset = Number(process.env.BENCH_ID_OFFSET ?? 0);
const IDS = {
  importDriver: 480 + 2 * offset,
  importHand: 490 + 2 * offset,
  uploadDriver: 481 + 2 * offset,
  uploadHand: 491 + 2 * offset,
};
const lvOf = (id) => `lv-oneimg-${id}`;
const devOf = (id) => `/dev/${VG}/${lvOf(id)}`;
const importDir = '/var/lib/one/datastores/import';
const qcow2 = `${importDir}/bench-${IDS.importDriver}.qcow2`;
const LONG = 3_600_000;

// BENCH_HOST: the host doing the work (default node1).
const hostName = process.env.BENCH_HOST ?? 'node1';
// The driver as oned runs it: the front-end of @one-gfs2clvm/one-harness/testbed with the one host
// (its SSH config, gfs2clvm.conf, oned's fake `onehost`), root with plain LVM as the hand-made side.
const fe = await setUpFrontEnd({
  hosts: [hostName],
  drivers: ['one-image'],
  asRoot: true,
  debug: Boolean(process.env.BENCH_TRACE),
});
const { cluster, dir, env } = fe;
const node = cluster.host(hostName);
const root = node.runner('root');
const upload = join('/var/tmp', `one-image-bench-${process.pid}.raw`);

const fixture = await readFile(join(here, '..', 'test', 'fixtures', 'cp-frontend-file.xml'), 'utf8');
/** The payload of `cp` as oned sends it; SIZE is what `stat` answered (cp refuses a larger image). */
function payload(id, path, sizeMiB) {
  return fixture
    .replace('<ID>401</ID>', `<ID>${id}</ID>`)
    .replace('<SIZE>1024</SIZE>', `<SIZE>${sizeMiB}</SIZE>`)
    .replace('<![CDATA[/var/tmp/sunstone-upload-7f3a2c]]>', `<![CDATA[${path}]]>`)
    .replace(
      '<BRIDGE_LIST><![CDATA[node1 node2]]></BRIDGE_LIST>',
      `<BRIDGE_LIST><![CDATA[${hostName}]]></BRIDGE_LIST>`,
    )
    .trim();
}

/** Runs argv, stdin from a string or a file; resolves { seconds, code, stdout, stderr }. */
function run(argv, { input, inputFile, extraEnv } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), {
      env: { ...env, ...extraEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ seconds: Number(process.hrtime.bigint() - started) / 1e9, code, stdout, stderr });
    });
    if (inputFile) createReadStream(inputFile).pipe(child.stdin);
    else child.stdin.end(input ?? '');
  });
}

async function driverCp(id, path, sizeMiB) {
  const input = Buffer.from(payload(id, path, sizeMiB)).toString('base64');
  const r = await run([cpScript, String(id)], { input });
  if (process.env.BENCH_TRACE) process.stderr.write(r.stderr);
  if (r.code !== 0) return { ...r, failed: r.stderr.trim().split('\n').at(-1) };
  if (r.stdout.trim() !== `${VG}/${lvOf(id)} raw`) throw new Error(`cp ${id}: unexpected answer ${r.stdout}`);
  return r;
}

async function sh(script, timeoutMs = LONG) {
  return root.run(['sh', '-c', script], { timeoutMs });
}

/** Seconds a command takes inside the host (no SSH in the figure). */
async function timedOnHost(argv) {
  const r = await sh(
    `s=$(date +%s%N); ${shellLine(argv)} || exit $?; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`,
  );
  return Number(r.stdout.trim()) / 1000;
}

const dropCaches = () => sh('sync && echo 3 > /proc/sys/vm/drop_caches', 120_000);
const removeLv = (id) =>
  root.run(['lvremove', '-y', `${VG}/${lvOf(id)}`], { reject: false, timeoutMs: 300_000 });
const createLv = (id, mib) =>
  root.run(
    [
      'lvcreate',
      '-y',
      '-W',
      'n',
      '-Z',
      'n',
      '--setautoactivation',
      'n',
      '-aey',
      '-L',
      `${mib}m`,
      '-n',
      lvOf(id),
      VG,
    ],
    {
      timeoutMs: 300_000,
    },
  );
const sha256OnHost = async (path, bytes) =>
  (await sh(`head -c ${bytes} ${quoteForShell(path)} | sha256sum`)).stdout.split(' ')[0];

const shellLine = (argv) => argv.map(quoteForShell).join(' ');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = [];

/**
 * `rounds` rounds of the driver's cp of `source` into a fresh LV `driverId` against `byHand`, in
 * alternating order, caches dropped before each; no more rounds after the driver's first failure.
 */
async function alternatingRounds(driverId, source, sizeMiB, byHand) {
  const driver = [];
  let failed;
  for (let i = 0; i < rounds && !failed; i++) {
    const order = i % 2 === 0 ? ['driver', 'hand'] : ['hand', 'driver'];
    for (const who of order) {
      await dropCaches();
      if (who === 'driver') {
        await removeLv(driverId);
        const r = await driverCp(driverId, source, sizeMiB);
        if (r.failed) failed = r.failed;
        else driver.push(r.seconds);
      } else {
        await byHand();
      }
    }
  }
  return { driver, failed };
}

async function benchImport() {
  await sh(`mkdir -p ${importDir}`);
  await root.run(['qemu-img', 'create', '-q', '-f', 'qcow2', qcow2, '2G'], { timeoutMs: 120_000 });
  const half = Math.floor(dataMiB / 2);
  // Two non-zero extents (qemu-img skips zero data): at the start and at 1 GiB.
  await root.run(
    ['qemu-io', '-c', `write -P 0x5a 0 ${half}M`, '-c', `write -P 0xa5 1G ${dataMiB - half}M`, qcow2],
    {
      timeoutMs: LONG,
    },
  );
  const hand = [];
  const handSameFlags = [];
  try {
    const { driver, failed } = await alternatingRounds(IDS.importDriver, qcow2, 2048, async () => {
      await removeLv(IDS.importHand);
      await createLv(IDS.importHand, 2048);
      await dropCaches();
      hand.push(
        await timedOnHost(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', qcow2, devOf(IDS.importHand)]),
      );
      // The driver's own command line (direct I/O, parallel writes, existing target).
      await dropCaches();
      handSameFlags.push(await timedOnHost(convertArgv('qcow2', qcow2, devOf(IDS.importHand))));
      await root.run(['lvchange', '-an', `${VG}/${lvOf(IDS.importHand)}`], { timeoutMs: 300_000 });
    });
    let verified = 'not checked';
    if (!failed && driver.length > 0) {
      await root.run(['lvchange', '-aey', `${VG}/${lvOf(IDS.importDriver)}`], { timeoutMs: 300_000 });
      const cmp = await root.run(
        ['qemu-img', 'compare', '-f', 'qcow2', '-F', 'raw', qcow2, devOf(IDS.importDriver)],
        { reject: false, timeoutMs: LONG },
      );
      verified = cmp.exitCode === 0 ? 'identical (qemu-img compare)' : `DIFFERENT: ${cmp.stdout.trim()}`;
      await root.run(['lvchange', '-an', `${VG}/${lvOf(IDS.importDriver)}`], { timeoutMs: 300_000 });
    }
    results.push({
      name: `1. qcow2 (2 GiB virtual, ${dataMiB} MiB data) from GFS2 into an LV`,
      driver,
      hand,
      handWhat: 'qemu-img convert -f qcow2 -O raw <file> <LV>',
      failed,
      verified,
    });
    results.push({
      name: "1b. the same, by hand with the driver's flags",
      driver,
      hand: handSameFlags,
      handWhat: 'qemu-img convert -f qcow2 -O raw -n -t none -W <file> <LV>',
      failed,
      verified,
    });
  } finally {
    await removeLv(IDS.importDriver);
    await removeLv(IDS.importHand);
    await sh(`rm -f ${qcow2}`);
  }
}

async function benchUpload() {
  // BENCH_UPLOAD_EXTRA: bytes beyond the MiB (an unaligned size exercises the last-sector padding).
  const extra = Number(process.env.BENCH_UPLOAD_EXTRA ?? 0);
  const bytes = uploadMiB * 2 ** 20 + extra;
  const created = await run(['sh', '-c', `head -c ${bytes} /dev/urandom > ${quoteForShell(upload)}`]);
  if (created.code !== 0) throw new Error(`cannot create ${upload}: ${created.stderr}`);
  const expected = (await run(['sha256sum', upload])).stdout.split(' ')[0];
  const hand = [];
  let verified = 'not checked';
  try {
    const { driver, failed } = await alternatingRounds(
      IDS.uploadDriver,
      upload,
      Math.ceil(bytes / 2 ** 20),
      async () => {
        await removeLv(IDS.uploadHand);
        await createLv(IDS.uploadHand, uploadMiB + (extra > 0 ? 1 : 0));
        await dropCaches();
        const ssh = [
          ...node.sshArgv('root'),
          shellLine(['dd', `of=${devOf(IDS.uploadHand)}`, 'bs=4M', 'status=none']),
        ];
        const r = await run(ssh, { inputFile: upload });
        if (r.code !== 0) throw new Error(`ssh dd failed: ${r.stderr}`);
        hand.push(r.seconds);
        await root.run(['lvchange', '-an', `${VG}/${lvOf(IDS.uploadHand)}`], { timeoutMs: 300_000 });
      },
    );
    if (!failed && driver.length > 0) {
      await root.run(['lvchange', '-aey', `${VG}/${lvOf(IDS.uploadDriver)}`], { timeoutMs: 300_000 });
      const got = await sha256OnHost(devOf(IDS.uploadDriver), bytes);
      verified = got === expected ? 'sha256 identical' : `sha256 DIFFERENT (${got} vs ${expected})`;
      await root.run(['lvchange', '-an', `${VG}/${lvOf(IDS.uploadDriver)}`], { timeoutMs: 300_000 });
    }
    results.push({
      name: `2. ${uploadMiB} MiB raw file from the front-end into an LV`,
      driver,
      hand,
      handWhat: "ssh host 'dd of=<LV> bs=4M' < file",
      failed,
      verified,
    });
  } finally {
    await removeLv(IDS.uploadDriver);
    await removeLv(IDS.uploadHand);
    await rm(upload, { force: true });
  }
}

try {
  if (only !== '2') await benchImport();
  if (only !== '1') await benchUpload();
} finally {
  await cluster.close();
  await rm(dir, { recursive: true, force: true });
}

console.log(
  `| benchmark (median of ${rounds}, testbed: TCG guests, 1 vCPU) | driver s | by hand s | hand ÷ driver (target ≥ 0.9) | data |`,
);
console.log('| --- | --- | --- | --- | --- |');
for (const r of results) {
  const d = r.driver.length > 0 ? median(r.driver) : undefined;
  const h = median(r.hand);
  const ratio = d === undefined ? `driver failed: ${r.failed}` : (h / d).toFixed(2);
  console.log(
    `| ${r.name}; by hand: \`${r.handWhat}\` | ${d?.toFixed(1) ?? '—'} | ${h?.toFixed(1) ?? '—'} | ${ratio} | ${r.verified} |`,
  );
}
for (const r of results)
  console.log(
    `raw ${r.name}: driver ${r.driver.map((x) => x.toFixed(1)).join(' ')}; hand ${r.hand.map((x) => x.toFixed(1)).join(' ')}`,
  );
