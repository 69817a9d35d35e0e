/** Where user code lives and runs by default, on every backend. */
export const SANDBOX_HOME = '/home/user';

/** Environment every sandbox starts with, on every backend; the template's variables come on top. */
export const BASE_ENV: Record<string, string> = {
  PYTHONUNBUFFERED: '1',
  // Debian's pip refuses system installs without this (PEP 668); installs run as root on purpose.
  PIP_BREAK_SYSTEM_PACKAGES: '1',
  PIP_DISABLE_PIP_VERSION_CHECK: '1',
  // install_packages puts npm packages in the home's project; require() finds them (and global ones) from any
  // working directory, import() from any folder under the home (ESM ignores NODE_PATH).
  NODE_PATH: `${SANDBOX_HOME}/node_modules:/usr/local/lib/node_modules`,
  npm_config_update_notifier: 'false',
  DEBIAN_FRONTEND: 'noninteractive',
};

/**
 * Root runs inside a sandbox (package installs, the env store) get the sandbox's base environment with these on
 * top, in `/`, and none of the run's variables: nothing uid 1000 can write (its home, its variables, a directory
 * on PATH) reaches a root process.
 */
export const ROOT_RUN_ENV: Record<string, string> = {
  HOME: '/root',
  USER: 'root',
  LOGNAME: 'root',
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
};

/** Appended to PATH in user runs: the command-line tools of npm packages that install_packages put in the home. */
export const USER_PATH_SUFFIX = `${SANDBOX_HOME}/node_modules/.bin`;
