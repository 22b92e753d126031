import { RemoteError, type Runner } from '@one-gfs2clvm/ssh-remote';
import { DriverError } from './errors.js';
import {
  type DatastoreInfo,
  type HostInfo,
  type ImageInfo,
  type OneImageClient,
  parseDatastoreXml,
  parseHostPoolXml,
  parseImageXml,
  parseUserXml,
  parseVmXml,
  type UserInfo,
  type VmInfo,
} from './one-client.js';

/**
 * oned through its CLI, as OpenNebula's own drivers do (`onevm show -x` …), run on the front-end
 * by a local `Runner`. The commands are found on `PATH` (tests put fakes first). Answers are cached
 * for the life of the action.
 */
export class CliOneClient implements OneImageClient {
  readonly #runner: Runner;
  readonly #cache = new Map<string, Promise<string>>();
  readonly #timeoutMs: number;

  constructor(runner: Runner, options: { timeoutMs?: number } = {}) {
    this.#runner = runner;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
  }

  async vm(id: number): Promise<VmInfo> {
    return parseVmXml(await this.#show(['onevm', 'show', '-x', String(id)]));
  }

  async datastore(id: number): Promise<DatastoreInfo> {
    return parseDatastoreXml(await this.#show(['onedatastore', 'show', '-x', String(id)]));
  }

  async hosts(): Promise<HostInfo[]> {
    return parseHostPoolXml(await this.#show(['onehost', 'list', '-x']));
  }

  async image(id: number): Promise<ImageInfo> {
    return parseImageXml(await this.#show(['oneimage', 'show', '-x', String(id)]));
  }

  async user(id: number): Promise<UserInfo> {
    return parseUserXml(await this.#show(['oneuser', 'show', '-x', String(id)]));
  }

  #show(argv: string[]): Promise<string> {
    const key = argv.join(' ');
    let answer = this.#cache.get(key);
    if (!answer) {
      answer = this.#runner
        .run(argv, { timeoutMs: this.#timeoutMs })
        .then((r) => r.stdout)
        .catch((error: unknown) => {
          const detail = RemoteError.isInstance(error)
            ? error.stderrTail.trim() || error.message
            : String(error);
          throw new DriverError('ONED', `${key} failed: ${detail}`, { cause: error });
        });
      this.#cache.set(key, answer);
    }
    return answer;
  }
}
