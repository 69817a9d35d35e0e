import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';
import { englishZodLocale } from './scripts/build/english-zod-locale.js';
import { lazyAjv } from './scripts/build/lazy-ajv.js';

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

export default defineConfig({
  // start-first is its own entry so that index.js imports it (and runs it) before every other chunk.
  entry: { index: 'src/index.ts', 'start-first': 'src/start-first.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  outDir: 'dist',
  clean: true,
  sourcemap: true,
  splitting: true,
  define: { __VERSION__: JSON.stringify(version) },
  // The in-sandbox run agent is Python, shipped inside the bundle as text.
  loader: { '.py': 'text' },
  // The MCP SDK, zod and ajv are bundled: Node then loads a few files instead of hundreds at start-up (~60 ms
  // less before tools/list). Backends (dockerode, e2b) and pino stay external and load as before (pino bundled
  // started ~10 ms sooner, but the main benchmark's memory peaked ~4 MB higher: docs/benchmarks.md, "Start-up").
  // Bundled CommonJS (ajv) needs a `require`, which the banner provides.
  noExternal: [/^@modelcontextprotocol\/sdk/, /^zod/, 'ajv', 'ajv-formats'],
  // What the start-up does not need is not evaluated (Ajv) or not bundled at all (zod's other languages).
  esbuildPlugins: [lazyAjv(), englishZodLocale()],
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
