import http from 'node:http';
import Docker from 'dockerode';

/**
 * A dockerode client for DOCKER_HOST (or the default socket), with keep-alive connections on unix sockets so
 * that each exec does not pay for a new connection.
 */
export function connectDocker(dockerHost: string | undefined): Docker {
  if (!dockerHost || dockerHost.startsWith('unix://')) {
    const socketPath = dockerHost ? dockerHost.slice('unix://'.length) : '/var/run/docker.sock';
    return new Docker({ socketPath, agent: new http.Agent({ keepAlive: true, maxSockets: 64 }) } as Docker.DockerOptions);
  }
  // tcp://, ssh:// and friends: docker-modem reads DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH itself.
  return new Docker();
}
