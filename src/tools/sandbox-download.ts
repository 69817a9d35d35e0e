import { z } from 'zod';
import type { Config } from '../config.js';
import { sandboxId } from './schemas.js';
import { fileBlock } from './file-blocks.js';
import { defineTool } from './tool.js';

const inputSchema = z.object({
  sandbox_id: sandboxId,
  file_path: z.string().min(1).max(4096).describe('Relative to /home/user.'),
  encoding: z.enum(['utf8', 'base64']).optional().describe('Default: utf8 for text, else base64.'),
});

const outputSchema = z.object({
  file_path: z.string().describe('Absolute path inside the sandbox.'),
  type: z.enum(['file', 'directory']),
  size_bytes: z.number().int().optional().describe('Size of the file.'),
  checksum: z.string().optional().describe("sha256:<hex> of the file's bytes."),
  mime_type: z.string().optional(),
  encoding: z.enum(['utf8', 'base64']).optional(),
  content: z.string().optional().describe("The file's content in the encoding given."),
  entries: z
    .array(
      z.object({
        name: z.string(),
        type: z.enum(['file', 'directory', 'symlink', 'other']),
        size_bytes: z.number().int(),
      }),
    )
    .optional()
    .describe("A directory's entries, sorted by name (at most 1000)."),
  entries_truncated: z.boolean().optional(),
});

export const sandboxDownload = ({ files }: Config) =>
  defineTool({
    name: 'sandbox_download',
    title: 'Download a file',
    description: `Read a file (at most ${files.downloadBytes} bytes) or list a directory; images also come back as an image block.`,
    inputSchema,
    outputSchema,
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async handler(args, { sandboxes }) {
      const r = await sandboxes.download({
        sandboxId: args.sandbox_id,
        filePath: args.file_path,
        encoding: args.encoding,
      });
      if (r.kind === 'directory') {
        const lines = r.entries.map(
          (e) =>
            `${e.type === 'directory' ? 'd' : e.type === 'symlink' ? 'l' : '-'} ${String(e.sizeBytes).padStart(10)} ${e.name}`,
        );
        return {
          structured: {
            file_path: r.path,
            type: 'directory' as const,
            entries: r.entries.map((e) => ({ name: e.name, type: e.type, size_bytes: e.sizeBytes })),
            entries_truncated: r.truncated,
          },
          text: [`${r.path}: ${r.entries.length} entries${r.truncated ? ' (first 1000)' : ''}`, ...lines].join('\n'),
        };
      }
      const f = r.file;
      return {
        structured: {
          file_path: f.path,
          type: 'file' as const,
          size_bytes: f.sizeBytes,
          checksum: f.checksum,
          mime_type: f.mimeType,
          encoding: r.encoding,
          // An EncodedBytes: the transport writes it as the string the schema says, slice by slice from the bytes.
          content: r.content as unknown as string,
        },
        text: `${f.path} (${f.sizeBytes} bytes, ${f.mimeType}, ${f.checksum}); content in structuredContent as ${r.encoding}${r.image ? ', and as an image block' : ''}.`,
        blocks: r.image
          ? [fileBlock({ sandboxId: args.sandbox_id, path: f.path, mimeType: f.mimeType, data: r.image })]
          : [],
      };
    },
  });
