import { describe } from 'vitest';
import { connectDocker } from '../../src/providers/docker/connect.js';

/** The image Docker-backed tests run sandboxes from (the offline Debian image CI builds). */
export const TEST_IMAGE =
  process.env.SANDBOX_TEST_IMAGE ?? process.env.SANDBOX_IMAGE ?? 'sandbox-mcp/debian-base:bookworm';

/**
 * A bash script printing how many processes of the sandbox are not the run agent's (the agent, its spare supervisors
 * and launchers, and the init whose command it is carry the loader's mark; `[r]` keeps this script's own command line
 * from matching): what a run and the processes it left behind hold.
 */
export const NOT_AGENT_PROCESS_COUNT =
  'n=0; for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline 2>/dev/null | grep -q "sandbox-mcp [r]un agent" || n=$((n+1)); done; echo $n';

/** With SANDBOX_REQUIRE_DOCKER=1 (CI), a missing engine or image fails the run instead of skipping. */
const required = process.env.SANDBOX_REQUIRE_DOCKER === '1';

async function probe(): Promise<string | undefined> {
  const docker = connectDocker(process.env.DOCKER_HOST);
  try {
    await docker.ping();
  } catch (err) {
    return `no Docker engine (${(err as Error).message})`;
  }
  try {
    await docker.getImage(TEST_IMAGE).inspect();
  } catch {
    return `image ${TEST_IMAGE} missing: build it with scripts/build-offline-image.sh or set SANDBOX_TEST_IMAGE`;
  }
  return undefined;
}

export const dockerUnavailable = await probe();

/**
 * `describe` for suites that need a real engine: skipped with the reason in its name when there is none,
 * failed when SANDBOX_REQUIRE_DOCKER=1.
 */
export function describeDocker(name: string, body: () => void): void {
  if (!dockerUnavailable) {
    describe(name, body);
  } else if (required) {
    describe(name, () => {
      throw new Error(`SANDBOX_REQUIRE_DOCKER=1 but ${dockerUnavailable}`);
    });
  } else {
    describe.skip(`${name} [skipped: ${dockerUnavailable}]`, body);
  }
}
