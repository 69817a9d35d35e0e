/**
 * The one place the commands for people (`doctor`, `list`, `exec`...) write to stdout. They run instead of the MCP
 * server, never beside it: in server mode stdout belongs to the transport alone (src/transport/), which claims it
 * when it starts; from then on printing here is a bug, and throws instead of corrupting the JSON-RPC stream.
 */
let ownedByTransport = false;

/** Called by the stdio transport as it starts: stdout carries JSON-RPC lines only from now on. */
export function claimStdoutForTransport(): void {
  ownedByTransport = true;
}

function toStdout(text: string, then?: () => void): void {
  if (ownedByTransport) throw new Error('stdout carries the MCP transport: nothing else may print to it');
  process.stdout.write(text, then);
}

export function print(text: string): void {
  toStdout(text);
}

/** Prints a line (adds the newline when the text has none). */
export const printLine = (text: string): void => print(text.endsWith('\n') ? text : `${text}\n`);

/** Exits once everything printed has reached stdout (a pipe may still hold it). */
export function exitAfterOutput(status: number): void {
  toStdout('', () => process.exit(status));
}
