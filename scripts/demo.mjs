#!/usr/bin/env node
// A short session against the built server, as an agent would hold it: create a Python sandbox, run code,
// upload a CSV and compute on it, read the logs, stop, delete. Each step is printed.
// Usage: npm run demo   (needs a running Docker engine; honours the same variables as the server)
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const transport = new StdioClientTransport({
  command: process.execPath,
  args: [path.join(root, 'dist', 'index.js')],
  env: { ...process.env },
  stderr: 'inherit',
});
const client = new Client({ name: 'sandbox-mcp-demo', version: '1.0.0' });

async function call(name, args) {
  process.stdout.write(`\n> ${name} ${JSON.stringify(args).slice(0, 160)}\n`);
  const result = await client.callTool({ name, arguments: args });
  const text = result.content?.find((c) => c.type === 'text')?.text ?? '';
  process.stdout.write(`${result.isError ? 'ERROR ' : ''}${text}\n`);
  if (result.isError) throw new Error(`${name} failed`);
  return result.structuredContent;
}

let sandboxId;
try {
  await client.connect(transport);
  const { tools } = await client.listTools();
  process.stdout.write(`connected: ${tools.length} tools (${tools.map((t) => t.name).join(', ')})\n`);
  ({ sandbox_id: sandboxId } = await call('sandbox_create', {
    template: 'python',
    name: 'demo',
    env_vars: { GREETING: 'hello' },
  }));
  await call('sandbox_execute', {
    sandbox_id: sandboxId,
    code: 'import os, sys\nprint(os.environ["GREETING"], "from Python", sys.version.split()[0])',
  });
  await call('sandbox_upload', {
    sandbox_id: sandboxId,
    file_path: 'data/sales.csv',
    content: 'region,amount\nnorth,120\nsouth,80\nnorth,30\n',
  });
  await call('sandbox_execute', {
    sandbox_id: sandboxId,
    code: 'import csv\nfrom collections import Counter\ntotals = Counter()\nfor row in csv.DictReader(open("data/sales.csv")):\n    totals[row["region"]] += int(row["amount"])\nprint(dict(totals))',
  });
  await call('sandbox_logs', { sandbox_id: sandboxId, lines: 20 });
  await call('sandbox_stop', { sandbox_id: sandboxId });
} finally {
  if (sandboxId) await call('sandbox_delete', { sandbox_id: sandboxId }).catch(() => undefined);
  await client.close();
}
