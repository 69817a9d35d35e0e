import type { ProviderCapabilities, ProviderName, SandboxProvider } from './provider.js';

/**
 * A provider whose backend is still loading. Loading the Docker client (dockerode pulls in gRPC and SSH) takes
 * longer than everything else at start-up, so the server answers the client's first requests while it loads;
 * every call waits for it.
 */
export class DeferredProvider implements SandboxProvider {
  private loaded?: SandboxProvider;

  constructor(
    readonly name: ProviderName,
    /** Known before the backend loads (see capabilitiesOf in ./index.ts), so requests can be checked at once. */
    readonly capabilities: ProviderCapabilities,
    readonly ready: Promise<SandboxProvider>,
  ) {
    ready.then(
      (p) => (this.loaded = p),
      () => undefined, // the entry point reports a failure; calls re-throw it
    );
  }

  ping = async () => (await this.ready).ping();
  create: SandboxProvider['create'] = async (spec, onProgress) => (await this.ready).create(spec, onProgress);
  get: SandboxProvider['get'] = async (id) => (await this.ready).get(id);
  list: SandboxProvider['list'] = async () => (await this.ready).list();
  run: SandboxProvider['run'] = async (id, spec) => (await this.ready).run(id, spec);
  killRun: SandboxProvider['killRun'] = async (id, runId) => (await this.ready).killRun(id, runId);
  writeFile: SandboxProvider['writeFile'] = async (id, path, data, options) =>
    (await this.ready).writeFile(id, path, data, options);
  readFile: SandboxProvider['readFile'] = async (id, path, options) => (await this.ready).readFile(id, path, options);
  /** Always there; falls back to readFile where the backend has no readFileInto. */
  readFileInto: NonNullable<SandboxProvider['readFileInto']> = async (id, path, sink, options) => {
    const provider = await this.ready;
    if (provider.readFileInto) return provider.readFileInto(id, path, sink, options);
    const data = await provider.readFile(id, path, options);
    if (data) sink.write(data);
    return data !== null;
  };
  usage: SandboxProvider['usage'] = async (id) => (await this.ready).usage(id);
  start: SandboxProvider['start'] = async (id) => (await this.ready).start(id);
  setExpiry: SandboxProvider['setExpiry'] = async (id, expiresAt, options) =>
    (await this.ready).setExpiry(id, expiresAt, options);
  /** Nothing is known of any sandbox before the backend has loaded. */
  knownRunning = (id: string): boolean => this.loaded?.knownRunning?.(id) ?? false;
  stop: SandboxProvider['stop'] = async (id) => (await this.ready).stop(id);
  remove: SandboxProvider['remove'] = async (id) => (await this.ready).remove(id);
  restart: SandboxProvider['restart'] = async (id) => (await this.ready).restart(id);
  portUrls: SandboxProvider['portUrls'] = async (id, ports) => (await this.ready).portUrls(id, ports);
  warmUp: NonNullable<SandboxProvider['warmUp']> = async (hint) => (await this.ready).warmUp?.(hint);
  watch: NonNullable<SandboxProvider['watch']> = (listener) =>
    void this.ready.then(
      (p) => p.watch?.(listener),
      () => undefined,
    );
  close = async () => (await this.ready.catch(() => undefined))?.close();
}
