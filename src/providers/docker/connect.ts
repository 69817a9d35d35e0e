import http from 'node:http';
import { inspect } from 'node:util';
import { createRequire, Module } from 'node:module';
import type Docker from 'dockerode';

const require = createRequire(import.meta.url);

/** Stands an empty module in for `name`, as resolved from `parent`'s folder, unless it is loaded already. */
function stub(name: string, parent: string): void {
  const file = require.resolve(name, { paths: [parent] });
  if (require.cache[file]) return;
  const empty = new Module(file);
  empty.loaded = true;
  require.cache[file] = empty;
}

/**
 * dockerode loads gRPC and its proto loader when it is required, for BuildKit sessions, which this server never
 * opens (images build with the classic builder), and docker-modem loads ssh2 for ssh:// hosts. Standing empty
 * modules in for them saves ~100 ms of start-up and ~12 MB of memory. If they cannot be resolved (another
 * layout), dockerode simply loads them.
 */
function loadDockerode(sshHost: boolean): typeof Docker {
  try {
    const dockerode = require.resolve('dockerode');
    for (const name of ['@grpc/grpc-js', '@grpc/proto-loader']) stub(name, dockerode);
    if (!sshHost) stub('ssh2', require.resolve('docker-modem', { paths: [dockerode] }));
  } catch {
    // resolution failed: nothing more stubbed
  }
  return require('dockerode') as typeof Docker;
}

/**
 * A dockerode client for DOCKER_HOST (or the default socket), with keep-alive connections on unix sockets so
 * that each exec does not pay for a new connection.
 */
export function connectDocker(dockerHost: string | undefined): Docker {
  const DockerClient = loadDockerode(dockerHost?.startsWith('ssh://') === true);
  if (!dockerHost || dockerHost.startsWith('unix://')) {
    const socketPath = dockerHost ? dockerHost.slice('unix://'.length) : '/var/run/docker.sock';
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16, maxFreeSockets: 4 });
    // docker-modem formats every request's options for its debug log, whether or not the log is on
    // (lib/modem.js, buildRequest: `debug('Sending: %s', util.inspect(options, { showHidden: true, depth: null }))`),
    // which walks this agent and every socket it keeps: about 0.4 ms of CPU per request before it is sent.
    Object.defineProperty(agent, inspect.custom, { value: () => `http.Agent(keep-alive, ${socketPath})` });
    return new DockerClient({ socketPath, agent } as Docker.DockerOptions);
  }
  // tcp://, ssh:// and friends: docker-modem reads DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH itself.
  return new DockerClient();
}
