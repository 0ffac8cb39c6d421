import { beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { buildTorrent, generatePeerId, hashFile, parseMetainfo } from '@distributor/core';
import type { TorrentMeta } from '@distributor/core';
import { startTracker } from '@distributor/tracker';
import {
  BIN,
  differingBytes,
  makeFile,
  rssKiB,
  sha1OfFile,
  sleep,
  startGetProc,
  startProc,
  startSeedProc,
  summaryOf,
  waitPublished,
} from './helpers/procs.js';
import type { Proc } from './helpers/procs.js';
import { HostileSeeder } from './helpers/hostile-seeder.js';
import type { HostileMode } from './helpers/hostile-seeder.js';
import { handshake, message, requestMessage, sendAndWatch } from './helpers/raw-wire.js';
import { faultFile } from './helpers/fault-file.js';
// The misbehaving seeder is the client's test helper: one copy, built by the client's tests.
import { TestSeeder } from '../../client/dist-test/helpers/test-seeder.js';

const SIZE = 8 * 1024 * 1024;
const PIECE = 256 * 1024;
// Far above a healthy process (~80–120 MB) and far below what unbounded buffering of the
// attacks below would take (a 2 GiB message, thousands of sockets).
const RSS_LIMIT_KIB = 400 * 1024;

const { tally, dir } = faultFile('hostile');
let source: string;
let expected: string;
let meta: TorrentMeta;
let torrentPath: string;

beforeAll(async () => {
  source = join(dir(), 'files', 'payload.bin');
  await mkdir(join(dir(), 'files'));
  expected = await makeFile(source, SIZE);
});

/** Samples a process's RSS every 100 ms until it exits; resolves with the peak in KiB. */
function peakRss(proc: Proc): Promise<number> {
  return new Promise((resolve) => {
    let peak = 0;
    const timer = setInterval(() => {
      void rssKiB(proc.pid).then((kib) => {
        if (kib !== null) peak = Math.max(peak, kib);
      });
    }, 100);
    void proc.done.then(() => {
      clearInterval(timer);
      resolve(peak);
    });
  });
}

describe('dist-get among hostile seeders', () => {
  it('completes from the honest seeder, bans the bad ones, stays bounded', async () => {
    const row = tally.scenario(
      'hostile seeders vs dist-get',
      'corrupt blocks, wrong block sizes, a 2 GiB message, a slowloris seeder, garbage messages',
      'exit 0, byte-identical file, bans logged, peak RSS < 400 MB',
    );
    const tracker = await startTracker({
      host: '127.0.0.1',
      port: 0,
      open: true,
      logLevel: 'silent',
    });
    const hashed = await hashFile(source, { pieceLength: PIECE });
    const { torrent } = buildTorrent({
      name: 'payload.bin',
      length: SIZE,
      pieceLength: PIECE,
      pieces: hashed.pieces,
      announce: `${tracker.url}/announce`,
    });
    torrentPath = join(dir(), 'payload.torrent');
    await writeFile(torrentPath, torrent);
    meta = await parseMetainfo(torrent);
    const every = new Set(Array.from({ length: meta.pieceCount }, (_, i) => i));
    const honest = await new TestSeeder({ path: source, meta, rateBytesPerSec: 4 * SIZE }).start();
    const corrupt = await new TestSeeder({ path: source, meta, corruptPieces: every }).start();
    const modes: HostileMode[] = ['wrong-size', 'overlong', 'slowloris', 'garbage'];
    const hostiles = await Promise.all(modes.map((m) => new HostileSeeder(meta, m).start()));
    try {
      await corrupt.announce(tracker.url);
      for (const h of hostiles) await h.announce(tracker.url);
      await honest.announce(tracker.url);
      row.faults += 1 + hostiles.length;
      const out = join(dir(), 'get-out');
      await mkdir(out);
      const get = startProc('dist-get', BIN.get, [
        '--torrent',
        torrentPath,
        '-o',
        join(out, 'payload.bin'),
        '--port',
        '0',
        '--bind',
        '127.0.0.1',
        '--seed-time',
        '0',
        '--json',
        '--log-level',
        'info',
      ]);
      const peak = peakRss(get);
      const started = Date.now();
      const result = await get.done;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (result.code !== 0 || result.signal) row.crashes++;
      expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({
        code: 0,
        stderr: '',
      });
      const got = await sha1OfFile(join(out, 'payload.bin'));
      if (got !== expected)
        row.wrongBytes += await differingBytes(join(out, 'payload.bin'), source);
      expect(got).toBe(expected);
      const summary = summaryOf(get)!;
      const peakKiB = await peak;
      row.note = `banned ${String(summary['banned'])}, hash failures ${String(
        summary['hashFailures'],
      )}, wasted ${String(summary['wasted'])} B, peak RSS ${Math.round(peakKiB / 1024)} MB, ${seconds} s`;
      process.stdout.write(`dist-get: ${row.note}\n`);
      // The corrupt seeder and the wrong-size one (regression: it used to be ignored).
      expect(summary['banned'] as number).toBeGreaterThanOrEqual(2);
      expect(result.stderr).toMatch(/banned peer .*failed its SHA-1/);
      expect(result.stderr).toMatch(/banned peer .*-byte block/);
      expect(peakKiB).toBeLessThan(RSS_LIMIT_KIB);
      // The hostile seeders were really asked: otherwise this proved nothing.
      expect(corrupt.uploaded + hostiles.reduce((n, h) => n + h.connections, 0)).toBeGreaterThan(0);
      row.result = 'pass';
    } finally {
      await honest.close();
      await corrupt.close();
      for (const h of hostiles) await h.close();
      await tracker.close();
    }
  });
});

describe('dist-seed under hostile downloaders', () => {
  it('survives a flood, slowloris, over-long messages and bad requests, then still serves', async () => {
    const row = tally.scenario(
      'hostile downloaders vs dist-seed',
      '1500-connection flood, 100 slowloris handshakes, 2 GiB length prefixes, bad requests',
      'no crash, peak RSS < 400 MB, drops logged, a dist-get afterwards is byte-identical',
    );
    const tracker = await startTracker({ host: '127.0.0.1', port: 0, logLevel: 'silent' });
    const seed = startSeedProc([join(dir(), 'files')], {
      tracker: tracker.url,
      stateDir: join(dir(), 'seed-state'),
    });
    try {
      await waitPublished(tracker.url, 'payload.bin');
      const seeding = await seed.waitForJson('seeding line', (l) => l['msg'] === 'seeding');
      const port = seeding['port'] as number;
      const served = await parseMetainfo(await waitPublished(tracker.url, 'payload.bin'));
      let peak = 0;
      const sample = async () => {
        peak = Math.max(peak, (await rssKiB(seed.pid)) ?? 0);
      };

      // Flood: far more sockets than the connection cap, all at once, held open.
      const flood: Socket[] = [];
      for (let i = 0; i < 1500; i++) {
        const s = connect({ host: '127.0.0.1', port });
        s.on('error', () => s.destroy());
        if (i % 2 === 0)
          s.on('connect', () => s.write(handshake(served.infoHash, generatePeerId())));
        flood.push(s);
      }
      row.faults += 1500;
      await sleep(1500);
      await sample();
      expect(seed.alive()).toBe(true);
      for (const s of flood) s.destroy();

      // Slowloris: a handshake trickled one byte at a time, never finished.
      const slow = Array.from({ length: 100 }, () =>
        sendAndWatch('127.0.0.1', port, [Buffer.from([19]), 500, Buffer.from('B'), 20_000], 4000),
      );
      row.faults += 100;
      // Over-long messages and out-of-range requests after a valid handshake.
      const hs = () => handshake(served.infoHash, generatePeerId());
      const overlong = Buffer.from([0x7f, 0xff, 0xff, 0xff, 7]);
      const bad = [
        [hs(), overlong, Buffer.alloc(64 * 1024, 1)],
        [hs(), message(2), 200, requestMessage(0, 0, 1024 * 1024)],
        [hs(), message(2), 200, requestMessage(served.pieceCount + 5, 0, 16384)],
        [hs(), message(2), 200, requestMessage(0, PIECE - 100, 16384)],
        // Regression: a bitfield of the wrong size used to be accepted (BEP 3 says drop).
        [hs(), message(5, Buffer.alloc(100_000, 0xff))],
      ];
      const results = await Promise.all(
        bad.flatMap((b) =>
          Array.from({ length: 10 }, () => sendAndWatch('127.0.0.1', port, b, 3000)),
        ),
      );
      // Survived, not punished: unknown message ids are how extensions (BEP 10) look.
      const tolerated = [[hs(), message(99, Buffer.alloc(10))]];
      await Promise.all(
        tolerated.flatMap((b) =>
          Array.from({ length: 10 }, () => sendAndWatch('127.0.0.1', port, b, 500)),
        ),
      );
      row.badInputs += results.length + 10;
      const dropped = results.filter((r) => r.closedByPeer).length;
      await sample();
      await Promise.all(slow);
      await sample();
      expect(seed.alive()).toBe(true);
      expect(peak).toBeLessThan(RSS_LIMIT_KIB);
      // Every over-long message and bad request costs the sender its connection.
      expect(dropped).toBe(results.length);
      expect(seed.stdout()).toMatch(/peer dropped|rejected|violation/);

      const out = join(dir(), 'after-attack');
      await mkdir(out);
      const get = startGetProc('payload.bin', {
        tracker: tracker.url,
        output: join(out, 'payload.bin'),
      });
      const result = await get.done;
      if (result.code !== 0) row.crashes++;
      expect(result.code).toBe(0);
      expect(await sha1OfFile(join(out, 'payload.bin'))).toBe(expected);
      row.note = `${dropped}/${results.length} bad peers dropped, peak RSS ${Math.round(peak / 1024)} MB`;
      process.stdout.write(`dist-seed: ${row.note}\n`);
      row.result = 'pass';
    } finally {
      if (!seed.alive()) row.crashes++;
      seed.kill();
      await seed.done;
      await tracker.close();
    }
  });
});
