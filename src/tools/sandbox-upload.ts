import { z } from 'zod';
import type { Config } from '../config.js';
import { sandboxId } from './schemas.js';
import { defineTool } from './tool.js';

/** The input schema states this server's size cap, so a model knows it before sending. */
const inputSchemaFor = ({ limits }: Config) =>
  z.object({
    sandbox_id: sandboxId,
    file_path: z.string().min(1).max(4096).describe('Relative to /home/user; folders are made.'),
    content: z.string().describe(`Text, or base64; at most ${limits.uploadBytes} bytes.`),
    encoding: z.enum(['utf8', 'base64']).default('utf8').describe('Of content.'),
    permissions: z
      .string()
      .regex(/^[0-7]{3,4}$/, 'an octal mode such as "644"')
      .default('644')
      .describe('Octal file mode.'),
  });

const outputSchema = z.object({
  file_path: z.string().describe('Absolute path inside the sandbox.'),
  size_bytes: z.number().int(),
  checksum: z.string().describe('sha256:<hex> of the bytes written, computed inside the sandbox.'),
  permissions: z.string(),
  upload_time: z.number().describe('Seconds.'),
});

export const sandboxUpload = (config: Config) =>
  defineTool({
    name: 'sandbox_upload',
    title: 'Upload a file',
    description: 'Write a file as the sandbox user (replacing any); returns its sha256 computed inside.',
    inputSchema: inputSchemaFor(config),
    outputSchema,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    // A long content arrives on disk (the stdio transport spills it) and is streamed into the sandbox from there.
    streamedArguments: ['content'],
    async handler(args, { sandboxes }, call) {
      const r = await sandboxes.upload({
        sandboxId: args.sandbox_id,
        filePath: args.file_path,
        content: call.streamed.get('content') ?? args.content,
        encoding: args.encoding,
        permissions: args.permissions,
      });
      return {
        structured: {
          file_path: r.path,
          size_bytes: r.sizeBytes,
          checksum: r.checksum,
          permissions: r.permissions,
          upload_time: r.uploadTimeS,
        },
        text: `Wrote ${r.path} (${r.sizeBytes} bytes, ${r.checksum}, mode ${r.permissions}).`,
      };
    },
  });
