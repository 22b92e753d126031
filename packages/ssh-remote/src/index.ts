export {
  describeCommand,
  RemoteError,
  type RemoteErrorCode,
  type RemoteErrorDetails,
} from './errors.js';
export {
  checkHostKey,
  type HostKeyCheck,
  hostFieldMatches,
  type KnownHostEntry,
  knownHostsName,
  parseKnownHosts,
} from './known-hosts.js';
export { LocalRunner, type LocalRunnerOptions } from './local-runner.js';
export { buildRemoteCommand, quoteArgv, quoteForShell, type RemoteCommandOptions } from './quote.js';
export type { Argv, Runner, RunOptions, RunResult } from './runner.js';
export { resolveTarget, type SshTarget, type TargetOptions } from './ssh-config.js';
export { type HostKeyPolicy, SshRunner, type SshRunnerOptions } from './ssh-runner.js';
export { type ReceiveResult, receiveFromRemote, type SendResult, sendToRemote } from './streaming.js';
