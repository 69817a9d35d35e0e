import { describe, expect, it } from 'vitest';
import { StreamDemuxer } from '../../src/providers/docker/demux.js';
import { ExitMarkerScanner } from '../../src/providers/shared/exit-marker.js';

const frame = (type: number, payload: string) => {
  const body = Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
};

describe('StreamDemuxer', () => {
  it('splits frames into stdout and stderr across arbitrary chunk boundaries', () => {
    const got: Record<string, string> = { stdout: '', stderr: '' };
    const order: string[] = [];
    const d = new StreamDemuxer((s, p) => {
      got[s] += p.toString();
      if (order.at(-1) !== s) order.push(s);
    });
    const wire = Buffer.concat([frame(1, 'hello '), frame(2, 'oops'), frame(1, 'world')]);
    for (let i = 0; i < wire.length; i += 3) d.push(wire.subarray(i, i + 3));
    expect(got).toEqual({ stdout: 'hello world', stderr: 'oops' });
    expect(order).toEqual(['stdout', 'stderr', 'stdout']);
  });

  it("hands payloads on as views of the socket's chunks, never copies (a download's bytes pass through)", () => {
    const payload = Buffer.alloc(40_000, 7);
    const wire = Buffer.concat([frame(1, 'x'), frame(1, payload.toString())]);
    const views: Buffer[] = [];
    const d = new StreamDemuxer((_s, p) => views.push(p));
    const first = Buffer.from(wire.subarray(0, 20_000));
    const second = Buffer.from(wire.subarray(20_000));
    d.push(first);
    d.push(second);
    expect(Buffer.concat(views).subarray(1).equals(payload)).toBe(true);
    // Every piece shares memory with the chunk it came in.
    for (const v of views) expect([first.buffer, second.buffer]).toContain(v.buffer);
  });
});

describe('ExitMarkerScanner', () => {
  const NONCE = 'abc123';

  it('finds the exit code, strips the marker, and ignores what follows', () => {
    const out: string[] = [];
    const s = new ExitMarkerScanner(NONCE, (c) => out.push(c.toString()));
    s.push(Buffer.from('result\n'));
    s.push(Buffer.from(`\n${NONCE}:4`));
    s.push(Buffer.from('2\nlate daemon output'));
    expect(s.exitCode).toBe(42);
    expect(out.join('')).toBe('result\n');
  });

  it('delivers ordinary output at once, holding back only what could start a marker', () => {
    const out: string[] = [];
    const s = new ExitMarkerScanner(NONCE, (c) => out.push(c.toString()));
    s.push(Buffer.from('going'));
    expect(out.join('')).toBe('going');
    s.push(Buffer.from('\n'));
    expect(out.join('')).toBe('going'); // a newline may begin the marker
    s.push(Buffer.from('more'));
    expect(out.join('')).toBe('going\nmore');
  });

  it('treats a look-alike that is not a marker as output', () => {
    const out: string[] = [];
    const s = new ExitMarkerScanner(NONCE, (c) => out.push(c.toString()));
    s.push(Buffer.from(`\n${NONCE}:notanumber\nrest`));
    s.flush();
    expect(s.done).toBe(false);
    expect(out.join('')).toBe(`\n${NONCE}:notanumber\nrest`);
  });
});
