import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  listTorrents,
  patternBytes,
  tempDir,
  testSeeder,
  testTracker,
  waitFor,
} from './helpers.js';

const FILES = 1000;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('restart over already-hashed files', () => {
  it(`republishes ${FILES} files without rehashing`, async () => {
    const root = join(tmp.dir, 'many');
    const stateDir = join(tmp.dir, 'state');
    for (let d = 0; d < 10; d++) {
      mkdirSync(join(root, `d${d}`), { recursive: true });
      for (let f = 0; f < FILES / 10; f++) {
        writeFileSync(join(root, `d${d}`, `f${f}.bin`), patternBytes(2000, d * 1000 + f + 1));
      }
    }
    const tracker = await testTracker();
    try {
      const first = await testSeeder(tracker.url, [root], stateDir, {
        settleMs: 200,
        renewIntervalMs: 20_000,
        leaseTtlSec: 60,
        scanIntervalMs: 30_000,
      });
      try {
        await waitFor(
          'first run published all',
          () => first.stats.published === FILES,
          40_000,
          200,
        );
        expect(first.stats.hashedFiles).toBe(FILES);
      } finally {
        await first.stop();
      }
      expect(await listTorrents(tracker.url)).toEqual([]);

      const started = Date.now();
      const second = await testSeeder(tracker.url, [root], stateDir, {
        settleMs: 200,
        renewIntervalMs: 20_000,
        leaseTtlSec: 60,
        scanIntervalMs: 30_000,
      });
      try {
        await waitFor(
          'restart republished all',
          async () => (await listTorrents(tracker.url)).length === FILES,
          40_000,
          200,
        );
        console.log(`restart: ${FILES} files republished in ${Date.now() - started} ms`);
        expect(second.stats.hashedFiles).toBe(0);
        expect(second.stats.cachedFiles).toBe(FILES);
      } finally {
        await second.stop();
      }
    } finally {
      await tracker.close();
    }
  });
});
