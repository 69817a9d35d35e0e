import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { englishZodLocale } from '../../scripts/build/english-zod-locale.js';
import { lazyAjv } from '../../scripts/build/lazy-ajv.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const out = mkdtempSync(path.join(os.tmpdir(), 'build-plugins-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Counts, on globalThis, how many times Ajv's main module is evaluated (test instrumentation of the bundle). */
const countAjvEvaluations: Plugin = {
  name: 'count-ajv-evaluations',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]ajv[\\/]dist[\\/]ajv\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      return {
        contents: `globalThis.__ajvEvaluations = (globalThis.__ajvEvaluations ?? 0) + 1;\n${source}`,
        loader: 'js',
      };
    });
  },
};

/** Bundles `code` (an ES module in the repository's root) as tsup does, with these plugins, and imports it. */
async function bundleAndImport(name: string, code: string, plugins: Plugin[]): Promise<Record<string, unknown>> {
  const file = path.join(out, `${name}.mjs`);
  await build({
    stdin: { contents: code, resolveDir: root, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outfile: file,
    plugins,
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'silent',
  });
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

type Validator = { getValidator(schema: object): (input: unknown) => { valid: boolean; errorMessage?: string } };

describe('the bundle loads Ajv when the first validator is made, not at import (scripts/build/lazy-ajv.ts)', () => {
  const g = globalThis as { __ajvEvaluations?: number };

  it('imports the SDK server without evaluating Ajv; its first default validator loads it and validates', async () => {
    delete g.__ajvEvaluations;
    const sdk = await bundleAndImport(
      'sdk-server',
      `export { Server } from '@modelcontextprotocol/sdk/server/index.js';
       export { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';`,
      [lazyAjv(), countAjvEvaluations],
    );
    expect(g.__ajvEvaluations).toBeUndefined();

    // What this server does: its own validator, so the SDK never makes an Ajv instance.
    const Server = sdk.Server as new (info: object, options: object) => unknown;
    new Server({ name: 't', version: '1' }, { jsonSchemaValidator: { getValidator: () => () => ({ valid: true }) } });
    expect(g.__ajvEvaluations).toBeUndefined();

    // The SDK's default, as for an elicitation's answer: Ajv with its formats, loaded once, when first made.
    const Ajv = sdk.AjvJsonSchemaValidator as new () => Validator;
    const validate = new Ajv().getValidator({
      type: 'object',
      properties: { email: { type: 'string', format: 'email' }, age: { type: 'integer', minimum: 0 } },
      required: ['email'],
    });
    expect(g.__ajvEvaluations).toBe(1);
    expect(validate({ email: 'a@example.org', age: 3 })).toMatchObject({ valid: true });
    const wrong = validate({ email: 'not an address', age: -1 });
    expect(wrong.valid).toBe(false);
    expect(wrong.errorMessage).toMatch(/email.*format "email"/);
    expect(wrong.errorMessage).toMatch(/age.*>= 0/);
    new Ajv();
    expect(g.__ajvEvaluations).toBe(1);
  });

  it('without the plugin, the same import evaluates Ajv at once (what the plugin changes)', async () => {
    delete g.__ajvEvaluations;
    await bundleAndImport('sdk-server-eager', `export { Server } from '@modelcontextprotocol/sdk/server/index.js';`, [
      countAjvEvaluations,
    ]);
    expect(g.__ajvEvaluations).toBe(1);
  });
});

describe("the bundle has zod's English messages only (scripts/build/english-zod-locale.ts)", () => {
  it('keeps English error messages and leaves the other languages out', async () => {
    const zod = await bundleAndImport(
      'zod-en',
      `import { z } from 'zod';
       export const locales = Object.keys(z.locales);
       export const message = z.object({ name: z.string().min(2) }).safeParse({ name: 'a' }).error.issues[0].message;`,
      [englishZodLocale()],
    );
    expect(zod.locales).toEqual(['en']);
    expect(zod.message).toBe('Too small: expected string to have >=2 characters');
  });
});
