import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../config.js';
import { ErrorCode, SandboxError, truncateForMessage } from '../errors.js';
import { packageRoot } from '../package-root.js';
import type { SandboxSources } from '../providers/provider.js';

export const LANGUAGES = ['python', 'javascript', 'typescript', 'bash', 'sh'] as const;
export type Language = (typeof LANGUAGES)[number];
export type PackageManager = 'pip' | 'npm' | 'apt';

const TemplateFile = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  description: z.string(),
  language: z.enum(LANGUAGES),
  image: z.string().min(1),
  /** Path of a Dockerfile relative to the template file, used when the image is missing. */
  dockerfile: z.string().optional(),
  e2b_template: z.string().default('base'),
  cpus: z.number().positive().optional(),
  memory_mb: z.number().int().positive().optional(),
  timeout: z.number().int().positive().optional(),
  packages: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  aliases: z.array(z.string()).default([]),
  package_manager: z.enum(['pip', 'npm', 'apt']).optional(),
  /** Warm sandboxes to keep ready for this template (overrides SANDBOX_POOL_SIZE). */
  pool_size: z.number().int().min(0).max(100).optional(),
  /** Extra or replacement language runners: argv to which the code is appended as the last argument. */
  runners: z.record(z.string(), z.array(z.string()).min(1)).default({}),
});

export interface Template {
  name: string;
  description: string;
  language: Language;
  /** What each backend makes this template's sandboxes from (the file's `image`, `dockerfile`, `e2b_template`). */
  sources: TemplateBackendSources;
  cpus?: number;
  memoryMb?: number;
  timeout?: number;
  packages: string[];
  env: Record<string, string>;
  aliases: string[];
  packageManager: PackageManager;
  poolSize?: number;
  runners: Partial<Record<Language, string[]>>;
}

/** Every backend's source is filled for a template: the server may run on any backend. */
export type TemplateBackendSources = Required<SandboxSources>;

/** Interpreters that take the code as one argument: no file, no shell quoting, stdin left to the program. */
const DEFAULT_RUNNERS: Partial<Record<Language, string[]>> = {
  python: ['python3', '-c'],
  javascript: ['node', '-e'],
  bash: ['bash', '-c'],
  sh: ['sh', '-c'],
};

const defaultManager = (language: Language): PackageManager =>
  language === 'python' ? 'pip' : language === 'javascript' || language === 'typescript' ? 'npm' : 'apt';

export interface TemplateSources {
  /** Operator's folder of template files; same names replace the built-in ones. */
  extraDir?: string;
  /** One image for every template (machines without a registry). */
  imageOverride?: string;
  /** Per-template image overrides, by template name. */
  templateImages?: Record<string, string>;
}

/** The templates of `templates/` plus the operator's, with image overrides applied; loaded once. */
export class TemplateCatalog {
  private readonly byName = new Map<string, Template>();
  private readonly aliases = new Map<string, string>();

  constructor(sources: TemplateSources = {}, builtinDir = path.join(packageRoot(), 'templates')) {
    for (const dir of [builtinDir, sources.extraDir]) {
      if (!dir) continue;
      if (!existsSync(dir)) {
        throw new ConfigError(
          dir === sources.extraDir
            ? `SANDBOX_TEMPLATES_DIR (got "${dir}"): no such directory`
            : `the built-in templates folder ${dir} is missing: reinstall the package`,
        );
      }
      for (const file of readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()) {
        const template = loadTemplateFile(path.join(dir, file));
        this.byName.set(template.name, template);
      }
    }
    for (const t of this.byName.values()) {
      const override = sources.templateImages?.[t.name] ?? sources.imageOverride;
      if (override) t.sources.docker = { image: override }; // an operator's image is used as it is, never built
      for (const alias of t.aliases) if (!this.byName.has(alias)) this.aliases.set(alias, t.name);
    }
  }

  get(name: string): Template {
    const template = this.byName.get(name) ?? this.byName.get(this.aliases.get(name) ?? '');
    if (!template) {
      throw new SandboxError(
        ErrorCode.TEMPLATE_NOT_FOUND,
        `No template named "${truncateForMessage(name)}".`,
        `Available templates: ${this.names().join(', ')}.`,
      );
    }
    return template;
  }

  /** The template a sandbox was made from, or a stand-in with the default runners if it is gone. */
  find(name: string): Template {
    return this.byName.get(name) ?? this.byName.get(this.aliases.get(name) ?? '') ?? fallbackTemplate(name);
  }

  names(): string[] {
    return [...this.byName.keys(), ...this.aliases.keys()].sort();
  }

  all(): Template[] {
    return [...this.byName.values()];
  }
}

const fallbackTemplate = (name: string): Template => ({
  name,
  description: 'template no longer configured',
  language: 'bash',
  sources: { docker: { image: '' }, e2b: { template: 'base' } },
  packages: [],
  env: {},
  aliases: [],
  packageManager: 'apt',
  runners: { ...DEFAULT_RUNNERS },
});

function loadTemplateFile(file: string): Template {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`template ${file}: ${(err as Error).message}`);
  }
  const parsed = TemplateFile.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      `template ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const t = parsed.data;
  return {
    name: t.name,
    description: t.description,
    language: t.language,
    sources: {
      docker: {
        image: t.image,
        ...(t.dockerfile ? { dockerfile: path.resolve(path.dirname(file), t.dockerfile) } : {}),
      },
      e2b: { template: t.e2b_template },
    },
    cpus: t.cpus,
    memoryMb: t.memory_mb,
    timeout: t.timeout,
    packages: t.packages,
    env: t.env,
    aliases: t.aliases,
    packageManager: t.package_manager ?? defaultManager(t.language),
    poolSize: t.pool_size,
    runners: { ...DEFAULT_RUNNERS, ...(t.runners as Partial<Record<Language, string[]>>) },
  };
}

/** The argv that runs `code` in `language` for this template, or INVALID_ARGUMENT when it has no runner. */
export function runnerFor(template: Template, language: Language, code: string): string[] {
  const runner = template.runners[language];
  if (!runner) {
    const available = LANGUAGES.filter((l) => template.runners[l]).join(', ');
    throw new SandboxError(
      ErrorCode.INVALID_ARGUMENT,
      `The ${template.name} template has no ${language} runner.`,
      `Use one of: ${available}; or a template that has a ${language} runner.`,
    );
  }
  return [...runner, code];
}
