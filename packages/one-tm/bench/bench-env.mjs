// Shared set-up of the testbed benchmarks: the front-end of @one-gfs2clvm/one-harness/testbed (the
// built drivers run by one-harness's TmDriver, oned's one_tm.rb stand-in, oned faked) against the
// running testbed (`pnpm testbed up`). BENCH_BACKEND=lvm (default: root, plain LVM, like the
// baseline scripts) or helper (production: oneadmin, the host helper through sudo; the installer's
// host role is laid down first when missing).
import { setUpFrontEnd } from '@one-gfs2clvm/one-harness/testbed';

export { DL, IMG_DS, MiB, SYS_DS, VG } from '@one-gfs2clvm/one-harness/testbed';

export async function benchEnv({ concurrency = 15, conf = [] } = {}) {
  return setUpFrontEnd({
    asRoot: process.env.BENCH_BACKEND !== 'helper',
    tmConcurrency: concurrency,
    // The drivers' default (20 s) unless BENCH_CONNECT_TIMEOUT says otherwise.
    connectTimeout: Number(process.env.BENCH_CONNECT_TIMEOUT ?? 20),
    config: conf,
  });
}

/** Runs a command as root on a host; its trimmed stdout. An overloaded guest that misses the
 * SSH handshake deadline is asked again (up to 3 times): the checks must not die of the load. */
export async function sh(runner, argv, timeoutMs = 3600_000) {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await runner.run(argv, { timeoutMs })).stdout.trim();
    } catch (error) {
      if (error?.code !== 'UNREACHABLE' || attempt >= 3) throw error;
    }
  }
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Seconds of a step the driver logged with `ctx.log.timed` (`INFO: … <what> took 12.3 s`). */
export function stepSeconds(lines, pattern) {
  const line = lines.find((l) => pattern.test(l) && / took [\d.]+ s/.test(l));
  return line ? Number(/ took ([\d.]+) s/.exec(line)[1]) : Number.NaN;
}
