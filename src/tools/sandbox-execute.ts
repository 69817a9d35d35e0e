import { z } from 'zod';
import { envVars, language } from './schemas.js';
import { sandboxId } from './schemas.js';
import { OutputProgress } from './output-progress.js';
import { defineTool } from './tool.js';

const inputSchema = z.object({
  sandbox_id: sandboxId,
  code: z.string().min(1).describe('The program to run, as text. It is handed to the interpreter as it is (no shell quoting needed). At most 100 KB.'),
  language: language.optional().describe('python, javascript (node), typescript (where the template has a runner), bash or sh. Default: the template\'s language.'),
  timeout: z.number().int().min(1).optional().describe('Seconds before the run and every process it started are killed (default 60, capped by SANDBOX_MAX_EXEC_TIMEOUT).'),
  env_vars: envVars.optional().describe('Variables for this run only, on top of the sandbox\'s own.'),
  working_dir: z.string().min(1).max(4096).optional().describe('Directory to run in; relative paths are under /home/user (the default).'),
  stdin: z.string().max(10 * 1024 * 1024).optional().describe('Text given to the program on its standard input.'),
  capture_output: z.boolean().default(true).describe('false: return no output text (it still streams as progress and goes to the logs).'),
});

const outputSchema = z.object({
  execution_id: z.string(),
  sandbox_id: z.string(),
  status: z.enum(['completed', 'failed', 'timeout']).describe('completed: exit 0; failed: non-zero exit; timeout: killed at the time limit.'),
  exit_code: z.number().int().nullable(),
  output: z.string().describe('Standard output (head and tail kept when over the cap).'),
  error: z.string().describe('Standard error (head and tail kept when over the cap).'),
  language: language,
  execution_time: z.number().describe('Seconds.'),
  output_truncated: z.boolean(),
  output_bytes: z.number().int().describe('Bytes the program wrote to stdout, kept or not.'),
  error_bytes: z.number().int().describe('Bytes the program wrote to stderr, kept or not.'),
  hint: z.string().optional().describe('What probably went wrong, when something did.'),
});

export const sandboxExecute = defineTool({
  name: 'sandbox_execute',
  title: 'Run code in a sandbox',
  description:
    'Run code in a sandbox and wait for it. A non-zero exit is a normal result (status "failed" with the exit code); at the timeout every process of the run is killed and what it printed so far is returned. Output streams as progress notifications when the call has a progress token. Environment variables set on the sandbox apply.',
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  async handler(args, { sandboxes }, call) {
    const progress = call.progress && new OutputProgress(call.progress);
    const r = await sandboxes
      .execute(
      {
        sandboxId: args.sandbox_id,
        code: args.code,
        language: args.language,
        timeout: args.timeout,
        envVars: args.env_vars,
        workingDir: args.working_dir,
        stdin: args.stdin,
        captureOutput: args.capture_output,
      },
      { signal: call.signal, onOutput: progress?.push },
      )
      .finally(() => progress?.finish());
    const head = `${r.status}${r.exitCode === null ? '' : ` (exit ${r.exitCode})`} in ${r.executionTimeS}s${r.outputTruncated ? ', output truncated' : ''}`;
    const parts = [head];
    if (r.stdout) parts.push(`--- stdout ---\n${r.stdout}`);
    if (r.stderr) parts.push(`--- stderr ---\n${r.stderr}`);
    if (r.hint) parts.push(`Hint: ${r.hint}`);
    return {
      structured: {
        execution_id: r.executionId,
        sandbox_id: r.sandboxId,
        status: r.status,
        exit_code: r.exitCode,
        output: r.stdout,
        error: r.stderr,
        language: r.language,
        execution_time: r.executionTimeS,
        output_truncated: r.outputTruncated,
        output_bytes: r.stdoutBytes,
        error_bytes: r.stderrBytes,
        ...(r.hint ? { hint: r.hint } : {}),
      },
      text: parts.join('\n'),
    };
  },
});
