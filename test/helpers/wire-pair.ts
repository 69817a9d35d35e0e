import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { writeJsonLine } from '../../src/transport/json-line-writer.js';

/**
 * A linked client/server pair in memory whose messages cross as the stdio transport writes them (json-line-writer)
 * and are parsed back, as over a pipe: a value the server hands the transport to write (a download's content as
 * EncodedBytes) reaches the client as the JSON it becomes, not as the server's object.
 */
export function wirePair(): [client: InMemoryTransport, server: InMemoryTransport] {
  const [client, server] = InMemoryTransport.createLinkedPair();
  for (const side of [client, server]) {
    const send = side.send.bind(side);
    side.send = (message, options) => {
      const pieces: string[] = [];
      writeJsonLine(message, (chunk) => (pieces.push(chunk), true));
      return send(JSON.parse(pieces.join('')) as JSONRPCMessage, options);
    };
  }
  return [client, server];
}
