/** Input bytes per piece: a multiple of 3 (no padding inside), whose base64 (1 MiB) Node returns as a heap string. */
const PIECE_BYTES = 768 * 1024;

/**
 * `data` as base64, built in the JS heap. Node returns the base64 of more than ~1 MB as an external string, in memory
 * from the C allocator, which keeps what it once had (the process's resident size stays up after a large download);
 * the heap gives a large string's pages back once it is collected.
 */
export function base64Text(data: Buffer): string {
  if (data.length <= PIECE_BYTES) return data.toString('base64');
  const pieces: string[] = [];
  for (let at = 0; at < data.length; at += PIECE_BYTES) pieces.push(data.toString('base64', at, at + PIECE_BYTES));
  return pieces.join('');
}
