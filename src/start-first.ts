/**
 * What must happen before any other module of the server is evaluated. It is its own entry point in the build
 * (tsup.config.ts), so that index.js imports its chunk before every other one (test/e2e/lean-start.test.ts).
 */
import './young-generation.js'; // sizes the heap's young generation
import './zod-jitless.js'; // before the first zod schema is made
