import type { ContentBlock } from '@modelcontextprotocol/sdk/types.js';
import { IMAGE_TYPES, isText } from '../sandbox/mime.js';

/** A file handed back by a tool: its place in the sandbox, its type and its bytes. */
export interface FileBytes {
  sandboxId: string;
  path: string;
  mimeType: string;
  data: Buffer;
}

/** The URI a file of a sandbox goes by in embedded resources. */
export const fileUri = (sandboxId: string, path: string): string => `sandbox://${sandboxId}${encodeURI(path)}`;

/** An image as an MCP image block (clients show it), any other file as an embedded resource (text or blob). */
export function fileBlock(f: FileBytes): ContentBlock {
  if (IMAGE_TYPES.has(f.mimeType)) return { type: 'image', data: f.data.toString('base64'), mimeType: f.mimeType };
  const uri = fileUri(f.sandboxId, f.path);
  return isText(f.data)
    ? { type: 'resource', resource: { uri, mimeType: f.mimeType, text: f.data.toString('utf8') } }
    : { type: 'resource', resource: { uri, mimeType: f.mimeType, blob: f.data.toString('base64') } };
}
