import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { fail, ok, type Check } from './check.js';

export function checkNode(version = process.versions.node): Check {
  const major = Number(version.split('.')[0]);
  return major >= 20
    ? ok('node', `Node ${version}`)
    : fail('node', `Node ${version} is too old`, 'Install Node 20 or newer (https://nodejs.org), then run this again.');
}

/** The state folder exists or can be made, and a file can be written in it. */
export function checkStateDir(config: Config): Check {
  const probe = path.join(config.stateDir, `.doctor-${process.pid}`);
  try {
    mkdirSync(config.stateDir, { recursive: true });
    writeFileSync(probe, 'ok');
    rmSync(probe, { force: true });
    return ok('state folder', `${config.stateDir} is writable`);
  } catch (err) {
    return fail(
      'state folder',
      `${config.stateDir} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      "Set SANDBOX_STATE_DIR to a folder this user may write, or fix the folder's owner and permissions.",
    );
  }
}
