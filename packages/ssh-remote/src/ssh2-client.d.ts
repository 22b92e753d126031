// ssh2's Client class alone (`lib/client.js`, what `require('ssh2').Client` is): loading it without
// ssh2's index skips its SSH server, HTTP(S) agents (node:https, node:tls) and key generator.
// ssh2 is pinned to one version (package.json), whose files are the same on every install.
declare module 'ssh2/lib/client.js' {
  import type { Client } from 'ssh2';

  const client: typeof Client;
  export default client;
}
