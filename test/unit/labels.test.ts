import { describe, expect, it } from 'vitest';
import { defaultNamespace } from '../../src/config.js';
import { Labels, namespaceOf } from '../../src/labels.js';

describe('namespaceOf', () => {
  it('reads the namespace label, and gives sandboxes made before namespaces to the default namespace', () => {
    expect(namespaceOf({ [Labels.namespace]: 'team-a' })).toBe('team-a');
    expect(namespaceOf({ [Labels.managed]: 'true' })).toBe(defaultNamespace());
  });
});
