import { ErrorCode, SandboxError } from '../errors.js';
import { HOME_DIR, seconds, type SandboxContext } from './context.js';
import { OutputCapture } from './output-capture.js';
import type { InstallStep } from './packages.js';

export interface StepResult {
  kind: 'install' | 'startup_script' | 'command';
  description: string;
  exitCode: number | null;
  outputTail: string;
  durationS: number;
}

const TAIL_BYTES = 2000;

/** Runs a script with bash when the image has it, else sh. */
const shellArgv = (script: string): string[] => [
  'sh',
  '-c',
  'if command -v bash >/dev/null 2>&1; then exec bash -c "$1"; else exec sh -c "$1"; fi',
  'sandbox-shell',
  script,
];

/**
 * Runs setup steps (installs, the startup script, configure's commands) one after the other, recording each in
 * the history; the first failing step ends the sequence with EXECUTION_ERROR carrying its output.
 */
export class SetupRunner {
  readonly steps: StepResult[] = [];

  constructor(
    private readonly ctx: SandboxContext,
    private readonly sandboxId: string,
    private readonly env: Record<string, string>,
  ) {}

  async install(step: InstallStep): Promise<void> {
    await this.run('install', `${step.manager} install ${step.packages.join(' ')}`, step.argv, step.user);
  }

  async script(kind: 'startup_script' | 'command', script: string): Promise<void> {
    const firstLine = script.trim().split('\n')[0] ?? '';
    await this.run(
      kind,
      kind === 'startup_script' ? 'startup script' : firstLine.slice(0, 200),
      shellArgv(script),
      'user',
    );
  }

  private async run(
    kind: StepResult['kind'],
    description: string,
    argv: string[],
    user: 'user' | 'root',
  ): Promise<void> {
    const output = new OutputCapture(TAIL_BYTES * 2);
    // Root steps see nothing the sandbox user controls: not its variables, not its home (backends also give root
    // runs a fixed environment of their own).
    const outcome = await this.ctx.provider.run(this.sandboxId, {
      argv,
      user,
      env: user === 'root' ? {} : this.env,
      cwd: user === 'root' ? '/' : HOME_DIR,
      timeoutMs: this.ctx.config.exec.setupTimeoutSeconds * 1000,
      onOutput: (_stream, chunk) => output.push(chunk),
    });
    const text = output.text();
    const outputTail = text.length > TAIL_BYTES ? text.slice(-TAIL_BYTES) : text;
    const result: StepResult = {
      kind,
      description,
      exitCode: outcome.exitCode,
      outputTail,
      durationS: seconds(outcome.durationMs),
    };
    this.steps.push(result);
    const ok = outcome.exitCode === 0 && !outcome.timedOut;
    const how = outcome.timedOut ? 'timed out' : `exited with ${outcome.exitCode}`;
    const message = `${kind.replace('_', ' ')} "${description}" ${how} after ${result.durationS}s`;
    await this.ctx.history.note(this.sandboxId, message, ok ? 'info' : 'error');
    if (outcome.timedOut) {
      throw new SandboxError(
        ErrorCode.EXECUTION_TIMEOUT,
        `The ${kind.replace('_', ' ')} "${description}" did not finish within ${this.ctx.config.exec.setupTimeoutSeconds}s. Output tail:\n${outputTail}`,
        'Install fewer packages at once, or raise SANDBOX_SETUP_TIMEOUT.',
      );
    }
    if (!ok) {
      throw new SandboxError(
        ErrorCode.EXECUTION_ERROR,
        `The ${kind.replace('_', ' ')} "${description}" failed with exit code ${outcome.exitCode}. Output tail:\n${outputTail}`,
        kind === 'install'
          ? 'Check the package names and that the sandbox has network access (network is not "none").'
          : 'Fix the script and try again; its output is above.',
      );
    }
  }
}
