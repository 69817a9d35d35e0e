import { defineConfig, type Plugin } from 'vitest/config';

/** Loads `.py` files as text, as tsup's loader does for the build. */
const pythonAsText: Plugin = {
  name: 'python-as-text',
  transform(code, id) {
    return id.endsWith('.py') ? { code: `export default ${JSON.stringify(code)};`, map: null } : undefined;
  },
};

export default defineConfig({
  plugins: [pythonAsText],
  test: {
    include: ['test/**/*.test.ts'],
    // Stops the Docker engine: run alone by vitest.engine-restart.config.ts (npm test does, after this).
    exclude: ['test/engine-restart/**', 'node_modules/**'],
    // Docker-backed suites create real containers: generous limits, and at most two files at once on 2 cores.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    maxWorkers: 2,
    pool: 'forks',
    reporters: ['default'],
  },
});
