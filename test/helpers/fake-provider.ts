import { createHash } from 'node:crypto';
import { notFound, notRunning } from '../../src/errors.js';
import type {
  FileOptions,
  ProviderCapabilities,
  Removal,
  ResourceUsage,
  RunOutcome,
  RunSpec,
  SandboxInfo,
  SandboxProvider,
  SandboxSpec,
  WrittenFile,
} from '../../src/providers/provider.js';
import type { FileBody } from '../../src/providers/provider.js';
import { bodyBytes } from '../../src/providers/shared/file-body.js';

export interface FakeRun {
  exitCode?: number | null;
  stdout?: string | Buffer;
  stderr?: string | Buffer;
  timedOut?: boolean;
}

/**
 * An in-memory provider for unit tests of the tool and service layers, where no backend is needed: it records
 * what it was asked and answers runs through `onRun` (by default, printing the code it was given). It is a
 * stand-in, not a backend; it follows the contract's lifecycle and file half (test/contract/fake.contract.test.ts),
 * the real backends follow all of it. Its capabilities are Docker's unless a test gives others.
 */
export class FakeProvider implements SandboxProvider {
  readonly name = 'docker' as const;

  constructor(readonly capabilities: ProviderCapabilities = { cpus: true, memory: true }) {}

  readonly sandboxes = new Map<string, SandboxInfo>();
  readonly files = new Map<string, Buffer>();
  readonly runs: Array<{ id: string; spec: RunSpec }> = [];
  onRun: (spec: RunSpec) => FakeRun | Promise<FakeRun> = (spec) => ({
    exitCode: 0,
    stdout: spec.argv[spec.argv.length - 1] ?? '',
  });
  unavailable = false;

  async ping(): Promise<void> {}

  async create(spec: SandboxSpec): Promise<SandboxInfo> {
    await spec.admission;
    const info: SandboxInfo = {
      id: spec.id,
      name: spec.name,
      template: spec.template,
      language: spec.language,
      state: 'running',
      createdAt: spec.createdAt,
      expiresAt: spec.expiresAt,
      startedAt: spec.createdAt,
      metadata: spec.metadata,
      cpus: spec.cpus,
      memoryMb: spec.memoryMb,
      network: spec.network,
    };
    this.sandboxes.set(spec.id, info);
    return { ...info };
  }

  async get(id: string): Promise<SandboxInfo> {
    const info = this.sandboxes.get(id);
    if (!info) throw notFound(id);
    return { ...info };
  }

  async list(): Promise<SandboxInfo[]> {
    return [...this.sandboxes.values()].map((s) => ({ ...s }));
  }

  async run(id: string, spec: RunSpec): Promise<RunOutcome> {
    const info = await this.get(id);
    if (info.state !== 'running') throw notRunning(id);
    this.runs.push({ id, spec });
    // killRun ends a run that has a run ID, as a backend's kill sweep does: the program dies of SIGKILL.
    let killed: ((r: FakeRun) => void) | undefined;
    const kill = new Promise<FakeRun>((resolve) => (killed = resolve));
    if (spec.runId) this.live.set(spec.runId, () => killed!({ exitCode: 137 }));
    const r = await Promise.race([this.onRun(spec), kill]).finally(() => spec.runId && this.live.delete(spec.runId));
    if (r.stdout?.length) spec.onOutput?.('stdout', Buffer.from(r.stdout));
    if (r.stderr?.length) spec.onOutput?.('stderr', Buffer.from(r.stderr));
    return { exitCode: r.exitCode ?? 0, timedOut: r.timedOut ?? false, cancelled: false, durationMs: 5 };
  }

  /** Run IDs killRun was asked to end, in order. */
  readonly kills: string[] = [];
  private readonly live = new Map<string, () => void>();

  async killRun(id: string, runId: string): Promise<void> {
    await this.get(id);
    this.kills.push(runId);
    this.live.get(runId)?.();
  }

  async writeFile(id: string, path: string, body: FileBody, _options: FileOptions): Promise<WrittenFile> {
    const data = bodyBytes(body);
    const info = await this.get(id);
    if (info.state !== 'running') throw notRunning(id);
    this.files.set(`${id}:${path}`, Buffer.from(data));
    return { path, sizeBytes: data.length, checksum: `sha256:${createHash('sha256').update(data).digest('hex')}` };
  }

  async readFile(id: string, path: string): Promise<Buffer | null> {
    await this.get(id);
    return this.files.get(`${id}:${path}`) ?? null;
  }

  async usage(id: string): Promise<ResourceUsage | null> {
    const info = await this.get(id);
    return {
      cpuPercent: 1.5,
      memoryUsedBytes: 10 << 20,
      memoryLimitBytes: info.memoryMb << 20,
      pids: 3,
      network: { rxBytes: 10, txBytes: 20 },
    };
  }

  async start(id: string): Promise<void> {
    const info = this.sandboxes.get(id);
    if (!info) throw notFound(id);
    info.state = 'running';
    info.startedAt = new Date();
  }

  readonly expiries = new Map<string, Date>();

  async setExpiry(id: string, expiresAt: Date): Promise<Date> {
    await this.get(id);
    this.expiries.set(id, expiresAt);
    return expiresAt;
  }

  async stop(id: string): Promise<void> {
    const info = this.sandboxes.get(id);
    if (!info) throw notFound(id);
    info.state = 'stopped';
    info.startedAt = undefined;
  }

  async remove(id: string): Promise<Removal> {
    if (!this.sandboxes.delete(id)) throw notFound(id);
    for (const key of [...this.files.keys()]) if (key.startsWith(`${id}:`)) this.files.delete(key);
    return { resources: ['sandbox'] };
  }

  readonly restarts: string[] = [];

  async restart(id: string): Promise<void> {
    const info = await this.get(id);
    if (info.state !== 'running') throw notRunning(id);
    this.restarts.push(id);
  }

  async portUrls(id: string, ports: number[]): Promise<Record<string, string>> {
    await this.get(id);
    return Object.fromEntries(ports.map((p) => [String(p), `http://127.0.0.1:${40000 + p}`]));
  }

  async close(): Promise<void> {}
}
