import { z } from 'zod';
import { sandboxId } from './schemas.js';
import { defineTool } from './tool.js';

const inputSchema = z.object({
  sandbox_id: sandboxId,
  file_path: z.string().min(1).max(4096).describe('Path inside the sandbox; relative paths are under /home/user. Missing folders are made.'),
  content: z.string().describe('The file\'s content: text, or base64 with encoding "base64".'),
  encoding: z.enum(['utf8', 'base64']).default('utf8').describe('How content is encoded (default utf8).'),
  permissions: z.string().regex(/^[0-7]{3,4}$/, 'an octal mode such as "644"').default('644').describe('Octal file mode, such as "644" or "755" (default 644).'),
});

const outputSchema = z.object({
  file_path: z.string().describe('Absolute path inside the sandbox.'),
  size_bytes: z.number().int(),
  checksum: z.string().describe('sha256:<hex> of the bytes written, computed inside the sandbox.'),
  permissions: z.string(),
  upload_time: z.number().describe('Seconds.'),
});

export const sandboxUpload = defineTool({
  name: 'sandbox_upload',
  title: 'Upload a file',
  description: 'Write a file into a running sandbox (replacing any file at that path) and return its checksum as computed inside the sandbox. Files are written as the sandbox user.',
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, { sandboxes }) {
    const r = await sandboxes.upload({
      sandboxId: args.sandbox_id,
      filePath: args.file_path,
      content: args.content,
      encoding: args.encoding,
      permissions: args.permissions,
    });
    return {
      structured: { file_path: r.path, size_bytes: r.sizeBytes, checksum: r.checksum, permissions: r.permissions, upload_time: r.uploadTimeS },
      text: `Wrote ${r.path} (${r.sizeBytes} bytes, ${r.checksum}, mode ${r.permissions}).`,
    };
  },
});
