/** Where user code lives and runs by default, on every backend. */
export const SANDBOX_HOME = '/home/user';

/** Environment every sandbox starts with, on every backend; the template's variables come on top. */
export const BASE_ENV: Record<string, string> = {
  PYTHONUNBUFFERED: '1',
  // Debian's pip refuses system installs without this (PEP 668); installs run as root on purpose.
  PIP_BREAK_SYSTEM_PACKAGES: '1',
  PIP_DISABLE_PIP_VERSION_CHECK: '1',
  // Global npm installs land here; require() finds them from any working directory.
  NODE_PATH: '/usr/local/lib/node_modules',
  npm_config_update_notifier: 'false',
  DEBIAN_FRONTEND: 'noninteractive',
};
