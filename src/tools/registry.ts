// Why the low-level `Server` and not `McpServer.registerTool`: McpServer rejects bad arguments as a protocol error
// before our code sees them, where agents need an INVALID_ARGUMENT result naming the field and a hint; and it
// declares one output schema per tool, where ours is anyOf [result, error shape], since clients validate errors too.
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ErrorCode, SandboxError, isSandboxError } from '../errors.js';
import type { RateLimiter } from '../rate-limiter.js';
import { resolveSpilledArguments } from './spilled-arguments.js';
import type { CallContext, ToolDefinition, ToolDeps } from './tool.js';

/** The error result the agent sees: a stable code, a message and a hint (SPEC §3). */
export function errorResult(err: SandboxError): CallToolResult {
  const error = { code: err.code, message: err.message, hint: err.hint };
  return {
    isError: true,
    content: [{ type: 'text', text: `${err.code}: ${err.message}${err.hint ? `\nHint: ${err.hint}` : ''}` }],
    structuredContent: { error },
  };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : 'arguments'}: ${i.message}`)
    .join('; ');
}

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { target: 'draft-7', io }) as Record<string, unknown>;

/** The shape of every error result's structured content (SPEC §3). */
export const errorShape = z.object({
  error: z.object({
    code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    hint: z.string(),
  }),
});

/**
 * A tool's input as JSON Schema. Every model reads it on every turn, so what tells a model nothing is left out:
 * `$schema`, `minLength: 1` (an empty string is still refused, naming the field) and the type of property names
 * (always strings). Caps, patterns and defaults stay.
 */
function inputJsonSchema(schema: z.ZodObject): Tool['inputSchema'] {
  const { $schema: _, ...input } = jsonSchema(schema, 'input');
  return lean(input) as Tool['inputSchema'];
}

function lean(node: unknown, key?: string): unknown {
  if (Array.isArray(node)) return node.map((n) => lean(n));
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'minLength' && v === 1) continue;
    if (k === 'type' && key === 'propertyNames') continue;
    out[k] = k === 'default' || k === 'enum' ? v : lean(v, k);
  }
  return out;
}

/**
 * A tool's declared output: its result, or the error shape. Clients such as the SDK's validate structured content
 * of error results too, so the error shape must be part of the schema.
 */
function outputJsonSchema(schema: z.ZodObject): Tool['outputSchema'] {
  const { $schema, ...success } = jsonSchema(schema, 'output');
  const { $schema: _, ...failure } = jsonSchema(errorShape, 'output');
  return { $schema, type: 'object', anyOf: [success, failure] } as Tool['outputSchema'];
}

/**
 * Serves tools/list and tools/call for the given tools. Arguments are checked here, so a bad argument is an
 * INVALID_ARGUMENT result rather than a protocol error; expected failures become error results; anything else is
 * logged in full and reaches the agent as one plain sentence.
 */
export function registerTools(server: Server, tools: ToolDefinition[], deps: ToolDeps, limiter: RateLimiter): void {
  const byName = new Map(tools.map((t) => [t.name, t]));
  const listing: Tool[] = tools.map((t) => ({
    name: t.name,
    title: t.title,
    description: t.description,
    inputSchema: inputJsonSchema(t.inputSchema),
    outputSchema: outputJsonSchema(t.outputSchema),
    annotations: { title: t.title, ...t.annotations },
  }));

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: listing }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const tool = byName.get(request.params.name);
    if (!tool) {
      return errorResult(
        new SandboxError(
          ErrorCode.INVALID_ARGUMENT,
          `There is no tool named "${request.params.name.slice(0, 64)}".`,
          `Tools: ${[...byName.keys()].join(', ')}.`,
        ),
      );
    }
    const log = deps.log.child({ tool: tool.name });
    const started = performance.now();
    let streamed: CallContext['streamed'] = new Map();
    try {
      // Long strings the transport spilled to disk: read back, or kept as files for a tool that streams them.
      const resolved = resolveSpilledArguments(request.params.arguments ?? {}, tool.streamedArguments);
      streamed = resolved.streamed;
      const { args } = resolved;
      limiter.take();
      const parsed = tool.inputSchema.safeParse(args);
      if (!parsed.success) {
        throw new SandboxError(
          ErrorCode.INVALID_ARGUMENT,
          `Invalid arguments for ${tool.name}: ${describeIssues(parsed.error)}.`,
          "Check the tool's input schema (tools/list).",
        );
      }
      const token = request.params._meta?.progressToken;
      let step = 0;
      const call: CallContext = {
        signal: extra.signal,
        streamed,
        progress:
          token === undefined
            ? undefined
            : (message: string) => {
                step += 1;
                extra
                  .sendNotification({
                    method: 'notifications/progress',
                    params: { progressToken: token, progress: step, message },
                  })
                  .catch((err: unknown) => log.debug({ err }, 'progress notification not sent'));
              },
      };
      log.debug('call started');
      const result = await tool.handler(parsed.data, deps, call);
      log.debug({ ms: Math.round(performance.now() - started) }, 'call finished');
      return {
        content: [{ type: 'text', text: result.text }, ...(result.blocks ?? [])],
        structuredContent: result.structured as Record<string, unknown>,
      };
    } catch (err) {
      if (isSandboxError(err) && err.code !== ErrorCode.INTERNAL_ERROR) {
        // The first line only: setup failures carry the step's output below it, which may print secret values.
        log.info({ code: err.code, message: err.message.split('\n')[0], cause: err.cause }, 'call refused');
        return errorResult(err);
      }
      log.error({ err }, 'call failed');
      const message = isSandboxError(err) ? err.message : 'The operation failed unexpectedly.';
      return errorResult(
        new SandboxError(
          ErrorCode.INTERNAL_ERROR,
          message,
          'The server log has the details; try again, and report it if it persists.',
        ),
      );
    } finally {
      for (const file of streamed.values()) file.close();
    }
  });
}
