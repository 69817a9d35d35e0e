import { z } from 'zod';

/**
 * zod compiles an object schema into a function (`new Function`) the first time it parses with it. Every message
 * and tool call parses with a few schemas once at start-up or in a call, where the compilation costs more than it
 * saves: 5 to 10 ms of the start-up (the configuration, the first MCP messages), against about a microsecond per
 * parse afterwards (1.1 µs compiled, 2.4 µs not, for a tools/call request). Imported first by src/index.ts.
 */
z.config({ jitless: true });
