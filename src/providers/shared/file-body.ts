import type { FileBody } from '../provider.js';

/** How many bytes a file body has. */
export const bodySize = (body: FileBody): number => (Buffer.isBuffer(body) ? body.length : body.size);

/** A body as one Buffer, for a backend whose API takes the whole content at once (E2B's files.write). */
export function bodyBytes(body: FileBody): Buffer {
  if (Buffer.isBuffer(body)) return body;
  const bytes = Buffer.allocUnsafe(body.size);
  let at = 0;
  for (const chunk of body.chunks()) at += chunk.copy(bytes, at);
  if (at !== body.size) throw new Error(`a streamed body gave ${at} bytes, not the ${body.size} it announced`);
  return bytes;
}

/**
 * Writes a body to a stream. A streamed body is read from disk a piece at a time, never gathered, and each piece
 * is written before the next is read (its buffer may be read into again). Resolves once every byte was handed to
 * the stream, or when it closes.
 */
export async function writeBody(
  stream: NodeJS.WritableStream & { destroyed?: boolean },
  body: FileBody,
): Promise<void> {
  if (Buffer.isBuffer(body)) {
    stream.write(body);
    return;
  }
  let sent = 0;
  for (const chunk of body.chunks()) {
    if (stream.destroyed) return;
    sent += chunk.length;
    await new Promise<void>((resolve) => {
      const done = () => {
        stream.off('close', done);
        resolve();
      };
      stream.once('close', done);
      stream.write(chunk, done);
    });
  }
  if (sent !== body.size) throw new Error(`a streamed body gave ${sent} bytes, not the ${body.size} it announced`);
}
