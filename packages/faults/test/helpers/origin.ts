import { readdir } from 'node:fs/promises';
import { parseMetainfo, parseScrapeResponse } from '@distributor/core';
import type { TorrentMeta } from '@distributor/core';
import { freePort, startSeedProc, startTrackerProc, waitFor, waitPublished } from './procs.js';
import type { Proc } from './procs.js';

export interface Origin {
  tracker: Proc;
  trackerUrl: string;
  trackerPort: number;
  seed: Proc;
  meta: TorrentMeta;
}

/** dist-tracker and dist-seed as real processes on loopback, with `name` published. */
export async function startOrigin(options: {
  filesDir: string;
  stateDir: string;
  name: string;
  seedArgs?: string[];
}): Promise<Origin> {
  const trackerPort = await freePort();
  const { proc: tracker, url: trackerUrl } = await startTrackerProc(trackerPort);
  const seed = startSeedProc([options.filesDir], {
    tracker: trackerUrl,
    stateDir: options.stateDir,
    ...(options.seedArgs ? { extra: options.seedArgs } : {}),
  });
  const meta = await parseMetainfo(await waitPublished(trackerUrl, options.name));
  return { tracker, trackerUrl, trackerPort, seed, meta };
}

/** BEP 48 scrape counts for one info hash, or null while the tracker does not answer. */
export async function scrape(
  trackerUrl: string,
  infoHash: string,
): Promise<{ complete: number; incomplete: number } | null> {
  const escaped = [...Buffer.from(infoHash, 'hex')]
    .map((b) => `%${b.toString(16).padStart(2, '0')}`)
    .join('');
  try {
    const res = await fetch(`${trackerUrl}/scrape?info_hash=${escaped}`);
    const stats = parseScrapeResponse(new Uint8Array(await res.arrayBuffer()));
    return stats.get(infoHash) ?? null;
  } catch {
    return null;
  }
}

/** Waits until the tracker has seen `n` peers (seeds + leechers) in the swarm. */
export async function waitForSwarm(trackerUrl: string, infoHash: string, n: number) {
  await waitFor(
    `${n} peers in the swarm`,
    async () => {
      const s = await scrape(trackerUrl, infoHash);
      return s !== null && s.complete + s.incomplete >= n;
    },
    20_000,
    20,
  );
}

/** Waits until dist-seed has written its hash cache (it batches writes for ~1 s). */
export async function waitForHashCache(stateDir: string) {
  await waitFor(
    'the hash cache to be written',
    async () => (await readdir(stateDir).catch(() => [])).some((f) => !f.endsWith('.tmp')),
    10_000,
    100,
  );
}
