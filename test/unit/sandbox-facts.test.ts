import { describe, expect, it } from 'vitest';
import type { SandboxInfo } from '../../src/providers/provider.js';
import { SandboxFacts } from '../../src/sandbox/facts.js';

const info = (id: string): SandboxInfo =>
  ({ id, name: id, template: 'python', language: 'python', state: 'running' }) as SandboxInfo;

/** A provider that counts how often it is asked. */
function countingProvider() {
  const asked: string[] = [];
  return { asked, get: async (id: string) => (asked.push(id), info(id)) };
}

describe('SandboxFacts', () => {
  it('asks the backend once per sandbox, then answers from memory', async () => {
    const provider = countingProvider();
    const facts = new SandboxFacts(provider);
    expect((await facts.of('a')).template).toBe('python');
    await facts.of('a');
    await facts.of('b');
    expect(provider.asked).toEqual(['a', 'b']);
  });

  it('knows a sandbox it was told of without asking, and asks again once it forgot it', async () => {
    const provider = countingProvider();
    const facts = new SandboxFacts(provider);
    facts.remember(info('made'));
    await facts.of('made');
    expect(provider.asked).toEqual([]);
    facts.forget('made');
    await facts.of('made');
    expect(provider.asked).toEqual(['made']);
  });

  it('drops every sandbox that is no longer live', async () => {
    const provider = countingProvider();
    const facts = new SandboxFacts(provider);
    facts.remember(info('kept'));
    facts.remember(info('gone'));
    facts.retain(new Set(['kept']));
    await facts.of('kept');
    await facts.of('gone');
    expect(provider.asked).toEqual(['gone']);
  });
});
