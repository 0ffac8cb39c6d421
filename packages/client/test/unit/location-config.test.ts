import { describe, expect, it } from '@jest/globals';
import { ConfigError, resolveConfig } from '@distributor/client';

describe('location (rack-aware handout, issue 7)', () => {
  it('takes --location, else DIST_LOCATION, else none', () => {
    expect(resolveConfig({ name: 'f', location: 'zone-a/rack-1' }, {}).location).toBe(
      'zone-a/rack-1',
    );
    expect(resolveConfig({ name: 'f' }, { DIST_LOCATION: 'eu.1/r_7' }).location).toBe('eu.1/r_7');
    expect(resolveConfig({ name: 'f', location: 'z/a' }, { DIST_LOCATION: 'z/b' }).location).toBe(
      'z/a',
    );
    expect(resolveConfig({ name: 'f' }, {}).location).toBeUndefined();
  });

  it('rejects what the tracker would refuse', () => {
    for (const bad of ['rack-1', 'a/b/c', 'zone a/rack', '/rack', 'zone/']) {
      expect(() => resolveConfig({ name: 'f', location: bad }, {})).toThrow(ConfigError);
    }
  });
});
