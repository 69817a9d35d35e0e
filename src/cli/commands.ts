import { readFileSync } from 'node:fs';
import { reapExpired } from '../sandbox/background/reaper.js';
import type { CliSession, ToolOutcome } from './cli-session.js';
import type { ToolName, ToolOutput } from '../tools/tool-types.js';
import { duration, keyValues, megabytes, table } from './format.js';
import { print, printLine } from '../terminal.js';

/** A usage mistake: the message and exit status 2. */
export class UsageError extends Error {}

export interface CommandInput {
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
  json: boolean;
}

export interface Command {
  usage: string;
  summary: string;
  options: Record<string, { type: 'string' | 'boolean' }>;
  run(session: CliSession, input: CommandInput): Promise<number>;
}

const out = printLine;
const err = (text: string) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
const progressToStderr = (json: boolean) => (json ? undefined : (message: string) => err(`  ${message.trimEnd()}`));

function sandboxArg(input: CommandInput, usage: string): string {
  const [id, ...rest] = input.positionals;
  if (!id || rest.length) throw new UsageError(`usage: sandbox-mcp ${usage}`);
  return id;
}

const intOption = (input: CommandInput, name: string): number | undefined => {
  const raw = input.values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} takes a whole number (got "${raw}")`);
  return n;
};

/** Prints a tool's outcome: its JSON, or `human` for people; an error the tool way (`CODE: message`, hint). */
function report<N extends ToolName>(
  r: ToolOutcome<N>,
  input: CommandInput,
  human: (s: ToolOutput<N>) => string,
): number {
  if (input.json) out(JSON.stringify(r.structured, null, 2));
  else if (r.ok) out(human(r.structured));
  else err(r.text);
  return r.ok ? 0 : 1;
}

const list: Command = {
  usage: 'list [--status running|stopped|all] [--template T]',
  summary: 'the sandboxes of this namespace',
  options: { status: { type: 'string' }, template: { type: 'string' } },
  async run(session, input) {
    const r = await session.call('sandbox_list', {
      status: input.values.status ?? 'all',
      template: input.values.template,
      limit: 1000,
    });
    return report(r, input, (s) => {
      if (!s.sandboxes.length) return 'No sandboxes.';
      const rows = s.sandboxes.map((x) => [x.sandbox_id, x.status, x.template, x.name, x.created_at, x.expires_at]);
      return `${table(['ID', 'STATUS', 'TEMPLATE', 'NAME', 'CREATED', 'EXPIRES'], rows)}\n\n${s.total_count} sandbox(es): ${s.running_count} running, ${s.stopped_count} stopped.`;
    });
  },
};

const status: Command = {
  usage: 'status ID',
  summary: 'one sandbox in detail',
  options: {},
  async run(session, input) {
    const r = await session.call('sandbox_status', { sandbox_id: sandboxArg(input, this.usage) });
    return report(r, input, ({ sandbox: s }) =>
      keyValues([
        ['ID', s.id],
        ['Name', s.name],
        ['Status', s.status],
        ['Template', s.template],
        ['Provider', s.provider],
        ['Uptime', duration(s.uptime)],
        ['Created', s.created_at],
        ['Last activity', s.last_activity],
        ['Expires', s.expires_at],
        ['CPU', `${s.resource_usage.cpu_percent.toFixed(1)}%`],
        ['Memory', `${megabytes(s.resource_usage.memory_used)} of ${megabytes(s.resource_usage.memory_limit)}`],
        ['Processes', s.resource_usage.pids],
        [
          'Languages',
          Object.entries(s.environment.language_versions)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ],
        [
          'Executions',
          `${s.executions.total} (${s.executions.successful} ok, ${s.executions.failed} failed, ${s.executions.average_duration}s on average)`,
        ],
      ]),
    );
  },
};

const logs: Command = {
  usage: 'logs ID [--lines N]',
  summary: "a sandbox's history: lifecycle events and every run's output",
  options: { lines: { type: 'string' } },
  async run(session, input) {
    const r = await session.call('sandbox_logs', {
      sandbox_id: sandboxArg(input, this.usage),
      lines: intOption(input, 'lines') ?? 100,
    });
    return report(r, input, (s) =>
      s.logs.length
        ? s.logs
            .map((l) => `${l.timestamp ?? ''}  ${l.level.padEnd(5)}  ${l.source.padEnd(9)}  ${l.message.trimEnd()}`)
            .join('\n')
        : 'No history yet.',
    );
  },
};

const create: Command = {
  usage: 'create [--template T] [--name N] [--timeout SECONDS]',
  summary: 'a new sandbox (template base unless told)',
  options: { template: { type: 'string' }, name: { type: 'string' }, timeout: { type: 'string' } },
  async run(session, input) {
    if (input.positionals.length) throw new UsageError(`usage: sandbox-mcp ${this.usage}`);
    const args = {
      template: input.values.template ?? 'base',
      name: input.values.name,
      timeout: intOption(input, 'timeout'),
    };
    const r = await session.call('sandbox_create', args, progressToStderr(input.json));
    return report(r, input, (s) =>
      keyValues([
        ['ID', s.sandbox_id],
        ['Template', s.template],
        ['Provider', s.provider],
        ['Status', s.status],
        ['Expires', s.expires_at],
      ]),
    );
  },
};

const exec: Command = {
  usage: 'exec ID (--code CODE | --file FILE) [--language L] [--timeout SECONDS]',
  summary: "run code in a sandbox; exits with the run's exit code (124 on timeout)",
  options: {
    code: { type: 'string' },
    file: { type: 'string' },
    language: { type: 'string' },
    timeout: { type: 'string' },
  },
  async run(session, input) {
    const id = sandboxArg(input, this.usage);
    const { code, file } = input.values;
    if ((code === undefined) === (file === undefined))
      throw new UsageError('exec takes exactly one of --code or --file (a file on this machine; - for standard input)');
    const source = typeof code === 'string' ? code : readFileSync(file === '-' ? 0 : String(file), 'utf8');
    const r = await session.call('sandbox_execute', {
      sandbox_id: id,
      code: source,
      language: input.values.language,
      timeout: intOption(input, 'timeout'),
    });
    if (!r.ok) return report(r, input, () => '');
    const s = r.structured;
    if (input.json) {
      out(JSON.stringify(s, null, 2));
      return exitStatusOf(s);
    }
    if (s.output) print(s.output);
    if (s.error) process.stderr.write(s.error);
    if (s.output_truncated)
      err(`[output truncated: ${s.output_bytes} bytes of stdout, ${s.error_bytes} of stderr were written]`);
    if (s.hint) err(`[${s.hint}]`);
    return exitStatusOf(s);
  },
};

/** A run's exit status as a shell reports it: its own code, 124 for a time-out (as timeout(1)). */
function exitStatusOf(s: ToolOutput<'sandbox_execute'>): number {
  if (s.status === 'timeout') return 124;
  if (s.status === 'completed') return 0;
  return typeof s.exit_code === 'number' && s.exit_code > 0 ? Math.min(s.exit_code, 255) : 1;
}

const stop: Command = {
  usage: 'stop ID',
  summary: 'stop a sandbox, keeping its files',
  options: {},
  async run(session, input) {
    const r = await session.call('sandbox_stop', { sandbox_id: sandboxArg(input, this.usage) });
    return report(r, input, (s) => `Stopped ${s.sandbox_id} (was ${s.previous_status}); its files are kept.`);
  },
};

const remove: Command = {
  usage: 'delete ID',
  summary: 'delete a sandbox and everything it owned',
  options: {},
  async run(session, input) {
    const r = await session.call('sandbox_delete', { sandbox_id: sandboxArg(input, this.usage) });
    return report(r, input, (s) => `Deleted ${s.sandbox_id} (${s.resources_cleaned.join(', ')}).`);
  },
};

const cleanup: Command = {
  usage: 'cleanup [--all]',
  summary: 'delete expired and stopped sandboxes (--all: every sandbox of this namespace)',
  options: { all: { type: 'boolean' } },
  async run(session, input) {
    if (input.positionals.length) throw new UsageError(`usage: sandbox-mcp ${this.usage}`);
    const deleted: Array<{ sandbox_id: string; reason: string }> = [];
    const failed: Array<{ sandbox_id: string; error: unknown }> = [];
    if (!input.values.all) {
      // Expired ones go the way the server's own expiry sweep removes them.
      for (const id of await reapExpired(session.sandboxes.ctx)) deleted.push({ sandbox_id: id, reason: 'expired' });
    }
    const listed = await session.call('sandbox_list', { status: input.values.all ? 'all' : 'stopped', limit: 1000 });
    if (!listed.ok) return report(listed, input, () => '');
    for (const s of listed.structured.sandboxes as Array<{ sandbox_id: string; status: string }>) {
      const r = await session.call('sandbox_delete', { sandbox_id: s.sandbox_id });
      if (r.ok) deleted.push({ sandbox_id: s.sandbox_id, reason: s.status });
      else if (r.structured.error?.code !== 'SANDBOX_NOT_FOUND')
        failed.push({ sandbox_id: s.sandbox_id, error: r.structured.error });
    }
    if (input.json) out(JSON.stringify({ deleted, failed }, null, 2));
    else {
      out(
        deleted.length
          ? `${table(
              ['DELETED', 'WAS'],
              deleted.map((d) => [d.sandbox_id, d.reason]),
            )}\n\n${deleted.length} sandbox(es) deleted.`
          : 'Nothing to clean up.',
      );
      for (const f of failed) err(`${f.sandbox_id}: ${JSON.stringify(f.error)}`);
    }
    return failed.length ? 1 : 0;
  },
};

/** The commands for people, in the order the help shows them. */
export const commands: Record<string, Command> = { list, status, logs, create, exec, stop, delete: remove, cleanup };
