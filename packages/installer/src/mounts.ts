/** The mount table (`/proc/self/mounts`) as the installer and doctor read it, on the target. */
export const MOUNTS_FILE = '/proc/self/mounts';

export interface MountLine {
  device: string;
  target: string;
  fstype: string;
}

/** The mount whose target is exactly `path` (the last one: it hides those before); pure. */
export function mountAt(mounts: string, path: string): MountLine | undefined {
  return mounts
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields[1] === path)
    .map(([device = '', target = '', fstype = '']) => ({ device, target, fstype }))
    .at(-1);
}
