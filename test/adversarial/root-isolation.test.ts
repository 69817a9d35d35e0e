import { afterAll, beforeAll, expect, it } from 'vitest';
import { dockerSession } from '../helpers/docker-session.js';
import { describeDocker } from '../helpers/docker-env.js';
import { testConfig } from '../helpers/test-config.js';
import { hostileSession } from './hostile-session.js';

/**
 * Everything uid 1000 can plant for root to pick up: each trap writes /tmp/pwned-<name>-<uid of whoever ran it>,
 * so a file ending in -0 means root ran code the sandbox user wrote.
 */
const PLANT = String.raw`
set -e
trap_py() { printf 'import os\nopen("/tmp/pwned-%s-%%d" %% os.getuid(), "w").close()\n' "$1"; }
trap_sh() { printf '#!/bin/sh\ntouch /tmp/pwned-%s-$(id -u)\nexec /usr/bin/%s "$@"\n' "$1" "$1"; }
# A module named like the stdlib's in the home (root Python run from there imports it first).
trap_py json > json.py
# A .pth file in the user site (root Python with HOME=/home/user runs it at start-up).
site=$(python3 -c 'import site; print(site.getusersitepackages())')
mkdir -p "$site"
printf 'import os; open("/tmp/pwned-pth-%%d" %% os.getuid(), "w").close()\n' > "$site/evil.pth"
# A package named pip in the home: 'python3 -m pip' run from there imports it.
mkdir -p pip && trap_py pip > pip/__init__.py && cp pip/__init__.py pip/__main__.py
# Programs on a PATH the user chose, a PYTHONPATH with a sitecustomize, a Node preload.
mkdir -p bin pyp
for p in python3 sh apt-get npm cat; do trap_sh "$p" > "bin/$p"; chmod +x "bin/$p"; done
trap_py sitecustomize > pyp/sitecustomize.py
printf 'require("fs").writeFileSync("/tmp/pwned-node-" + process.getuid(), "")\n' > preload.js
printf 'touch /tmp/pwned-bashenv-$(id -u)\n' > preload.sh
# npm and pip configuration in the home, and a cache to be taken over.
printf 'cache=/home/user/.npm-taken\n' > .npmrc
mkdir -p .config/pip && printf '[global]\nno-index = true\n' > .config/pip/pip.conf
echo planted
`;

const ROOT_TRAPS = 'ls /tmp | grep -- "^pwned-.*-0$" || echo none';

describeDocker('root inside a sandbox runs nothing the sandbox user planted', () => {
  const config = testConfig();
  let s: Awaited<ReturnType<typeof hostileSession>>;
  let id: string;
  const bash = async (code: string, session: Pick<typeof s, 'ok'> = s) =>
    (await session.ok('sandbox_execute', { sandbox_id: id, language: 'bash', code, timeout: 60 })).output;

  beforeAll(async () => {
    s = await hostileSession(config);
    id = await s.sandbox();
    expect(await bash(PLANT)).toBe('planted\n');
    await s.ok('sandbox_configure', {
      sandbox_id: id,
      env_vars: {
        PATH: '/home/user/bin:/usr/local/bin:/usr/bin:/bin',
        PYTHONPATH: '/home/user/pyp',
        NODE_OPTIONS: '--require /home/user/preload.js',
        LD_PRELOAD: '/home/user/none.so',
        BASH_ENV: '/home/user/preload.sh',
      },
    });
  });

  afterAll(async () => {
    s?.assertNoSecretLeaked();
    await s?.close();
  });

  it('plants traps that work on the user itself (so their silence below means something)', async () => {
    const own = await bash('python3 -c "import json" 2>/dev/null; ls /tmp | grep -c -- "^pwned-.*-1000$"');
    expect(Number(own)).toBeGreaterThan(0);
  });

  it('starts the run agent of a new server isolated from the home', async () => {
    const second = await dockerSession(config);
    try {
      expect(
        (await second.ok('sandbox_execute', { sandbox_id: id, language: 'bash', code: 'echo served' })).output,
      ).toBe('served\n');
      // The sandbox's own agent is started again too, as after a restart of the sandbox.
      await s.ok('sandbox_stop', { sandbox_id: id });
      await s.ok('sandbox_configure', { sandbox_id: id });
      expect(await bash(ROOT_TRAPS, second)).toBe('none\n');
    } finally {
      await second.detach();
    }
  });

  it("installs packages as root with none of the user's files, variables or working directory", async () => {
    // A wheel made in the sandbox: pip installs it without an index (PyPI is not reachable from here).
    const wheel = await bash(String.raw`cd /tmp && python3 - <<'EOF'
import zipfile
name = "/tmp/rootcheck-1.0-py3-none-any.whl"
with zipfile.ZipFile(name, "w") as z:
    z.writestr("rootcheck/__init__.py", "VALUE = 42\n")
    z.writestr("rootcheck-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: rootcheck\nVersion: 1.0\n")
    z.writestr("rootcheck-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    z.writestr("rootcheck-1.0.dist-info/RECORD", "")
print(name)
EOF`);
    await s.ok('sandbox_configure', { sandbox_id: id, install_packages: [`pip:file://${wheel.trim()}`] });
    expect(await bash(ROOT_TRAPS)).toBe('none\n');
    // Importable by the user afterwards, and nothing in the home belongs to anyone else.
    expect(await bash('env -u PYTHONPATH /usr/bin/python3 -c "import rootcheck; print(rootcheck.VALUE)"')).toBe('42\n');
    expect(await bash('find /home/user ! -user 1000 -o ! -group 1000 | head -5; echo end')).toBe('end\n');
  });
});
