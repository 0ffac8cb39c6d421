/**
 * Parsing of /announce and /scrape query strings straight from `req.url`. BEP 3 sends
 * info_hash and peer_id as percent-encoded raw bytes, which URLSearchParams would mangle into
 * UTF-8 text, so values are decoded to bytes here. Every problem is reported as the text of a
 * bencoded `failure reason`; nothing here throws on any input.
 */

import type { AnnounceEvent } from '../store/types.js';
import { locationProblem } from '../topology/location.js';

export interface AnnounceQuery {
  /** 20 raw bytes. */
  infoHash: Buffer;
  /** 40 lowercase hex digits. */
  infoHashHex: string;
  /** 20 raw bytes. */
  peerId: Buffer;
  /** The same bytes as a latin1 string: the key stores and the status board index peers by. */
  peerKey: string;
  port: number;
  uploaded: number;
  downloaded: number;
  /** Bytes still missing; undefined when the client did not say. */
  left: number | undefined;
  event: AnnounceEvent;
  /** As sent; undefined when absent. Not yet clamped. */
  numwant: number | undefined;
  compact: boolean;
  noPeerId: boolean;
  /** Client-claimed address (`ip=`), honoured only behind a trusted proxy. */
  ip: string | undefined;
  /** `zone/rack` sent by dist-get (`location=`, issue 7); undefined when absent. */
  location: string | undefined;
}

export interface QueryLimits {
  /** Longest query string accepted, in characters. */
  maxQueryLength: number;
  /** Most info hashes accepted in one scrape. */
  maxScrapeHashes: number;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = { maxQueryLength: 4096, maxScrapeHashes: 1000 };

/** The failure reason for a bad query, as a distinct type so callers can't confuse it. */
export class QueryFailure {
  constructor(readonly reason: string) {}
}

const HEX = /^[0-9a-fA-F]{40}$/;

/** Splits `a=b&c=d` into pairs, without decoding. Empty segments are skipped. */
function* pairs(query: string): Generator<[string, string]> {
  let pos = 0;
  while (pos <= query.length) {
    let end = query.indexOf('&', pos);
    if (end < 0) end = query.length;
    if (end > pos) {
      const eq = query.indexOf('=', pos);
      if (eq < 0 || eq > end) yield [query.slice(pos, end), ''];
      else yield [query.slice(pos, eq), query.slice(eq + 1, end)];
    }
    pos = end + 1;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

// Decoding happens synchronously, so one scratch buffer serves every request.
let scratch = Buffer.allocUnsafe(4096 * 3);

/**
 * Percent-decodes into the scratch buffer and returns how many bytes were written, or -1 on a
 * malformed escape. `+` is a space, as in form encoding; characters above 0x7F (a client that
 * did not encode UTF-8 text) become their UTF-8 bytes.
 */
function decodeIntoScratch(value: string): number {
  if (scratch.length < value.length * 3) scratch = Buffer.allocUnsafe(value.length * 3);
  const out = scratch;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25) {
      if (i + 2 >= value.length) return -1;
      const hi = hexValue(value.charCodeAt(i + 1));
      const lo = hexValue(value.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return -1;
      out[n++] = (hi << 4) | lo;
      i += 2;
    } else if (c === 0x2b) {
      out[n++] = 0x20;
    } else if (c < 0x80) {
      out[n++] = c;
    } else {
      n += out.write(value[i]!, n, 'utf8');
    }
  }
  return n;
}

/** Percent-decodes to raw bytes; null on a malformed escape. */
export function percentDecodeBytes(value: string): Buffer | null {
  const n = decodeIntoScratch(value);
  return n < 0 ? null : Buffer.from(scratch.subarray(0, n));
}

/** A 20-byte id: raw bytes (BEP 3), or 40 hex digits for people typing URLs by hand. */
function decodeId(name: string, value: string): Buffer | QueryFailure {
  const n = decodeIntoScratch(value);
  if (n < 0) return new QueryFailure(`${name} has a malformed percent-escape`);
  if (n === 20) {
    const id = Buffer.allocUnsafe(20);
    scratch.copy(id, 0, 0, 20);
    return id;
  }
  if (n === 40) {
    const text = scratch.toString('latin1', 0, 40);
    if (HEX.test(text)) return Buffer.from(text, 'hex');
    return new QueryFailure(`${name} of 40 characters must be hex`);
  }
  return new QueryFailure(`${name} must be 20 bytes, got ${n}`);
}

/** A non-negative decimal integer up to 2^53; anything else is null. */
function parseCount(value: string): number | null {
  if (value.length === 0 || value.length > 16) return null;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  return Number.isSafeInteger(n) ? n : null;
}

const EVENTS: Record<string, AnnounceEvent> = {
  '': 'update',
  empty: 'update',
  // BEP 21: a partial seed that paused; for a tracker it is a regular announce.
  paused: 'update',
  started: 'started',
  completed: 'completed',
  stopped: 'stopped',
};

const ANNOUNCE_KEYS = [
  'info_hash',
  'peer_id',
  'port',
  'uploaded',
  'downloaded',
  'left',
  'event',
  'numwant',
  'compact',
  'no_peer_id',
  'ip',
  'location',
] as const;
type AnnounceKey = (typeof ANNOUNCE_KEYS)[number];
const KEY_INDEX = new Map<string, number>(ANNOUNCE_KEYS.map((k, i) => [k, i]));

/** Parses an announce query string (the part after `?`). */
export function parseAnnounceQuery(
  query: string,
  limits: QueryLimits = DEFAULT_QUERY_LIMITS,
): AnnounceQuery | QueryFailure {
  if (query.length > limits.maxQueryLength) {
    return new QueryFailure(`query string longer than ${limits.maxQueryLength} characters`);
  }
  // One pass, no per-pair allocations beyond the key and value slices.
  const values: (string | undefined)[] = new Array<string | undefined>(ANNOUNCE_KEYS.length);
  let pos = 0;
  while (pos <= query.length) {
    let end = query.indexOf('&', pos);
    if (end < 0) end = query.length;
    if (end > pos) {
      let eq = query.indexOf('=', pos);
      if (eq < 0 || eq > end) eq = end;
      // Other keys (key, trackerid, supportcrypto, ipv4, ...) are harmless and ignored.
      const index = KEY_INDEX.get(query.slice(pos, eq));
      if (index !== undefined) {
        if (values[index] !== undefined) {
          return new QueryFailure(`${ANNOUNCE_KEYS[index]!} given more than once`);
        }
        values[index] = eq < end ? query.slice(eq + 1, end) : '';
      }
    }
    pos = end + 1;
  }
  const raw = {
    get: (key: AnnounceKey): string | undefined => values[KEY_INDEX.get(key)!],
  };

  const infoHashRaw = raw.get('info_hash');
  if (infoHashRaw === undefined) return new QueryFailure('missing info_hash');
  const infoHash = decodeId('info_hash', infoHashRaw);
  if (infoHash instanceof QueryFailure) return infoHash;

  const peerIdRaw = raw.get('peer_id');
  if (peerIdRaw === undefined) return new QueryFailure('missing peer_id');
  const peerId = decodeId('peer_id', peerIdRaw);
  if (peerId instanceof QueryFailure) return peerId;

  const portRaw = raw.get('port');
  if (portRaw === undefined) return new QueryFailure('missing port');
  const port = parseCount(portRaw);
  if (port === null || port < 1 || port > 65535) {
    return new QueryFailure('port must be an integer from 1 to 65535');
  }

  const counts: Record<'uploaded' | 'downloaded' | 'left', number | undefined> = {
    uploaded: undefined,
    downloaded: undefined,
    left: undefined,
  };
  for (const key of ['uploaded', 'downloaded', 'left'] as const) {
    const value = raw.get(key);
    if (value === undefined) continue;
    const n = parseCount(value);
    if (n === null) return new QueryFailure(`${key} must be a non-negative integer`);
    counts[key] = n;
  }

  const event = EVENTS[raw.get('event') ?? ''];
  if (event === undefined) {
    return new QueryFailure('event must be started, completed, stopped or empty');
  }

  let numwant: number | undefined;
  const numwantRaw = raw.get('numwant');
  if (numwantRaw !== undefined) {
    const n = parseCount(numwantRaw);
    if (n === null) return new QueryFailure('numwant must be a non-negative integer');
    numwant = n;
  }

  const ipRaw = raw.get('ip');
  let ip: string | undefined;
  if (ipRaw !== undefined) {
    const bytes = percentDecodeBytes(ipRaw);
    if (!bytes || bytes.length > 64) return new QueryFailure('ip is malformed');
    ip = bytes.toString('latin1');
  }

  const locationRaw = raw.get('location');
  let location: string | undefined;
  if (locationRaw !== undefined) {
    const bytes = percentDecodeBytes(locationRaw);
    const text = bytes?.toString('latin1');
    const why = text === undefined ? 'is malformed' : locationProblem(text);
    if (why) return new QueryFailure(`location ${why}`);
    location = text;
  }

  return {
    infoHash,
    infoHashHex: infoHash.toString('hex'),
    peerId,
    peerKey: peerId.toString('latin1'),
    port,
    uploaded: counts.uploaded ?? 0,
    downloaded: counts.downloaded ?? 0,
    left: counts.left,
    event,
    numwant,
    compact: raw.get('compact') !== '0',
    noPeerId: raw.get('no_peer_id') === '1',
    ip,
    location,
  };
}

/** Parses a scrape query: zero or more info_hash values (duplicates collapse). */
export function parseScrapeQuery(
  query: string,
  limits: QueryLimits = DEFAULT_QUERY_LIMITS,
): string[] | QueryFailure {
  // Each info_hash costs about 70 characters percent-encoded; allow the configured count.
  const maxLength = Math.max(limits.maxQueryLength, limits.maxScrapeHashes * 72);
  if (query.length > maxLength) {
    return new QueryFailure(`query string longer than ${maxLength} characters`);
  }
  const hashes = new Set<string>();
  for (const [key, value] of pairs(query)) {
    if (key !== 'info_hash') continue;
    const id = decodeId('info_hash', value);
    if (id instanceof QueryFailure) return id;
    hashes.add(id.toString('hex'));
    if (hashes.size > limits.maxScrapeHashes) {
      return new QueryFailure(`more than ${limits.maxScrapeHashes} info_hash values`);
    }
  }
  return [...hashes];
}
