import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { silentLogger } from '../logger.js';
import { TemplateCatalog } from '../sandbox/templates.js';
import { fail, ok, type Check } from './check.js';
import { checkDocker } from './docker-checks.js';
import { checkE2B } from './e2b-checks.js';
import { checkNode, checkStateDir } from './local-checks.js';
import { print } from '../terminal.js';

/** Every check, in the order a person would fix them. Later checks need the configuration to have loaded. */
export async function diagnose(env: NodeJS.ProcessEnv = process.env): Promise<Check[]> {
  const checks: Check[] = [checkNode()];
  let config: Config;
  let templates: TemplateCatalog;
  try {
    config = loadConfig(env);
    templates = new TemplateCatalog({
      extraDir: config.templatesDir,
      imageOverride: config.imageOverride,
      templateImages: config.templateImages,
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    checks.push(
      fail(
        'configuration',
        err.message,
        "Fix that variable in the server's environment (every variable and its default: .env.example).",
      ),
    );
    return checks;
  }
  checks.push(
    ok(
      'configuration',
      `provider ${config.provider}, ${templates.names().length} templates, sandboxes kept ${config.onExit === 'keep' ? 'on exit' : `${config.onExit === 'stop' ? 'stopped' : 'deleted'} on exit`}`,
    ),
  );
  checks.push(
    ...(config.provider === 'docker' ? await checkDocker(config, templates) : await checkE2B(config, silentLogger())),
  );
  checks.push(checkStateDir(config));
  return checks;
}

const MARK = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;

/** `sandbox-mcp doctor [--json]`: one line per check with its fix; exit status 1 when one failed. */
export async function runDoctor(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' } }, strict: true });
  const checks = await diagnose();
  const failed = checks.filter((c) => c.status === 'fail').length;
  if (values.json) {
    print(`${JSON.stringify({ ok: failed === 0, checks }, null, 2)}\n`);
  } else {
    for (const c of checks)
      print(`[${MARK[c.status]}] ${c.name}: ${c.detail.replace(/\.$/, '')}${c.fix ? `. Fix: ${c.fix}` : ''}\n`);
    const warned = checks.filter((c) => c.status === 'warn').length;
    print(
      failed ? `\n${failed} check(s) failed.\n` : `\nAll checks passed${warned ? ` (${warned} warning(s))` : ''}.\n`,
    );
  }
  return failed ? 1 : 0;
}
