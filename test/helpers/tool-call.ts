import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/**
 * A tool's structured result as tests read it. The SDK client has already checked it against the tool's output
 * schema (every helper lists the tools first, so the client knows the schemas), so tests index it freely.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the output schema, checked by the client, is the type
export type Structured = Record<string, any>;

export type ToolCall = CallToolResult & { structuredContent: Structured };

export interface CallOptions {
  onprogress?: (p: { message?: string }) => void;
  timeout?: number;
}

/** The one way every suite calls a tool: by name, with arguments, through a real MCP client. */
export function toolCaller(client: Client, defaultTimeoutMs = 600_000) {
  return async (name: string, args: Record<string, unknown>, options: CallOptions = {}): Promise<ToolCall> =>
    (await client.callTool({ name, arguments: args }, undefined, {
      timeout: defaultTimeoutMs,
      ...options,
    })) as ToolCall;
}

/** The error code of a failed call, or undefined when the call succeeded. */
export const errorCode = (r: { isError?: boolean; structuredContent?: Structured }): string | undefined =>
  r.isError ? r.structuredContent?.error?.code : undefined;
