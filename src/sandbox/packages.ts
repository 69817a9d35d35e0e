import { invalidArgument, truncateForMessage } from '../errors.js';
import type { RunUser } from '../providers/provider.js';
import type { PackageManager } from './templates.js';

/** One install command for the packages of one manager. */
export interface InstallStep {
  manager: PackageManager;
  packages: string[];
  argv: string[];
  user: RunUser;
}

// Package specs as the managers know them: names, versions, extras, scopes, ranges. No spaces, no leading dash
// (so none reads as an option), no shell metacharacters (none is needed, and argv carries them anyway).
const PACKAGE_SPEC = /^[A-Za-z0-9@][A-Za-z0-9@/._:+=<>!~^*,[\]-]{0,213}$/;

/** Splits `pip:x`, `npm:y`, `apt:z` and bare names (the template's manager) into one step per manager. */
export function planInstalls(packages: string[], defaultManager: PackageManager): InstallStep[] {
  const groups = new Map<PackageManager, string[]>();
  for (const raw of packages) {
    const spec = raw.trim();
    const m = /^(pip|npm|apt):(.*)$/.exec(spec);
    const manager = (m?.[1] as PackageManager | undefined) ?? defaultManager;
    const name = m ? m[2]! : spec;
    if (!PACKAGE_SPEC.test(name)) {
      throw invalidArgument(
        `"${truncateForMessage(raw)}" is not a package name.`,
        'Give names such as "pandas", "pandas==2.2.2", "npm:lodash@4", "apt:jq"; prefixes pip:, npm:, apt: choose the manager.',
      );
    }
    groups.set(manager, [...(groups.get(manager) ?? []), name]);
  }
  // apt first: pip and npm packages may need system libraries.
  const order: PackageManager[] = ['apt', 'pip', 'npm'];
  return order.filter((m) => groups.has(m)).map((m) => installStep(m, groups.get(m)!));
}

function installStep(manager: PackageManager, packages: string[]): InstallStep {
  switch (manager) {
    case 'pip':
      return {
        manager,
        packages,
        user: 'root',
        argv: [
          'python3',
          '-m',
          'pip',
          'install',
          '--no-input',
          '--disable-pip-version-check',
          '--root-user-action=ignore',
          '--',
          ...packages,
        ],
      };
    case 'npm':
      // As the sandbox user, into the project in its home (package.json and node_modules there, created when
      // missing): `require` and `import` both find the packages from any folder under it, npm's cache stays the
      // user's, and the user's own `npm install` later keeps them (they are saved in package.json).
      return {
        manager,
        packages,
        user: 'user',
        argv: ['npm', 'install', '--save', '--no-audit', '--no-fund', '--loglevel=error', '--', ...packages],
      };
    case 'apt':
      return {
        manager,
        packages,
        user: 'root',
        argv: [
          'sh',
          '-c',
          'apt-get update -qq && apt-get install -y -qq --no-install-recommends -- "$@"',
          'apt-install',
          ...packages,
        ],
      };
  }
}
