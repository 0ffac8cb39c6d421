import { describe, expect, it } from '@jest/globals';
import { bearerMatches, resolveName, resolveConfig, unsafePathReason } from '@distributor/tracker';
import type { RegistryEntry } from '@distributor/tracker';

function entry(
  root: string,
  path: string,
  mtimeMs = 1,
  infoHash = `${root}/${path}`,
): RegistryEntry {
  const name = path.split('/').pop()!;
  return {
    infoHash,
    root,
    path,
    name,
    length: 1,
    pieceLength: 16384,
    mtimeMs,
    publishedAt: 0,
    expiresAt: 1e15,
  };
}

describe('resolveName', () => {
  const entries = [
    entry('isos', 'sub/file.iso'),
    entry('isos', 'top.iso'),
    entry('images', 'top.iso'),
    entry('images', 'a/dup.img'),
    entry('isos', 'b/dup.img'),
  ];

  it('finds a file by its path, by ROOT/path, and by a unique bare name', () => {
    expect(resolveName(entries, 'sub/file.iso')).toMatchObject({
      kind: 'found',
      entry: { root: 'isos' },
    });
    expect(resolveName(entries, 'isos/sub/file.iso')).toMatchObject({ kind: 'found' });
    expect(resolveName(entries, 'file.iso')).toMatchObject({
      kind: 'found',
      entry: { path: 'sub/file.iso' },
    });
    expect(resolveName(entries, 'images/top.iso')).toMatchObject({
      kind: 'found',
      entry: { root: 'images' },
    });
  });

  it('reports ambiguity with every candidate, and unknown names', () => {
    expect(resolveName(entries, 'top.iso')).toEqual({
      kind: 'ambiguous',
      candidates: ['images/top.iso', 'isos/top.iso'],
    });
    expect(resolveName(entries, 'dup.img')).toEqual({
      kind: 'ambiguous',
      candidates: ['images/a/dup.img', 'isos/b/dup.img'],
    });
    expect(resolveName(entries, 'nope.iso')).toEqual({ kind: 'unknown' });
    expect(resolveName(entries, 'sub')).toEqual({ kind: 'unknown' });
  });

  it('prefers the newest version when one file is published under two hashes', () => {
    const versions = [entry('isos', 'f.iso', 10, 'old'), entry('isos', 'f.iso', 20, 'new')];
    expect(resolveName(versions, 'f.iso')).toMatchObject({
      kind: 'found',
      entry: { infoHash: 'new' },
    });
  });
});

describe('unsafePathReason', () => {
  it('accepts relative paths and rejects escapes', () => {
    expect(unsafePathReason('sub/file.iso')).toBeNull();
    expect(unsafePathReason('ünï cødé.iso')).toBeNull();
    for (const bad of [
      '',
      '/etc/passwd',
      '../x',
      'a/../b',
      'a//b',
      'a/./b',
      'a\\b',
      'a\0b',
      'x/',
    ]) {
      expect(unsafePathReason(bad)).not.toBeNull();
    }
  });
});

describe('bearerMatches', () => {
  it('accepts only the exact token', () => {
    expect(bearerMatches('Bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('Bearer s3cre', 's3cret')).toBe(false);
    expect(bearerMatches('Basic s3cret', 's3cret')).toBe(false);
    expect(bearerMatches(undefined, 's3cret')).toBe(false);
    expect(bearerMatches('Bearer ', '')).toBe(false);
  });
});

describe('resolveConfig', () => {
  it('applies the defaults and derives min interval from interval', () => {
    const c = resolveConfig({});
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 6969,
      interval: 30,
      minInterval: 15,
      open: false,
    });
    expect(resolveConfig({ interval: 300 }).minInterval).toBe(150);
  });

  it('rejects bad values with a line naming the flag', () => {
    expect(() => resolveConfig({ port: 70000 })).toThrow(/--port/);
    expect(() => resolveConfig({ interval: 0 })).toThrow(/--interval/);
    expect(() => resolveConfig({ minInterval: 60 })).toThrow(/--min-interval/);
    expect(() => resolveConfig({ publicUrl: 'ftp://x' })).toThrow(/--public-url/);
    expect(() => resolveConfig({ store: 'mysql://x' })).toThrow(/--store/);
    expect(() => resolveConfig({ logLevel: 'loud' as never })).toThrow(/--log-level/);
  });
});
