import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UnsafeNameError, outputPathFor, partPathsFor } from '@distributor/client';
import { removeDir, tempDir } from '../helpers/fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
  await mkdir(join(dir, 'sub'));
});
afterAll(async () => {
  await removeDir(dir);
});

describe('outputPathFor', () => {
  it('puts the file under its torrent name in the working directory by default', () => {
    expect(outputPathFor('ubuntu.iso', undefined, dir)).toBe(join(dir, 'ubuntu.iso'));
  });

  it('uses -o as the file path, or as a directory when it is one', () => {
    expect(outputPathFor('a.iso', 'b.iso', dir)).toBe(join(dir, 'b.iso'));
    expect(outputPathFor('a.iso', 'sub', dir)).toBe(join(dir, 'sub', 'a.iso'));
    expect(outputPathFor('a.iso', 'new/', dir)).toBe(join(dir, 'new', 'a.iso'));
    expect(outputPathFor('a.iso', '/tmp/x.iso', dir)).toBe('/tmp/x.iso');
  });

  it.each([
    ['..'],
    ['.'],
    [''],
    ['../etc/passwd'],
    ['a/b'],
    ['a\\b'],
    ['/etc/passwd'],
    ['bad\nname'],
    ['esc\x1b[31m'],
    ['nul\0'],
    ['x'.repeat(256)],
  ])('refuses the unsafe torrent name %j, even with -o', (name) => {
    expect(() => outputPathFor(name, undefined, dir)).toThrow(UnsafeNameError);
    expect(() => outputPathFor(name, 'out.bin', dir)).toThrow(UnsafeNameError);
  });

  it('names the companion files', () => {
    expect(partPathsFor('/d/f.iso')).toEqual({
      part: '/d/f.iso.part',
      resume: '/d/f.iso.part.resume',
    });
  });
});
