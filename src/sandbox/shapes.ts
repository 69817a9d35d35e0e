import type { NetworkMode } from '../providers/provider.js';
import type { SandboxInfo } from '../providers/provider.js';
import type { Language } from './templates.js';

/**
 * The plain shapes the sandbox operations pass between each other. They live apart from the operations so that
 * the context (context.ts) can name the warm pool and the background executions by what they do, without
 * importing the modules that use the context (no import cycle).
 */

/** Machine size and network of a sandbox. */
export interface Resources {
  cpus: number;
  memoryMb: number;
  network: NetworkMode;
}

export type ExecutionStatus = 'completed' | 'failed' | 'timeout' | 'cancelled' | 'running';

/** A run checked and ready to start: what to run, where, for how long. */
export interface PreparedRun {
  sandboxId: string;
  info: SandboxInfo;
  language: Language;
  languageDefaulted: boolean;
  argv: string[];
  env: Record<string, string>;
  /** Values of the run's own env_vars, scrubbed from what the history stores. */
  secrets: string[];
  cwd: string;
  stdin?: Buffer;
  timeoutS: number;
  codeBytes: number;
}

/** Where a background execution stands. */
export interface ExecutionState {
  executionId: string;
  status: ExecutionStatus;
  exitCode: number | null;
  startedAt?: string;
  endedAt?: string;
}
