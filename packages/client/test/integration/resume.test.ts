import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTracker } from '@distributor/tracker';
import {
  lastJson,
  makeFile,
  makeTorrent,
  removeDir,
  runDistGet,
  sha1OfFile,
  tempDir,
} from '../helpers/fixtures.js';
import type { Running } from '../helpers/fixtures.js';
import { TestSeeder } from '../helpers/test-seeder.js';

const SIZE = 40 * 1024 * 1024;
let dir: string;
let tracker: Awaited<ReturnType<typeof startTracker>>;
let seeder: TestSeeder;
const running: Running[] = [];

beforeAll(async () => {
  dir = await tempDir();
  tracker = await startTracker({ host: '127.0.0.1', port: 0, open: true, logLevel: 'silent' });
  const source = await makeFile(join(dir, 'source.bin'), SIZE);
  const { torrent, meta } = await makeTorrent(source, {
    name: 'big.bin',
    pieceLength: 256 * 1024,
    announce: `${tracker.url}/announce`,
  });
  await writeFile(join(dir, 'big.torrent'), torrent);
  // Throttled, so that "half way" lasts long enough to aim a kill -9 at it. What the seeder
  // counts as sent includes blocks still in socket buffers at the kill (a few MiB on loopback),
  // so the file is large enough for that to stay well under the 10% we assert.
  seeder = await new TestSeeder({ path: source, meta, rateBytesPerSec: 8 * 1024 * 1024 }).start();
  await seeder.announce(tracker.url);
});

afterAll(async () => {
  for (const r of running) r.kill();
  await seeder?.close();
  await tracker?.close();
  await removeDir(dir);
});

const args = ['--torrent', 'big.torrent', '--port', '0', '--seed-time', '0', '--json'];

describe('resume and recognise existing data', () => {
  it('kill -9 half way, then again: resumes, downloading less than 10% twice', async () => {
    const first = runDistGet(args, { cwd: dir });
    running.push(first);
    const line = await first.waitForJson(
      (l) => l['type'] === 'progress' && (l['haveBytes'] as number) >= SIZE * 0.4,
    );
    first.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    const part = await stat(join(dir, 'big.bin.part'));
    expect(part.size).toBe(SIZE);
    await stat(join(dir, 'big.bin.part.resume'));
    await new Promise((r) => setTimeout(r, 200)); // let the seeder notice the dead connection
    const uploadedBeforeKill = seeder.uploaded;

    const second = runDistGet(args, { cwd: dir });
    running.push(second);
    const result = await second.done;
    expect(result.code).toBe(0);
    expect(await sha1OfFile(join(dir, 'big.bin'))).toBe(await sha1OfFile(join(dir, 'source.bin')));
    await expect(stat(join(dir, 'big.bin.part'))).rejects.toThrow();
    await expect(stat(join(dir, 'big.bin.part.resume'))).rejects.toThrow();

    const summary = lastJson(result.stdout);
    const twice = seeder.uploaded - SIZE;
    process.stdout.write(
      `kill -9 at ${String(line['haveBytes'])} B of ${SIZE}; seeder sent ${uploadedBeforeKill} B ` +
        `before the kill and ${seeder.uploaded} B in total; resumed ${String(summary['reused'])} B; ` +
        `downloaded twice: ${twice} B (${((100 * twice) / SIZE).toFixed(1)}%)\n`,
    );
    expect(summary['reused'] as number).toBeGreaterThanOrEqual(SIZE * 0.4 - 256 * 1024);
    expect(twice).toBeLessThan(SIZE * 0.1);
  });

  it('without a resume record, scans an existing part file and keeps what verifies', async () => {
    const name = 'scan.bin';
    await copyFile(join(dir, 'big.torrent'), join(dir, 'scan.torrent'));
    // A part file whose first half is right and whose second half is zeros, and no record.
    await copyFile(join(dir, 'source.bin'), join(dir, `${name}.part`));
    await truncate(join(dir, `${name}.part`), SIZE / 2);
    const before = seeder.uploaded;
    const run = runDistGet(
      ['--torrent', 'scan.torrent', '-o', name, '--port', '0', '--seed-time', '0', '--json'],
      { cwd: dir },
    );
    running.push(run);
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(await sha1OfFile(join(dir, name))).toBe(await sha1OfFile(join(dir, 'source.bin')));
    expect(lastJson(result.stdout)['reused']).toBe(SIZE / 2);
    expect(seeder.uploaded - before).toBeLessThan(SIZE / 2 + SIZE * 0.05);
  });

  it('replaces a different file at PATH, and recognises the complete one', async () => {
    await writeFile(join(dir, 'other.bin'), 'not the torrent content');
    const args2 = [
      '--torrent',
      'big.torrent',
      '-o',
      'other.bin',
      '--port',
      '0',
      '--seed-time',
      '0',
      '--json',
    ];
    const first = runDistGet(args2, { cwd: dir });
    running.push(first);
    expect((await first.done).code).toBe(0);
    expect(await sha1OfFile(join(dir, 'other.bin'))).toBe(
      await sha1OfFile(join(dir, 'source.bin')),
    );
    const again = runDistGet(args2, { cwd: dir });
    running.push(again);
    const result = await again.done;
    expect(result.code).toBe(0);
    expect(lastJson(result.stdout)['alreadyComplete']).toBe(true);
  });
});
