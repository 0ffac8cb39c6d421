import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTracker } from '@distributor/tracker';
import { startSeeder } from '@distributor/seeder';
import type { Seeder, SeederOptions } from '@distributor/seeder';

export function tempDir(prefix = 'dist-seed-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random content, so failures reproduce. */
export function patternBytes(length: number, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a truthy value; bounded in time and in attempts. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T> | T,
  timeoutMs: number,
  everyMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (let attempt = 0; attempt < 10_000; attempt++) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      // A server still starting refuses connections; keep polling until the deadline.
      lastError = ` (last error: ${(err as Error).message})`;
    }
    if (Date.now() > deadline) break;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError}`);
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export type TestTracker = Awaited<ReturnType<typeof startTracker>>;

export function testTracker(port = 0): Promise<TestTracker> {
  return startTracker({ host: '127.0.0.1', port, logLevel: 'silent' });
}

/** Short intervals so lifecycle tests run in seconds; the defaults are documented in config.ts. */
export function testSeeder(
  trackerUrl: string,
  dirs: string[],
  stateDir: string,
  extra: Partial<SeederOptions> = {},
): Promise<Seeder> {
  return startSeeder({
    dirs,
    tracker: trackerUrl,
    port: 0,
    bind: '127.0.0.1',
    stateDir,
    settleMs: 500,
    scanIntervalMs: 1000,
    renewIntervalMs: 500,
    leaseTtlSec: 3,
    logLevel: 'silent',
    ...extra,
  });
}

export interface TorrentRow {
  infoHash: string;
  root: string;
  path: string;
  length: number;
}

export async function listTorrents(trackerUrl: string): Promise<TorrentRow[]> {
  const res = await fetch(`${trackerUrl}/torrents`);
  return (await res.json()) as TorrentRow[];
}

/** GET /serve?NAME: the torrent bytes, or null on 404. */
export async function served(trackerUrl: string, name: string): Promise<Uint8Array | null> {
  const res = await fetch(`${trackerUrl}/serve?${encodeURIComponent(name)}`);
  if (res.status === 404) return null;
  if (res.status !== 200) throw new Error(`/serve?${name} answered ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}
