import { z } from 'zod';
import { envVars, language, returnedFile } from './schemas.js';
import { sandboxId } from './schemas.js';
import { fileBlock } from './file-blocks.js';
import { OutputProgress } from './output-progress.js';
import { defineTool } from './tool.js';

const inputSchema = z.object({
  sandbox_id: sandboxId.optional().describe('ID of the sandbox to run in (sbx-...). Leave it out and pass template for a one-off run.'),
  template: z.string().min(1).max(64).optional().describe('Instead of sandbox_id: run once in a new sandbox of this template (from the warm pool when there is one), deleted after the run whatever happens.'),
  code: z.string().min(1).describe('The program to run, as text. It is handed to the interpreter as it is (no shell quoting needed). At most 100 KB.'),
  language: language.optional().describe('python, javascript (node), typescript (where the template has a runner), bash or sh. Default: the template\'s language (bash for the base template): pass it when the code is in another language.'),
  timeout: z.number().int().min(1).optional().describe('Seconds before the run and every process it started are killed (default 60, capped by SANDBOX_MAX_EXEC_TIMEOUT; background runs: default 3600, SANDBOX_BACKGROUND_TIMEOUT).'),
  env_vars: envVars.optional().describe('Variables for this run only, on top of the sandbox\'s own.'),
  working_dir: z.string().min(1).max(4096).optional().describe('Directory to run in; relative paths are under /home/user (the default).'),
  stdin: z.string().max(10 * 1024 * 1024).optional().describe('Text given to the program on its standard input.'),
  capture_output: z.boolean().default(true).describe('false: return no output text (it still streams as progress and goes to the logs).'),
  background: z.boolean().default(false).describe('true: start the run and return at once (status "running"); its output goes to the history as it is printed. Follow it with sandbox_logs and its execution_id; end it early with sandbox_stop and its execution_id.'),
  return_files: z
    .array(z.string().min(1).max(4096))
    .max(50)
    .optional()
    .describe('Files to hand back after the run: paths or shell globs (*, ?, [...]) relative to working_dir, e.g. ["chart.png", "out/*.csv"]. Images come back as image blocks, other files as embedded resources, within SANDBOX_RETURN_FILES_LIMIT bytes in all.'),
});

const outputSchema = z.object({
  execution_id: z.string(),
  sandbox_id: z.string().describe('The sandbox the code ran in (for a one-off run: the sandbox made for it, already deleted).'),
  status: z.enum(['completed', 'failed', 'timeout', 'running']).describe('completed: exit 0; failed: non-zero exit; timeout: killed at the time limit; running: started in the background.'),
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

export const sandboxExecute = defineTool({
  name: 'sandbox_execute',
  title: 'Run code in a sandbox',
  description:
    'Run code in a sandbox and wait for it, or start it in the background. A non-zero exit is a normal result (status "failed" with the exit code); at the timeout every process of the run is killed and what it printed so far is returned. Output streams as progress notifications when the call has a progress token. Environment variables set on the sandbox apply. return_files hands back files (charts as images); template instead of sandbox_id runs once in a throwaway sandbox.',
  inputSchema,
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
    for (const f of r.files ?? []) parts.push(`file ${f.path} (${f.sizeBytes} bytes, ${f.mimeType})${f.omitted ? `: not included, ${f.omitted}` : ''}`);
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
      blocks: (r.files ?? []).flatMap((f) => (f.data ? [fileBlock({ sandboxId: r.sandboxId, path: f.path, mimeType: f.mimeType, data: f.data })] : [])),
    };
  },
});
