import path from 'node:path';
import { isSandboxId } from '../ids.js';

/** The folder of one sandbox's state; IDs are checked so that no agent string becomes a host path. */
export function sandboxDir(root: string, id: string): string {
  if (!isSandboxId(id)) throw new Error(`refusing a state path for a malformed sandbox id`);
  return path.join(root, id);
}
