import base from './vitest.config.js';

/** The engine-restart suite stops Docker: it runs on its own, after every other suite. */
export default {
  ...base,
  test: { ...base.test, include: ['test/engine-restart/**/*.test.ts'], exclude: [] },
};
