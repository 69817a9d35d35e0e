import type { ContentBlock, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { Logger } from '../logger.js';
import type { SandboxService } from '../sandbox/sandbox-service.js';
import type { SpillFile } from '../util/spill-file.js';

export interface ToolDeps {
  sandboxes: SandboxService;
  log: Logger;
}

/** What a handler may use of the call it serves. */
export interface CallContext {
  signal: AbortSignal;
  /** Sends a progress notification; undefined when the call carried no progress token. */
  progress?: (message: string) => void;
  /**
   * Arguments of `streamedArguments` that came spilled to disk (a long string over stdio), by name; the argument
   * itself is then ''. The registry closes them once the handler is done.
   */
  streamed: ReadonlyMap<string, SpillFile>;
}

export interface ToolResult<O> {
  structured: O;
  /** A short text for clients (and people) that do not read structured content. */
  text: string;
  /** Content blocks after the text: images and files handed back. */
  blocks?: ContentBlock[];
}

export interface ToolDefinition<
  I extends z.ZodObject = z.ZodObject,
  O extends z.ZodObject = z.ZodObject,
  N extends string = string,
> {
  name: N;
  title: string;
  description: string;
  inputSchema: I;
  outputSchema: O;
  annotations: Required<Pick<ToolAnnotations, 'readOnlyHint' | 'destructiveHint' | 'idempotentHint' | 'openWorldHint'>>;
  /** Top-level string arguments the handler can take as a spill file (CallContext.streamed) instead of a string. */
  streamedArguments?: readonly string[];
  /**
   * Serves a call whose arguments passed `inputSchema`. Declared as a method so that tools of different schemas
   * share one list type (method parameters are compared bivariantly); the registry only ever passes parsed input.
   */
  handler(args: z.output<I>, deps: ToolDeps, call: CallContext): Promise<ToolResult<z.input<O>>>;
}

/** Keeps the tool's name and schema types attached to it (the handler's, and `ToolTypes` in `tool-types.ts`). */
export const defineTool = <I extends z.ZodObject, O extends z.ZodObject, const N extends string>(
  tool: ToolDefinition<I, O, N>,
): ToolDefinition<I, O, N> => tool;

/** ISO-8601 string of a date, the form every timestamp takes in results. */
export const iso = (d: Date): string => d.toISOString();
