import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTracker } from '@distributor/tracker';
import { parseMetainfo } from '@distributor/core';
import {
  lastJson,
  makeFile,
  removeDir,
  runDistGet,
  sha1OfFile,
  tempDir,
} from '../helpers/fixtures.js';
import type { Running } from '../helpers/fixtures.js';
import { mktorrent, startAria2Seeder, waitForSeeds } from '../helpers/aria2.js';
import type { Aria2Seeder } from '../helpers/aria2.js';

let dir: string;
let tracker: Awaited<ReturnType<typeof startTracker>>;
const seeders: Aria2Seeder[] = [];
const running: Running[] = [];

beforeAll(async () => {
  dir = await tempDir();
  tracker = await startTracker({ host: '127.0.0.1', port: 0, open: true, logLevel: 'silent' });
});

afterAll(async () => {
  for (const r of running) r.kill();
  for (const s of seeders) s.stop();
  await tracker?.close();
  await removeDir(dir);
});

const PIECE = 256 * 1024;

describe('dist-get from a swarm of 2 aria2c seeders (torrent by mktorrent, our tracker --open)', () => {
  it.each([
    ['1 byte', 'one-byte.bin', 1],
    ['one piece', 'one-piece.bin', PIECE],
    ['100 MiB', 'hundred.bin', 100 * 1024 * 1024],
  ])('%s: byte-identical', async (_label, name, size) => {
    const caseDir = join(dir, name.replace(/\W/g, '_'));
    const file = await makeFile(join(dir, name), size);
    const torrentPath = join(dir, `${name}.torrent`);
    mktorrent(file, torrentPath, `${tracker.url}/announce`, PIECE);
    const meta = await parseMetainfo(await readFile(torrentPath));
    const mine = [
      await startAria2Seeder(torrentPath, file, caseDir, '127.0.0.2'),
      await startAria2Seeder(torrentPath, file, caseDir, '127.0.0.3'),
    ];
    seeders.push(...mine);
    try {
      await waitForSeeds(tracker.url, meta.infoHash, 2);
      const run = runDistGet(
        [
          '--torrent',
          torrentPath,
          '-o',
          join(caseDir, 'out.bin'),
          '--port',
          '0',
          '--seed-time',
          '0',
          '--json',
        ],
        { cwd: caseDir },
      );
      running.push(run);
      const result = await run.done;
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(await sha1OfFile(join(caseDir, 'out.bin'))).toBe(await sha1OfFile(file));
      const summary = lastJson(result.stdout);
      expect(summary['received'] as number).toBeGreaterThanOrEqual(size);
    } finally {
      for (const s of mine) s.stop();
    }
  });
});
