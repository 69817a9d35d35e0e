import { describe, expect, onTestFinished } from 'vitest';
import { FakeProvider } from '../helpers/fake-provider.js';
import { sandboxTest } from '../helpers/sandbox-fixture.js';
import { baseSpec } from '../contract/provider-contract.js';

// The per-test sandbox fixture that the provider contract stands on, held to what it promises.
const provider = new FakeProvider();
const test = sandboxTest({
  provider: () => provider,
  spec: (overrides) => baseSpec({ name: 'fixture', ...overrides }),
});

describe('per-test sandbox fixture', () => {
  const seen: string[] = [];
  // The test's errors, read once every hook of the failed test has run.
  let errors: { message: string }[] = [];

  test('gives a test a running sandbox of its own', async ({ sandbox }) => {
    expect(await provider.get(sandbox.id)).toMatchObject({ id: sandbox.id, name: 'fixture', state: 'running' });
    expect((await provider.list()).map((s) => s.id)).toEqual([sandbox.id]);
    seen.push(sandbox.id);
  });

  test('gives the next test another one, the last one removed', async ({ sandbox }) => {
    expect(sandbox.id).not.toBe(seen[0]);
    expect((await provider.list()).map((s) => s.id)).toEqual([sandbox.id]);
    seen.push(sandbox.id);
  });

  describe('with overrides of the spec', () => {
    test.scoped({ sandboxSpec: { name: 'renamed', metadata: { group: 'g' } } });
    test('makes the sandbox from them', async ({ sandbox }) => {
      expect(await provider.get(sandbox.id)).toMatchObject({ name: 'renamed', metadata: { group: 'g' } });
    });
  });

  test.fails('names the sandbox in the message of a failure (this test fails on purpose)', async ({ sandbox }) => {
    seen.push(sandbox.id);
    onTestFinished(({ task }) => void (errors = [...(task.result?.errors ?? [])]));
    expect('what the test got').toBe('something else');
  });

  test('... and removes it all the same', async () => {
    const failure = errors.map((e) => e.message).join('\n');
    expect(failure).toContain(`[sandbox ${seen[2]} "fixture"]`);
    expect(failure).toContain('something else');
    expect(await provider.list()).toEqual([]);
  });

  test('is not made for a test that does not ask for it', async () => {
    expect(await provider.list()).toEqual([]);
  });
});
