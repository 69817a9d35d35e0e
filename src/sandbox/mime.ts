import { isUtf8 } from 'node:buffer';

/** Image types MCP clients show inline (SPEC §2.1). */
export const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/svg+xml']);

const BY_EXTENSION: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  txt: 'text/plain',
  log: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  json: 'application/json',
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  js: 'text/javascript',
  mjs: 'text/javascript',
  ts: 'text/x-typescript',
  py: 'text/x-python',
  sh: 'text/x-shellscript',
  xml: 'application/xml',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  wasm: 'application/wasm',
};

/** The type the bytes themselves announce, for the image types: a file's name can lie, its header rarely does. */
function sniff(data: Buffer): string | undefined {
  if (data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'image/jpeg';
  if (/^GIF8[79]a/.test(data.subarray(0, 6).toString('latin1'))) return 'image/gif';
  if (data.subarray(0, 4).toString('latin1') === 'RIFF' && data.subarray(8, 12).toString('latin1') === 'WEBP')
    return 'image/webp';
  if (data.subarray(0, 5).toString('latin1') === '%PDF-') return 'application/pdf';
  return undefined;
}

/** Whether the bytes are text: valid UTF-8 without NUL bytes (checked in place: no decoded copy of a large file). */
export function isText(data: Buffer): boolean {
  return !data.includes(0) && isUtf8(data);
}

/** The file's MIME type, from its first bytes, else its name, else whether it reads as text. */
export function mimeTypeOf(path: string, data: Buffer): string {
  return mimeTypeFrom(path, data.subarray(0, SNIFFED_BYTES), () => isText(data));
}

/** Bytes at the start of a file that sniffing looks at. */
export const SNIFFED_BYTES = 16;

/** As mimeTypeOf, from the file's first SNIFFED_BYTES and whether it is text (for a file read as a stream). */
export function mimeTypeFrom(path: string, head: Buffer, text: () => boolean): string {
  const sniffed = sniff(head);
  if (sniffed) return sniffed;
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  const named = ext ? BY_EXTENSION[ext] : undefined;
  if (named && !(IMAGE_TYPES.has(named) && named !== 'image/svg+xml')) return named;
  return text() ? 'text/plain' : 'application/octet-stream';
}
