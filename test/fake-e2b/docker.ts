/**
 * The fake's Docker runtime: each fake E2B sandbox is a real container, so users, absolute paths, permissions
 * and /proc are real. Everything goes through the `docker` CLI (no extra dependency):
 *
 *   create   docker run -d --init --label sandbox-mcp-test.fake-e2b=true <image> sleep infinity
 *   pause    docker stop -t 1   (files kept, every process gone, like E2B's pause)
 *   resume   docker start       (a fresh `sleep infinity`; nothing that ran before the pause is back)
 *   kill     docker rm -f
 *
 * Commands run with `docker exec [-i] -u <user> -e K=V… <container> sh -c <WRAPPER> <cwd> <cmd> <args…>`. The
 * wrapper checks and enters the cwd, writes its own PID (`$$`) as the first line of stderr, then `exec`s the
 * command, so that PID *is* the command's PID inside the container. Killing the `docker exec` client would
 * not kill anything in the container, so signals go in with `docker exec -u 0 <container> kill -s <SIG> <pid>`,
 * to the process only, like envd.
 *
 * File operations are small shell scripts run in the container *as the requesting user* (so a write by
 * `user` to /etc/passwd is refused by the kernel). Their outcome comes back as an exit code plus NUL-separated
 * records; envd-files.ts and envd-filesystem.ts turn that into envd's answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** Every container the fake creates carries this label (tests look for leftovers with it). */
export const FAKE_E2B_LABEL = 'sandbox-mcp-test.fake-e2b';

export interface DockerResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** The first stderr line the command wrapper writes: its PID, or why it could not start. */
export const WRAPPER_NO_CWD = '!fake-envd:no-cwd';
export const WRAPPER_CWD_DENIED = '!fake-envd:cwd-denied';
const COMMAND_WRAPPER = [
  `if [ ! -d "$0" ]; then echo '${WRAPPER_NO_CWD}' >&2; exit 1; fi`,
  `cd -- "$0" 2>/dev/null || { echo '${WRAPPER_CWD_DENIED}' >&2; exit 1; }`,
  'echo "$$" >&2',
  'exec "$@"',
].join('\n');

/** One file-system entry as `find -printf` reports it. */
export interface DockerEntry {
  /** find's %y: f, d, l, or another letter for special files. */
  kind: string;
  size: number;
  /** Permission bits (find's %m). */
  mode: number;
  owner: string;
  group: string;
  mtime: Date;
  symlinkTarget: string;
  /** For listings: the path relative to the listed directory (find's %P); '' for a single entry. */
  relPath: string;
}

const ENTRY_FIELDS = 8;
const ENTRY_FORMAT = '%y\\0%s\\0%m\\0%u\\0%g\\0%T@\\0%l\\0%P\\0';

function parseEntries(out: Buffer): DockerEntry[] {
  const fields = out.toString('utf8').split('\0');
  const entries: DockerEntry[] = [];
  for (let i = 0; i + ENTRY_FIELDS <= fields.length; i += ENTRY_FIELDS) {
    const [kind, size, mode, owner, group, mtime, target, relPath] = fields.slice(i, i + ENTRY_FIELDS) as [
      string, string, string, string, string, string, string, string,
    ];
    entries.push({
      kind,
      size: Number(size),
      mode: parseInt(mode, 8) & 0o7777,
      owner,
      group,
      mtime: new Date(Math.round(Number(mtime) * 1000)),
      symlinkTarget: target,
      relPath,
    });
  }
  return entries;
}

/** The reason at the end of a shell or coreutils error line, as Go words it ("permission denied"). */
export function errnoText(stderr: string): string {
  const line = stderr.trim().split('\n').filter((l) => l !== '').pop() ?? '';
  const reason = line.slice(line.lastIndexOf(': ') + 2).trim();
  return reason === '' ? 'unknown error' : reason.charAt(0).toLowerCase() + reason.slice(1);
}

// Shell scripts for the file operations; "$1"… are arguments, exit codes say what went wrong.
const SCRIPTS = {
  /** 3 missing, 4 a directory, else the bytes (non-zero exit: could not read). */
  read: '[ -e "$1" ] || exit 3; [ -d "$1" ] && exit 4; exec cat -- "$1"',
  /** 10 path is a directory, 11 cannot create the parent, 12 a parent is a file, 13 cannot open, 14 cannot write. */
  write: [
    'p="$1"; d=$(dirname -- "$p")',
    '[ -d "$p" ] && exit 10',
    'if [ -e "$d" ] && [ ! -d "$d" ]; then exit 12; fi',
    'if [ ! -d "$d" ]; then mkdir -p -- "$d" || exit 11; fi',
    'true > "$p" || exit 13',
    'cat > "$p" || exit 14',
  ].join('\n'),
  /** 3 missing, else one entry (lstat). */
  stat: `[ -e "$1" ] || [ -L "$1" ] || exit 3; exec find "$1" -maxdepth 0 -printf '${ENTRY_FORMAT}'`,
  /**
   * 3 missing, 4 not a directory, 9 not readable, else the entries down to depth $2 (the start is followed if a
   * symlink; exit 1 when find could not read some subdirectory).
   */
  list: `[ -e "$1" ] || exit 3; [ -d "$1" ] || exit 4; { [ -r "$1" ] && [ -x "$1" ]; } || exit 9; exec find -H "$1" -mindepth 1 -maxdepth "$2" -printf '${ENTRY_FORMAT}'`,
  /** 5 already a directory, 6 exists but is not a directory. */
  mkdir: '[ -d "$1" ] && exit 5; { [ -e "$1" ] || [ -L "$1" ]; } && exit 6; exec mkdir -p -- "$1"',
  remove: 'exec rm -rf -- "$1"',
  /** 3 source missing, 7 cannot create the destination's parent, else the moved entry. */
  move: [
    '[ -e "$1" ] || [ -L "$1" ] || exit 3',
    'mkdir -p -- "$(dirname -- "$2")" || exit 7',
    'mv -T -- "$1" "$2" || exit 8',
    `exec find "$2" -maxdepth 0 -printf '${ENTRY_FORMAT}'`,
  ].join('\n'),
} as const;

export interface DockerRuntimeOptions {
  image: string;
  /** DOCKER_HOST for the CLI; default: this process's environment. */
  dockerHost?: string;
}

export class DockerRuntime {
  /** Every container this runtime created and has not removed yet. */
  readonly containers = new Set<string>();
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly options: DockerRuntimeOptions) {
    this.env = { ...process.env, ...(options.dockerHost ? { DOCKER_HOST: options.dockerHost } : {}) };
  }

  /** Spawn the docker CLI (for streaming uses). */
  spawn(args: string[], stdin: boolean): ChildProcess {
    return spawn('docker', args, { env: this.env, stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  }

  /** Run the docker CLI to completion. */
  run(args: string[], input?: Buffer): Promise<DockerResult> {
    return new Promise((resolve, reject) => {
      const child = this.spawn(args, input !== undefined);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (c: Buffer) => out.push(c));
      child.stderr!.on('data', (c: Buffer) => err.push(c));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
      if (input !== undefined) {
        child.stdin!.on('error', () => {}); // the script may exit before reading everything
        child.stdin!.end(input);
      }
    });
  }

  private async must(args: string[]): Promise<string> {
    const res = await this.run(args);
    if (res.code !== 0) throw new Error(`docker ${args[0]} failed (${res.code}): ${res.stderr.trim()}`);
    return res.stdout.toString('utf8').trim();
  }

  async createContainer(sandboxId: string, opts: { network: boolean }): Promise<string> {
    const id = await this.must([
      'run', '-d', '--init',
      '--label', `${FAKE_E2B_LABEL}=true`,
      '--label', `${FAKE_E2B_LABEL}.sandbox=${sandboxId}`,
      '--hostname', sandboxId.slice(0, 12),
      ...(opts.network ? [] : ['--network', 'none']),
      this.options.image, 'sleep', 'infinity',
    ]);
    this.containers.add(id);
    return id;
  }

  /** E2B pause: processes die, files stay. */
  async stop(container: string): Promise<void> {
    await this.must(['stop', '-t', '1', container]);
  }

  async start(container: string): Promise<void> {
    await this.must(['start', container]);
  }

  async remove(container: string): Promise<void> {
    const res = await this.run(['rm', '-f', container]);
    if (res.code !== 0 && !/No such container/i.test(res.stderr)) throw new Error(`docker rm failed: ${res.stderr.trim()}`);
    this.containers.delete(container);
  }

  async removeAll(): Promise<void> {
    await Promise.all([...this.containers].map((c) => this.remove(c).catch(() => undefined)));
  }

  /** `docker exec` of a command through the PID-reporting wrapper; stdin is piped only when asked. */
  spawnCommand(container: string, p: { user: string; cwd: string; env: Record<string, string>; cmd: string; args: string[]; stdin: boolean }): ChildProcess {
    const envArgs = Object.entries(p.env).flatMap(([k, v]) => (k === '' || k.includes('=') ? [] : ['-e', `${k}=${v}`]));
    return this.spawn(
      ['exec', ...(p.stdin ? ['-i'] : []), '-u', p.user, ...envArgs, container, 'sh', '-c', COMMAND_WRAPPER, p.cwd, p.cmd, ...p.args],
      p.stdin,
    );
  }

  /** Send a signal to one process inside the container (as root, like envd). */
  async signal(container: string, pid: number, signal: NodeJS.Signals): Promise<void> {
    await this.run(['exec', '-u', '0', container, 'kill', '-s', signal.replace(/^SIG/, ''), String(pid)]);
  }

  private script(container: string, user: string, script: keyof typeof SCRIPTS, args: string[], input?: Buffer): Promise<DockerResult> {
    return this.run(['exec', ...(input !== undefined ? ['-i'] : []), '-u', user, container, 'sh', '-c', SCRIPTS[script], 'fake-envd', ...args], input);
  }

  readFile(container: string, user: string, path: string): Promise<DockerResult> {
    return this.script(container, user, 'read', [path]);
  }

  writeFile(container: string, user: string, path: string, data: Buffer): Promise<DockerResult> {
    return this.script(container, user, 'write', [path], data);
  }

  async stat(container: string, user: string, path: string): Promise<{ res: DockerResult; entry?: DockerEntry }> {
    const res = await this.script(container, user, 'stat', [path]);
    return { res, entry: res.code === 0 ? parseEntries(res.stdout)[0] : undefined };
  }

  async list(container: string, user: string, path: string, depth: number): Promise<{ res: DockerResult; entries: DockerEntry[] }> {
    const res = await this.script(container, user, 'list', [path, String(depth)]);
    const entries = res.code === 0 || res.code === 1 ? parseEntries(res.stdout) : [];
    // envd walks each directory in lexical order, depth first.
    const key = (e: DockerEntry) => e.relPath.split('/');
    entries.sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
        if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
      }
      return ka.length - kb.length;
    });
    return { res, entries };
  }

  makeDir(container: string, user: string, path: string): Promise<DockerResult> {
    return this.script(container, user, 'mkdir', [path]);
  }

  removePath(container: string, user: string, path: string): Promise<DockerResult> {
    return this.script(container, user, 'remove', [path]);
  }

  async move(container: string, user: string, source: string, destination: string): Promise<{ res: DockerResult; entry?: DockerEntry }> {
    const res = await this.script(container, user, 'move', [source, destination]);
    return { res, entry: res.code === 0 ? parseEntries(res.stdout)[0] : undefined };
  }
}
