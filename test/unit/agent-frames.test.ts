import { describe, expect, it } from 'vitest';
import { FrameReader, frameHeader, type Frame } from '../../src/providers/docker/agent/agent-frames.js';

// The run agent's wire format as the server reads it (agent.py writes it; test/unit/agent-protocol.test.ts runs
// the two together): a JSON line, then exactly `n` raw bytes when the line says `n`.

const frame = (header: object, body?: Buffer) =>
  Buffer.concat([Buffer.from(frameHeader(header, body)), body ?? Buffer.alloc(0)]);

function read(stream: Buffer, pieceBytes: number): Frame[] {
  const frames: Frame[] = [];
  const reader = new FrameReader((f) => frames.push(f));
  for (let at = 0; at < stream.length; at += pieceBytes) reader.push(stream.subarray(at, at + pieceBytes));
  return frames;
}

describe('agent frames', () => {
  const body = Buffer.from('line one\n{"ev":"exit","code":0}\n\u00ff\u0000', 'latin1');
  const stream = Buffer.concat([
    frame({ ev: 'ready', pid: 7 }),
    frame({ id: 'r1', ev: 'out', s: 1 }, body),
    frame({ id: 'r1', ev: 'out', s: 2 }, Buffer.alloc(0)),
    frame({ id: 'r1', ev: 'exit', code: 0 }),
  ]);
  const expected = [
    { header: { ev: 'ready', pid: 7 } },
    { header: { id: 'r1', ev: 'out', s: 1, n: body.length }, body },
    { header: { id: 'r1', ev: 'out', s: 2, n: 0 }, body: Buffer.alloc(0) },
    { header: { id: 'r1', ev: 'exit', code: 0 } },
  ];

  it('reads headers and raw bodies (newlines and JSON inside included) whatever the chunk boundaries', () => {
    for (const piece of [1, 2, 3, 7, 16, stream.length]) expect(read(stream, piece)).toEqual(expected);
  });

  it('hands out a body that is its own copy, not a view of the chunk it came in', () => {
    const chunk = Buffer.from(stream);
    const [, out] = read(chunk, chunk.length);
    chunk.fill(0);
    expect(out!.body).toEqual(body);
  });

  it('drops an over-long header line, and a body over its cap, and reads the frames after them', () => {
    const junk = Buffer.concat([Buffer.alloc(2 * 1024 * 1024, 'x'), Buffer.from('\n')]);
    const huge = Buffer.concat([Buffer.from('{"ev":"out","n":2000000}\n'), Buffer.alloc(2_000_000, '\n')]);
    const frames = read(Buffer.concat([junk, huge, stream]), 65536);
    expect(frames).toEqual(expected);
  });

  it('skips a line that is not a JSON object', () => {
    expect(read(Buffer.concat([Buffer.from('not json\n[1]\n'), stream]), 5)).toEqual(expected);
  });
});
