/**
 * Makes zod parse without compiling schemas. zod compiles an object schema into a function (`new Function`) the
 * first time it parses with it; this server parses with most schemas once at start-up or once per call, where the
 * compilation costs more than it saves: 5 to 10 ms of the start-up (the configuration, the first MCP messages),
 * against about a microsecond per parse afterwards (1.1 µs compiled, 2.4 µs not, for a tools/call request).
 *
 * zod reads this when a schema is made, and the bundle makes schemas as its chunks are evaluated (the MCP SDK's,
 * the configuration's), before any code of index.ts runs: so this sets the global that zod keeps its settings in
 * (`globalThis.__zod_globalConfig`, shared by every copy of zod, the same object as `z.config()`) without importing
 * zod, and is evaluated first (src/start-first.ts). test/unit/zod-jitless.test.ts checks that zod still reads it.
 */
const holder = globalThis as { __zod_globalConfig?: { jitless?: boolean } };
(holder.__zod_globalConfig ??= {}).jitless = true;
