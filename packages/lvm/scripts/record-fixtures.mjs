#!/usr/bin/env node
// Records real LVM output into src/fixtures/*.json (the `./testing` fixtures and the table tests).
//
//   pnpm --filter @one-gfs2clvm/lvm build
//   node scripts/record-fixtures.mjs local <loop device>   # metadata-only, on this machine (root)
//   node scripts/record-fixtures.mjs testbed               # on the running testbed (node1, node2)
//
// `local` needs no device-mapper: LVM runs with `global/activation=0` (LVM_SYSTEM_DIR points at a
// throw-away lvm.conf) on a VG made on the given loop device, which the script creates and removes.
// It records the report formats and the metadata-level errors. `testbed` records what needs the lock
// manager and device-mapper (activation, lvmlockd refusals, thin, snapshots).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { LocalRunner } from '@one-gfs2clvm/ssh-remote';
import { buildLvmCommands, Lvm, LvmError } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'src', 'fixtures');
mkdirSync(outDir, { recursive: true });

/** Wraps a runner; `save(name, description, command?)` writes the last call (of `command`) as a fixture. */
function recording(runner, source) {
  const calls = [];
  return {
    host: runner.host,
    close: () => runner.close(),
    async run(argv, options) {
      const result = await runner.run(argv, { ...options, reject: false });
      calls.push(result);
      return result;
    },
    save(name, description, command) {
      const last = calls.findLast((c) => command === undefined || c.argv.includes(command));
      const argv = [...last.argv];
      const fixture = {
        name,
        description,
        source,
        host: last.host,
        argv,
        exitCode: last.exitCode,
        stdout: last.stdout,
        stderr: last.stderr,
      };
      writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(fixture, null, 2)}\n`);
      console.log(`recorded ${name}: exit ${last.exitCode}`);
    },
  };
}

async function expectError(promise, code) {
  try {
    await promise;
  } catch (error) {
    if (LvmError.isInstance(error)) {
      if (code && error.code !== code)
        console.warn(`  note: expected ${code}, got ${error.code}: ${error.message}`);
      return error;
    }
    throw error;
  }
  throw new Error(`expected an error ${code ?? ''}`);
}

async function local(device) {
  const etc = mkdtempSync(join(tmpdir(), 'lvm-record-'));
  // Only the loop device is scanned, nothing touches device-mapper.
  writeFileSync(
    join(etc, 'lvm.conf'),
    `global { activation = 0 }\ndevices { filter = [ "a|^${device}$|", "r|.*|" ] }\n`,
  );
  const env = ['env', `LVM_SYSTEM_DIR=${etc}`, 'LVM_SUPPRESS_FD_WARNINGS=1'];
  const raw = new LocalRunner({ prefix: env });
  const vg = 'vg-rec-1';
  const small = 'vg-rec-mda';
  const big = 'vg-one-100';
  const run = (argv) => raw.run(['lvm', ...argv], { reject: false });
  try {
    await run(['pvcreate', '--yes', device]);
    await run(['vgcreate', vg, device]);
    const rec = recording(raw, 'local LVM 2.03.16, activation disabled (metadata only)');
    const lvm = new Lvm({ runner: rec, lockMode: 'lvmlockd', retry: false });
    const base = { vg, activate: false };
    await lvm.createLv({
      ...base,
      lv: 'lv-one-7-0',
      sizeBytes: 12 * 2 ** 20,
      tags: ['one_active_node1', 'one_ds_100'],
    });
    rec.save(
      'lvcreate-ok-json',
      'lvcreate success: log has a trailing comma after the print entry',
      'lvcreate',
    );
    await lvm.createLv({ ...base, lv: 'lv-oneimg-3', sizeBytes: 2 ** 30 });
    await lvm.createLv({ ...base, lv: 'odd+name_1.x-y', sizeBytes: 4 * 2 ** 20 });
    await lvm.listLvs(vg);
    rec.save('lvs-json', 'lvs --reportformat json: three LVs, tags, empty tags, an odd name');
    await lvm.listVgs(vg);
    rec.save('vgs-json', 'vgs --reportformat json of a plain VG');
    await lvm.listPvs();
    rec.save('pvs-json', 'pvs --reportformat json');
    await expectError(lvm.getLv(vg, 'nope'), 'NOT_FOUND');
    rec.save('lvs-lv-not-found', 'lvs vg/lv of a missing LV: exit 5, the log says why');
    await expectError(lvm.getVg('vg-nope'), 'NOT_FOUND');
    rec.save('vgs-vg-not-found', 'vgs of a missing VG');
    await expectError(lvm.removeLv(vg, 'nope'), 'NOT_FOUND');
    rec.save('lvremove-not-found', 'lvremove of a missing LV');
    await expectError(lvm.createLv({ ...base, lv: 'lv-one-7-0', sizeBytes: 2 ** 20 }), 'ALREADY_EXISTS');
    rec.save('lvcreate-already-exists', 'lvcreate of an existing name');
    await expectError(lvm.renameLv(vg, 'lv-oneimg-3', 'lv-one-7-0'), 'ALREADY_EXISTS');
    rec.save('lvrename-already-exists', 'lvrename onto an existing name');
    await expectError(lvm.createLv({ ...base, lv: 'lv-big', sizeBytes: 2 ** 40 }), 'INSUFFICIENT_SPACE');
    rec.save('lvcreate-insufficient-space', 'lvcreate larger than the VG');
    const extended = await lvm.extendLv(vg, 'lv-one-7-0', 13 * 2 ** 20);
    rec.save('lvs-after-extend', `lvs after lvextend 12 → 13 MiB: LVM rounded to ${extended.sizeBytes}`);
    const refused = recording(raw, 'local LVM 2.03.16');
    await refused.run([
      'lvm',
      ...buildLvmCommands({ op: 'reportLvs', vg }, { jsonStd: true, setAutoActivation: true })[0].argv,
    ]);
    refused.save('lvs-json-std-refused', 'LVM 2.03.16 does not know --reportformat json_std: exit 3');

    // A VG whose metadata area is small, filled until LVM refuses. Long tags (8 × 1000 characters per
    // LV) fill it in tens of LVs instead of the ~1,800 plain LVs a 1 MiB area holds.
    const bulk = Array.from({ length: 8 }, (_, t) => `t${t}_${'x'.repeat(996)}`);
    await run(['vgremove', '--yes', vg]);
    await run(['pvremove', '--yes', device]);
    await run(['pvcreate', '--yes', '--metadatasize', '16k', device]);
    await run(['vgcreate', small, device]);
    let full;
    for (let i = 0; i < 2000 && !full; i++) {
      try {
        await lvm.createLv({
          vg: small,
          activate: false,
          lv: `lv-one-${i}-0`,
          sizeBytes: 4 * 2 ** 20,
          tags: bulk,
        });
      } catch (error) {
        if (!LvmError.isInstance(error)) throw error;
        full = error;
        rec.save(
          'lvcreate-metadata-full',
          `lvcreate number ${i + 1} (8 tags of 1000 characters each) in a VG made with --metadatasize 16k`,
          'lvcreate',
        );
      }
    }
    if (full?.code !== 'METADATA_FULL')
      console.warn(`  note: metadata-full classified as ${full?.code}: ${full?.message}`);
    await run(['vgremove', '--yes', '--force', small]);
    await run(['pvremove', '--yes', '--force', device]);

    // The benchmark's 5,000-LV report: metadata for 5,000 one-extent LVs written here and
    // restored with vgcfgrestore (a second, where 5,000 lvcreates take many minutes), then one lvs.
    await run(['pvcreate', '--yes', '--metadatasize', '8m', device]);
    await run(['vgcreate', '--physicalextentsize', '512k', big, device]);
    const backup = join(etc, 'meta.txt');
    await run(['vgcfgbackup', '--file', backup, big]);
    writeFileSync(backup, withLvs(readFileSync(backup, 'utf8'), 5000));
    await run(['vgcfgrestore', '--file', backup, big]);
    const report = buildLvmCommands(
      { op: 'reportLvs', vg: big },
      { jsonStd: false, setAutoActivation: true },
    )[0];
    const r = await raw.run(['lvm', ...report.argv], { reject: false });
    const fixture = {
      name: 'lvs-5000',
      description: 'lvs of a VG with 5,000 LVs (metadata restored with vgcfgrestore; activation disabled)',
      source: 'local LVM 2.03.16, activation disabled (metadata only)',
      host: r.host,
      argv: r.argv,
      exitCode: r.exitCode,
      stdout: r.stdout,
      stderr: r.stderr,
    };
    writeFileSync(
      join(here, '..', 'bench', 'fixtures', 'lvs-5000.json.gz'),
      gzipSync(JSON.stringify(fixture)),
    );
    console.log(`recorded lvs-5000: exit ${r.exitCode}, ${r.stdout.length} bytes`);
  } finally {
    await run(['vgremove', '--yes', '--force', vg]);
    await run(['vgremove', '--yes', '--force', small]);
    await run(['vgremove', '--yes', '--force', big]);
    await run(['pvremove', '--yes', '--force', device]);
    rmSync(etc, { recursive: true, force: true });
  }
}

/** Replaces the (empty) logical_volumes of a vgcfgbackup file by `count` one-extent LVs. */
function withLvs(text, count) {
  const at = text.indexOf('\tlogical_volumes {');
  const head = at >= 0 ? text.slice(0, at) : text.slice(0, text.lastIndexOf('}'));
  const lvs = [];
  for (let i = 0; i < count; i++) {
    const vm = Math.floor(i / 5);
    const tags = vm % 3 === 0 ? `["one_ds_100", "one_active_node${(vm % 4) + 1}"]` : '[]';
    const id = `${String(i).padStart(6, '0')}-0000-0000-0000-0000-0000-000000`;
    lvs.push(
      `lv-one-${vm}-${i % 5} {\nid = "${id}"\nstatus = ["READ", "WRITE", "VISIBLE"]\nflags = []\ntags = ${tags}\n` +
        `creation_time = 1795488073\ncreation_host = "node1"\nsegment_count = 1\n` +
        `segment1 {\nstart_extent = 0\nextent_count = 1\ntype = "striped"\nstripe_count = 1\nstripes = ["pv0", ${i}]\n}\n}\n`,
    );
  }
  return `${head}logical_volumes {\n${lvs.join('')}}\n}\n`;
}

const [mode, arg] = process.argv.slice(2);
if (mode === 'local' && arg) await local(arg);
else if (mode === 'testbed') {
  const { recordTestbed } = await import('./record-testbed.mjs');
  await recordTestbed(recording);
} else {
  console.error('usage: record-fixtures.mjs local <loop device> | testbed');
  process.exit(2);
}
