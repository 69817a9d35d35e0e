/**
 * The run agent's wire format, both ways (agent.py implements the other end): a frame is one JSON object on a line,
 * and when that object has `"n": <count>`, exactly that many raw bytes follow the newline. Bytes (a run's stdin,
 * its output) travel as they are: no base64 and no JSON string around them, so an 8 MiB upload is written to the
 * agent from the Buffer it already is, without the three ~11 MB copies (base64, JSON, the socket's bytes) that a
 * JSON line would cost.
 */

/** Frame headers are short JSON objects; a longer line is not ours and is dropped, bounding memory. */
const MAX_HEADER_BYTES = 1024 * 1024;
/** The agent sends output in pieces of at most 64 KiB; a body above this is consumed but not kept. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface Frame {
  header: Record<string, unknown>;
  /** The raw bytes after the header, when it had `n`. */
  body?: Buffer;
}

/** The header line of a frame; followed by the body itself (`body` bytes, or that Buffer) when there is one. */
export function frameHeader(header: object, body?: Buffer | number): string {
  const n = typeof body === 'number' ? body : body?.length;
  return `${JSON.stringify(n === undefined ? header : { ...header, n })}\n`;
}

/** Splits a byte stream into frames, across arbitrary chunk boundaries. */
export class FrameReader {
  private headerParts: Buffer[] = [];
  private headerBytes = 0;
  /** Skipping the rest of an oversize header line. */
  private skippingLine = false;
  private body?: {
    header: Record<string, unknown>;
    parts: Buffer[] | null;
    need: number;
    got: number;
    stream?: (part: Buffer) => void;
  };

  /**
   * `streamBody`, when it returns a consumer for a frame's header, gets that frame's body as the views of the
   * stream's chunks it arrives in, as they arrive (neither kept nor copied: a download's bytes), and `onFrame` then
   * gets the frame without its body once the last byte has passed.
   */
  constructor(
    private readonly onFrame: (frame: Frame) => void,
    private readonly streamBody?: (header: Record<string, unknown>) => ((part: Buffer) => void) | undefined,
  ) {}

  push(chunk: Buffer): void {
    let rest = chunk;
    while (rest.length > 0) {
      if (this.body) {
        rest = this.takeBody(rest);
        continue;
      }
      const newline = rest.indexOf(0x0a);
      if (newline === -1) {
        this.takeHeaderPart(rest);
        return;
      }
      this.takeHeaderPart(rest.subarray(0, newline));
      rest = rest.subarray(newline + 1);
      this.endHeader();
    }
  }

  private takeHeaderPart(part: Buffer): void {
    if (this.skippingLine) return;
    this.headerParts.push(part);
    this.headerBytes += part.length;
    if (this.headerBytes > MAX_HEADER_BYTES) {
      this.headerParts = [];
      this.headerBytes = 0;
      this.skippingLine = true;
    }
  }

  private endHeader(): void {
    const parts = this.headerParts;
    this.headerParts = [];
    this.headerBytes = 0;
    if (this.skippingLine) {
      this.skippingLine = false;
      return;
    }
    let header: unknown;
    try {
      header = JSON.parse((parts.length === 1 ? parts[0]! : Buffer.concat(parts)).toString('utf8'));
    } catch {
      return;
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) return;
    const h = header as Record<string, unknown>;
    const n = h.n;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return this.onFrame({ header: h });
    if (n === 0) return this.onFrame({ header: h, body: Buffer.alloc(0) });
    const stream = this.streamBody?.(h);
    this.body = { header: h, parts: n <= MAX_BODY_BYTES && !stream ? [] : null, need: n, got: 0, stream };
  }

  private takeBody(rest: Buffer): Buffer {
    const body = this.body!;
    const take = Math.min(body.need - body.got, rest.length);
    body.parts?.push(rest.subarray(0, take));
    body.stream?.(rest.subarray(0, take));
    body.got += take;
    if (body.got === body.need) {
      this.body = undefined;
      // A copy of its own (at most 64 KiB from the agent), so that whoever keeps it does not keep the socket's chunks.
      if (body.parts) this.onFrame({ header: body.header, body: Buffer.concat(body.parts, body.need) });
      else if (body.stream) this.onFrame({ header: body.header });
    }
    return rest.subarray(take);
  }
}
