import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('defaults to Docker with the documented limits', () => {
    const c = loadConfig({});
    expect(c.provider).toBe('docker');
    expect(c.lifetime.defaultSeconds).toBe(1800);
    expect(c.limits.codeBytes).toBe(100 * 1024);
    expect(c.exec.defaultTimeoutSeconds).toBe(60);
    expect(c.network).toBe('bridge');
    expect(c.stateDir).toMatch(/sandbox-mcp$/);
  });

  it('picks e2b when a key is set and no provider is named, and the named provider otherwise', () => {
    expect(loadConfig({ E2B_API_KEY: 'k' }).provider).toBe('e2b');
    expect(loadConfig({ E2B_API_KEY: 'k', SANDBOX_PROVIDER: 'docker' }).provider).toBe('docker');
  });

  it("names the variable and the bad value, but never a key's value", () => {
    expect(() => loadConfig({ SANDBOX_EXEC_TIMEOUT: '-5' })).toThrow(/SANDBOX_EXEC_TIMEOUT \(got "-5"\)/);
    expect(() => loadConfig({ SANDBOX_NETWORK: 'host' })).toThrow(/SANDBOX_NETWORK/);
    expect(() => loadConfig({ SANDBOX_PROVIDER: 'e2b' })).toThrow(ConfigError);
    expect(() => loadConfig({ SANDBOX_PROVIDER: 'e2b' })).toThrow(/E2B_API_KEY/);
  });

  it('lowers the background default under a lower lifetime cap, and refuses only a value set above it', () => {
    expect(loadConfig({ SANDBOX_MAX_TIMEOUT: '1800' }).exec.backgroundTimeoutSeconds).toBe(1800);
    expect(() => loadConfig({ SANDBOX_MAX_TIMEOUT: '1800', SANDBOX_BACKGROUND_TIMEOUT: '3600' })).toThrow(
      /SANDBOX_BACKGROUND_TIMEOUT/,
    );
  });

  it('refuses defaults above their maximums', () => {
    expect(() => loadConfig({ SANDBOX_DEFAULT_TIMEOUT: '7200', SANDBOX_MAX_TIMEOUT: '3600' })).toThrow(
      /SANDBOX_DEFAULT_TIMEOUT/,
    );
    expect(() => loadConfig({ SANDBOX_DEFAULT_MEMORY_MB: '9000', SANDBOX_MAX_MEMORY_MB: '8000' })).toThrow(
      /SANDBOX_DEFAULT_MEMORY_MB/,
    );
  });

  it('reads per-template image overrides', () => {
    const c = loadConfig({ SANDBOX_IMAGE_PYTHON: 'my/python:1', SANDBOX_IMAGE_CLAUDE_CODE: 'my/cc:2' });
    expect(c.templateImages).toEqual({ python: 'my/python:1', 'claude-code': 'my/cc:2' });
  });

  it('reads the network allowances and the filter switch, refusing malformed entries', () => {
    expect(loadConfig({}).networkPolicy).toEqual({ allow: [], filter: true });
    const c = loadConfig({
      SANDBOX_NETWORK_ALLOW: 'host:5432, 10.1.2.3:443,192.168.0.0/16',
      SANDBOX_NETWORK_FILTER: 'off',
    });
    expect(c.networkPolicy).toEqual({
      allow: [
        { target: 'host', port: 5432 },
        { target: '10.1.2.3/32', port: 443 },
        { target: '192.168.0.0/16', port: undefined },
      ],
      filter: false,
    });
    expect(() => loadConfig({ SANDBOX_NETWORK_ALLOW: 'host' })).toThrow(/SANDBOX_NETWORK_ALLOW.*host:PORT/);
    expect(() => loadConfig({ SANDBOX_NETWORK_ALLOW: '10.0.0.1:99999' })).toThrow(/SANDBOX_NETWORK_ALLOW/);
    expect(() => loadConfig({ SANDBOX_NETWORK_ALLOW: 'example.com:80' })).toThrow(/SANDBOX_NETWORK_ALLOW/);
  });
});
