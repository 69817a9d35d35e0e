import { invalidArgument } from '../errors.js';

/** Variables a sandbox (its own and one run's together) may have. */
export const MAX_ENV_VARS = 100;
/**
 * Bytes of names and values together. The whole environment and the code travel through execve, which Linux
 * caps at a quarter of the stack limit (2 MiB by default) with at most 128 KiB per string; this leaves room.
 */
export const MAX_ENV_BYTES = 256 * 1024;

/** Refuses an environment no run could start with, before anything is changed. */
export function checkEnvTotals(env: Record<string, string>, what = 'env_vars'): void {
  const entries = Object.entries(env);
  if (entries.length > MAX_ENV_VARS) {
    throw invalidArgument(
      `${what} would give the sandbox ${entries.length} variables; at most ${MAX_ENV_VARS} are allowed.`,
      'Set fewer variables, or put settings in a file with sandbox_upload.',
    );
  }
  const bytes = entries.reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v) + 2, 0);
  if (bytes > MAX_ENV_BYTES) {
    throw invalidArgument(
      `${what} would total ${bytes} bytes of variables; at most ${MAX_ENV_BYTES} are allowed (programs could not start).`,
      'Put large values in a file with sandbox_upload and read it from the code instead.',
    );
  }
}
