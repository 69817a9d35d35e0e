const ID_VALUE = String.raw`(-?\d{1,16}|"(?:[^"\\]|\\.){0,256}")`;
/** `"id":…` as the last member of the top-level object: where the SDK's Client puts it (`{...request, jsonrpc, id}`). */
const ID_AT_END = new RegExp(String.raw`"id"\s*:\s*${ID_VALUE}\s*\}\s*$`);
/** `"id":…` as the first member, or right after `"jsonrpc":"2.0"`: where most other clients put it. */
const ID_AT_START = new RegExp(String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*${ID_VALUE}`);

/**
 * The ID of a request too large to parse, read from its first and last bytes, so that its error answers it and
 * the client's call fails at once instead of waiting for its own timeout. Undefined when it cannot be told.
 */
export function extractRequestId(head: string, tail: string): string | number | undefined {
  const m = ID_AT_END.exec(tail) ?? ID_AT_START.exec(head);
  if (!m) return undefined;
  try {
    const id = JSON.parse(m[1]!) as unknown;
    return typeof id === 'number' || typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Bytes a JSON string may take per byte of content: a control byte is escaped as `\u00XX`. */
const WORST_CASE_ESCAPING = 6;
/** Room for the rest of the request around its largest argument. */
const ENVELOPE_BYTES = 1024 * 1024;
/** V8 cannot hold a longer string, so no longer line could be parsed anyway. */
const LONGEST_STRING = 512 * 1024 * 1024 - 64;

/**
 * The longest message the server must accept: an upload (or a run's stdin, capped alike) at the configured limit
 * (base64 adds a third, utf8 text of control characters is escaped six-fold) or code at its limit, plus the request
 * around it.
 */
export function maxMessageBytes(limits: { uploadBytes: number; codeBytes: number }): number {
  const largest = Math.max(limits.uploadBytes, limits.codeBytes);
  return Math.min(LONGEST_STRING, largest * WORST_CASE_ESCAPING + ENVELOPE_BYTES);
}
