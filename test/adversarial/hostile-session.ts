import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { Config } from '../../src/config.js';
import { dockerSession, LogCapture } from '../helpers/docker-session.js';
import { type CallTool, okCaller, type ToolInput } from '../helpers/tool-call.js';

/** A value given to every sandbox of the suite as an env var, that must never come back out. */
export const SECRET = `adv-secret-${randomBytes(16).toString('hex')}`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/**
 * A server on the real engine whose every result and log line is kept, so that a suite can end by checking that
 * the secret given in env_vars appears in none of them, nor in the history store.
 */
export async function hostileSession(config: Config) {
  const logs = new LogCapture();
  const s = await dockerSession(config, logs);
  const results: string[] = [];
  const call: CallTool = async (name, args, options) => {
    const r = await s.call(name, args, options);
    results.push(JSON.stringify(r));
    return r;
  };
  const ok = okCaller(call);
  /** A sandbox with the secret in its environment. */
  const sandbox = async (args: ToolInput<'sandbox_create'> = {}) =>
    (await ok('sandbox_create', { template: 'python', env_vars: { API_SECRET: SECRET }, ...args })).sandbox_id;
  const assertNoSecretLeaked = () => {
    for (const r of results) expect(r).not.toContain(SECRET);
    expect(logs.text).not.toContain(SECRET);
    for (const file of filesUnder(config.stateDir)) expect(readFileSync(file, 'utf8'), file).not.toContain(SECRET);
  };
  return { ...s, call, ok, sandbox, results, assertNoSecretLeaked };
}

/** Command lines of every process in a sandbox, read from /proc without ps. */
export const PROCESS_LIST = "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done";
