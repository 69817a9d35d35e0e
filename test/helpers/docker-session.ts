import { Writable } from 'node:stream';
import pino from 'pino';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Config } from '../../src/config.js';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { DockerProvider, type DockerProviderOptions } from '../../src/providers/docker/docker-provider.js';
import { dockerOptions } from '../../src/providers/index.js';
import { createServer } from '../../src/server.js';

import { okCaller, toolCaller, trackingCreated } from './tool-call.js';
import { wirePair } from './wire-pair.js';

export type { ToolCall } from './tool-call.js';

/** Every log line the server wrote, to check what it says (and never says). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.lines.push(chunk.toString('utf8'));
    done();
  }
  get text(): string {
    return this.lines.join('');
  }
}

/**
 * A server on the real Docker engine, reached by a real MCP client in memory. Sandboxes it creates are tracked
 * and deleted by `close()`, whatever the tests did; sessions that take over after a restart share the set.
 */
export async function dockerSession(
  config: Config,
  logs = new LogCapture(),
  created = new Set<string>(),
  providerOptions: Partial<DockerProviderOptions> = {},
) {
  const log = pino({ level: 'debug' }, logs);
  const provider = new DockerProvider(
    connectDocker(process.env.DOCKER_HOST),
    { ...dockerOptions(config), ...providerOptions },
    log,
  );
  const { server, sandboxes, cleanup } = createServer({ config, provider, log });
  const client = new Client({ name: 'docker-test', version: '1.0.0' });
  const [a, b] = wirePair();
  await Promise.all([server.connect(b), client.connect(a)]);
  await client.listTools(); // from here on the client checks results against each outputSchema
  const call = trackingCreated(toolCaller(client), created);
  /** Calls a tool that must succeed; the failure message names the call and its error. */
  const ok = okCaller(call);

  return {
    created,
    call,
    ok,
    logs,
    sandboxes,
    provider,
    /** Leaves the sandboxes in place: for restart tests, where another session takes over. */
    detach: async () => {
      await client.close();
      await cleanup();
    },
    close: async () => {
      for (const id of created) await call('sandbox_delete', { sandbox_id: id }).catch(() => undefined);
      await client.close();
      await cleanup();
    },
  };
}
