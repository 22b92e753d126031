import type { Runner } from '@one-gfs2clvm/ssh-remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DL, SYS_DS } from './cluster.js';
import { type FrontEnd, setUpFrontEnd, sh } from './suite.js';

// A system datastore's directory on GFS2 is created by the first VM that needs it, as OpenNebula's
// own drivers do (issue 13 item 3): here a VM moved into a new system datastore (the directory line
// of `mv`). The driver runs as production runs it (oneadmin, host helper). Ids 3440 (VM), 3441
// (system datastore, the shared VG).
const VM = 3440;
const NEW_DS = 3441;

let env: FrontEnd;
let n1: Runner;

beforeAll(async () => {
  env = await setUpFrontEnd({
    datastores: { [NEW_DS]: { SHARED: 'YES', TM_MAD: 'gfs2clvm', VG_NAME: 'vg-one-100' } },
  });
  n1 = env.root('node1');
  await sh(n1, [
    'rm',
    '-rf',
    '--',
    `/var/lib/one/datastores/${NEW_DS}`,
    `/var/lib/one/datastores/${SYS_DS}/${VM}`,
  ]);
  await env.setVm(
    VM,
    `<VM><ID>${VM}</ID><STATE>3</STATE><LCM_STATE>3</LCM_STATE><TEMPLATE></TEMPLATE>` +
      `<HISTORY_RECORDS><HISTORY><HOSTNAME>node1</HOSTNAME></HISTORY></HISTORY_RECORDS></VM>`,
  );
}, 600_000);

afterAll(async () => {
  await n1?.run(
    ['rm', '-rf', '--', `/var/lib/one/datastores/${NEW_DS}`, `/var/lib/one/datastores/${SYS_DS}/${VM}`],
    { reject: false, timeoutMs: 120_000 },
  );
  await env?.cluster.close();
}, 300_000);

describe('the system datastore directory at first use', () => {
  it('mv of a VM directory into a new system datastore creates that datastore dir (as oneadmin)', async () => {
    await sh(env.cluster.host('node1').runner('oneadmin'), [
      'sh',
      '-c',
      'mkdir -- "$1" && echo deployment > "$1/deployment.0"',
      'w',
      `/var/lib/one/datastores/${SYS_DS}/${VM}`,
    ]);
    const r = await env.tm.transferLines(VM, [
      `MV gfs2clvm node1:${DL}/${SYS_DS}/${VM} node1:${DL}/${NEW_DS}/${VM} ${VM} ${NEW_DS}`,
    ]);
    expect(r.reply, r.lines.join('\n')).toBe(`TRANSFER SUCCESS ${VM} -`);
    expect(await sh(n1, ['stat', '-c', '%U %F', '--', `/var/lib/one/datastores/${NEW_DS}`])).toBe(
      'oneadmin directory',
    );
    expect(await sh(n1, ['cat', '--', `/var/lib/one/datastores/${NEW_DS}/${VM}/deployment.0`])).toBe(
      'deployment',
    );
    const old = await n1.run(['test', '-e', `/var/lib/one/datastores/${SYS_DS}/${VM}`], { reject: false });
    expect(old.exitCode).toBe(1);
  });
});
