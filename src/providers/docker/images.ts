import path from 'node:path';
import type Docker from 'dockerode';
import { ErrorCode, SandboxError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { engineMessage, isEngineUnreachable, engineUnavailable } from './docker-errors.js';

interface ProgressEvent {
  status?: string;
  stream?: string;
  id?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Makes sure an image is present: pulled when missing, or built from the template's Dockerfile. Concurrent
 * creates from one template wait on the same pull or build.
 */
export class ImageCache {
  private readonly pending = new Map<string, Promise<void>>();
  private readonly present = new Set<string>();

  constructor(
    private readonly docker: Docker,
    private readonly log: Logger,
  ) {}

  async ensure(image: string, dockerfile: string | undefined, onProgress?: (message: string) => void): Promise<void> {
    if (this.present.has(image)) return;
    let job = this.pending.get(image);
    if (!job) {
      job = this.obtain(image, dockerfile, onProgress).finally(() => this.pending.delete(image));
      this.pending.set(image, job);
    }
    await job;
    this.present.add(image);
  }

  /** Whether the image is here now (remembered if so); never pulls or builds. */
  async isPresent(image: string): Promise<boolean> {
    if (this.present.has(image)) return true;
    const found = await this.docker
      .getImage(image)
      .inspect()
      .then(
        () => true,
        () => false,
      );
    if (found) this.present.add(image);
    return found;
  }

  /** Forgets what it knew, for when an image was removed behind its back. */
  invalidate(image: string): void {
    this.present.delete(image);
  }

  private async obtain(image: string, dockerfile: string | undefined, onProgress?: (m: string) => void) {
    try {
      await this.docker.getImage(image).inspect();
      return;
    } catch (err) {
      if (isEngineUnreachable(err)) throw engineUnavailable(err);
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
    if (dockerfile) await this.build(image, dockerfile, onProgress);
    else await this.pull(image, onProgress);
  }

  private async pull(image: string, onProgress?: (m: string) => void): Promise<void> {
    this.log.info({ image }, 'pulling image');
    onProgress?.(`pulling image ${image}`);
    try {
      const stream = await this.docker.pull(image);
      await this.follow(stream, (e) => {
        if (e.status && onProgress)
          onProgress(`${image}: ${e.id ? `${e.id} ` : ''}${e.status}${e.progress ? ` ${e.progress}` : ''}`);
      });
    } catch (err) {
      if (isEngineUnreachable(err)) throw engineUnavailable(err);
      this.log.warn({ image, err: engineMessage(err) }, 'image pull failed');
      throw new SandboxError(
        ErrorCode.TEMPLATE_NOT_FOUND,
        `The image ${image} is not on this machine and could not be pulled.`,
        'Check the network and registry access, or point the template at a local image with SANDBOX_IMAGE or SANDBOX_IMAGE_<TEMPLATE> (see the README, "Templates and images").',
        { cause: err },
      );
    }
  }

  private async build(image: string, dockerfile: string, onProgress?: (m: string) => void): Promise<void> {
    this.log.info({ image, dockerfile }, 'building image');
    onProgress?.(`building image ${image} from ${path.basename(dockerfile)}`);
    try {
      const stream = await this.docker.buildImage(
        { context: path.dirname(dockerfile), src: [path.basename(dockerfile)] },
        { t: image, dockerfile: path.basename(dockerfile), rm: true, forcerm: true },
      );
      await this.follow(stream, (e) => {
        const line = e.stream?.trim();
        if (line && onProgress) onProgress(line);
      });
    } catch (err) {
      if (isEngineUnreachable(err)) throw engineUnavailable(err);
      this.log.warn({ image, err: engineMessage(err) }, 'image build failed');
      throw new SandboxError(
        ErrorCode.TEMPLATE_NOT_FOUND,
        `The image ${image} could not be built from ${path.basename(dockerfile)}: ${engineMessage(err).slice(0, 500)}`,
        "Fix the template's Dockerfile, or point the template at an existing image with SANDBOX_IMAGE_<TEMPLATE>.",
        { cause: err },
      );
    }
  }

  private follow(stream: NodeJS.ReadableStream, onEvent: (e: ProgressEvent) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, events: ProgressEvent[]) => {
          const failed = events?.find((e) => e.error || e.errorDetail);
          if (err) reject(err);
          else if (failed) reject(new Error(failed.errorDetail?.message ?? failed.error));
          else resolve();
        },
        onEvent,
      );
    });
  }
}
