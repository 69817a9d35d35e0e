import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { EncodedBytes } from '../../src/transport/encoded-bytes.js';
import { writeJsonLine } from '../../src/transport/json-line-writer.js';

// How the server writes a message to stdout: the same line as JSON.stringify, but a download's content (or any
// large string) is written from the value itself in slices, never copied whole into the line.

function written(message: unknown): { line: string; longest: number; pieces: number } {
  const pieces: string[] = [];
  writeJsonLine(message, (chunk) => (pieces.push(chunk), true));
  return { line: pieces.join(''), longest: Math.max(...pieces.map((p) => p.length)), pieces: pieces.length };
}

describe('writeJsonLine', () => {
  const base64 = randomBytes(3 * 1024 * 1024).toString('base64'); // 4 Mi characters
  const text = ('line "one"\\\n\ttab \u0001 é 😀 ' + '\ud800' + ' end ').repeat(100_000);

  it('writes the line JSON.stringify gives, large strings (base64 or text needing escapes) in slices', () => {
    const message = {
      jsonrpc: '2.0',
      id: 3,
      result: {
        structuredContent: { content: base64, encoding: 'base64', again: text },
        content: [
          { type: 'text', text: 'small "quoted" text' },
          { type: 'text', text },
        ],
      },
    };
    const w = written(message);
    expect(w.line).toBe(`${JSON.stringify(message)}\n`);
    // Never the whole of a large string at once (escaping may make a slice of text longer than its characters).
    expect(w.longest).toBeLessThanOrEqual(6 * 1024 * 1024 + 2);
    expect(w.longest).toBeLessThan(base64.length);
    expect(w.pieces).toBeGreaterThan(10);
  });

  it('leaves alone content that looks like its own marks, and large strings in arrays', () => {
    const lookalike = '\u0000large-0123456789abcdef:0\u0000'.repeat(20_000);
    const message = { list: [lookalike, base64, 'x'], nested: { [`k${'y'.repeat(300_000)}`]: 1 } };
    expect(written(message).line).toBe(`${JSON.stringify(message)}\n`);
  });

  it('writes a small message and its newline in one write', () => {
    expect(written({ jsonrpc: '2.0', id: 1, result: {} })).toEqual({
      line: '{"jsonrpc":"2.0","id":1,"result":{}}\n',
      longest: 37,
      pieces: 1,
    });
  });

  it('writes every piece and the newline while the stream asks to wait for drain (its writes return false)', () => {
    const pieces: string[] = [];
    const message = { jsonrpc: '2.0', id: 2, result: { content: 'x'.repeat(100_000), big: base64 } };
    for (const m of [{ jsonrpc: '2.0', id: 1, result: { text: 'y'.repeat(200_000) } }, message]) {
      expect(writeJsonLine(m, (chunk) => (pieces.push(chunk), false))).toBe(false);
    }
    expect(pieces.join('')).toBe(
      `${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { text: 'y'.repeat(200_000) } })}\n${JSON.stringify(message)}\n`,
    );
  });

  it('writes EncodedBytes as the base64 or text of its bytes, slice by slice, never building the whole string', () => {
    // Chunks whose sizes are not multiples of 3, and a UTF-8 character cut between two of them.
    const bytes = randomBytes(3 * 1024 * 1024 + 7);
    const chunks = [bytes.subarray(0, 1), bytes.subarray(1, 1_000_001), bytes.subarray(1_000_001)];
    const text = Buffer.from('é€😀 "quoted" \\ \n\t\u0001 '.repeat(120_000));
    const cut = text.indexOf(Buffer.from('😀')) + 2;
    const base64 = new EncodedBytes(chunks, 'base64');
    const utf8 = new EncodedBytes([text.subarray(0, cut), text.subarray(cut)], 'utf8');
    const toJSON = vi.spyOn(EncodedBytes.prototype, 'toJSON');
    const w = written({ jsonrpc: '2.0', id: 9, result: { structuredContent: { content: base64, text: utf8 } } });
    expect(toJSON).not.toHaveBeenCalled();
    toJSON.mockRestore();
    const expected = {
      jsonrpc: '2.0',
      id: 9,
      result: { structuredContent: { content: bytes.toString('base64'), text: text.toString('utf8') } },
    };
    expect(w.line).toBe(`${JSON.stringify(expected)}\n`);
    // The whole base64 is 4.2 Mi characters: no piece is more than a slice of it.
    expect(w.longest).toBeLessThanOrEqual(2 * 1024 * 1024);
    // Another serializer still gets the string it stands for.
    expect(JSON.stringify({ c: new EncodedBytes(chunks, 'base64') })).toBe(
      JSON.stringify({ c: bytes.toString('base64') }),
    );
  });
});
