import type { Config } from '../config.js';
import { sandboxConfigure } from './sandbox-configure.js';
import { sandboxCreate } from './sandbox-create.js';
import { sandboxDelete } from './sandbox-delete.js';
import { sandboxDownload } from './sandbox-download.js';
import { sandboxExecute } from './sandbox-execute.js';
import { sandboxList } from './sandbox-list.js';
import { sandboxLogs } from './sandbox-logs.js';
import { sandboxStatus } from './sandbox-status.js';
import { sandboxStop } from './sandbox-stop.js';
import { sandboxUpload } from './sandbox-upload.js';

/**
 * Every tool the server offers, in the order tools/list shows them. Schemas that have caps or defaults from the
 * configuration are built from it, so tools/list states the real ones. Each keeps its own name and schema types:
 * `ToolTypes` (tool-types.ts) is derived from this list.
 */
export const toolsFor = (config: Config) => [
  sandboxCreate(config),
  sandboxExecute(config),
  sandboxList,
  sandboxStatus,
  sandboxConfigure(config),
  sandboxUpload(config),
  sandboxDownload(config),
  sandboxLogs,
  sandboxStop,
  sandboxDelete,
];
