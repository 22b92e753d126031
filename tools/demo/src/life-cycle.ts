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
  const vg = cluster.sharedVg;
  const [node1, node2] = [cluster.host('node1').runner('root'), cluster.host('node2').runner('root')];
  const hosts = cluster.hosts.map((h) => h.name);
  const vmDir = `${DL}/${SYS_DS}/${ids.vm}`;
  const hostVmDir = `${cluster.datastores}/${SYS_DS}/${ids.vm}`;
  const imageLv = `lv-oneimg-${ids.image}`;
  const savedLv = `lv-oneimg-${ids.saved}`;
  const diskLv = (disk: number) => `lv-one-${ids.vm}-${disk}`;
  const ours = (name: string) => name.startsWith(`lv-one-${ids.vm}-`) || name === imageLv || name === savedLv;
  const disks: VmDisk[] = [
    { id: 0, sizeMiB: DISK_MIB, source: `${vg}/${imageLv}` },
    { id: 1, type: 'fs', sizeMiB: 16, fs: 'ext4' },
    { id: 2, type: 'swap', sizeMiB: 16 },
    { id: 3, type: 'CONTEXT' },
  ];
  const setVm = (host: string, lcmState: number) =>
    fe.oned.setVm(
      ids.vm,
      vmXml({ id: ids.vm, host, disks, systemDs: SYS_DS, imageDs: IMG_DS, state: ACTIVE, lcmState }),
    );

  /** Prints the LVs with the lock each host holds; with `want`, checks the locks of `lvs`. */
  const showLvs = async (check?: { lvs: string[]; want: Record<string, string>; what: string }) => {
    const views = await readLvs(cluster, vg, ours);
    n.detail(formatLvs(views, hosts), '│ ');
    for (const lv of check?.lvs ?? []) {
      const got = views.find((v) => v.name === lv)?.locks;
      for (const [host, mode] of Object.entries(check?.want ?? {})) {
        if (got?.[host] !== mode)
          throw new DemoError(
            `${check?.what}: ${lv} lock on ${host} is ${got?.[host] ?? 'missing'}, expected ${mode}`,
          );
      }
    }
  };
  const showLinks = async (runner: Runner) => {
    n.say(`  ${runner.host} reads ${hostVmDir} (GFS2: one directory for every host)`);
    n.detail(await readLinks(runner, hostVmDir), '│ ');
  };
  let seq = 0; // the harness numbers the transfer files of a VM from 0, like oned
  const transfer = async (lines: string[], op: string) => {
    n.say(
      `  oned → one_tm:  TRANSFER  ${ids.vm} ${join(fe.dir, 'vms', String(ids.vm), `transfer.${seq++}.${op}`)}`,
    );
    n.detail(lines.join('\n'), '    ┆ ');
    const r = await fe.tm.transferLines(ids.vm, lines, op);
    n.say('  one_tm → oned:');
    n.detail(r.lines.join('\n'), '    ');
    if (r.result !== 'SUCCESS') throw new DemoError(`${op}: ${r.reply ?? r.crash ?? 'no reply'}`);
  };
  const tmCommand = async (words: string[], stdin?: string) => {
    n.say(`  oned (VMM driver) runs:  ${words.join(' ')}`);
    if (stdin) n.detail(`stdin: base64 of the <VM> document (${stdin.length} characters)`, '    ┆ ');
    const r = await fe.tm.tmCommand(ids.vm, words, stdin);
    n.say(`  driver → ${r.result} ${r.info}`);
    n.detail(r.lines.join('\n'), '    ');
    if (r.result !== 'SUCCESS') throw new DemoError(`${words[0]}: ${r.info}`);
  };
  const dsAction = async (action: string, id: number, image: ImageXmlInput) => {
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
  };
  /** sha256 of an image LV's first `mib` MiB, read on node1 (activated shared for the read). */
  const imageSumOf = async (lv: string, mib: number) => {
    await mustRun(node1, ['lvchange', '-asy', `${vg}/${lv}`]);
    try {
      return await checksum(node1, `/dev/${vg}/${lv}`, mib);
    } finally {
      await node1.run(['lvchange', '-an', `${vg}/${lv}`], { reject: false, timeoutMs: 120_000 });
    }
  };
  const migrate = (action: string, from: string, to: string) =>
    tmCommand(
      [action, 'gfs2clvm', from, to, vmDir, String(ids.vm), String(SYS_DS)],
      base64(
        vmXml({ id: ids.vm, host: from, disks, systemDs: SYS_DS, imageDs: IMG_DS, lcmState: LCM.running }),
      ),
    );
  const sameSum = (what: string, got: string, want: string) => {
    n.say(`  ${what}: ${got.slice(0, 16)}… ${got === want ? '= expected' : `≠ ${want.slice(0, 16)}…`}`);
    if (got !== want) throw new DemoError(`${what}: checksum differs`);
  };
  const vmLvs = [diskLv(0), diskLv(1), diskLv(2)];

  await removeLeftovers(cluster, vg, leftoverNames(cluster, ids));
  // Set-up an administrator does once: the system datastore's directory on GFS2 (the driver refuses
  // to create it, so that an unmounted GFS2 never fills the host's root disk).
  const sysDsDir = `${cluster.datastores}/${SYS_DS}`;
  n.say(`— set-up, once per cloud: the system datastore ${SYS_DS}'s directory on GFS2`);
  const made = await hostStep(n, cluster, 'node1', ['mkdir', '-p', sysDsDir], 'oneadmin');
  if (made.exitCode !== 0) throw new DemoError(`mkdir ${sysDsDir} on node1: ${made.stderr.trim()}`);

  // 1. Register an image from a file. -------------------------------------------------------------
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
  const statMiB = await dsAction('STAT', 0, { id: ids.image, datastoreId: IMG_DS, path: file });
  if (statMiB !== String(IMAGE_MIB)) throw new DemoError(`STAT: ${statMiB} MiB, expected ${IMAGE_MIB}`);
  const copied = await dsAction('CP', ids.image, {
    id: ids.image,
    datastoreId: IMG_DS,
    path: file,
    sizeMiB: IMAGE_MIB,
  });
  if (copied !== `${vg}/${imageLv} raw`)
    throw new DemoError(`CP answered "${copied}", expected "${vg}/${imageLv} raw"`);
  n.say(`  image ${ids.image}: SOURCE ${vg}/${imageLv}, FORMAT raw; inactive everywhere:`);
  await showLvs({ lvs: [imageLv], want: { node1: '-', node2: '-' }, what: 'CP' });
  sameSum(`image ${ids.image} (${imageLv}, read on node1)`, await imageSumOf(imageLv, IMAGE_MIB), imageSum);

  // 2. Instantiate on node1. --------------------------------------------------------------------
  n.say(
    `— instantiate VM ${ids.vm} on node1: clone of the image (${DISK_MIB} MiB), an ext4 volatile disk, swap, context`,
  );
  await setVm('node1', LCM.prolog);
  await transfer(
    [
      `CLONE gfs2clvm fe:${vg}/${imageLv} node1:${vmDir}/disk.0 ${ids.vm} ${IMG_DS}`,
      `MKIMAGE gfs2clvm 16 raw node1:${vmDir}/disk.1 ${ids.vm} ${SYS_DS}`,
      `MKSWAP gfs2clvm 16 node1:${vmDir}/disk.2 ${ids.vm} ${SYS_DS}`,
    ],
    'prolog',
  );
  const contextSh = join(fe.dir, 'context.sh');
  await writeFile(contextSh, `HOSTNAME='vm${ids.vm}'\nETH0_IP='10.0.0.80'\n`);
  await setVm('node1', LCM.running);
  await tmCommand([
    'CONTEXT',
    'gfs2clvm',
    contextSh,
    `node1:${vmDir}/disk.3`,
    String(ids.vm),
    String(SYS_DS),
  ]);
  n.say('  on the hosts: every disk LV exclusive on node1 (tag one_active_node1), the image untouched');
  await showLvs({ lvs: vmLvs, want: { node1: 'ex', node2: '-' }, what: 'instantiate' });
  await showLinks(node2);
  sameSum(
    `${diskLv(0)} first ${IMAGE_MIB} MiB (node1)`,
    await checksum(node1, `/dev/${vg}/${diskLv(0)}`, IMAGE_MIB),
    imageSum,
  );
  const types = await mustRun(node1, [
    'blkid',
    '-o',
    'value',
    '-s',
    'TYPE',
    `/dev/${vg}/${diskLv(1)}`,
    `/dev/${vg}/${diskLv(2)}`,
    `${hostVmDir}/disk.3`,
  ]);
  n.say(`  blkid of disk.1, disk.2, disk.3: ${types.trim().split('\n').join(', ')}`);

  // 3. The VM writes. ---------------------------------------------------------------------------
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
  const vmSum = await checksum(node1, `/dev/${vg}/${diskLv(0)}`, DISK_MIB);
  n.say(`  ${diskLv(0)} (${DISK_MIB} MiB) now: sha256 ${vmSum.slice(0, 16)}…`);

  // 4. Live migration node1 → node2. ------------------------------------------------------------
  n.say(
    '— live migration node1 → node2: premigrate converts node1 exclusive → shared in place, node2 shared',
  );
  await migrate('PREMIGRATE', 'node1', 'node2');
  await showLvs({ lvs: vmLvs, want: { node1: 'sh', node2: 'sh' }, what: 'premigrate' });
  n.say(
    '  (the hypervisor copies the memory; both hosts have the disks open) — postmigrate: node1 lets go, node2 exclusive',
  );
  await migrate('POSTMIGRATE', 'node1', 'node2');
  await setVm('node2', LCM.running);
  await showLvs({ lvs: vmLvs, want: { node1: '-', node2: 'ex' }, what: 'postmigrate' });
  sameSum(`${diskLv(0)} on node2`, await checksum(node2, `/dev/${vg}/${diskLv(0)}`, DISK_MIB), vmSum);

  // 5. A live migration that fails. -------------------------------------------------------------
  n.say(
    '— live migration node2 → node1 that fails: premigrate, the hypervisor fails, failmigrate restores node2',
  );
  await migrate('PREMIGRATE', 'node2', 'node1');
  await showLvs({ lvs: vmLvs, want: { node1: 'sh', node2: 'sh' }, what: 'premigrate back' });
  n.say('  (virsh migrate fails: oned runs failmigrate)');
  await migrate('FAILMIGRATE', 'node2', 'node1');
  await showLvs({ lvs: vmLvs, want: { node1: '-', node2: 'ex' }, what: 'failmigrate' });

  // 6. Power off, save disk.0 as a new image. ---------------------------------------------------
  n.say(
    `— poweroff (no TM action: the disks stay on node2), then disk-saveas of disk.0 into a new image ${ids.saved}`,
  );
  n.say(
    '  oned reserves the new image in the datastore (MKFS with FORMAT save_as), then the TM copies (CPDS)',
  );
  const reserved = await dsAction('MKFS', ids.saved, {
    id: ids.saved,
    datastoreId: IMG_DS,
    format: 'save_as',
    sizeMiB: DISK_MIB,
  });
  if (reserved !== `${vg}/${savedLv}`)
    throw new DemoError(`MKFS answered "${reserved}", expected "${vg}/${savedLv}"`);
  await setVm('node2', LCM.saveasPoweroff);
  await transfer([`CPDS gfs2clvm node2:${vmDir}/disk.0 ${reserved} -1 ${ids.vm} ${IMG_DS}`], 'disk_saveas');
  await showLvs({ lvs: [savedLv], want: { node1: '-', node2: '-' }, what: 'disk-saveas' });
  sameSum(`image ${ids.saved} (${savedLv}, read on node1)`, await imageSumOf(savedLv, DISK_MIB), vmSum);

  // 7. Terminate. --------------------------------------------------------------------------------
  n.say(`— terminate VM ${ids.vm}: epilog deletes every disk and the VM directory`);
  await setVm('node2', LCM.epilog);
  await transfer(
    [
      `DELETE gfs2clvm node2:${vmDir}/disk.0 ${ids.vm} ${IMG_DS}`,
      `DELETE gfs2clvm node2:${vmDir}/disk.1 ${ids.vm} ${SYS_DS}`,
      `DELETE gfs2clvm node2:${vmDir}/disk.2 ${ids.vm} ${SYS_DS}`,
      `DELETE gfs2clvm node2:${vmDir}/disk.3 ${ids.vm} ${SYS_DS}`,
      `DELETE gfs2clvm node2:${vmDir} ${ids.vm} ${SYS_DS}`,
    ],
    'epilog',
  );
  await showLvs();
  n.say(
    `— the images are deleted too (oneimage delete ${ids.saved} ${ids.image}): DS RM wipes and removes their LVs`,
  );
  for (const [id, lv, sizeMiB] of [
    [ids.saved, savedLv, DISK_MIB],
    [ids.image, imageLv, IMAGE_MIB],
  ] as const) {
    await dsAction('RM', id, {
      id,
      datastoreId: IMG_DS,
      source: `${vg}/${lv}`,
      format: 'raw',
      sizeMiB,
      state: 6,
    });
  }

  // 8. Nothing left. -----------------------------------------------------------------------------
  n.say('— nothing left: no LV of the VM or its images, no VM directory, on any host');
  const left = await readLvs(cluster, vg, ours);
  n.detail(formatLvs(left, hosts), '│ ');
  if (left.length > 0) throw new DemoError(`left behind: ${left.map((l) => l.name).join(', ')}`);
  for (const runner of [node1, node2]) {
    if (await exists(runner, hostVmDir)) throw new DemoError(`left behind: ${hostVmDir} on ${runner.host}`);
  }
  n.say(`  ${hostVmDir}: gone on ${hosts.join(' and ')}`);
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
