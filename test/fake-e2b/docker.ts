/**
 * The fake's Docker runtime: each fake E2B sandbox is a real container, so users, absolute paths, permissions,
 * sudo and /proc are real. Everything goes through the `docker` CLI (no extra dependency):
 *
 *   image    built once per base image: the base plus what every E2B template gets from its build's
 *            finalize step (e2b-dev/infra packages/orchestrator/pkg/template/build/phases/finalize/configure.sh):
 *            user `user` with passwordless sudo, /usr/local writable by everyone, /code. The offline image has
 *            no sudo package, so the derived image installs Debian's (one `docker build`, cached by the engine).
 *   create   docker run -d --init --label sandbox-mcp-test.fake-e2b=true <derived image> sleep infinity
 *   pause    docker pause    (memory kept: processes are frozen and continue after resume, as E2B's default
 *                            pause: packages/api/internal/handlers/sandbox_pause.go, `memory` defaults to true)
 *            docker stop     for a filesystem-only pause (`memory: false`): every process gone, files kept
 *   resume   docker unpause, or docker start after a filesystem-only pause
 *   kill     docker rm -f
 *
 * Commands run with `docker exec -u <user> -e K=V… <container> sh -c <WRAPPER> <cwd> <cmd> <args…>`. The wrapper
 * plays envd's part in a process's pipes (packages/envd/internal/services/process/handler/handler.go): the
 * command's stdout and stderr are fifos read by two `cat` relays, so the fake can close the read ends the way
 * envd does at a deadline or a kill (`Wait` after `outCancel`): a background process that still writes then
 * dies of SIGPIPE, as on E2B. The wrapper reports `<command pid> <wrapper pid>` in one header line on stderr,
 * waits for the command, then for both relays (envd's end event waits for the pipes to close), and exits with
 * the command's status. Signals go in with `docker exec -u 0 <container> kill -s <SIG> <pid>`, to the process
 * only, like envd; SIGUSR1 to the wrapper makes it kill its relays (the pipes close).
 *
 * The files API (`/files`) is a small shell script run in the container *as the requesting user* (so a write by
 * `user` to /etc/passwd is refused by the kernel); envd-files.ts turns its exit code into envd's answer.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** Every container the fake creates carries this label (tests look for leftovers with it). */
export const FAKE_E2B_LABEL = 'sandbox-mcp-test.fake-e2b';

export interface DockerResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** What the command wrapper says on stderr when it cannot start the command. */
export const WRAPPER_NO_CWD = '!fake-envd:no-cwd';
export const WRAPPER_CWD_DENIED = '!fake-envd:cwd-denied';
/** Prefix of the header line `<prefix><command pid> <wrapper pid>\n`, written in one write() on stderr. */
export const WRAPPER_HEADER = '\x1efake-envd-pids:';
const COMMAND_WRAPPER = [
  `if [ ! -d "$0" ]; then echo '${WRAPPER_NO_CWD}' >&2; exit 1; fi`,
  `cd -- "$0" 2>/dev/null || { echo '${WRAPPER_CWD_DENIED}' >&2; exit 1; }`,
  // The relays do not depend on the PATH the command is given (envd starts /bin/sh by its absolute path).
  'p="$PATH"; PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'd=$(mktemp -d /tmp/.fake-envd-XXXXXX) && mkfifo "$d/o" "$d/e" || exit 1',
  'cat "$d/o" & co=$!',
  'cat "$d/e" >&2 & ce=$!',
  "trap 'kill -9 $co $ce 2>/dev/null' USR1",
  'PATH="$p" "$@" </dev/null >"$d/o" 2>"$d/e" & pid=$!',
  `printf '\\036${WRAPPER_HEADER.slice(1)}%s %s\\n' "$pid" "$$" >&2`,
  // `wait` returns early when the trap runs: wait again while the process is still there.
  'reap() { while :; do wait "$1"; r=$?; kill -0 "$1" 2>/dev/null || return "$r"; done; }',
  'reap "$pid"; rc=$?; reap "$co"; reap "$ce"; rm -rf "$d"; exit "$rc"',
].join('\n');

/** The reason at the end of a shell or coreutils error line, as Go words it ("permission denied"). */
export function errnoText(stderr: string): string {
  const line =
    stderr
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .pop() ?? '';
  const reason = line.slice(line.lastIndexOf(': ') + 2).trim();
  return reason === '' ? 'unknown error' : reason.charAt(0).toLowerCase() + reason.slice(1);
}

// Shell scripts for the files API; "$1"… are arguments, exit codes say what went wrong.
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
} as const;

/**
 * What every E2B template's build adds to its base image (finalize/configure.sh, cited above): `user` with a
 * home and passwordless sudo, /usr/local and /code writable by everyone. Debian's /etc/profile, which resets
 * PATH under `bash -l` (the SDK runs every command that way), comes with the base image.
 */
const templateDockerfile = (base: string) => `FROM ${base}
RUN set -e; export DEBIAN_FRONTEND=noninteractive; \\
    if ! command -v sudo >/dev/null; then apt-get update; apt-get install -y --no-install-recommends sudo; rm -rf /var/lib/apt/lists/*; fi; \\
    if ! id -u user >/dev/null 2>&1; then useradd -m -s /bin/bash user; fi; \\
    usermod -aG sudo user; passwd -d user; \\
    grep -q '^user ALL=(ALL:ALL) NOPASSWD: ALL' /etc/sudoers || echo 'user ALL=(ALL:ALL) NOPASSWD: ALL' >> /etc/sudoers; \\
    mkdir -p /home/user; chown -R user:user /home/user; chmod -R 777 /usr/local; mkdir -p /code; chmod -R 777 /code
`;

/** The derived image of each base image, built at most once per test process (the engine caches the layer). */
const templateImages = new Map<string, Promise<string>>();

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
      child.once('close', (code) =>
        resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }),
      );
      if (input !== undefined) {
        child.stdin!.on('error', () => {}); // the script may exit before reading everything
        child.stdin!.end(input);
      }
    });
  }

  private async must(args: string[], input?: Buffer): Promise<string> {
    const res = await this.run(args, input);
    if (res.code !== 0) throw new Error(`docker ${args[0]} failed (${res.code}): ${res.stderr.trim()}`);
    return res.stdout.toString('utf8').trim();
  }

  /** The base image with the template's shape (see templateDockerfile), built on first use. */
  templateImage(): Promise<string> {
    const key = `${this.options.dockerHost ?? ''}|${this.options.image}`;
    let image = templateImages.get(key);
    if (!image) {
      image = (async () => {
        const baseId = await this.must(['image', 'inspect', '-f', '{{.Id}}', this.options.image]);
        const tag = `sandbox-mcp-test/fake-e2b-template:${baseId.replace(/^sha256:/, '').slice(0, 16)}`;
        const present = await this.run(['image', 'inspect', tag]);
        if (present.code !== 0)
          await this.must(['build', '-q', '-t', tag, '-'], Buffer.from(templateDockerfile(this.options.image)));
        return tag;
      })();
      image.catch(() => templateImages.delete(key));
      templateImages.set(key, image);
    }
    return image;
  }

  async createContainer(sandboxId: string, opts: { network: boolean }): Promise<string> {
    const image = await this.templateImage();
    const id = await this.must([
      'run',
      '-d',
      '--init',
      '--label',
      `${FAKE_E2B_LABEL}=true`,
      '--label',
      `${FAKE_E2B_LABEL}.sandbox=${sandboxId}`,
      '--hostname',
      sandboxId.slice(0, 12),
      ...(opts.network ? [] : ['--network', 'none']),
      image,
      'sleep',
      'infinity',
    ]);
    this.containers.add(id);
    return id;
  }

  /** E2B's pause: with memory, processes are frozen and carry on after resume; without, they are gone. */
  async pause(container: string, memory: boolean): Promise<void> {
    await this.must(memory ? ['pause', container] : ['stop', '-t', '1', container]);
  }

  async resume(container: string, memory: boolean): Promise<void> {
    await this.must(memory ? ['unpause', container] : ['start', container]);
  }

  async remove(container: string): Promise<void> {
    const res = await this.run(['rm', '-f', container]);
    if (res.code !== 0 && !/No such container/i.test(res.stderr))
      throw new Error(`docker rm failed: ${res.stderr.trim()}`);
    this.containers.delete(container);
  }

  async removeAll(): Promise<void> {
    await Promise.all([...this.containers].map((c) => this.remove(c).catch(() => undefined)));
  }

  /** `docker exec` of a command through the wrapper (see COMMAND_WRAPPER); its stdin is always empty. */
  spawnCommand(
    container: string,
    p: { user: string; cwd: string; env: Record<string, string>; cmd: string; args: string[] },
  ): ChildProcess {
    const envArgs = Object.entries(p.env).flatMap(([k, v]) => (k === '' || k.includes('=') ? [] : ['-e', `${k}=${v}`]));
    return this.spawn(
      ['exec', '-u', p.user, ...envArgs, container, '/bin/sh', '-c', COMMAND_WRAPPER, p.cwd, p.cmd, ...p.args],
      false,
    );
  }

  /** Send a signal to one process inside the container (as root, like envd). */
  async signal(container: string, pid: number, signal: NodeJS.Signals): Promise<void> {
    await this.run(['exec', '-u', '0', container, 'kill', '-s', signal.replace(/^SIG/, ''), String(pid)]);
  }

  private script(
    container: string,
    user: string,
    script: keyof typeof SCRIPTS,
    args: string[],
    input?: Buffer,
  ): Promise<DockerResult> {
    return this.run(
      [
        'exec',
        ...(input !== undefined ? ['-i'] : []),
        '-u',
        user,
        container,
        'sh',
        '-c',
        SCRIPTS[script],
        'fake-envd',
        ...args,
      ],
      input,
    );
  }

  readFile(container: string, user: string, path: string): Promise<DockerResult> {
    return this.script(container, user, 'read', [path]);
  }

  writeFile(container: string, user: string, path: string, data: Buffer): Promise<DockerResult> {
    return this.script(container, user, 'write', [path], data);
  }
}
