import { beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildTorrent, hashFile, parseMetainfo } from '@distributor/core';
import { startTracker } from '@distributor/tracker';
import {
  BIN,
  differingBytes,
  errorLines,
  makeFile,
  sha1OfFile,
  sleep,
  startProc,
  summaryOf,
} from './helpers/procs.js';
import { faultFile } from './helpers/fault-file.js';
// The misbehaving seeder is the client's test helper: one copy, built by the client's tests.
import { TestSeeder } from '../../client/dist-test/helpers/test-seeder.js';

// Large enough that the ≤ 100 ms of verified pieces a kill -9 may cost the resume record
// (resume-record.ts) plus the pieces in flight stay well under 10% of the file.
const SIZE = 24 * 1024 * 1024;
const PIECE = 128 * 1024;
// Throttled so that one download lasts ~2 s and a random kill lands mid-transfer.
const RATE = 12 * 1024 * 1024;
const RUNS = 10;

let source: string;
let tracker: Awaited<ReturnType<typeof startTracker>>;
let seeder: TestSeeder;
const { tally, dir } = faultFile('kill-get', async () => {
  await seeder?.close();
  await tracker?.close();
});

beforeAll(async () => {
  source = join(dir(), 'source.bin');
  await makeFile(source, SIZE);
  tracker = await startTracker({ host: '127.0.0.1', port: 0, open: true, logLevel: 'silent' });
  const hashed = await hashFile(source, { pieceLength: PIECE });
  const { torrent } = buildTorrent({
    name: 'big.bin',
    length: SIZE,
    pieceLength: PIECE,
    pieces: hashed.pieces,
    announce: `${tracker.url}/announce`,
  });
  await writeFile(join(dir(), 'big.torrent'), torrent);
  const meta = await parseMetainfo(torrent);
  seeder = await new TestSeeder({ path: source, meta, rateBytesPerSec: RATE }).start();
  await seeder.announce(tracker.url);
});

function getArgs(out: string): string[] {
  return [
    '--torrent',
    join(dir(), 'big.torrent'),
    '-o',
    out,
    '--port',
    '0',
    '--bind',
    '127.0.0.1',
    '--seed-time',
    '0',
    '--json',
  ];
}

describe('kill -9 of dist-get at random points', () => {
  it(`${RUNS} runs: every rerun completes identical, ≤ 10% downloaded twice`, async () => {
    const row = tally.scenario(
      `kill -9 of dist-get at random points (${RUNS} runs)`,
      `${RUNS} SIGKILLs of dist-get at a random time 0.15–2 s after start`,
      'rerun exits 0 with a byte-identical file; bytes downloaded twice ≤ 10% of the file',
    );
    const expected = await sha1OfFile(source);
    let twiceTotal = 0;
    let worst = 0;
    for (let run = 0; run < RUNS; run++) {
      const out = join(dir(), `run${run}`, 'big.bin');
      await mkdir(join(dir(), `run${run}`));
      const before = seeder.uploaded;
      const first = startProc('dist-get', BIN.get, getArgs(out));
      const delay = 150 + Math.floor(Math.random() * 1850);
      await sleep(delay);
      first.kill('SIGKILL');
      const killed = await first.done;
      if (killed.signal === 'SIGKILL') row.faults++;
      // The seeder must notice the dead connection before the next run's bytes are counted.
      await sleep(150);
      const second = startProc('dist-get', BIN.get, getArgs(out));
      const result = await second.done;
      if (result.code !== 0 || result.signal) row.crashes++;
      expect({ run, code: result.code, errors: errorLines(result.stderr) }).toEqual({
        run,
        code: 0,
        errors: [],
      });
      const got = await sha1OfFile(out);
      if (got !== expected) row.wrongBytes += await differingBytes(out, source);
      expect(got).toBe(expected);
      const twice = Math.max(0, seeder.uploaded - before - SIZE);
      twiceTotal += twice;
      worst = Math.max(worst, twice);
      const summary = summaryOf(second);
      process.stdout.write(
        `run ${run}: kill at ${delay} ms, resumed ${String(summary?.['reused'])} B, ` +
          `downloaded twice ${twice} B (${((100 * twice) / SIZE).toFixed(1)}%)\n`,
      );
    }
    row.note =
      `downloaded twice: ${((100 * twiceTotal) / (RUNS * SIZE)).toFixed(1)}% on average, ` +
      `worst run ${((100 * worst) / SIZE).toFixed(1)}%`;
    process.stdout.write(`${row.note}\n`);
    expect(worst).toBeLessThanOrEqual(SIZE * 0.1);
    row.result = 'pass';
  });
});
