import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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
  startProc,
} from './helpers/procs.js';
import { faultFile } from './helpers/fault-file.js';
// The misbehaving seeder is the client's test helper: one copy, built by the client's tests.
import { TestSeeder } from '../../client/dist-test/helpers/test-seeder.js';

const SIZE = 12 * 1024 * 1024;
const isRoot = process.getuid?.() === 0;
let mountPoint: string;
let mounted = false;
const { tally, dir } = faultFile('disk-full', () => {
  if (mounted) execFileSync('umount', [mountPoint]);
});

beforeAll(async () => {
  mountPoint = join(dir(), 'small-disk');
  await mkdir(mountPoint);
});

describe('disk full on the downloader', () => {
  it('one clear error line, non-zero exit, .part kept; a rerun with space completes', async () => {
    const row = tally.scenario(
      'disk full on the downloader',
      `dist-get of ${SIZE >> 20} MiB into a 4 MiB tmpfs, then the tmpfs grown to 32 MiB`,
      'one stderr line naming the disk, non-zero exit, .part kept; rerun exits 0 identical',
    );
    if (!isRoot) {
      row.result = 'skipped';
      row.note = 'not root: cannot mount a tmpfs';
      process.stdout.write('SKIPPED disk-full scenario: needs root to mount a tmpfs\n');
      return;
    }
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint]);
    mounted = true;
    const source = join(dir(), 'source.bin');
    const expected = await makeFile(source, SIZE);
    const tracker = await startTracker({
      host: '127.0.0.1',
      port: 0,
      open: true,
      logLevel: 'silent',
    });
    const hashed = await hashFile(source, { pieceLength: 256 * 1024 });
    const { torrent } = buildTorrent({
      name: 'big.bin',
      length: SIZE,
      pieceLength: 256 * 1024,
      pieces: hashed.pieces,
      announce: `${tracker.url}/announce`,
    });
    const torrentPath = join(dir(), 'big.torrent');
    await writeFile(torrentPath, torrent);
    const seeder = await new TestSeeder({
      path: source,
      meta: await parseMetainfo(torrent),
    }).start();
    try {
      await seeder.announce(tracker.url);
      const args = ['--torrent', torrentPath, '--port', '0', '--bind', '127.0.0.1'];
      args.push('--seed-time', '0', '--quiet');
      const out = join(mountPoint, 'big.bin');
      row.faults++;
      const first = await startProc('dist-get', BIN.get, [...args, '-o', out]).done;
      if (first.signal) row.crashes++;
      expect(first.code).not.toBe(0);
      // One line says what failed (warn-level log lines, if any, are not failures).
      const lines = errorLines(first.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/space|full|ENOSPC/i);
      expect(existsSync(`${out}.part`)).toBe(true);
      expect(existsSync(out)).toBe(false);

      execFileSync('mount', ['-o', 'remount,size=32m', mountPoint]);
      const second = await startProc('dist-get', BIN.get, [...args, '-o', out]).done;
      if (second.signal) row.crashes++;
      expect({ code: second.code, errors: errorLines(second.stderr) }).toEqual({
        code: 0,
        errors: [],
      });
      const got = await sha1OfFile(out);
      if (got !== expected) row.wrongBytes += await differingBytes(out, source);
      expect(got).toBe(expected);
      row.note = `error line: ${lines[0]}`;
      row.result = 'pass';
    } finally {
      await seeder.close();
      await tracker.close();
    }
  });
});
