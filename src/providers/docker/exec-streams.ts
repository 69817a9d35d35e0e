import type { Duplex } from 'node:stream';

/**
 * The hijacked streams of runs in flight on the one-exec-per-run path, by container ID. A stopped container's
 * execs are dead, but the engine does not always close their streams: under gVisor (runsc) an exec attached
 * when the container stops can stay open for good. Whoever stops a container ends its streams here, so that
 * those runs end with it.
 */
const open = new Map<string, Set<Duplex>>();

/** Registers a run's stream; the returned function forgets it (call it when the run ends). */
export function trackExecStream(containerId: string, stream: Duplex): () => void {
  let streams = open.get(containerId);
  if (!streams) open.set(containerId, (streams = new Set()));
  streams.add(stream);
  return () => {
    streams.delete(stream);
    if (!streams.size && open.get(containerId) === streams) open.delete(containerId);
  };
}

/** Ends the streams of every run in flight in a container that was just stopped (or removed). */
export function endExecStreams(containerId: string): void {
  for (const stream of open.get(containerId) ?? []) stream.destroy();
}
