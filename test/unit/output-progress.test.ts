import { describe, expect, it, vi } from 'vitest';
import { OutputProgress } from '../../src/tools/output-progress.js';

describe('OutputProgress', () => {
  it('sends whole lines, not the pieces a program wrote them in', () => {
    const sent: string[] = [];
    const p = new OutputProgress((m) => sent.push(m));
    for (const piece of ['tick', ' 0', '\n', 'tick 1\ntick', ' 2\n']) p.push('stdout', Buffer.from(piece));
    p.finish();
    expect(sent).toEqual(['stdout: tick 0\n', 'stdout: tick 1\n', 'stdout: tick 2\n']);
  });

  it('sends a partial line after a short wait, and the rest at the end', () => {
    vi.useFakeTimers();
    try {
      const sent: string[] = [];
      const p = new OutputProgress((m) => sent.push(m));
      p.push('stderr', Buffer.from('Enter a value: '));
      expect(sent).toEqual([]);
      vi.advanceTimersByTime(100);
      expect(sent).toEqual(['stderr: Enter a value: ']);
      p.push('stdout', Buffer.from('no newline'));
      p.finish();
      expect(sent).toEqual(['stderr: Enter a value: ', 'stdout: no newline']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps multi-byte characters whole across chunks', () => {
    const sent: string[] = [];
    const p = new OutputProgress((m) => sent.push(m));
    const bytes = Buffer.from('héllo\n');
    p.push('stdout', bytes.subarray(0, 2));
    p.push('stdout', bytes.subarray(2));
    expect(sent).toEqual(['stdout: héllo\n']);
  });

  it('stops streaming after its budget and says so once', () => {
    const sent: string[] = [];
    const p = new OutputProgress((m) => sent.push(m));
    const line = Buffer.from('x'.repeat(1023) + '\n');
    for (let i = 0; i < 1000; i++) p.push('stdout', line);
    p.finish();
    expect(sent.filter((m) => m.startsWith('[output continues'))).toHaveLength(1);
    expect(sent.reduce((n, m) => n + m.length, 0)).toBeLessThan(300 * 1024);
  });
});
