// The plain `dd` runs the benches measure the driver against or make their images with (no imports:
// data-path-native.mjs runs it without the testbed).

/** The plain `dd` copy of one device onto another that the driver's copies are measured against. */
export function ddCopyArgv(from, to) {
  return [
    'dd',
    `if=${from}`,
    `of=${to}`,
    'bs=4M',
    'iflag=direct',
    'oflag=direct',
    'conv=notrunc,fsync',
    'status=none',
  ];
}

/** The `dd` that writes 20 MiB of random data into `file` at `atMiB`: the benches' sparse images. */
export function ddRandomAtArgv(file, atMiB) {
  return [
    'dd',
    'if=/dev/urandom',
    `of=${file}`,
    'bs=1M',
    'count=20',
    `seek=${atMiB}`,
    'conv=notrunc',
    'status=none',
  ];
}
