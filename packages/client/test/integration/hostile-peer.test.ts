import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTracker } from '@distributor/tracker';
import type { TorrentMeta } from '@distributor/core';
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

let dir: string;
let tracker: Awaited<ReturnType<typeof startTracker>>;
let meta: TorrentMeta;
let honest: TestSeeder;
let hostile: TestSeeder;
const running: Running[] = [];

beforeAll(async () => {
  dir = await tempDir();
  tracker = await startTracker({ host: '127.0.0.1', port: 0, open: true, logLevel: 'silent' });
  const source = await makeFile(join(dir, 'source.bin'), 8 * 1024 * 1024 + 12345);
  const made = await makeTorrent(source, {
    name: 'payload.bin',
    pieceLength: 256 * 1024,
    announce: `${tracker.url}/announce`,
  });
  meta = made.meta;
  await writeFile(join(dir, 'payload.torrent'), made.torrent);
  const even = new Set([...Array(meta.pieceCount).keys()].filter((i) => i % 2 === 0));
  honest = await new TestSeeder({ path: source, meta, host: '127.0.0.1' }).start();
  hostile = await new TestSeeder({
    path: source,
    meta,
    host: '127.0.0.2',
    corruptPieces: even,
  }).start();
  await honest.announce(tracker.url);
  await hostile.announce(tracker.url);
});

afterAll(async () => {
  for (const r of running) r.kill();
  await honest?.close();
  await hostile?.close();
  await tracker?.close();
  await removeDir(dir);
});

describe('a hostile peer serving wrong blocks', () => {
  it('cannot corrupt the download: its pieces fail SHA-1, it is banned, and the log says so', async () => {
    const out = join(dir, 'out');
    const run = runDistGet(
      ['--torrent', 'payload.torrent', '-o', out, '--port', '0', '--seed-time', '0', '--json'],
      { cwd: dir },
    );
    running.push(run);
    const result = await run.done;
    expect(result.stderr).toContain(`banned peer 127.0.0.2:${hostile.port}`);
    expect(result.code).toBe(0);
    expect(await sha1OfFile(out)).toBe(await sha1OfFile(join(dir, 'source.bin')));
    const summary = lastJson(result.stdout);
    expect(summary['type']).toBe('summary');
    expect(summary['banned']).toBe(1);
    expect(summary['hashFailures'] as number).toBeGreaterThanOrEqual(1);
    expect(result.stderr).not.toContain(`banned peer 127.0.0.1:${honest.port}`);
    process.stdout.write(
      `hostile peer: uploaded ${hostile.uploaded} B before its ban; ` +
        `honest seeder ${honest.uploaded} B; hash failures ${String(summary['hashFailures'])}\n`,
    );
  });
});
