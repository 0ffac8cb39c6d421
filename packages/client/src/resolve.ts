import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import {
  DistError,
  NotFoundError,
  TrackerClient,
  TrackerUnreachableError,
  httpGet,
  parseMetainfo,
} from '@distributor/core';
import type { TorrentMeta } from '@distributor/core';
import type { ClientConfig, TorrentSource } from './config.js';

export interface ResolvedTorrent {
  torrent: Uint8Array;
  meta: TorrentMeta;
  /** Announce URLs to use, in order of preference. */
  announceUrls: string[];
}

const MAX_TORRENT_BYTES = 16 * 1024 * 1024;

/** Fetches and parses the torrent named by the config's source. */
export async function resolveTorrent(
  config: Pick<ClientConfig, 'source' | 'tracker' | 'bind' | 'cwd'>,
): Promise<ResolvedTorrent> {
  const torrent = await fetchTorrentBytes(config.source, config);
  const meta = await parseMetainfo(torrent);
  return { torrent, meta, announceUrls: announceUrlsFor(meta, config) };
}

/**
 * The torrent's own announce URL comes first (dist-tracker writes the address it was reached
 * at, or its --public-url); the tracker we fetched it from is the fallback, so a torrent
 * without announce still finds a swarm.
 */
export function announceUrlsFor(
  meta: Pick<TorrentMeta, 'announce'>,
  config: Pick<ClientConfig, 'source' | 'tracker'>,
): string[] {
  const urls = meta.announce.filter((u) => /^https?:\/\//i.test(u));
  const fallback = `${config.tracker}/announce`;
  if (config.source.kind !== 'torrent' || urls.length === 0) urls.push(fallback);
  return [...new Set(urls)];
}

async function fetchTorrentBytes(
  source: TorrentSource,
  config: Pick<ClientConfig, 'tracker' | 'bind' | 'cwd'>,
): Promise<Uint8Array> {
  const client = new TrackerClient({
    url: config.tracker,
    ...(config.bind ? { localAddress: config.bind } : {}),
  });
  switch (source.kind) {
    case 'name':
      return client.fetchTorrent(source.name);
    case 'latest':
      return client.fetchLatest(source.root);
    case 'torrent':
      return /^https?:\/\//i.test(source.location)
        ? fetchTorrentUrl(source.location, config.bind)
        : readTorrentFile(resolvePath(config.cwd, source.location));
  }
}

async function fetchTorrentUrl(url: string, bind?: string): Promise<Uint8Array> {
  let res;
  try {
    res = await httpGet(url, {
      maxBytes: MAX_TORRENT_BYTES,
      ...(bind ? { localAddress: bind } : {}),
    });
  } catch (err) {
    throw new TrackerUnreachableError(url, (err as Error).message, { cause: err });
  }
  if (res.status === 404) throw new NotFoundError(url, 'answered 404');
  if (res.status !== 200) throw new TrackerUnreachableError(url, `answered HTTP ${res.status}`);
  return res.body;
}

async function readTorrentFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NotFoundError(path, 'no such .torrent file');
    throw new DistError('ETORRENTREAD', `cannot read ${path}: ${(err as Error).message}`);
  }
}
