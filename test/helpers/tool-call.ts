import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ErrorCode } from '../../src/errors.js';
import type { ToolErrorShape, ToolInput, ToolName, ToolOutput } from '../../src/tools/tool-types.js';

export type { ToolInput, ToolName, ToolOutput };

interface ResultBase {
  content: CallToolResult['content'];
  _meta?: CallToolResult['_meta'];
}

/** A successful call: its structured content is the tool's output type (from its zod output schema). */
export type ToolSuccess<N extends ToolName> = ResultBase & { isError?: false; structuredContent: ToolOutput<N> };

/** A failed call: its structured content is the error shape every tool shares (SPEC §3). */
export type ToolFailure = ResultBase & { isError: true; structuredContent: ToolErrorShape };

/**
 * What a call of tool N answers: narrow it with `if (r.isError)`, `ok(r)` or `failure(r)`. The SDK client has
 * checked the structured content against the tool's output schema (every helper lists the tools first, so the
 * client knows the schemas); these types are derived from the same zod schemas (src/tools/tool-types.ts).
 */
export type ToolCall<N extends ToolName = ToolName> = ToolSuccess<N> | ToolFailure;

export interface CallOptions {
  onprogress?: (p: { message?: string }) => void;
  timeout?: number;
  signal?: AbortSignal;
}

/** Calls tool N with arguments checked at compile time against its input schema. */
export type CallTool = <N extends ToolName>(name: N, args: ToolInput<N>, options?: CallOptions) => Promise<ToolCall<N>>;

/** Calls tool N, asserts that it succeeded and returns its typed output. */
export type CallToolOk = <N extends ToolName>(
  name: N,
  args: ToolInput<N>,
  options?: CallOptions,
) => Promise<ToolOutput<N>>;

/**
 * The one way every suite calls a tool: by name, with arguments, through a real MCP client. The result's type is
 * asserted here, the one place: the client has validated it against the output schema the types come from.
 */
export function toolCaller(client: Client, defaultTimeoutMs = 600_000): CallTool {
  return async <N extends ToolName>(name: N, args: ToolInput<N>, options: CallOptions = {}) =>
    (await client.callTool({ name, arguments: args }, undefined, {
      timeout: defaultTimeoutMs,
      ...options,
    })) as unknown as ToolCall<N>;
}

/** A `call` that adds the ID of each sandbox it creates to `created`, for the suite's cleanup to delete. */
export const trackingCreated =
  (call: CallTool, created: Set<string>): CallTool =>
  async (name, args, options) => {
    const r = await call(name, args, options);
    if (name === 'sandbox_create' && !r.isError)
      created.add((r.structuredContent as ToolOutput<'sandbox_create'>).sandbox_id);
    return r;
  };

/** A `call` that must succeed: the failure message names the call and the error it got. */
export const okCaller =
  (call: CallTool): CallToolOk =>
  async (name, args, options) =>
    ok(await call(name, args, options), `${name} ${JSON.stringify(args).slice(0, 200)}`);

/** Asserts that the call succeeded and returns its output. */
export function ok<N extends ToolName>(r: ToolCall<N>, what = 'the call'): ToolOutput<N> {
  if (r.isError) throw new Error(`${what} failed: ${JSON.stringify(r.structuredContent.error).slice(0, 500)}`);
  return r.structuredContent;
}

/** Asserts that the call failed and returns its error: `{ code, message, hint }`. */
export function failure(r: ToolCall, what = 'the call'): ToolErrorShape['error'] {
  if (!r.isError) throw new Error(`${what} succeeded: ${JSON.stringify(r.structuredContent).slice(0, 500)}`);
  return r.structuredContent.error;
}

/** The error code of a failed call, or undefined when the call succeeded. */
export const errorCode = (r: ToolCall): ErrorCode | undefined =>
  r.isError ? r.structuredContent.error.code : undefined;

/** The text of the result's first content block (every result starts with one). */
export function textOf(r: ToolCall): string {
  const first = r.content[0];
  if (first?.type !== 'text') throw new Error(`the result starts with a ${first?.type ?? 'missing'} block, not text`);
  return first.text;
}

/**
 * Arguments a test sends on purpose although the input schema refuses them (wrong types, unknown fields), to
 * check the server's answer: the one way around the compile-time check, named so that it reads as intended.
 */
export const invalidArgs = (args: Record<string, unknown>): never => args as never;
