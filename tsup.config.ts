import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';
import { englishZodLocale } from './scripts/build/english-zod-locale.js';
import { lazyAjv } from './scripts/build/lazy-ajv.js';

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

/**
 * pino and the packages it loads when the server makes its logger. A pino transport (a worker thread loading its
 * files by path) would not work from the bundle; the server writes to stderr or a file through pino.destination.
 */
const PINO = [
  /^pino/,
  '@pinojs/redact',
  'sonic-boom',
  'atomic-sleep',
  'on-exit-leak-free',
  'quick-format-unescaped',
  'safe-stable-stringify',
  'thread-stream',
  'real-require',
  'process-warning',
];

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
  // The MCP SDK, zod, ajv and pino are bundled: Node then loads a few files instead of hundreds at start-up (~60 ms
  // less before tools/list for the first three, ~10 ms for pino, which Node also had to scan as CommonJS). Backends
  // (dockerode, e2b) stay external and load after start-up. Bundled CommonJS (ajv, pino) needs a `require`, which the
  // banner provides. docs/benchmarks.md ("Start-up, where the time goes") has the measurements.
  noExternal: [/^@modelcontextprotocol\/sdk/, /^zod/, 'ajv', 'ajv-formats', ...PINO],
  // What the start-up does not need is not evaluated (Ajv) or not bundled at all (zod's other languages).
  esbuildPlugins: [lazyAjv(), englishZodLocale()],
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
