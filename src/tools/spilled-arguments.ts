import { isSpillMarker, pendingSpills, takeSpill } from '../transport/spilled-strings.js';
import type { SpillFile } from '../util/spill-file.js';

/** A call's arguments with every spilled string resolved, and the spill files the tool takes as they are. */
export interface ResolvedArguments {
  args: unknown;
  /** By top-level argument name: spilled strings the tool streams from disk (the argument itself is ''). */
  streamed: Map<string, SpillFile>;
}

/**
 * Resolves the markers the stdio transport left in place of long strings (spilled-strings.ts): a top-level argument
 * named in `streamedNames` keeps its spill file (the tool streams it: an upload's content) and is '' for the schema
 * check; any other is read back into the string it was, so every tool sees what it would have seen. Markers this
 * process did not make are strings like any other.
 */
export function resolveSpilledArguments(args: unknown, streamedNames: readonly string[] = []): ResolvedArguments {
  const streamed = new Map<string, SpillFile>();
  // Nothing spilled (every call but a long upload's): nothing to resolve, and the arguments are not walked.
  if (pendingSpills() === 0) return { args, streamed };
  const readBack = (value: unknown): unknown => {
    if (typeof value === 'string') {
      if (!isSpillMarker(value)) return value;
      const file = takeSpill(value)!;
      try {
        return file.text();
      } finally {
        file.close();
      }
    }
    if (Array.isArray(value)) return value.map(readBack);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [readBack(k) as string, readBack(v)]));
    }
    return value;
  };
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return { args: readBack(args), streamed };
  // Built with fromEntries, as JSON.parse builds objects: a key "__proto__" stays an own property, never the prototype.
  const out = Object.fromEntries(
    Object.entries(args).map(([key, value]): [string, unknown] => {
      if (streamedNames.includes(key) && typeof value === 'string' && isSpillMarker(value)) {
        streamed.set(key, takeSpill(value)!);
        return [key, ''];
      }
      return [readBack(key) as string, readBack(value)];
    }),
  );
  return { args: out, streamed };
}
