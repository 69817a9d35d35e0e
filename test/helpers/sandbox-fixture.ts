import { it, onTestFailed } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import type { SandboxProvider, SandboxSpec } from '../../src/providers/provider.js';

/** Where the fixture gets its sandboxes: read at each test (a suite's provider is often made in its beforeAll). */
export interface SandboxSource {
  provider(): SandboxProvider;
  /** A creatable spec for this backend, with the test's overrides on top. */
  spec(overrides: Partial<SandboxSpec>): SandboxSpec;
}

export interface SandboxFixtures {
  /** Overrides of the sandbox's spec for a group of tests: `test.scoped({ sandboxSpec: { ... } })`. */
  sandboxSpec: Partial<SandboxSpec>;
  /** The test's own sandbox, running, made from `sandboxSpec`; removed after the test whatever happened. */
  sandbox: SandboxSpec;
}

/**
 * A test function whose tests each get a sandbox of their own (as e2b-dev/E2B's `sandboxTest` in
 * packages/js-sdk/tests/setup.ts does): no test sees what another left, so they pass in any order and alone. A
 * failure names the sandbox it ran in, and the sandbox is always removed (a test may remove it itself).
 */
export function sandboxTest(source: SandboxSource) {
  return it.extend<SandboxFixtures>({
    sandboxSpec: {},
    sandbox: async ({ sandboxSpec }, use) => {
      const provider = source.provider();
      const spec = source.spec(sandboxSpec);
      const label = `[sandbox ${spec.id} "${spec.name}"]`;
      onTestFailed(({ task }) => {
        for (const error of task.result?.errors ?? []) error.message = `${label} ${error.message}`;
      });
      try {
        await provider.create(spec);
        await use(spec);
      } finally {
        await provider.remove(spec.id).catch((error: { code?: string }) => {
          if (error?.code !== ErrorCode.SANDBOX_NOT_FOUND) console.error(`${label} not removed:`, error);
        });
      }
    },
  });
}
