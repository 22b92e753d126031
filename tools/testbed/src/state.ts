import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ResolvedOptions } from './options.js';
import type { StatePaths } from './paths.js';

export interface HostState {
  name: string;
  index: number;
  sshPort: number;
  /** qemu's pid (0 until started). */
  pid: number;
  hostDir: string;
}

/** What `state.json` in the state folder records about a cluster. */
export interface ClusterState {
  version: 1;
  dir: string;
  options: ResolvedOptions;
  kernelVersion: string;
  hosts: HostState[];
  /** The cluster-link hub (GFS2 over DLM only). */
  hubPid?: number;
  sharedVg: 'vg-one-100';
  plainVg?: 'vg-plain';
  /** Hosts where GFS2 is mounted at the datastores folder. */
  gfs2Hosts: string[];
  /** True once `up` finished: every host answers and every lockspace is started. */
  ready: boolean;
  bootedAt: string;
  upSeconds?: number;
}

export function readState(paths: StatePaths): ClusterState | undefined {
  try {
    const state = JSON.parse(readFileSync(paths.stateFile, 'utf8')) as ClusterState;
    if (state.version !== 1) return undefined;
    // Clusters booted before the lockType option existed used sanlock.
    state.options = { ...state.options, lockType: state.options.lockType ?? 'sanlock' };
    return state;
  } catch {
    return undefined;
  }
}

/** Written atomically: readers (other test projects) never see half a file. */
export function writeState(paths: StatePaths, state: ClusterState): void {
  const tmp = `${paths.stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, paths.stateFile);
}
