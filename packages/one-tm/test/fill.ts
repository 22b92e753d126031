// How the testbed suites lay down known data on the cluster's devices.

/**
 * The `dd` argv that writes `count` MiB from `from` (random data unless told) onto the device `of`,
 * `seek` MiB in, bypassing the page cache: how the suites lay down images and disks with known data.
 */
export function ddFill(of: string, count: number, opts: { from?: string; seek?: number } = {}): string[] {
  const seek = opts.seek === undefined ? [] : [`seek=${opts.seek}`];
  return [
    'dd',
    `if=${opts.from ?? '/dev/urandom'}`,
    `of=${of}`,
    'bs=1M',
    ...seek,
    `count=${count}`,
    'oflag=direct',
    'status=none',
  ];
}
