/**
 * The one place the commands for people (`doctor`, `list`, `exec`...) write to stdout. They run instead of the MCP
 * server, never beside it: in server mode stdout belongs to the transport alone (src/transport/).
 */
export function print(text: string): void {
  process.stdout.write(text);
}

/** Prints a line (adds the newline when the text has none). */
export const printLine = (text: string): void => print(text.endsWith('\n') ? text : `${text}\n`);

/** Exits once everything printed has reached stdout (a pipe may still hold it). */
export function exitAfterOutput(status: number): void {
  process.stdout.write('', () => process.exit(status));
}
