import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DL, SYS_DS, VG } from './cluster.js';
import { ddFill } from './fill.js';
import { cleanUp, type FrontEnd, setUpFrontEnd, sh, sumOf, vmXml } from './suite.js';

// snap_create_live on the real cluster, through the VMM-embedded TM dispatcher stand-in running the
// BUILT script as oneadmin, with a recording `virsh` stand-in on node1 (/usr/local/bin, first on
// oneadmin's PATH over SSH): each call appends `<epoch ns> <argv> snap=<present|missing>` to a log,
// the snapshot's existence read through the host helper at that moment, so the log shows the
// snapshot made between freeze and thaw. One thin disk shared by every case. VM ids 4900–4949.

const VM = 4900;
const vmDir = `${DL}/${SYS_DS}/${VM}`;
const DISK = `lv-one-${VM}-0`;
const POOL = `lv-one-${VM}-pool`;
const snapLv = (id: number) => `${DISK}-snap-${id}`;
const dev = (name: string) => `/dev/${VG}/${name}`;
const STATE = `/tmp/one-virsh-${VM}`;
const VIRSH = '/usr/local/bin/virsh';
const MARK = 'one-gfs2clvm live-snapshot.testbed stand-in';

/** The stand-in. `mode`: empty, `noagent` (domfsfreeze fails), `hold` (domfsfreeze waits for `go`). */
const STAND_IN = `#!/bin/sh
# ${MARK} (removed by the suite's afterAll)
dir=${STATE}
snap=$(cat "$dir/snap" 2>/dev/null)
state=missing
# exit 0 only when the LV exists (its JSON names it either way, in the command log)
if sudo -n /usr/local/sbin/one-gfs2clvm-helper report lvs ${VG} "$snap" >/dev/null 2>&1; then state=present; fi
echo "$(date +%s%N) $* snap=$state" >> "$dir/log"
mode=$(cat "$dir/mode" 2>/dev/null)
if [ "$3" = domfsfreeze ]; then  # virsh -c <uri> <op> <domain>
  if [ "$mode" = noagent ]; then echo "error: Guest agent is not responding" >&2; exit 1; fi
  if [ "$mode" = hold ]; then
    i=0
    while [ ! -e "$dir/go" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
  fi
fi
exit 0
`;

let env: FrontEnd;
let n1: Runner;
const disks = () => [{ id: 0, type: 'fs', sizeMiB: 32 }];

interface Call {
  ns: bigint;
  op: string;
  argv: string;
  snap: string;
}

/** Sets the stand-in's mode and the snapshot it watches, empties its log. */
async function standIn(mode: string, snapId: number): Promise<void> {
  await sh(n1, [
    'sh',
    '-c',
    // The log is written by the stand-in as oneadmin.
    'cd "$1" && printf %s "$2" > mode && printf %s "$3" > snap && : > log && chmod 666 log && rm -f go',
    'x',
    STATE,
    mode,
    snapLv(snapId),
  ]);
}

async function calls(): Promise<Call[]> {
  const text = await sh(n1, ['cat', `${STATE}/log`]);
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const words = line.split(' ');
      return {
        ns: BigInt(words[0] as string),
        op: words[3] as string,
        argv: words.slice(1, -1).join(' '),
        snap: (words.at(-1) as string).replace('snap=', ''),
      };
    });
}

const frozenMs = (c: Call[]) => Number(((c.at(-1) as Call).ns - (c[0] as Call).ns) / 1_000_000n);

async function live(snapId: number) {
  const r = await env.tm.tmCommand(VM, [
    'SNAP_CREATE_LIVE',
    'gfs2clvm',
    `node1:${vmDir}/disk.0`,
    String(snapId),
    String(VM),
    String(SYS_DS),
  ]);
  return { ok: r.result === 'SUCCESS', info: r.info, all: r.lines.join('\n') };
}

async function transfer(lines: string[]) {
  const r = await env.tm.transferLines(VM, lines);
  return { ok: r.reply === `TRANSFER SUCCESS ${VM} -`, all: r.lines.join('\n') };
}

beforeAll(async () => {
  env = await setUpFrontEnd({
    datastores: { [SYS_DS]: { SHARED: 'YES', TM_MAD: 'gfs2clvm', THIN_PROVISIONING: 'YES' } },
  });
  n1 = env.root('node1');
  // Never replace a real virsh (nor a stand-in of another run that is not ours).
  const existing = await n1.run(['sh', '-c', `test ! -e ${VIRSH} || grep -q "${MARK}" ${VIRSH}`], {
    reject: false,
  });
  if (existing.exitCode !== 0) throw new Error(`${VIRSH} exists on node1 and is not this suite's stand-in`);
  await sh(n1, [
    'sh',
    '-c',
    'printf %s "$1" > "$2" && chmod 755 "$2" && mkdir -p "$3" && chmod 777 "$3"',
    'x',
    STAND_IN,
    VIRSH,
    STATE,
  ]);
  await env.setVm(VM, vmXml(VM, 'node1', disks(), 3, { deployId: `one-${VM}` }));
  const r = await transfer([`MKIMAGE gfs2clvm 32 raw node1:${vmDir}/disk.0 ${VM} ${SYS_DS}`]);
  expect(r.ok, r.all).toBe(true);
}, 600_000);

afterAll(async () => {
  if (!n1) return;
  await n1.run(['sh', '-c', `grep -q "${MARK}" ${VIRSH} && rm -f ${VIRSH}; rm -rf ${STATE}`], {
    reject: false,
  });
  await cleanUp(env, VM, [snapLv(0), snapLv(1), snapLv(2), `${DISK}-revert`, DISK, POOL]);
}, 600_000);

describe('snap_create_live: the guest frozen only around the thin snapshot', () => {
  it('freeze → lvcreate → thaw; revert gives the data of the snapshot point', async () => {
    await sh(n1, ddFill(dev(DISK), 4)); // the marker
    const atSnapshot = await sumOf(n1, dev(DISK), 0, 32);
    await standIn('', 0);
    const r = await live(0);
    expect(r.ok, r.all).toBe(true);
    const log = await calls();
    expect(log.map((c) => c.argv)).toEqual([
      `-c qemu:///system domfsfreeze one-${VM}`,
      `-c qemu:///system domfsthaw one-${VM}`,
    ]);
    // The snapshot did not exist when the guest was frozen and did when it was thawed.
    expect(log.map((c) => c.snap)).toEqual(['missing', 'present']);
    console.log(`live snapshot: guest frozen ${frozenMs(log)} ms (stand-in timestamps)`);
    expect(r.all).toMatch(/froze one-4900 \(domfsfreeze\) on node1 in \d+ ms/);

    await sh(n1, ddFill(dev(DISK), 4, { seek: 8 })); // written after the snapshot
    expect(await sumOf(n1, dev(DISK), 0, 32)).not.toBe(atSnapshot);
    const revert = await transfer([`SNAP_REVERT gfs2clvm node1:${vmDir}/disk.0 0 ${VM} ${SYS_DS}`]);
    expect(revert.ok, revert.all).toBe(true);
    expect(await sumOf(n1, dev(DISK), 0, 32)).toBe(atSnapshot);
  }, 900_000);

  it('no guest agent: domfsfreeze fails, the guest is suspended and resumed instead', async () => {
    await standIn('noagent', 1);
    const r = await live(1);
    expect(r.ok, r.all).toBe(true);
    const log = await calls();
    expect(log.map((c) => c.op)).toEqual(['domfsfreeze', 'domfsthaw', 'suspend', 'resume']);
    expect(log.map((c) => c.snap)).toEqual(['missing', 'missing', 'missing', 'present']);
    expect(r.all).toMatch(/domfsfreeze of one-4900 on node1 failed \(error: Guest agent is not responding\)/);
  }, 900_000);

  it('a failing lvcreate (the name taken while frozen): thawed, one line, nothing of ours left', async () => {
    await standIn('hold', 2);
    const running = live(2);
    // Once the guest is frozen, take the snapshot's name with a thick LV: the lvcreate must fail.
    for (let i = 0; !(await calls()).some((c) => c.op === 'domfsfreeze'); i++) {
      if (i === 100) throw new Error('the stand-in never logged domfsfreeze');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await sh(n1, ['lvcreate', '-y', '-an', '-Zn', '-L', '4m', '-n', snapLv(2), VG]);
    await sh(n1, ['touch', `${STATE}/go`]);
    const r = await running;
    expect(r.ok).toBe(false);
    expect(r.info).toMatch(/lv-one-4900-0-snap-2/);
    expect((await calls()).map((c) => c.op)).toEqual(['domfsfreeze', 'domfsthaw']);
    await sh(n1, ['lvremove', '-y', `${VG}/${snapLv(2)}`]);
  }, 900_000);
});
