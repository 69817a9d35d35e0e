import { describe, expect, it } from 'vitest';
import { OutputCapture } from '../../src/sandbox/output-capture.js';

describe('OutputCapture', () => {
  it('keeps everything under the limit, whatever the chunking', () => {
    const c = new OutputCapture(100);
    for (const piece of ['ab', 'cd', 'ef']) c.push(Buffer.from(piece));
    expect(c.text()).toBe('abcdef');
    expect(c.truncated).toBe(false);
    expect(c.totalBytes).toBe(6);
  });

  it('keeps the head and the tail of a flood, in bounded memory', () => {
    const c = new OutputCapture(20);
    c.push(Buffer.from('0123456789'));
    for (let i = 0; i < 10_000; i++) c.push(Buffer.from('middle '));
    c.push(Buffer.from('abcdefghij'));
    expect(c.truncated).toBe(true);
    expect(c.totalBytes).toBe(20 + 70_000);
    const text = c.text();
    expect(text.startsWith('0123456789\n[... 70000 bytes omitted; 70020 bytes in all ...]\n')).toBe(true);
    expect(text.endsWith('abcdefghij')).toBe(true);
  });

  it('keeps the exact tail when one chunk overflows it', () => {
    const c = new OutputCapture(10);
    c.push(Buffer.from('HEADx'));
    c.push(Buffer.from('y'.repeat(50) + 'TAIL!'));
    expect(c.text().endsWith('yyyyyTAIL!'.slice(-5))).toBe(true);
    expect(c.text()).toMatch(/^HEADx\n\[\.\.\. 50 bytes omitted/);
  });
});
