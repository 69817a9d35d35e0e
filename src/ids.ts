import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomToken(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

/** Sandbox IDs look like `sbx-k3j9x0a1b2c3`: safe in container names, URLs and shell words. */
export const newSandboxId = (): string => `sbx-${randomToken(12)}`;
export const newExecutionId = (): string => `exec-${randomToken(12)}`;
/** A run's nonce inside a sandbox: its exit marker and the variable its processes carry. */
export const newRunId = (): string => randomBytes(12).toString('hex');
/** A run ID as newRunId makes them: what is read back from the history is checked before it reaches a sandbox. */
export const isRunId = (value: string): boolean => /^[0-9a-f]{24}$/.test(value);

const SANDBOX_ID = /^sbx-[a-z0-9]{12}$/;
/** Anything else (flags, paths, foreign container IDs) is refused before it reaches a backend. */
export const isSandboxId = (value: string): boolean => SANDBOX_ID.test(value);
