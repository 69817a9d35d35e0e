import { invalidArgument } from '../errors.js';
import type { SandboxProvider } from '../providers/provider.js';

/** What a request asks of the backend beyond a template. */
export interface BackendOptions {
  cpus?: number;
  memoryMb?: number;
}

/**
 * Refuses options the backend cannot apply (its `capabilities`), so nothing asked for is silently dropped: an E2B
 * template fixes its machine's CPU cores and memory, for instance.
 */
export function checkBackendOptions(provider: SandboxProvider, req: BackendOptions): void {
  const refused = [
    req.cpus !== undefined && !provider.capabilities.cpus ? 'cpus' : undefined,
    req.memoryMb !== undefined && !provider.capabilities.memory ? 'memory_mb' : undefined,
  ].filter((option): option is string => option !== undefined);
  if (!refused.length) return;
  throw invalidArgument(
    `This server's ${provider.name} backend cannot set ${refused.join(' or ')}: ` +
      "its templates fix the sandbox's machine size.",
    `Leave ${refused.join(' and ')} out; for another size, use a template built with it.`,
  );
}
