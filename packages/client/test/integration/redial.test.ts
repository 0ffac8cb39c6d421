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

// The seeder is throttled so that the download outlasts dist-get's first early re-announce (after
// 5 s while it has fewer than 5 peers, the tracker's min interval allowing: 1 s here, 15 s by
// default), which is when the first dist-get learns the second one's address.
const SIZE = 6 * 1024 * 1024;
const SEED_RATE = 768 * 1024;

let dir: string;
let tracker: Awaited<ReturnType<typeof startTracker>>;
let meta: TorrentMeta;
let seeder: TestSeeder;
const running: Running[] = [];

beforeAll(async () => {
  dir = await tempDir();
  tracker = await startTracker({
    host: '127.0.0.1',
    port: 0,
    open: true,
    minInterval: 1,
    logLevel: 'silent',
  });
  const source = await makeFile(join(dir, 'source.bin'), SIZE);
  const made = await makeTorrent(source, {
    name: 'payload.bin',
    pieceLength: 256 * 1024,
    announce: `${tracker.url}/announce`,
  });
  meta = made.meta;
  await writeFile(join(dir, 'payload.torrent'), made.torrent);
  seeder = await new TestSeeder({
    path: source,
    meta,
    host: '127.0.0.1',
    rateBytesPerSec: SEED_RATE,
  }).start();
  await seeder.announce(tracker.url);
});

afterAll(async () => {
  for (const r of running) r.kill();
  await seeder?.close();
  await tracker?.close();
  await removeDir(dir);
});

interface LogLine {
  msg?: string;
  peer?: string;
  err?: string;
  incoming?: boolean;
}

function logLines(stderr: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of stderr.split('\n')) {
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // not a log line
    }
  }
  return out;
}

describe('two dist-gets that find each other through the tracker', () => {
  it('keep the one connection between them: the one that was dialled does not dial back', async () => {
    const start = (name: string) => {
      const run = runDistGet(
        [
          '--torrent',
          'payload.torrent',
          '-o',
          name,
          '--bind',
          '127.0.0.1',
          '--port',
          '0',
          '--seed-time',
          '0',
          '--log-level',
          'debug',
          '--json',
        ],
        { cwd: dir },
      );
      running.push(run);
      return run;
    };
    // The first one's own announce lists only the seeder; the second's lists the first, which it
    // dials. The first hears of the second at its re-announce, with their connection up.
    const first = start('first.bin');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const second = start('second.bin');
    const results = await Promise.all([first.done, second.done]);
    const expected = await sha1OfFile(join(dir, 'source.bin'));
    for (const [i, name] of ['first.bin', 'second.bin'].entries()) {
      expect(results[i]!.code).toBe(0);
      expect(await sha1OfFile(join(dir, name))).toBe(expected);
    }
    const seederKey = `127.0.0.1:${seeder.port}`;
    const [firstLog, secondLog] = results.map((r) => logLines(r.stderr));
    const connectedToOther = (log: LogLine[]) =>
      log.filter((l) => l.msg === 'peer connected' && l.peer !== seederKey);
    // Without BEP 10's `p`, the first dialled the second too: a twin connection that one side
    // refused during the handshake, or that replaced the live one at both ends.
    expect(connectedToOther(firstLog!).map((l) => l.incoming)).toEqual([true]);
    expect(connectedToOther(secondLog!).map((l) => l.incoming)).toEqual([false]);
    for (const log of [firstLog!, secondLog!]) {
      expect(log.filter((l) => l.msg === 'connect failed')).toEqual([]);
    }
    // Otherwise the first re-announce came after the end, and nothing here could have failed.
    const elapsed = lastJson(results[0]!.stdout)['elapsedSec'] as number;
    expect(elapsed).toBeGreaterThan(6);
    process.stdout.write(`redial: the first dist-get took ${elapsed.toFixed(1)} s\n`);
  });
});
