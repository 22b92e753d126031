import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { base64, type ImageXmlInput, imageXml, type VmDisk, vmXml } from '@one-gfs2clvm/one-harness';
import { type FrontEnd, IMG_DS, imageActionData, SYS_DS } from '@one-gfs2clvm/one-harness/testbed';
import type { Runner } from '@one-gfs2clvm/ssh-remote';
import type { Cluster } from '@one-gfs2clvm/testbed';
import { DemoError } from './errors.js';
import { checksum, exists, formatLvs, readLinks, readLvs } from './host-state.js';
import { hostStep, type Narrator } from './narrator.js';

/** The ids of one run (demo range 800–899): VM, the registered image, the image saved from the VM. */
export interface LifeCycleIds {
  vm: number;
  image: number;
  saved: number;
}

export const DEMO_IDS: LifeCycleIds = { vm: 800, image: 800, saved: 801 };

const IMAGE_MIB = 16; // the image file
const DISK_MIB = 32; // disk.0: the clone grows it to the VM template's SIZE
const DL = '/var/lib/one//datastores'; // as oned writes it (double slash included)

// oned's VM states (STATE / LCM_STATE) for what the driver reads at each step.
const ACTIVE = 3;
const LCM = { prolog: 1, running: 3, epilog: 11, saveasPoweroff: 43 } as const;

/** One run's names, hosts and VM template, shared by its steps. */
interface Run {
  n: Narrator;
  cluster: Cluster;
  fe: FrontEnd;
  ids: LifeCycleIds;
  vg: string;
  node1: Runner;
  node2: Runner;
  hosts: string[];
  vmDir: string; // as oned names it
  hostVmDir: string; // as the hosts see it
  imageLv: string;
  savedLv: string;
  vmLvs: string[];
  disks: VmDisk[];
  seq: number; // the harness numbers the transfer files of a VM from 0, like oned
}

function startRun(n: Narrator, cluster: Cluster, fe: FrontEnd, ids: LifeCycleIds): Run {
  const vg = cluster.sharedVg;
  const imageLv = `lv-oneimg-${ids.image}`;
  return {
    n,
    cluster,
    fe,
    ids,
    vg,
    node1: cluster.host('node1').runner('root'),
    node2: cluster.host('node2').runner('root'),
    hosts: cluster.hosts.map((h) => h.name),
    vmDir: `${DL}/${SYS_DS}/${ids.vm}`,
    hostVmDir: `${cluster.datastores}/${SYS_DS}/${ids.vm}`,
    imageLv,
    savedLv: `lv-oneimg-${ids.saved}`,
    vmLvs: [0, 1, 2].map((disk) => diskLv(ids, disk)),
    disks: [
      { id: 0, sizeMiB: DISK_MIB, source: `${vg}/${imageLv}` },
      { id: 1, type: 'fs', sizeMiB: 16, fs: 'ext4' },
      { id: 2, type: 'swap', sizeMiB: 16 },
      { id: 3, type: 'CONTEXT' },
    ],
    seq: 0,
  };
}

const diskLv = (ids: LifeCycleIds, disk: number) => `lv-one-${ids.vm}-${disk}`;

/** The LVs of this run: the VM's disks and both images. */
const oursIn = (run: Run) => (name: string) =>
  name.startsWith(`lv-one-${run.ids.vm}-`) || name === run.imageLv || name === run.savedLv;

/**
 * Part 2: a VM's disks from image to nothing, every step driven the way oned drives it — transfer
 * files through the `one_tm.rb` stand-in, VMM-originated TM commands (context, pre/post/failmigrate)
 * — running the BUILT action scripts, then what really is on the hosts: the LVs with the lvmlockd
 * lock each host holds, the `disk.N` links on GFS2, checksums.
 */
export async function narrateLifeCycle(
  n: Narrator,
  cluster: Cluster,
  fe: FrontEnd,
  ids: LifeCycleIds = DEMO_IDS,
): Promise<void> {
  const run = startRun(n, cluster, fe, ids);
  await removeLeftovers(cluster, run.vg, leftoverNames(cluster, ids));
  await makeSystemDatastoreDir(run);
  const imageSum = await registerImage(run);
  await instantiateOnNode1(run, imageSum);
  const vmSum = await vmWrites(run);
  await migrateToNode2(run, vmSum);
  await failedMigrationBack(run);
  await saveDiskAsImage(run, vmSum);
  await terminate(run);
  await deleteImages(run);
  await nothingLeft(run);
}

// The steps, in the order the narration runs them. ------------------------------------------------

/** Set-up an administrator does once: the system datastore's directory on GFS2. */
async function makeSystemDatastoreDir({ n, cluster }: Run): Promise<void> {
  // The driver refuses to create it, so that an unmounted GFS2 never fills the host's root disk.
  const sysDsDir = `${cluster.datastores}/${SYS_DS}`;
  n.say(`— set-up, once per cloud: the system datastore ${SYS_DS}'s directory on GFS2`);
  const made = await hostStep(n, cluster, 'node1', ['mkdir', '-p', sysDsDir], 'oneadmin');
  if (made.exitCode !== 0) throw new DemoError(`mkdir ${sysDsDir} on node1: ${made.stderr.trim()}`);
}

/** 1. Register an image from a file; returns the sha256 of its raw content. */
async function registerImage(run: Run): Promise<string> {
  const { n, fe, ids, vg, imageLv } = run;
  n.say(
    `— register an image from a file: a ${IMAGE_MIB} MiB disk in qcow2 on the front-end becomes image ${ids.image}`,
  );
  const raw = randomBytes(IMAGE_MIB * 2 ** 20);
  const imageSum = createHash('sha256').update(raw).digest('hex');
  const file = join(fe.dir, `image-${ids.image}.qcow2`);
  await writeFile(`${file}.raw`, raw);
  await promisify(execFile)('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', `${file}.raw`, file]);
  n.say(`  ${file}: qcow2, ${IMAGE_MIB} MiB virtual, raw content sha256 ${imageSum.slice(0, 16)}…`);
  n.say(
    '  oned asks the size first (STAT, a synchronous request), then copies (CP): the DS driver probes the',
  );
  n.say(
    '  file, streams it over SSH to a host of the VG, converts it to raw into a new LV, leaves it inactive',
  );
  const statMiB = await dsAction(run, 'STAT', 0, { id: ids.image, datastoreId: IMG_DS, path: file });
  if (statMiB !== String(IMAGE_MIB)) throw new DemoError(`STAT: ${statMiB} MiB, expected ${IMAGE_MIB}`);
  const copied = await dsAction(run, 'CP', ids.image, {
    id: ids.image,
    datastoreId: IMG_DS,
    path: file,
    sizeMiB: IMAGE_MIB,
  });
  if (copied !== `${vg}/${imageLv} raw`)
    throw new DemoError(`CP answered "${copied}", expected "${vg}/${imageLv} raw"`);
  n.say(`  image ${ids.image}: SOURCE ${vg}/${imageLv}, FORMAT raw; inactive everywhere:`);
  await showLvs(run, { lvs: [imageLv], want: { node1: '-', node2: '-' }, what: 'CP' });
  const got = await imageSumOf(run, imageLv, IMAGE_MIB);
  sameSum(run, `image ${ids.image} (${imageLv}, read on node1)`, got, imageSum);
  return imageSum;
}

/** 2. Instantiate on node1: prolog (clone, volatile disks), then the context disk. */
async function instantiateOnNode1(run: Run, imageSum: string): Promise<void> {
  const { n, fe, ids, vg, imageLv, vmDir, node1, node2 } = run;
  n.say(
    `— instantiate VM ${ids.vm} on node1: clone of the image (${DISK_MIB} MiB), an ext4 volatile disk, swap, context`,
  );
  await setVm(run, 'node1', LCM.prolog);
  await transfer(
    run,
    [
      `CLONE gfs2clvm fe:${vg}/${imageLv} node1:${vmDir}/disk.0 ${ids.vm} ${IMG_DS}`,
      `MKIMAGE gfs2clvm 16 raw node1:${vmDir}/disk.1 ${ids.vm} ${SYS_DS}`,
      `MKSWAP gfs2clvm 16 node1:${vmDir}/disk.2 ${ids.vm} ${SYS_DS}`,
    ],
    'prolog',
  );
  const contextSh = join(fe.dir, 'context.sh');
  await writeFile(contextSh, `HOSTNAME='vm${ids.vm}'\nETH0_IP='10.0.0.80'\n`);
  await setVm(run, 'node1', LCM.running);
  await tmCommand(run, [
    'CONTEXT',
    'gfs2clvm',
    contextSh,
    `node1:${vmDir}/disk.3`,
    String(ids.vm),
    String(SYS_DS),
  ]);
  n.say('  on the hosts: every disk LV exclusive on node1 (tag one_active_node1), the image untouched');
  await showLvs(run, { lvs: run.vmLvs, want: { node1: 'ex', node2: '-' }, what: 'instantiate' });
  await showLinks(run, node2);
  sameSum(
    run,
    `${diskLv(ids, 0)} first ${IMAGE_MIB} MiB (node1)`,
    await checksum(node1, `/dev/${vg}/${diskLv(ids, 0)}`, IMAGE_MIB),
    imageSum,
  );
  await showDiskTypes(run);
}

async function showDiskTypes({ n, ids, vg, node1, hostVmDir }: Run): Promise<void> {
  const types = await mustRun(node1, [
    'blkid',
    '-o',
    'value',
    '-s',
    'TYPE',
    `/dev/${vg}/${diskLv(ids, 1)}`,
    `/dev/${vg}/${diskLv(ids, 2)}`,
    `${hostVmDir}/disk.3`,
  ]);
  n.say(`  blkid of disk.1, disk.2, disk.3: ${types.trim().split('\n').join(', ')}`);
}

/** 3. The VM writes; returns the sha256 of disk.0 afterwards. */
async function vmWrites({ n, ids, vg, node1, hostVmDir }: Run): Promise<string> {
  n.say('— the VM writes 4 MiB into its disk (through disk.0 on GFS2, on node1)');
  await mustRun(node1, [
    'dd',
    'if=/dev/urandom',
    `of=${hostVmDir}/disk.0`,
    'bs=1M',
    `seek=${IMAGE_MIB}`,
    'count=4',
    'oflag=direct',
    'conv=notrunc',
    'status=none',
  ]);
  const vmSum = await checksum(node1, `/dev/${vg}/${diskLv(ids, 0)}`, DISK_MIB);
  n.say(`  ${diskLv(ids, 0)} (${DISK_MIB} MiB) now: sha256 ${vmSum.slice(0, 16)}…`);
  return vmSum;
}

/** 4. Live migration node1 → node2. */
async function migrateToNode2(run: Run, vmSum: string): Promise<void> {
  const { n, ids, vg, node2, vmLvs } = run;
  n.say(
    '— live migration node1 → node2: premigrate converts node1 exclusive → shared in place, node2 shared',
  );
  await migrate(run, 'PREMIGRATE', 'node1', 'node2');
  await showLvs(run, { lvs: vmLvs, want: { node1: 'sh', node2: 'sh' }, what: 'premigrate' });
  n.say(
    '  (the hypervisor copies the memory; both hosts have the disks open) — postmigrate: node1 lets go, node2 exclusive',
  );
  await migrate(run, 'POSTMIGRATE', 'node1', 'node2');
  await setVm(run, 'node2', LCM.running);
  await showLvs(run, { lvs: vmLvs, want: { node1: '-', node2: 'ex' }, what: 'postmigrate' });
  const got = await checksum(node2, `/dev/${vg}/${diskLv(ids, 0)}`, DISK_MIB);
  sameSum(run, `${diskLv(ids, 0)} on node2`, got, vmSum);
}

/** 5. A live migration node2 → node1 that fails: failmigrate restores node2. */
async function failedMigrationBack(run: Run): Promise<void> {
  const { n, vmLvs } = run;
  n.say(
    '— live migration node2 → node1 that fails: premigrate, the hypervisor fails, failmigrate restores node2',
  );
  await migrate(run, 'PREMIGRATE', 'node2', 'node1');
  await showLvs(run, { lvs: vmLvs, want: { node1: 'sh', node2: 'sh' }, what: 'premigrate back' });
  n.say('  (virsh migrate fails: oned runs failmigrate)');
  await migrate(run, 'FAILMIGRATE', 'node2', 'node1');
  await showLvs(run, { lvs: vmLvs, want: { node1: '-', node2: 'ex' }, what: 'failmigrate' });
}

/** 6. Power off, save disk.0 as a new image (DS MKFS reserves it, TM CPDS copies). */
async function saveDiskAsImage(run: Run, vmSum: string): Promise<void> {
  const { n, ids, vg, savedLv, vmDir } = run;
  n.say(
    `— poweroff (no TM action: the disks stay on node2), then disk-saveas of disk.0 into a new image ${ids.saved}`,
  );
  n.say(
    '  oned reserves the new image in the datastore (MKFS with FORMAT save_as), then the TM copies (CPDS)',
  );
  const reserved = await dsAction(run, 'MKFS', ids.saved, {
    id: ids.saved,
    datastoreId: IMG_DS,
    format: 'save_as',
    sizeMiB: DISK_MIB,
  });
  if (reserved !== `${vg}/${savedLv}`)
    throw new DemoError(`MKFS answered "${reserved}", expected "${vg}/${savedLv}"`);
  await setVm(run, 'node2', LCM.saveasPoweroff);
  await transfer(
    run,
    [`CPDS gfs2clvm node2:${vmDir}/disk.0 ${reserved} -1 ${ids.vm} ${IMG_DS}`],
    'disk_saveas',
  );
  await showLvs(run, { lvs: [savedLv], want: { node1: '-', node2: '-' }, what: 'disk-saveas' });
  const got = await imageSumOf(run, savedLv, DISK_MIB);
  sameSum(run, `image ${ids.saved} (${savedLv}, read on node1)`, got, vmSum);
}

/** 7. Terminate: epilog deletes every disk and the VM directory. */
async function terminate(run: Run): Promise<void> {
  const { n, ids, vmDir } = run;
  n.say(`— terminate VM ${ids.vm}: epilog deletes every disk and the VM directory`);
  await setVm(run, 'node2', LCM.epilog);
  await transfer(
    run,
    [
      `DELETE gfs2clvm node2:${vmDir}/disk.0 ${ids.vm} ${IMG_DS}`,
      `DELETE gfs2clvm node2:${vmDir}/disk.1 ${ids.vm} ${SYS_DS}`,
      `DELETE gfs2clvm node2:${vmDir}/disk.2 ${ids.vm} ${SYS_DS}`,
      `DELETE gfs2clvm node2:${vmDir}/disk.3 ${ids.vm} ${SYS_DS}`,
      `DELETE gfs2clvm node2:${vmDir} ${ids.vm} ${SYS_DS}`,
    ],
    'epilog',
  );
  await showLvs(run);
}

/** The images are deleted too: DS RM wipes and removes their LVs. */
async function deleteImages(run: Run): Promise<void> {
  const { n, ids, vg, savedLv, imageLv } = run;
  n.say(
    `— the images are deleted too (oneimage delete ${ids.saved} ${ids.image}): DS RM wipes and removes their LVs`,
  );
  for (const [id, lv, sizeMiB] of [
    [ids.saved, savedLv, DISK_MIB],
    [ids.image, imageLv, IMAGE_MIB],
  ] as const) {
    await dsAction(run, 'RM', id, {
      id,
      datastoreId: IMG_DS,
      source: `${vg}/${lv}`,
      format: 'raw',
      sizeMiB,
      state: 6,
    });
  }
}

/** 8. Nothing left: no LV of the VM or its images, no VM directory, on any host. */
async function nothingLeft(run: Run): Promise<void> {
  const { n, cluster, vg, hosts, node1, node2, hostVmDir } = run;
  n.say('— nothing left: no LV of the VM or its images, no VM directory, on any host');
  const left = await readLvs(cluster, vg, oursIn(run));
  n.detail(formatLvs(left, hosts), '│ ');
  if (left.length > 0) throw new DemoError(`left behind: ${left.map((l) => l.name).join(', ')}`);
  for (const runner of [node1, node2]) {
    if (await exists(runner, hostVmDir)) throw new DemoError(`left behind: ${hostVmDir} on ${runner.host}`);
  }
  n.say(`  ${hostVmDir}: gone on ${hosts.join(' and ')}`);
}

// What the steps do with oned, the drivers and the hosts. -----------------------------------------

/** oned records the VM on `host` in `lcmState` (what the driver reads). */
async function setVm({ fe, ids, disks }: Run, host: string, lcmState: number): Promise<void> {
  await fe.oned.setVm(
    ids.vm,
    vmXml({ id: ids.vm, host, disks, systemDs: SYS_DS, imageDs: IMG_DS, state: ACTIVE, lcmState }),
  );
}

/** Prints the LVs with the lock each host holds; with `check`, checks the locks of `check.lvs`. */
async function showLvs(
  run: Run,
  check?: { lvs: string[]; want: Record<string, string>; what: string },
): Promise<void> {
  const views = await readLvs(run.cluster, run.vg, oursIn(run));
  run.n.detail(formatLvs(views, run.hosts), '│ ');
  for (const lv of check?.lvs ?? []) {
    const got = views.find((v) => v.name === lv)?.locks;
    for (const [host, mode] of Object.entries(check?.want ?? {})) {
      if (got?.[host] !== mode)
        throw new DemoError(
          `${check?.what}: ${lv} lock on ${host} is ${got?.[host] ?? 'missing'}, expected ${mode}`,
        );
    }
  }
}

async function showLinks({ n, hostVmDir }: Run, runner: Runner): Promise<void> {
  n.say(`  ${runner.host} reads ${hostVmDir} (GFS2: one directory for every host)`);
  n.detail(await readLinks(runner, hostVmDir), '│ ');
}

/** A transfer file through the one_tm.rb stand-in, as oned writes it. */
async function transfer(run: Run, lines: string[], op: string): Promise<void> {
  const { n, fe, ids } = run;
  n.say(
    `  oned → one_tm:  TRANSFER  ${ids.vm} ${join(fe.dir, 'vms', String(ids.vm), `transfer.${run.seq++}.${op}`)}`,
  );
  n.detail(lines.join('\n'), '    ┆ ');
  const r = await fe.tm.transferLines(ids.vm, lines, op);
  n.say('  one_tm → oned:');
  n.detail(r.lines.join('\n'), '    ');
  if (r.result !== 'SUCCESS') throw new DemoError(`${op}: ${r.reply ?? r.crash ?? 'no reply'}`);
}

/** A TM command the VMM driver runs (context, pre/post/failmigrate). */
async function tmCommand({ n, fe, ids }: Run, words: string[], stdin?: string): Promise<void> {
  n.say(`  oned (VMM driver) runs:  ${words.join(' ')}`);
  if (stdin) n.detail(`stdin: base64 of the <VM> document (${stdin.length} characters)`, '    ┆ ');
  const r = await fe.tm.tmCommand(ids.vm, words, stdin);
  n.say(`  driver → ${r.result} ${r.info}`);
  n.detail(r.lines.join('\n'), '    ');
  if (r.result !== 'SUCCESS') throw new DemoError(`${words[0]}: ${r.info}`);
}

/** A DS action through the one_datastore.rb stand-in; returns its answer's info. */
async function dsAction({ n, fe, vg }: Run, action: string, id: number, image: ImageXmlInput) {
  const data = base64(imageActionData(imageXml(image)));
  n.say(
    `  oned → one_datastore:  ${action}  ${id} ${data.slice(0, 24)}…  (base64 DS_DRIVER_ACTION_DATA, ${data.length} characters)`,
  );
  const fields = {
    ID: image.id,
    PATH: image.path,
    FORMAT: image.format,
    SIZE: image.sizeMiB,
    SOURCE: image.source,
  };
  const shown = Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${v}`);
  n.detail(`IMAGE ${shown.join(' ')}; DATASTORE ${IMG_DS} (DS_MAD gfs2clvm, VG_NAME ${vg})`, '    ┆ ');
  const r = await fe.ds.dsActionBase64(action, id, data);
  n.say('  one_datastore → oned:');
  n.detail(r.lines.join('\n'), '    ');
  if (r.result !== 'SUCCESS') throw new DemoError(`${action}: ${r.reply ?? r.crash ?? 'no reply'}`);
  return (r.info ?? '').trim();
}

/** sha256 of an image LV's first `mib` MiB, read on node1 (activated shared for the read). */
async function imageSumOf({ vg, node1 }: Run, lv: string, mib: number): Promise<string> {
  await mustRun(node1, ['lvchange', '-asy', `${vg}/${lv}`]);
  try {
    return await checksum(node1, `/dev/${vg}/${lv}`, mib);
  } finally {
    await node1.run(['lvchange', '-an', `${vg}/${lv}`], { reject: false, timeoutMs: 120_000 });
  }
}

/** A pre/post/failmigrate of the VM from `from` to `to`, as the VMM driver runs it. */
function migrate(run: Run, action: string, from: string, to: string): Promise<void> {
  const { ids, disks, vmDir } = run;
  return tmCommand(
    run,
    [action, 'gfs2clvm', from, to, vmDir, String(ids.vm), String(SYS_DS)],
    base64(
      vmXml({ id: ids.vm, host: from, disks, systemDs: SYS_DS, imageDs: IMG_DS, lcmState: LCM.running }),
    ),
  );
}

function sameSum({ n }: Run, what: string, got: string, want: string): void {
  n.say(`  ${what}: ${got.slice(0, 16)}… ${got === want ? '= expected' : `≠ ${want.slice(0, 16)}…`}`);
  if (got !== want) throw new DemoError(`${what}: checksum differs`);
}

async function mustRun(runner: Runner, argv: string[]): Promise<string> {
  const r = await runner.run(argv, { reject: false, timeoutMs: 300_000 });
  if (r.exitCode !== 0)
    throw new DemoError(`${argv.join(' ')} on ${runner.host}: ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  return r.stdout;
}

/** What a run creates on the hosts: its LVs and its VM directory (for `removeLeftovers`). */
export interface Leftovers {
  lvs: string[];
  vmDir: string;
}

export function leftoverNames(cluster: Cluster, ids: LifeCycleIds = DEMO_IDS): Leftovers {
  return {
    lvs: [0, 1, 2, 3]
      .map((d) => `lv-one-${ids.vm}-${d}`)
      .concat(`lv-oneimg-${ids.image}`, `lv-oneimg-${ids.saved}`),
    vmDir: `${cluster.datastores}/${SYS_DS}/${ids.vm}`,
  };
}

/**
 * What an interrupted run (or a failed one) may have left on a reused cluster: the LVs deactivated
 * on every host and removed, the VM directory removed. Best effort: failures are ignored.
 */
export async function removeLeftovers(cluster: Cluster, vg: string, left: Leftovers): Promise<void> {
  const lenient = { reject: false, timeoutMs: 120_000 } as const;
  const runners = cluster.hosts.map((h) => h.runner('root'));
  const first = runners[0];
  if (!first) return;
  const existing = await first.run(['lvs', '--noheadings', '-o', 'lv_name', vg], lenient);
  const present = left.lvs.filter((lv) => existing.stdout.split('\n').some((l) => l.trim() === lv));
  for (const lv of present) {
    for (const runner of runners) await runner.run(['lvchange', '-an', `${vg}/${lv}`], lenient);
    await first.run(['lvremove', '-y', `${vg}/${lv}`], lenient);
  }
  await first.run(['rm', '-rf', '--', left.vmDir], lenient);
}
