import { existsSync, readFileSync } from 'node:fs';
import type Docker from 'dockerode';
import type { Config } from '../config.js';
import { connectDocker } from '../providers/docker/connect.js';
import { engineMessage, engineUnavailable } from '../providers/docker/docker-errors.js';
import type { TemplateCatalog } from '../sandbox/templates.js';
import { fail, ok, warn, type Check } from './check.js';

/** The fields of `docker info` the checks read (dockerode types it loosely). */
interface EngineInfo {
  MemoryLimit?: boolean;
  PidsLimit?: boolean;
  CpuCfsQuota?: boolean;
  CgroupVersion?: string;
  CgroupDriver?: string;
  Runtimes?: Record<string, unknown>;
  DefaultRuntime?: string;
}

const OFFLINE_FIX =
  'Offline or no registry: build the base image with scripts/build-offline-image.sh (shipped in the package) and set SANDBOX_IMAGE=sandbox-mcp/debian-base:bookworm.';

/** Engine reachable, its version, cgroup limits, the runtime, and each template's image. */
export async function checkDocker(config: Config, templates: TemplateCatalog): Promise<Check[]> {
  const docker = connectDocker(config.docker.host);
  const where = config.docker.host ?? 'unix:///var/run/docker.sock';
  try {
    await docker.ping();
  } catch (err) {
    const e = engineUnavailable(err);
    return [fail('docker engine', `${e.message.replace(/\.$/, '')} (${where}: ${engineMessage(err)})`, e.hint)];
  }
  const checks: Check[] = [ok('docker engine', `reachable at ${where}`)];
  try {
    const [version, info] = await Promise.all([docker.version(), docker.info() as Promise<EngineInfo>]);
    checks.push(
      ok(
        'docker version',
        `Docker Engine ${version.Version} (API ${version.ApiVersion}), ${version.Os}/${version.Arch}`,
      ),
    );
    checks.push(checkCgroups(info));
    checks.push(checkRuntime(info, config.docker.runtime));
  } catch (err) {
    checks.push(
      fail(
        'docker version',
        `the engine answered ping but not info: ${engineMessage(err)}`,
        "Check the engine's logs (journalctl -u docker) and its API version.",
      ),
    );
  }
  for (const t of templates.all())
    checks.push(await checkImage(docker, t.name, t.sources.docker.image, t.sources.docker.dockerfile));
  return checks;
}

function checkCgroups(info: EngineInfo): Check {
  const missing = [!info.MemoryLimit && 'memory', !info.PidsLimit && 'pids', !info.CpuCfsQuota && 'CPU quota'].filter(
    Boolean,
  );
  const detail = `cgroup v${info.CgroupVersion ?? '?'} (${info.CgroupDriver ?? '?'} driver)`;
  if (missing.length) {
    return fail(
      'cgroup limits',
      `${detail}: the engine cannot enforce ${missing.join(', ')} limits, so a sandbox could take the whole machine`,
      'Enable the cgroup controllers (cgroup v2: systemd.unified_cgroup_hierarchy=1; on Debian/Ubuntu add cgroup_enable=memory swapaccount=1 to the kernel command line) and restart the engine.',
    );
  }
  return ok('cgroup limits', `${detail}: memory, pids and CPU limits enforced`);
}

function checkRuntime(info: EngineInfo, wanted: string | undefined): Check {
  const runtimes = Object.keys(info.Runtimes ?? {});
  const runtime = wanted ?? info.DefaultRuntime ?? 'runc';
  if (!runtimes.includes(runtime)) {
    return fail(
      'runtime',
      `SANDBOX_DOCKER_RUNTIME=${runtime} is not registered with the engine (it has: ${runtimes.join(', ') || 'none'})`,
      runtime === 'runsc'
        ? 'Install gVisor (apt-get install runsc), run `runsc install` (adds it to /etc/docker/daemon.json) and restart the engine; or unset SANDBOX_DOCKER_RUNTIME.'
        : 'Register the runtime in /etc/docker/daemon.json ("runtimes") and restart the engine, or unset SANDBOX_DOCKER_RUNTIME.',
    );
  }
  return ok('runtime', `${runtime}${wanted ? '' : " (the engine's default)"}`);
}

/** Present, or how the first sandbox of this template will get it. */
async function checkImage(docker: Docker, template: string, image: string, dockerfile?: string): Promise<Check> {
  const name = `template ${template}`;
  if (await hasImage(docker, image)) return ok(name, `image ${image} present`);
  if (dockerfile && existsSync(dockerfile)) {
    const base = /^\s*FROM\s+(\S+)/im.exec(readFileSync(dockerfile, 'utf8'))?.[1];
    if (base && (await hasImage(docker, base)))
      return ok(name, `image ${image} will be built on first use from ${base} (present)`);
    return warn(
      name,
      `image ${image} is not built yet; the first sandbox builds it, pulling ${base ?? 'its base'} from a registry`,
      OFFLINE_FIX,
    );
  }
  return warn(name, `image ${image} is not here; the first sandbox pulls it from a registry`, OFFLINE_FIX);
}

async function hasImage(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch {
    return false;
  }
}
