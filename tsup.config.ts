import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

export default defineConfig({
  // young-generation is its own entry so that index.js imports it (and runs it) before every other chunk.
  entry: { index: 'src/index.ts', 'young-generation': 'src/young-generation.ts' },
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
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
