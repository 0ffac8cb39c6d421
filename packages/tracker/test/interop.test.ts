import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TrackerClient, parseMetainfo } from '@distributor/core';
import { startTracker, type Tracker } from '@distributor/tracker';
import { freePort } from '../../../scripts/lib/ports.js';
import { tempDir } from './helpers.js';

/**
 * No code of ours on the peer side: mktorrent makes the torrent, aria2c seeds it, ctorrent and
 * aria2c download it, all through our tracker. ctorrent ignores peers that share its own IP
 * address, so the seeder runs on 127.0.0.2 and announces from there.
 */

const SIZE = 3 * 1024 * 1024 + 12_345; // a short last piece too
const ARIA2_QUIET = [
  '--bt-enable-lpd=false',
  '--enable-dht=false',
  '--enable-dht6=false',
  '--enable-peer-exchange=false',
  '--summary-interval=0',
  '--console-log-level=warn',
  '--check-integrity=true',
];

function sha1File(path: string): string {
  return createHash('sha1').update(readFileSync(path)).digest('hex');
}

/** Polls `check` every 200 ms until it is true or `ms` pass. */
async function waitFor(what: string, ms: number, check: () => boolean | Promise<boolean>) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

const started: ChildProcess[] = [];

function run(
  cmd: string,
  args: string[],
  cwd: string,
): { proc: ChildProcess; output: () => string } {
  const proc = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(proc);
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return { proc, output: () => out };
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

describe('interop: mktorrent + aria2c seeder, ctorrent and aria2c leechers', () => {
  const tmp = tempDir('dist-tracker-interop-');
  let tracker: Tracker;
  let torrentPath: string;
  let sourceHash: string;
  let infoHash: string;

  beforeAll(async () => {
    for (const tool of ['mktorrent', 'aria2c', 'ctorrent']) {
      if (spawnSync('which', [tool]).status !== 0) {
        throw new Error(`${tool} is not installed: apt-get install mktorrent aria2 ctorrent`);
      }
    }
    tracker = await startTracker({ host: '127.0.0.1', port: 0, open: true, logLevel: 'silent' });
    const seedDir = join(tmp.dir, 'seed');
    mkdirSync(seedDir);
    const source = join(tmp.dir, 'payload.bin');
    writeFileSync(source, randomBytes(SIZE));
    copyFileSync(source, join(seedDir, 'payload.bin'));
    sourceHash = sha1File(source);
    torrentPath = join(tmp.dir, 'payload.torrent');
    const mk = spawnSync(
      'mktorrent',
      ['-a', `${tracker.url}/announce`, '-l', '16', '-o', torrentPath, 'payload.bin'],
      { cwd: tmp.dir, encoding: 'utf8', timeout: 20_000 },
    );
    expect(mk.status).toBe(0);
    infoHash = (await parseMetainfo(readFileSync(torrentPath))).infoHash;

    const seedPort = await freePort('127.0.0.2');
    run(
      'aria2c',
      [
        ...ARIA2_QUIET,
        '--seed-ratio=0',
        '--interface=127.0.0.2',
        '--bt-external-ip=127.0.0.2',
        `--listen-port=${seedPort}`,
        `--dir=${seedDir}`,
        torrentPath,
      ],
      tmp.dir,
    );
    const client = new TrackerClient({ url: tracker.url, retries: 0 });
    await waitFor('the aria2c seeder to announce', 20_000, async () => {
      const stats = (await client.scrape([infoHash])).get(infoHash);
      return (stats?.complete ?? 0) >= 1;
    });
  }, 40_000);

  afterAll(async () => {
    await Promise.all(started.map(stop));
    await tracker?.close();
    tmp.cleanup();
  });

  it('ctorrent downloads the file byte-identically', async () => {
    const out = join(tmp.dir, 'ctorrent', 'payload.bin');
    mkdirSync(join(tmp.dir, 'ctorrent'));
    const port = await freePort();
    const ct = run('ctorrent', ['-e', '0', '-p', String(port), '-s', out, torrentPath], tmp.dir);
    try {
      // ctorrent lingers for a while after finishing; the file being complete is what counts.
      await waitFor('ctorrent to finish', 40_000, () => /Download complete/.test(ct.output()));
      expect(sha1File(out)).toBe(sourceHash);
    } finally {
      await stop(ct.proc);
    }
  }, 50_000);

  it('aria2c downloads the file byte-identically', async () => {
    const dir = join(tmp.dir, 'aria2c');
    mkdirSync(dir);
    const port = await freePort('127.0.0.3');
    const dl = run(
      'aria2c',
      [
        ...ARIA2_QUIET,
        '--seed-time=0',
        '--interface=127.0.0.3',
        `--listen-port=${port}`,
        `--dir=${dir}`,
        torrentPath,
      ],
      tmp.dir,
    );
    try {
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), 40_000);
        dl.proc.once('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      expect({ code, output: code === 0 ? '' : dl.output() }).toEqual({ code: 0, output: '' });
      expect(existsSync(join(dir, 'payload.bin'))).toBe(true);
      expect(sha1File(join(dir, 'payload.bin'))).toBe(sourceHash);
    } finally {
      await stop(dl.proc);
    }
  }, 50_000);
});
