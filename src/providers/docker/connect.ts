import http from 'node:http';
import { createRequire, Module } from 'node:module';
import type Docker from 'dockerode';

const require = createRequire(import.meta.url);

/**
 * dockerode loads gRPC and its proto loader when it is required, for BuildKit sessions, which this server never
 * opens (images build with the classic builder). Standing empty modules in for them saves ~60 ms of start-up and
 * ~8 MB of memory. If they cannot be resolved (another layout), dockerode simply loads them.
 */
function loadDockerode(): typeof Docker {
  try {
    const from = { paths: [require.resolve('dockerode')] };
    for (const name of ['@grpc/grpc-js', '@grpc/proto-loader']) {
      const file = require.resolve(name, from);
      if (require.cache[file]) continue;
      const stub = new Module(file);
      stub.loaded = true;
      require.cache[file] = stub;
    }
  } catch {
    // resolution failed: nothing stubbed
  }
  return require('dockerode') as typeof Docker;
}

const DockerClient = loadDockerode();

/**
 * A dockerode client for DOCKER_HOST (or the default socket), with keep-alive connections on unix sockets so
 * that each exec does not pay for a new connection.
 */
export function connectDocker(dockerHost: string | undefined): Docker {
  if (!dockerHost || dockerHost.startsWith('unix://')) {
    const socketPath = dockerHost ? dockerHost.slice('unix://'.length) : '/var/run/docker.sock';
    return new DockerClient({ socketPath, agent: new http.Agent({ keepAlive: true, maxSockets: 16, maxFreeSockets: 4 }) } as Docker.DockerOptions);
  }
  // tcp://, ssh:// and friends: docker-modem reads DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH itself.
  return new DockerClient();
}
