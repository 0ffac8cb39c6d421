import { decodeDict, getBytes, getInt, getText, isDict, rawKey } from './bencode.js';
import type { BencodeDict } from './bencode.js';
import { decodeCompactPeers4, decodeCompactPeers6, normalizeIp } from './compact-peers.js';
import type { PeerAddress } from './compact-peers.js';
import {
  DistError,
  NotFoundError,
  TrackerFailureError,
  TrackerUnreachableError,
} from './errors.js';
import { httpGet } from './http-get.js';
import type { HttpResponse } from './http-get.js';

export type AnnounceEvent = 'started' | 'completed' | 'stopped' | 'empty';

export interface AnnounceParams {
  infoHash: Uint8Array | string;
  peerId: Uint8Array;
  port: number;
  uploaded: number;
  downloaded: number;
  left: number;
  event?: AnnounceEvent;
  numwant?: number;
  /** Extra query parameters (e.g. `location`, `rate`) that other clients simply don't send. */
  extra?: Record<string, string | number>;
}

export interface AnnouncePeer extends PeerAddress {
  peerId?: string;
}

export interface AnnounceResponse {
  interval: number;
  minInterval?: number;
  complete?: number;
  incomplete?: number;
  peers: AnnouncePeer[];
  warning?: string;
}

export interface ScrapeStats {
  complete: number;
  incomplete: number;
  downloaded: number;
}

export interface TrackerClientOptions {
  /** Base URL of a dist-tracker, e.g. http://tracker:6969. */
  url: string;
  localAddress?: string;
  timeoutMs?: number;
  /** Attempts after the first, for network errors and 5xx answers. */
  retries?: number;
  /** First backoff delay; doubles after each failure, with jitter. */
  backoffMs?: number;
}

/** Percent-encodes raw bytes as BEP 3 requires for info_hash and peer_id. */
export function escapeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    const unreserved =
      (b >= 0x30 && b <= 0x39) ||
      (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x61 && b <= 0x7a) ||
      b === 0x2d ||
      b === 0x2e ||
      b === 0x5f ||
      b === 0x7e;
    out += unreserved ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

function infoHashBytes(infoHash: Uint8Array | string): Uint8Array {
  if (typeof infoHash !== 'string') return infoHash;
  if (!/^[0-9a-fA-F]{40}$/.test(infoHash)) throw new RangeError(`bad info hash ${infoHash}`);
  return Buffer.from(infoHash, 'hex');
}

/** Parses a bencoded announce reply (compact or dictionary peer lists, IPv4 and IPv6). */
export function parseAnnounceResponse(body: Uint8Array): AnnounceResponse {
  const dict = decodeDict(body, { maxDepth: 8 });
  const failure = getText(dict, 'failure reason');
  if (failure !== undefined) throw new TrackerFailureError(failure);
  const interval = getInt(dict, 'interval');
  if (interval === undefined || interval < 0) {
    throw new DistError('EBADANNOUNCE', 'announce reply has no valid interval');
  }
  const peers: AnnouncePeer[] = [];
  const peerField = dict['peers'];
  if (peerField instanceof Uint8Array) {
    peers.push(...decodeCompactPeers4(peerField));
  } else if (Array.isArray(peerField)) {
    for (const entry of peerField) {
      if (!isDict(entry)) continue;
      const ip = getText(entry, 'ip');
      const port = getInt(entry, 'port');
      if (!ip || port === undefined) continue;
      const peer: AnnouncePeer = { ip: normalizeIp(ip), port };
      const id = getBytes(entry, 'peer id');
      if (id) peer.peerId = Buffer.from(id).toString('hex');
      peers.push(peer);
    }
  }
  const peers6 = getBytes(dict, 'peers6');
  if (peers6) peers.push(...decodeCompactPeers6(peers6));
  const response: AnnounceResponse = { interval, peers };
  const minInterval = getInt(dict, 'min interval');
  if (minInterval !== undefined) response.minInterval = minInterval;
  const complete = getInt(dict, 'complete');
  if (complete !== undefined) response.complete = complete;
  const incomplete = getInt(dict, 'incomplete');
  if (incomplete !== undefined) response.incomplete = incomplete;
  const warning = getText(dict, 'warning message');
  if (warning !== undefined) response.warning = warning;
  return response;
}

/** Parses a BEP 48 scrape reply into stats keyed by hex info hash. */
export function parseScrapeResponse(body: Uint8Array): Map<string, ScrapeStats> {
  const dict = decodeDict(body, { maxDepth: 8 });
  const failure = getText(dict, 'failure reason');
  if (failure !== undefined) throw new TrackerFailureError(failure);
  const files = dict['files'];
  const out = new Map<string, ScrapeStats>();
  if (!isDict(files)) return out;
  for (const [key, value] of Object.entries(files)) {
    if (!isDict(value)) continue;
    const hash = Buffer.from(rawKey(key, 20)).toString('hex');
    out.set(hash, {
      complete: getInt(value, 'complete') ?? 0,
      incomplete: getInt(value, 'incomplete') ?? 0,
      downloaded: getInt(value, 'downloaded') ?? 0,
    });
  }
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * HTTP client for a BitTorrent tracker and for dist-tracker's /serve endpoints. Network errors
 * and 5xx answers are retried with exponential backoff; a 404 or a `failure reason` is final.
 */
export class TrackerClient {
  readonly url: string;
  private readonly options: Required<Omit<TrackerClientOptions, 'localAddress'>> & {
    localAddress?: string;
  };

  constructor(options: TrackerClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.options = { timeoutMs: 10_000, retries: 3, backoffMs: 250, ...options };
  }

  /** Announces to `announceUrl` (default: this tracker's /announce). */
  async announce(params: AnnounceParams, announceUrl?: string): Promise<AnnounceResponse> {
    const base = announceUrl ?? `${this.url}/announce`;
    const query = [
      `info_hash=${escapeBytes(infoHashBytes(params.infoHash))}`,
      `peer_id=${escapeBytes(params.peerId)}`,
      `port=${params.port}`,
      `uploaded=${Math.floor(params.uploaded)}`,
      `downloaded=${Math.floor(params.downloaded)}`,
      `left=${Math.floor(params.left)}`,
      'compact=1',
    ];
    if (params.event && params.event !== 'empty') query.push(`event=${params.event}`);
    if (params.numwant !== undefined) query.push(`numwant=${params.numwant}`);
    for (const [k, v] of Object.entries(params.extra ?? {})) {
      query.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
    }
    const sep = base.includes('?') ? '&' : '?';
    const res = await this.get(`${base}${sep}${query.join('&')}`);
    if (res.status !== 200) {
      throw new TrackerUnreachableError(this.url, `announce answered HTTP ${res.status}`);
    }
    return parseAnnounceResponse(res.body);
  }

  async scrape(infoHashes: (Uint8Array | string)[] = []): Promise<Map<string, ScrapeStats>> {
    const query = infoHashes.map((h) => `info_hash=${escapeBytes(infoHashBytes(h))}`).join('&');
    const res = await this.get(`${this.url}/scrape${query ? `?${query}` : ''}`);
    if (res.status !== 200) {
      throw new TrackerUnreachableError(this.url, `scrape answered HTTP ${res.status}`);
    }
    return parseScrapeResponse(res.body);
  }

  /** The .torrent published as NAME (`/serve?NAME`, the original tool's query form). */
  fetchTorrent(name: string): Promise<Uint8Array> {
    return this.fetchServed(`/serve?${encodeURIComponent(name)}`, name);
  }

  /** The .torrent of the most recently modified file, under ROOT or over all roots. */
  fetchLatest(root?: string): Promise<Uint8Array> {
    const path = root ? `/serve_last_updated?${encodeURIComponent(root)}` : '/serve_last_updated';
    return this.fetchServed(path, root ? `latest file under ${root}` : 'latest file');
  }

  private async fetchServed(path: string, what: string): Promise<Uint8Array> {
    const res = await this.get(`${this.url}${path}`);
    if (res.status === 404) {
      throw new NotFoundError(what, `not published on ${this.url}`);
    }
    if (res.status !== 200) {
      throw new TrackerUnreachableError(this.url, `${path} answered HTTP ${res.status}`);
    }
    return res.body;
  }

  private async get(url: string): Promise<HttpResponse> {
    const { retries, backoffMs, timeoutMs, localAddress } = this.options;
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        const delay = backoffMs * 2 ** (attempt - 1);
        await sleep(delay / 2 + Math.random() * delay);
      }
      try {
        const res = await httpGet(url, localAddress ? { timeoutMs, localAddress } : { timeoutMs });
        if (res.status < 500) return res;
        lastError = new Error(`HTTP ${res.status}`);
      } catch (err) {
        lastError = err;
      }
    }
    const detail = lastError instanceof Error ? lastError.message : String(lastError);
    throw new TrackerUnreachableError(this.url, detail, { cause: lastError });
  }
}

export type { BencodeDict };
