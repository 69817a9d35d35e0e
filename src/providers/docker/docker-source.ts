import { ErrorCode, SandboxError } from '../../errors.js';
import type { SandboxSpec } from '../provider.js';

/** The image (and the Dockerfile that builds it) a sandbox is made from; a template without one cannot run here. */
export function dockerSource(spec: SandboxSpec): { image: string; dockerfile?: string } {
  const source = spec.sources.docker;
  if (!source?.image) {
    throw new SandboxError(
      ErrorCode.TEMPLATE_NOT_FOUND,
      `The ${spec.template} template names no Docker image.`,
      'Use a template that has an "image", or set SANDBOX_IMAGE.',
    );
  }
  return source;
}
