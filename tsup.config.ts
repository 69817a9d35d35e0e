import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';
import { asciiOutput } from './scripts/build/ascii-output.js';
import { englishZodLocale } from './scripts/build/english-zod-locale.js';
import { sdkWithoutDefaultAjv } from './scripts/build/sdk-without-default-ajv.js';

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

export default defineConfig({
  // heap-sizing is its own entry so that index.js imports it (and runs it) before every other chunk.
  entry: { index: 'src/index.ts', 'heap-sizing': 'src/heap-sizing.ts' },
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
  // less before tools/list). Backends (dockerode, e2b) and pino stay external and load as before. Bundled CommonJS
  // (ajv) needs a `require`, which the banner provides.
  noExternal: [/^@modelcontextprotocol\/sdk/, /^zod/, 'ajv', 'ajv-formats'],
  // Source the server does not need is not in its chunks: every byte of a loaded chunk stays in the heap as its
  // source text. zod's other 62 languages are not bundled; Ajv is in the command line's chunk only.
  esbuildPlugins: [englishZodLocale(), sdkWithoutDefaultAjv()],
  // Loaded source is held one byte per character only if all of it is Latin-1 (scripts/build/ascii-output.ts).
  esbuildOptions(options) {
    options.charset = 'ascii';
  },
  onSuccess: () => asciiOutput('dist'),
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
