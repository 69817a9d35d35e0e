import type net from 'node:net';
import type Docker from 'dockerode';
import { StreamDemuxer } from './demux.js';
import { EXEC_USERS } from './exec.js';

/**
 * Pipes stdin to 127.0.0.1:$1 inside the sandbox and the answer to stdout, closing each direction when the other
 * side closes it. Python, as the run agent: the images that have an agent have it.
 */
const RELAY = `
import os, socket, sys, threading
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
def up():
    while True:
        d = os.read(0, 65536)
        if not d:
            break
        s.sendall(d)
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
threading.Thread(target=up, daemon=True).start()
while True:
    d = s.recv(65536)
    if not d:
        break
    while d:
        d = d[os.write(1, d):]
`;

/**
 * One connection to a sandbox port through an exec in the container: no network path from this machine to the
 * container is needed, so it works where the bridge is out of reach (Docker Desktop, a remote engine).
 */
export async function relayThroughExec(container: Docker.Container, port: number, client: net.Socket): Promise<void> {
  const exec = await container.exec({
    Cmd: ['python3', '-c', RELAY, String(port)],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    User: EXEC_USERS.user,
  });
  const socket = await exec.start({ hijack: true, stdin: true });
  const demux = new StreamDemuxer((stream, payload) => {
    if (stream === 'stdout') client.write(payload);
  });
  socket.on('data', (chunk: Buffer) => demux.push(chunk));
  const done = () => {
    client.end();
    socket.destroy();
  };
  socket.on('end', done);
  socket.on('close', done);
  socket.on('error', () => client.destroy());
  client.on('data', (chunk: Buffer) => socket.write(chunk));
  client.on('end', () => socket.end());
  client.on('error', () => socket.destroy());
  client.resume();
}
