import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planInstalls } from '../../src/sandbox/packages.js';
import { runnerFor, TemplateCatalog } from '../../src/sandbox/templates.js';

describe('planInstalls', () => {
  it("groups by manager, apt first, using the template's manager for bare names", () => {
    const steps = planInstalls(['pandas==2.2.2', 'npm:lodash@4', 'apt:jq', 'requests[socks]'], 'pip');
    expect(steps.map((s) => [s.manager, s.packages])).toEqual([
      ['apt', ['jq']],
      ['pip', ['pandas==2.2.2', 'requests[socks]']],
      ['npm', ['lodash@4']],
    ]);
    expect(steps[1]!.argv.slice(-3)).toEqual(['--', 'pandas==2.2.2', 'requests[socks]']);
  });

  it.each(['--index-url=http://evil', '-r', 'a b', 'x;reboot', '$(id)', ''])('refuses %j as a package name', (bad) => {
    expect(() => planInstalls([bad], 'apt')).toThrow(/not a package name/);
  });
});

describe('TemplateCatalog', () => {
  it('has the seed templates and aliases, each with a default language', () => {
    const c = new TemplateCatalog();
    for (const name of [
      'base',
      'python',
      'node',
      'react',
      'nextjs',
      'vanilla',
      'claude-code',
      'minimal',
      'nodejs',
      'general',
    ]) {
      expect(c.get(name).name, name).toBeTruthy();
    }
    expect(c.get('nodejs').name).toBe('node');
    expect(c.get('python').language).toBe('python');
    expect(c.get('python').packageManager).toBe('pip');
    expect(c.get('node').packageManager).toBe('npm');
    expect(c.get('base').packageManager).toBe('apt');
  });

  it('applies image overrides and drops the Dockerfile for them', () => {
    const c = new TemplateCatalog({ imageOverride: 'local/base:1', templateImages: { node: 'local/node:2' } });
    expect(c.get('python').sources.docker.image).toBe('local/base:1');
    expect(c.get('node').sources.docker.image).toBe('local/node:2');
    expect(c.get('node').sources.docker.dockerfile).toBeUndefined();
  });

  it("adds and replaces templates from the operator's folder", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'templates-'));
    writeFileSync(
      path.join(dir, 'python.json'),
      JSON.stringify({ name: 'python', description: 'mine', language: 'python', image: 'corp/python:3' }),
    );
    writeFileSync(
      path.join(dir, 'rust.json'),
      JSON.stringify({
        name: 'rust',
        description: 'Rust',
        language: 'bash',
        image: 'rust:1',
        dockerfile: 'rust.Dockerfile',
      }),
    );
    const c = new TemplateCatalog({ extraDir: dir });
    expect(c.get('python').sources.docker.image).toBe('corp/python:3');
    expect(c.get('rust').sources.docker.dockerfile).toBe(path.join(dir, 'rust.Dockerfile'));
  });

  it('answers an unknown template with the list of known ones', () => {
    expect(() => new TemplateCatalog().get('cobol')).toThrow(/No template named "cobol"/);
  });

  it('builds runners that take the code as one argument, and refuses languages without one', () => {
    const c = new TemplateCatalog();
    expect(runnerFor(c.get('python'), 'python', 'print(1)')).toEqual(['python3', '-c', 'print(1)']);
    expect(runnerFor(c.get('node'), 'typescript', 'let x: number = 1')).toEqual(['tsx', '-e', 'let x: number = 1']);
    expect(() => runnerFor(c.get('python'), 'typescript', 'x')).toThrow(/no typescript runner/);
  });
});
