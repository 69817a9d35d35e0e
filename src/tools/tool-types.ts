import type { z } from 'zod';
import type { toolsFor } from './index.js';
import type { errorShape } from './registry.js';

/**
 * Each tool's argument and result types, by tool name, derived from its zod schemas: `input` is what a client may
 * send (defaults optional), `output` the structured content of a successful result. Types only: clients in
 * TypeScript (the tests) call tools by name and get results typed from the same schemas tools/list states.
 */
type AnyTool = ReturnType<typeof toolsFor>[number];

export type ToolTypes = {
  [T in AnyTool as T['name']]: { input: z.input<T['inputSchema']>; output: z.output<T['outputSchema']> };
};

export type ToolName = keyof ToolTypes;
export type ToolInput<N extends ToolName> = ToolTypes[N]['input'];
export type ToolOutput<N extends ToolName> = ToolTypes[N]['output'];

/** The structured content of every error result (SPEC §3): `{ error: { code, message, hint } }`. */
export type ToolErrorShape = z.output<typeof errorShape>;
