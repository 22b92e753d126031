import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { StatePaths } from './paths.js';
import { readPidFile, stopProcess } from './processes.js';
import type { ClusterState } from './state.js';

/**
 * Stops the cluster's qemu processes and link hub (by pid, after checking their command line is
 * this cluster's) and removes every file `up` made in the state folder.
 */
export async function teardown(paths: StatePaths, state: ClusterState | undefined): Promise<void> {
  const hosts = state?.hosts ?? [];
  await Promise.all(
    hosts.map(async (h) => {
      const pid = h.pid || readPidFile(join(h.hostDir, 'qemu.pid'));
      if (pid) await stopProcess(pid, h.hostDir);
    }),
  );
  const hubPid = state?.hubPid ?? readPidFile(paths.hubPidFile);
  if (hubPid) await stopProcess(hubPid, paths.linkSocket);
  for (const file of [
    paths.sanImage,
    paths.plainImage,
    paths.identityFile,
    `${paths.identityFile}.pub`,
    paths.knownHostsFile,
    paths.corosyncConf,
    paths.stage2,
    paths.linkSocket,
    paths.hubLog,
    paths.hubPidFile,
    paths.stateFile,
  ]) {
    rmSync(file, { force: true });
  }
  rmSync(join(paths.dir, 'hosts'), { recursive: true, force: true });
}
