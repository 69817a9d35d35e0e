import { describe, expect, it } from 'vitest';
import { FileDigest } from '../../src/sandbox/file-digest.js';

// A download's bytes pass through FileDigest on their way to a spill file, inside the engine stream's data events:
// a failure of the file there must not throw out of the event (it would take the server down).

describe('FileDigest', () => {
  it('keeps the first failure of its sink instead of throwing, and passes nothing on after it', () => {
    const written: Buffer[] = [];
    let fail = false;
    const digest = new FileDigest({
      write: (chunk) => {
        if (fail) throw new Error('ENOSPC: no space left on device');
        written.push(chunk);
      },
    });
    digest.write(Buffer.from('one '));
    fail = true;
    expect(() => digest.write(Buffer.from('two '))).not.toThrow();
    fail = false;
    digest.write(Buffer.from('three'));
    expect(digest.failure?.message).toMatch(/ENOSPC/);
    expect(Buffer.concat(written).toString()).toBe('one ');
    expect(digest.size).toBe(4);
  });
});
