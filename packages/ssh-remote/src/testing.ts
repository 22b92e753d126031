export {
  type ArgvMatcher,
  type FakeCall,
  type FakeHandler,
  type FakeResponse,
  FakeRunner,
  UnexpectedCommandError,
} from './fake-runner.js';
export { freePort, localSshArgv, startTestSshd, type TestSshd, type TestSshdOptions } from './test-sshd.js';
