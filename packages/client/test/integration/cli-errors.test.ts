import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTracker } from '@distributor/tracker';
import { encode } from '@distributor/core';
import type { TorrentMeta } from '@distributor/core';
import { EXIT_CODES } from '@distributor/client';
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
let seeder: TestSeeder;
let meta: TorrentMeta;
const running: Running[] = [];

function run(args: string[]) {
  const r = runDistGet(['--port', '0', '--seed-time', '0', ...args], { cwd: dir });
  running.push(r);
  return r;
}

/** A port with nothing listening (bound, then released). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

beforeAll(async () => {
  dir = await tempDir();
  tracker = await startTracker({ host: '127.0.0.1', port: 0, open: true, logLevel: 'silent' });
  const source = await makeFile(join(dir, 'source.bin'), 4 * 1024 * 1024);
  const made = await makeTorrent(source, {
    name: 'file.bin',
    pieceLength: 64 * 1024,
    announce: `${tracker.url}/announce`,
  });
  meta = made.meta;
  await writeFile(join(dir, 'file.torrent'), made.torrent);
  seeder = await new TestSeeder({ path: source, meta, rateBytesPerSec: 1024 * 1024 }).start();
});

afterAll(async () => {
  for (const r of running) r.kill();
  await seeder?.close();
  await tracker?.close();
  await removeDir(dir);
});

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^dist-get: /);
  return lines[0]!;
}

describe('dist-get failures: one clear line and a distinct exit status', () => {
  it('unknown name → 3', async () => {
    const r = await run(['no-such-file.iso', '--tracker', tracker.url]).done;
    expect(r.code).toBe(EXIT_CODES.notFound);
    expect(oneLine(r.stderr)).toContain('no-such-file.iso');
  });

  it('tracker unreachable → 4', async () => {
    const r = await run(['a.iso', '--tracker', `http://127.0.0.1:${await deadPort()}`]).done;
    expect(r.code).toBe(EXIT_CODES.trackerUnreachable);
    expect(oneLine(r.stderr)).toContain('unreachable');
  });

  it('no peers in time → 5, keeping the part file', async () => {
    const r = await run(['--torrent', 'file.torrent', '-o', 'nopeers.bin', '--peer-timeout', '1'])
      .done;
    expect(r.code).toBe(EXIT_CODES.noPeers);
    expect(oneLine(r.stderr)).toContain('no peers');
    await stat(join(dir, 'nopeers.bin.part'));
    await stat(join(dir, 'nopeers.bin.part.resume'));
  });

  it('output not writable → 6', async () => {
    const r = await run(['--torrent', 'file.torrent', '-o', '/nonexistent-dir-x/f.bin']).done;
    expect(r.code).toBe(EXIT_CODES.disk);
    expect(oneLine(r.stderr)).toContain('cannot write /nonexistent-dir-x/f.bin.part');
  });

  it('a torrent whose name would escape the directory → 7, nothing written', async () => {
    const evil = encode({
      announce: `${tracker.url}/announce`,
      info: {
        length: meta.length,
        name: '../escape.bin',
        'piece length': meta.pieceLength,
        pieces: meta.pieces,
      },
    });
    await writeFile(join(dir, 'evil.torrent'), evil);
    const r = await run(['--torrent', 'evil.torrent']).done;
    expect(r.code).toBe(EXIT_CODES.badTorrent);
    expect(oneLine(r.stderr)).toContain('unsafe torrent name');
    await expect(stat(join(dir, '..', 'escape.bin.part'))).rejects.toThrow();
  });

  it('--bind: connects to peers (and announces) from the given address', async () => {
    await seeder.announce(tracker.url);
    const r = await run(['--torrent', 'file.torrent', '-o', 'bound.bin', '--bind', '127.0.0.5'])
      .done;
    expect(r.code).toBe(0);
    expect(seeder.remoteAddresses.has('127.0.0.5')).toBe(true);
    expect(await sha1OfFile(join(dir, 'bound.bin'))).toBe(
      await sha1OfFile(join(dir, 'source.bin')),
    );
  });

  it('usage error → 2', async () => {
    const r = await run(['a', '--no-such-flag']).done;
    expect(r.code).toBe(EXIT_CODES.usage);
  });

  it('SIGINT → 130, keeping .part and the resume record; the rerun completes', async () => {
    await seeder.announce(tracker.url);
    const first = run(['--torrent', 'file.torrent', '-o', 'int.bin', '--json']);
    await first.waitForJson((l) => l['type'] === 'progress' && (l['haveBytes'] as number) > 0);
    first.kill('SIGINT');
    const r = await first.done;
    expect(r.code).toBe(EXIT_CODES.interrupted);
    expect(oneLine(r.stderr)).toContain('interrupted');
    await stat(join(dir, 'int.bin.part'));
    await stat(join(dir, 'int.bin.part.resume'));

    const again = await run(['--torrent', 'file.torrent', '-o', 'int.bin', '--json']).done;
    expect(again.code).toBe(0);
    expect(lastJson(again.stdout)['reused'] as number).toBeGreaterThan(0);
    expect(await sha1OfFile(join(dir, 'int.bin'))).toBe(await sha1OfFile(join(dir, 'source.bin')));

    // Third run: the complete file is recognised (verified), nothing is downloaded.
    const third = await run(['--torrent', 'file.torrent', '-o', 'int.bin', '--json']).done;
    expect(third.code).toBe(0);
    const summary = lastJson(third.stdout);
    expect(summary['alreadyComplete']).toBe(true);
    expect(summary['received']).toBe(0);
  });
});
