import { z } from 'zod';
import type { Config } from '../config.js';
import { maxExecTimeoutSeconds } from '../sandbox/exec-limits.js';
import { envVars, language, returnedFile } from './schemas.js';
import { sandboxId } from './schemas.js';
import { fileBlock } from './file-blocks.js';
import { OutputProgress } from './output-progress.js';
import { defineTool } from './tool.js';

/** The input schema states this server's caps and defaults, so a model sees what it may ask for. */
const inputSchemaFor = (config: Config) => {
  const { exec, limits, files } = config;
  const backgroundMax = maxExecTimeoutSeconds(config, true);
  return z.object({
    sandbox_id: sandboxId.optional().describe('Sandbox ID (or pass template).'),
    template: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe('Instead of sandbox_id: run once in a throwaway sandbox of this template.'),
    code: z
      .string()
      .min(1)
      .max(limits.codeBytes, `over the code size limit of ${limits.codeBytes} bytes`)
      .describe('Program text, passed as is (no shell quoting).'),
    language: language.optional().describe("Default: the template's (bash for base)."),
    timeout: z
      .number()
      .int()
      .min(1)
      .max(Math.max(exec.maxTimeoutSeconds, backgroundMax))
      .optional()
      .describe(
        `Seconds: default ${exec.defaultTimeoutSeconds} (max ${exec.maxTimeoutSeconds}); background: ${exec.backgroundTimeoutSeconds} (max ${backgroundMax}).`,
      ),
    env_vars: envVars.optional().describe("For this run, on top of the sandbox's."),
    working_dir: z.string().min(1).max(4096).optional().describe('Default /home/user.'),
    // As large as an upload, so that the stdio transport (sized from the upload limit) carries any legal stdin.
    stdin: z.string().max(limits.uploadBytes).optional().describe('Standard input.'),
    capture_output: z.boolean().default(true).describe('false: leave output out of the result.'),
    background: z
      .boolean()
      .default(false)
      .describe('Return at once with execution_id; follow with sandbox_logs, end with sandbox_stop.'),
    return_files: z
      .array(z.string().min(1).max(4096))
      .max(50)
      .optional()
      .describe(
        `Files to hand back (paths or globs, relative to working_dir), images as image blocks; ${files.returnBytes} bytes in all.`,
      ),
  });
};

const outputSchema = z.object({
  execution_id: z.string(),
  sandbox_id: z
    .string()
    .describe('The sandbox the code ran in (for a one-off run: the sandbox made for it, already deleted).'),
  status: z
    .enum(['completed', 'failed', 'timeout', 'running'])
    .describe(
      'completed: exit 0; failed: non-zero exit; timeout: killed at the time limit; running: started in the background.',
    ),
  exit_code: z.number().int().nullable().describe('null while a background run goes on.'),
  output: z.string().describe('Standard output (head and tail kept when over the cap).'),
  error: z.string().describe('Standard error (head and tail kept when over the cap).'),
  language: language.describe('The language the code ran as.'),
  execution_time: z.number().describe('Seconds.'),
  output_truncated: z.boolean(),
  output_bytes: z.number().int().describe('Bytes the program wrote to stdout, kept or not.'),
  error_bytes: z.number().int().describe('Bytes the program wrote to stderr, kept or not.'),
  timeout: z.number().int().describe('The time limit the run had, in seconds.'),
  files: z.array(returnedFile).optional().describe('The files return_files named, in the order found.'),
  hint: z.string().optional().describe('What probably went wrong, when something did.'),
});

export const sandboxExecute = (config: Config) =>
  defineTool({
    name: 'sandbox_execute',
    title: 'Run code in a sandbox',
    description:
      'Run code in a sandbox. A non-zero exit is status "failed"; at the timeout all its processes are killed. Output streams as progress.',
    inputSchema: inputSchemaFor(config),
    outputSchema,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    async handler(args, { sandboxes }, call) {
      const progress = call.progress && new OutputProgress(call.progress);
      const r = await sandboxes
        .execute(
          {
            sandboxId: args.sandbox_id,
            template: args.template,
            code: args.code,
            language: args.language,
            timeout: args.timeout,
            envVars: args.env_vars,
            workingDir: args.working_dir,
            stdin: args.stdin,
            captureOutput: args.capture_output,
            background: args.background,
            returnFiles: args.return_files,
          },
          { signal: call.signal, onOutput: progress?.push },
        )
        .finally(() => progress?.finish());
      const status = r.status === 'cancelled' ? 'failed' : r.status;
      const head =
        status === 'running'
          ? `running in the background as ${r.language} (execution ${r.executionId}, at most ${r.timeoutS}s)`
          : `${status}${r.exitCode === null ? '' : ` (exit ${r.exitCode})`} in ${r.executionTimeS}s as ${r.language}${r.outputTruncated ? ', output truncated' : ''}`;
      const parts = [args.template ? `${head} in one-off sandbox ${r.sandboxId} (deleted)` : head];
      if (r.stdout) parts.push(`--- stdout ---\n${r.stdout}`);
      if (r.stderr) parts.push(`--- stderr ---\n${r.stderr}`);
      for (const f of r.files ?? [])
        parts.push(
          `file ${f.path} (${f.sizeBytes} bytes, ${f.mimeType})${f.omitted ? `: not included, ${f.omitted}` : ''}`,
        );
      if (r.hint) parts.push(`Hint: ${r.hint}`);
      return {
        structured: {
          execution_id: r.executionId,
          sandbox_id: r.sandboxId,
          status,
          exit_code: r.exitCode,
          output: r.stdout,
          error: r.stderr,
          language: r.language,
          execution_time: r.executionTimeS,
          output_truncated: r.outputTruncated,
          output_bytes: r.stdoutBytes,
          error_bytes: r.stderrBytes,
          timeout: r.timeoutS,
          ...(r.files
            ? {
                files: r.files.map((f) => ({
                  path: f.path,
                  size_bytes: f.sizeBytes,
                  mime_type: f.mimeType,
                  ...(f.checksum ? { checksum: f.checksum } : {}),
                  included: f.data !== undefined,
                  ...(f.omitted ? { note: f.omitted } : {}),
                })),
              }
            : {}),
          ...(r.hint ? { hint: r.hint } : {}),
        },
        text: parts.join('\n'),
        blocks: (r.files ?? []).flatMap((f) =>
          f.data ? [fileBlock({ sandboxId: r.sandboxId, path: f.path, mimeType: f.mimeType, data: f.data })] : [],
        ),
      };
    },
  });
