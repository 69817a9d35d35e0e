/**
 * Connect protocol (JSON codec) plumbing for the fake envd: the SDK talks to envd with
 * `@connectrpc/connect-web`'s `createConnectTransport({ useBinaryFormat: false })`, so
 *
 * - unary calls are `POST /<service>/<Method>` with an `application/json` body; the answer is HTTP 200 +
 *   `application/json`, or an error status (see `HTTP_STATUS`) + `application/json` `{code, message}`;
 * - server-streaming calls send one enveloped message with `application/connect+json`; the answer is HTTP 200 +
 *   `application/connect+json` carrying enveloped messages, the last of which has the end-of-stream flag (0x02)
 *   and holds `{}` or `{"error":{code,message}}`.
 *
 * An envelope is 1 flags byte + a big-endian uint32 length + the payload (see @connectrpc/connect's
 * protocol/envelope.js and protocol-connect/end-stream.js, which this mirrors).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const END_STREAM_FLAG = 0x02;
const COMPRESSED_FLAG = 0x01;

/** Connect error codes as they appear on the wire (snake_case, see protocol-connect/code-string.js). */
export type ConnectCode =
  | 'canceled'
  | 'unknown'
  | 'invalid_argument'
  | 'deadline_exceeded'
  | 'not_found'
  | 'already_exists'
  | 'permission_denied'
  | 'resource_exhausted'
  | 'failed_precondition'
  | 'aborted'
  | 'out_of_range'
  | 'unimplemented'
  | 'internal'
  | 'unavailable'
  | 'data_loss'
  | 'unauthenticated';

/** HTTP status for a unary error, as connect-go (envd's server) maps it. */
const HTTP_STATUS: Record<ConnectCode, number> = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401,
};

/** An error a handler throws to answer with a Connect error of this code. */
export class ConnectRpcError extends Error {
  constructor(
    readonly code: ConnectCode,
    message: string,
  ) {
    super(message);
    this.name = 'ConnectRpcError';
  }
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function encodeEnvelope(flags: number, payload: Buffer | string): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const header = Buffer.alloc(5);
  header.writeUInt8(flags, 0);
  header.writeUInt32BE(data.length, 1);
  return Buffer.concat([header, data]);
}

export function decodeEnvelopes(buf: Buffer): Array<{ flags: number; data: Buffer }> {
  const out: Array<{ flags: number; data: Buffer }> = [];
  let offset = 0;
  while (offset < buf.length) {
    if (buf.length - offset < 5)
      throw new ConnectRpcError('invalid_argument', 'protocol error: incomplete envelope header');
    const flags = buf.readUInt8(offset);
    const length = buf.readUInt32BE(offset + 1);
    const end = offset + 5 + length;
    if (end > buf.length) throw new ConnectRpcError('invalid_argument', 'protocol error: incomplete envelope');
    out.push({ flags, data: buf.subarray(offset + 5, end) });
    offset = end;
  }
  return out;
}

function parseJson(data: Buffer): Record<string, unknown> {
  const text = data.toString('utf8').trim();
  if (text === '') return {};
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConnectRpcError('invalid_argument', 'request message must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/** The single request message of a server-streaming call. */
export function parseStreamRequest(body: Buffer): Record<string, unknown> {
  const envelopes = decodeEnvelopes(body);
  const first = envelopes[0];
  if (!first) throw new ConnectRpcError('invalid_argument', 'protocol error: missing request message');
  if (first.flags & COMPRESSED_FLAG)
    throw new ConnectRpcError('internal', 'protocol error: compressed messages are not supported');
  try {
    return parseJson(first.data);
  } catch (err) {
    if (err instanceof ConnectRpcError) throw err;
    throw new ConnectRpcError('invalid_argument', `invalid JSON request: ${(err as Error).message}`);
  }
}

/** The request message of a unary call (plain JSON body). */
export function parseUnaryRequest(body: Buffer): Record<string, unknown> {
  try {
    return parseJson(body);
  } catch (err) {
    if (err instanceof ConnectRpcError) throw err;
    throw new ConnectRpcError('invalid_argument', `invalid JSON request: ${(err as Error).message}`);
  }
}

export function sendUnary(res: ServerResponse, message: object): void {
  const body = JSON.stringify(message);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendUnaryError(res: ServerResponse, err: ConnectRpcError): void {
  const body = JSON.stringify({ code: err.code, message: err.message });
  res.writeHead(HTTP_STATUS[err.code], {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** The response side of one server-streaming call: messages, then exactly one end-of-stream envelope. */
export class ServerStream {
  private ended = false;
  private readonly closeHandlers: Array<() => void> = [];

  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, { 'Content-Type': 'application/connect+json' });
    res.flushHeaders();
    // The client went away (disconnect, abort, deadline): stop writing, let owners clean up.
    res.on('close', () => {
      const wasOpen = !this.ended;
      this.ended = true;
      if (wasOpen) for (const handler of this.closeHandlers.splice(0)) handler();
    });
  }

  get open(): boolean {
    return !this.ended;
  }

  /** Runs when the stream stops early because the client disconnected. */
  onClientClose(handler: () => void): void {
    this.closeHandlers.push(handler);
  }

  send(message: object): void {
    if (this.ended) return;
    this.res.write(encodeEnvelope(0, JSON.stringify(message)));
  }

  end(error?: ConnectRpcError): void {
    if (this.ended) return;
    this.ended = true;
    this.closeHandlers.length = 0;
    const trailer = error ? { error: { code: error.code, message: error.message } } : {};
    this.res.end(encodeEnvelope(END_STREAM_FLAG, JSON.stringify(trailer)));
  }
}
