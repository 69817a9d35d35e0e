import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { reapExpired } from '../../src/sandbox/background/reaper.js';
import { describeDocker } from '../helpers/docker-env.js';
import { dockerSession } from '../helpers/docker-session.js';
import { testConfig } from '../helpers/test-config.js';

describeDocker('state files on the host: bounded, scrubbed, never trusted', () => {
  const config = testConfig();
  let s: Awaited<ReturnType<typeof dockerSession>>;
  let id: string;
  const stateFile = (name: string) => path.join(config.stateDir, 'sandboxes', id, name);

  beforeAll(async () => {
    s = await dockerSession(config);
    id = (await s.ok('sandbox_create', { template: 'base', timeout: 600, env_vars: { API_TOKEN: 'tok-0123456789' } }))
      .sandbox_id;
  });

  afterAll(async () => {
    await s?.close();
  });

  it("keeps env_vars values (the sandbox's and the run's) out of the stored history", async () => {
    const run = await s.ok('sandbox_execute', {
      sandbox_id: id,
      code: 'echo "token=$API_TOKEN run=$RUN_PASSWORD"',
      language: 'bash',
      env_vars: { RUN_PASSWORD: 'pw-run-only-77' },
    });
    expect(run.output).toBe('token=tok-0123456789 run=pw-run-only-77\n'); // the caller gets its own output
    const stored = readFileSync(stateFile('history.jsonl'), 'utf8');
    expect(stored).not.toContain('tok-0123456789');
    expect(stored).not.toContain('pw-run-only-77');
    const logs = await s.ok('sandbox_logs', { sandbox_id: id });
    expect(JSON.stringify(logs.logs)).toContain('token=[redacted] run=[redacted]');
  });

  it('keeps them out of what a background execution stores too', async () => {
    const started = await s.ok('sandbox_execute', {
      sandbox_id: id,
      code: 'echo "bg token=$API_TOKEN run=$RUN_PASSWORD"',
      language: 'bash',
      background: true,
      env_vars: { RUN_PASSWORD: 'pw-background-88' },
    });
    let execution: { status?: string } = {};
    for (let i = 0; i < 100 && execution.status !== 'completed'; i++) {
      execution = (await s.ok('sandbox_logs', { sandbox_id: id, execution_id: started.execution_id })).execution ?? {};
      if (execution.status !== 'completed') await new Promise((r) => setTimeout(r, 100));
    }
    expect(execution.status).toBe('completed');
    const stored = readFileSync(stateFile('history.jsonl'), 'utf8');
    expect(stored).toContain('bg token=[redacted] run=[redacted]');
    expect(stored).not.toContain('tok-0123456789');
    expect(stored).not.toContain('pw-background-88');
  });

  it('serves list, logs and status, and reaps nothing, when the record and history hold garbage', async () => {
    writeFileSync(stateFile('record.json'), '{}');
    appendFileSync(
      stateFile('history.jsonl'),
      '\n{"ts":"2026-01-01T00:00:00Z","level":"loud","source":"system","message":7}',
    );
    const list = await s.ok('sandbox_list', {});
    expect(list.sandboxes.map((x) => x.sandbox_id)).toContain(id);
    const logs = await s.ok('sandbox_logs', { sandbox_id: id });
    expect(logs.logs.length).toBeGreaterThan(0);
    const status = await s.ok('sandbox_status', { sandbox_id: id });
    expect(status.sandbox.status).toBe('running');
    expect(await reapExpired(s.sandboxes.ctx)).toEqual([]);
    expect(s.logs.text).toMatch(/sandbox record is invalid/);
  });
});
