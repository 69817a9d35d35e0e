import { randomBytes } from 'node:crypto';
import type { SpillFile } from '../util/spill-file.js';

/**
 * Strings of an incoming message that the transport kept on disk instead of in memory (an upload's content), each
 * standing in the parsed message as a marker string until a tool takes it. The marker holds this process's nonce,
 * which no client sees: content cannot forge one, and a string that only looks like a marker stays a string.
 */
const PREFIX = `\u0000spill-${randomBytes(16).toString('hex')}:`;
/** The same prefix as it is written inside a JSON string (the NUL escaped). */
const PREFIX_IN_JSON = JSON.stringify(PREFIX).slice(1, -1);

const spilled = new Map<string, SpillFile>();
let counter = 0;

/** Registers `file` and returns its marker as the text of a JSON string, quotes included. */
export function spillMarkerJson(file: SpillFile): { marker: string; json: string } {
  counter += 1;
  const marker = `${PREFIX}${counter}`;
  spilled.set(marker, file);
  return { marker, json: `"${PREFIX_IN_JSON}${counter}"` };
}

export const isSpillMarker = (value: string): boolean => value.startsWith(PREFIX) && spilled.has(value);

/** The spill file of `marker`, now the caller's to close; undefined when it is not a live marker. */
export function takeSpill(marker: string): SpillFile | undefined {
  const file = spilled.get(marker);
  spilled.delete(marker);
  return file;
}

/** Closes the spill files of these markers that nobody took (the message is answered, or was never handled). */
export function releaseSpills(markers: Iterable<string>): void {
  for (const marker of markers) takeSpill(marker)?.close();
}

/** How many spilled strings wait to be taken or released (tests: none is left behind). */
export const pendingSpills = (): number => spilled.size;
