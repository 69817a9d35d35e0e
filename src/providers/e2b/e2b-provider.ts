import type { Sandbox } from 'e2b';
import { notFound } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type {
  FileBody,
  FileOptions,
  Removal,
  ResourceUsage,
  RunOutcome,
  RunSpec,
  RunUser,
  SandboxInfo,
  SandboxProvider,
  SandboxSpec,
  WrittenFile,
} from '../provider.js';
import { BASE_ENV } from '../shared/base-env.js';
import { labelsFor } from '../shared/sandbox-labels.js';
import type { E2BConnection, E2BSdk } from './e2b-connection.js';
import { E2B_CAPABILITIES } from './e2b-capabilities.js';
import { mapE2BError } from './e2b-errors.js';
import { readFile, writeFile } from './e2b-files.js';
import { E2BHandles, infoFromE2B } from './e2b-handles.js';
import { runCommand } from './e2b-run.js';
import { killRunById } from './e2b-kill-run.js';

/** Process count, then /proc/net/dev. */
const PROC_COUNTERS = 'ls -d /proc/[0-9]* | wc -l; cat /proc/net/dev';

function parseProcCounters(text: string): { pids: number; network: { rxBytes: number; txBytes: number } } {
  const [first = '0', ...rest] = text.trim().split('\n');
  let rxBytes = 0;
  let txBytes = 0;
  for (const line of rest) {
    const m = /^\s*([^:\s]+):\s*(\d+)(?:\s+\d+){7}\s+(\d+)/.exec(line);
    if (m && m[1] !== 'lo') {
      rxBytes += Number(m[2]);
      txBytes += Number(m[3]);
    }
  }
  return { pids: Number.parseInt(first, 10) || 0, network: { rxBytes, txBytes } };
}

/** Kills every process of the sandbox user (not envd, which runs as root), again while any is left. */
const KILL_USER_PROCESSES =
  'u=$(id -u user) || exit 0; for i in 1 2 3 4 5 6 7 8 9 10; do left=0; for d in /proc/[0-9]*; do ' +
  '[ "$(stat -c %u "$d" 2>/dev/null)" = "$u" ] && kill -KILL "${d#/proc/}" 2>/dev/null && left=1; done; [ $left = 0 ] && break; sleep 0.2; done; true';

/** E2B enforces lifetimes itself; at least a second is asked for, as it counts in whole seconds. */
const remainingMs = (expiresAt: Date): number => Math.max(1000, expiresAt.getTime() - Date.now());

/** How long a resumed sandbox lives until its caller sets its real lifetime (E2B's connect default). */
const RESUME_LIFETIME_MS = 300_000;

/**
 * Sandboxes as E2B microVMs through the official SDK. Our metadata marks ours (list and every call see only
 * those); stop is E2B's pause, which keeps files and memory (processes carry on after a resume), and start
 * resumes through connect.
 */
export class E2BProvider implements SandboxProvider {
  readonly name = 'e2b' as const;
  readonly capabilities = E2B_CAPABILITIES;
  private readonly handles: E2BHandles;

  constructor(
    sdk: E2BSdk,
    connection: E2BConnection,
    private readonly log: Logger,
    /** SANDBOX_NAMESPACE: list and every call see only this namespace's sandboxes (undefined: all of ours). */
    namespace?: string,
  ) {
    this.handles = new E2BHandles(sdk, connection, namespace);
  }

  private get sdk(): E2BSdk {
    return this.handles.sdk;
  }

  async ping(): Promise<void> {
    try {
      await this.sdk.list({ ...this.handles.opts, limit: 1 }).nextItems();
    } catch (err) {
      throw mapE2BError(err);
    }
  }

  async create(spec: SandboxSpec, onProgress?: (message: string) => void): Promise<SandboxInfo> {
    const template = spec.sources.e2b?.template ?? 'base';
    onProgress?.(`starting an E2B sandbox from template ${template}`);
    try {
      await spec.admission; // nothing is made (nor billed) before the server admits it
      const sandbox = await this.sdk.create(template, {
        ...this.handles.opts,
        metadata: labelsFor(spec),
        envs: { ...BASE_ENV, ...spec.env },
        timeoutMs: remainingMs(spec.expiresAt),
        allowInternetAccess: spec.network !== 'none',
      });
      this.handles.remember(spec.id, sandbox);
      this.log.debug({ sandboxId: spec.id, e2bId: sandbox.sandboxId }, 'E2B sandbox started');
      const { admission: _admitted, warm: _warm, ...info } = spec;
      return { ...info, state: 'running', startedAt: new Date() };
    } catch (err) {
      throw mapE2BError(err, { creating: true });
    }
  }

  async get(id: string): Promise<SandboxInfo> {
    return infoFromE2B(await this.handles.info(id));
  }

  async list(): Promise<SandboxInfo[]> {
    try {
      const paginator = this.sdk.list({
        ...this.handles.opts,
        query: { metadata: this.handles.ownMetadata, state: ['running', 'paused'] },
        limit: 100,
      });
      const all: SandboxInfo[] = [];
      do {
        for (const s of await paginator.nextItems()) if (this.handles.owns(s.metadata)) all.push(infoFromE2B(s));
      } while (paginator.hasNext);
      return all;
    } catch (err) {
      throw mapE2BError(err);
    }
  }

  async run(id: string, spec: RunSpec): Promise<RunOutcome> {
    return this.withSandbox(id, (s) => runCommand(s, spec));
  }

  async killRun(id: string, runId: string): Promise<void> {
    await this.withSandbox(id, (s) => killRunById(s, runId));
  }

  async writeFile(id: string, path: string, data: FileBody, options: FileOptions): Promise<WrittenFile> {
    return this.withSandbox(id, (s) => writeFile(s, path, data, options));
  }

  async readFile(id: string, path: string, options: { user: RunUser }): Promise<Buffer | null> {
    return this.withSandbox(id, (s) => readFile(s, path, options.user));
  }

  async usage(id: string): Promise<ResourceUsage | null> {
    const info = await this.handles.info(id);
    if (info.state !== 'running') return null;
    try {
      // CPU and memory from E2B's metrics; processes and network counters, which it does not report, from /proc.
      const [metrics, counters] = await Promise.all([
        this.sdk.getMetrics(info.sandboxId, this.handles.opts),
        this.withSandbox(id, (s) => s.commands.run(PROC_COUNTERS, { user: 'root' })),
      ]);
      // E2B samples every 5 s (orchestrator/pkg/metrics/sandboxes.go): a fresh sandbox has no sample yet.
      const last = metrics.at(-1);
      return {
        // E2B's percentage is of all vCPUs; ours, as docker stats', is 100 per fully used core.
        cpuPercent: last ? Math.round(last.cpuUsedPct * (last.cpuCount || info.cpuCount) * 100) / 100 : 0,
        memoryUsedBytes: last?.memUsed ?? 0,
        memoryLimitBytes: last?.memTotal ?? info.memoryMB * 1024 * 1024,
        sampled: last !== undefined,
        ...parseProcCounters(counters.stdout),
      };
    } catch (err) {
      throw mapE2BError(err, { sandboxId: id });
    }
  }

  async start(id: string): Promise<void> {
    const info = await this.handles.info(id);
    if (info.state !== 'running') await this.handles.resume(id, RESUME_LIFETIME_MS);
  }

  /**
   * E2B caps the lifetime at the plan's maximum counted from the sandbox's last start, silently
   * (packages/api/internal/orchestrator/keep_alive.go): the end it really set is read back and returned.
   */
  async setExpiry(id: string, expiresAt: Date): Promise<Date> {
    const info = await this.handles.info(id);
    if (info.state !== 'running') return expiresAt; // a paused sandbox has no running timeout; start sets it again
    try {
      await this.sdk.setTimeout(info.sandboxId, remainingMs(expiresAt), this.handles.opts);
    } catch (err) {
      throw mapE2BError(err, { sandboxId: id });
    }
    const { endAt } = await this.handles.info(id);
    return endAt.getTime() < expiresAt.getTime() - 1000 ? endAt : expiresAt;
  }

  async stop(id: string): Promise<void> {
    const info = await this.handles.info(id);
    this.handles.forget(id);
    if (info.state !== 'running') return;
    try {
      await this.sdk.pause(info.sandboxId, this.handles.opts);
    } catch (err) {
      throw mapE2BError(err, { sandboxId: id });
    }
  }

  async remove(id: string): Promise<Removal> {
    const e2bId = await this.handles.e2bId(id);
    this.handles.forget(id);
    let killed: boolean;
    try {
      killed = await this.sdk.kill(e2bId, this.handles.opts);
    } catch (err) {
      throw mapE2BError(err, { sandboxId: id });
    }
    if (!killed) throw notFound(id);
    return { resources: ['sandbox'] };
  }

  /**
   * Pausing keeps processes (E2B snapshots memory), so a restart kills every process of the sandbox user instead,
   * as root, a few times over in case a fork bomb refills the table; files and the environment stay.
   */
  async restart(id: string): Promise<void> {
    await this.withSandbox(id, (s) => s.commands.run(KILL_USER_PROCESSES, { user: 'root', timeoutMs: 30_000 }));
  }

  /** E2B routes every port of a sandbox through its public host; a server must listen on 0.0.0.0. */
  async portUrls(id: string, ports: number[]): Promise<Record<string, string>> {
    return this.withSandbox(id, async (s) =>
      Object.fromEntries(ports.map((p) => [String(p), `https://${s.getHost(p)}`])),
    );
  }

  async close(): Promise<void> {}

  /** Runs against a connected instance; a failure on it is explained (gone? stopped?) before it is reported. */
  private async withSandbox<T>(id: string, fn: (s: Sandbox) => Promise<T>): Promise<T> {
    const sandbox = await this.handles.connect(id);
    try {
      return await fn(sandbox);
    } catch (err) {
      if (err instanceof Error && /SandboxNotFoundError|TimeoutError/.test(err.name))
        throw await this.handles.explain(id, err);
      throw mapE2BError(err, { sandboxId: id });
    }
  }
}
