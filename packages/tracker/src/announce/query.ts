/**
 * Parsing of /announce and /scrape query strings straight from `req.url`. BEP 3 sends
 * info_hash and peer_id as percent-encoded raw bytes, which URLSearchParams would mangle into
 * UTF-8 text, so values are decoded to bytes here. Every problem is reported as the text of a
 * bencoded `failure reason`; nothing here throws on any input.
 */

import type { AnnounceEvent } from '../store/types.js';
import { locationProblem } from '../topology/location.js';

export interface AnnounceQuery {
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
  /**
   * dist-get's `rate=` exactly as sent (still percent-encoded), for the status page to check;
   * undefined when absent.
   */
  rawRate: string | undefined;
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

/** The value of each hex digit's character code below 0x80; -1 for every other character. */
const HEX_VALUE = Int8Array.from({ length: 0x80 }, (_, c) => {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
});

function hexValue(c: number): number {
  return c < 0x80 ? HEX_VALUE[c]! : -1;
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

/**
 * Decodes a 20-byte id into the scratch buffer's first 20 bytes: raw bytes (BEP 3), or 40 hex
 * digits for people typing URLs by hand. Callers take what they need from the scratch buffer
 * (a hex string, a latin1 key, a copy) before decoding anything else.
 */
function decodeIdIntoScratch(name: string, value: string): QueryFailure | undefined {
  const n = decodeIntoScratch(value);
  if (n < 0) return new QueryFailure(`${name} has a malformed percent-escape`);
  if (n === 20) return undefined;
  if (n === 40) {
    const text = scratch.toString('latin1', 0, 40);
    if (!HEX.test(text)) return new QueryFailure(`${name} of 40 characters must be hex`);
    scratch.write(text, 0, 20, 'hex');
    return undefined;
  }
  return new QueryFailure(`${name} must be 20 bytes, got ${n}`);
}

/** A 20-byte id as 40 lowercase hex digits. */
function decodeHexId(name: string, value: string): string | QueryFailure {
  return decodeIdIntoScratch(name, value) ?? scratch.toString('hex', 0, 20);
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

/** An absent count is undefined; a present one that is not a count is null. */
function optionalCount(value: string | undefined): number | null | undefined {
  return value === undefined ? undefined : parseCount(value);
}

// A Map, not an object literal: `event=constructor` must not find Object.prototype's.
const EVENTS = new Map<string, AnnounceEvent>(
  Object.entries({
    '': 'update',
    empty: 'update',
    // BEP 21: a partial seed that paused; for a tracker it is a regular announce.
    paused: 'update',
    started: 'started',
    completed: 'completed',
    stopped: 'stopped',
  }),
);

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
  'rate',
] as const;
// Looked up once at load, so the list above is the only place a key's position is written.
const INFO_HASH = ANNOUNCE_KEYS.indexOf('info_hash');
const PEER_ID = ANNOUNCE_KEYS.indexOf('peer_id');
const PORT = ANNOUNCE_KEYS.indexOf('port');
const UPLOADED = ANNOUNCE_KEYS.indexOf('uploaded');
const DOWNLOADED = ANNOUNCE_KEYS.indexOf('downloaded');
const LEFT = ANNOUNCE_KEYS.indexOf('left');
const EVENT = ANNOUNCE_KEYS.indexOf('event');
const NUMWANT = ANNOUNCE_KEYS.indexOf('numwant');
const COMPACT = ANNOUNCE_KEYS.indexOf('compact');
const NO_PEER_ID = ANNOUNCE_KEYS.indexOf('no_peer_id');
const IP = ANNOUNCE_KEYS.indexOf('ip');
const LOCATION = ANNOUNCE_KEYS.indexOf('location');
const RATE = ANNOUNCE_KEYS.indexOf('rate');

/**
 * Which announce key `query` holds from `start` to `end` (exclusive), or -1. Compared in place:
 * slicing each key out to look it up in a Map cost more than the rest of the parse.
 */
function keyAt(query: string, start: number, end: number): number {
  const length = end - start;
  for (let i = 0; i < ANNOUNCE_KEYS.length; i++) {
    const key = ANNOUNCE_KEYS[i]!;
    if (key.length === length && query.startsWith(key, start)) return i;
  }
  return -1;
}

/** Parses an announce query string (the part after `?`). */
export function parseAnnounceQuery(
  query: string,
  limits: QueryLimits = DEFAULT_QUERY_LIMITS,
): AnnounceQuery | QueryFailure {
  if (query.length > limits.maxQueryLength) {
    return new QueryFailure(`query string longer than ${limits.maxQueryLength} characters`);
  }
  // One pass; the only allocations are the values' slices.
  const values: (string | undefined)[] = new Array<string | undefined>(ANNOUNCE_KEYS.length);
  let pos = 0;
  while (pos <= query.length) {
    let end = query.indexOf('&', pos);
    if (end < 0) end = query.length;
    if (end > pos) {
      let eq = query.indexOf('=', pos);
      if (eq < 0 || eq > end) eq = end;
      // Other keys (key, trackerid, supportcrypto, ipv4, ...) are harmless and ignored.
      const index = keyAt(query, pos, eq);
      if (index === RATE) {
        // Only the status page reads rate=, which never fails an announce: the first value
        // given with an `=` counts, as it always has, and repeats are not an error.
        if (values[RATE] === undefined && eq < end) values[RATE] = query.slice(eq + 1, end);
      } else if (index >= 0) {
        if (values[index] !== undefined) {
          return new QueryFailure(`${ANNOUNCE_KEYS[index]!} given more than once`);
        }
        values[index] = eq < end ? query.slice(eq + 1, end) : '';
      }
    }
    pos = end + 1;
  }

  const infoHashRaw = values[INFO_HASH];
  if (infoHashRaw === undefined) return new QueryFailure('missing info_hash');
  const infoHashHex = decodeHexId('info_hash', infoHashRaw);
  if (infoHashHex instanceof QueryFailure) return infoHashHex;

  const peerIdRaw = values[PEER_ID];
  if (peerIdRaw === undefined) return new QueryFailure('missing peer_id');
  const peerIdFailure = decodeIdIntoScratch('peer_id', peerIdRaw);
  if (peerIdFailure) return peerIdFailure;
  const peerKey = scratch.toString('latin1', 0, 20);
  const peerId = Buffer.allocUnsafe(20);
  scratch.copy(peerId, 0, 0, 20);

  const portRaw = values[PORT];
  if (portRaw === undefined) return new QueryFailure('missing port');
  const port = parseCount(portRaw);
  if (port === null || port < 1 || port > 65535) {
    return new QueryFailure('port must be an integer from 1 to 65535');
  }

  const uploaded = optionalCount(values[UPLOADED]);
  if (uploaded === null) return new QueryFailure('uploaded must be a non-negative integer');
  const downloaded = optionalCount(values[DOWNLOADED]);
  if (downloaded === null) return new QueryFailure('downloaded must be a non-negative integer');
  const left = optionalCount(values[LEFT]);
  if (left === null) return new QueryFailure('left must be a non-negative integer');

  const event = EVENTS.get(values[EVENT] ?? '');
  if (event === undefined) {
    return new QueryFailure('event must be started, completed, stopped or empty');
  }

  const numwant = optionalCount(values[NUMWANT]);
  if (numwant === null) return new QueryFailure('numwant must be a non-negative integer');

  const ipRaw = values[IP];
  let ip: string | undefined;
  if (ipRaw !== undefined) {
    const bytes = percentDecodeBytes(ipRaw);
    if (!bytes || bytes.length > 64) return new QueryFailure('ip is malformed');
    ip = bytes.toString('latin1');
  }

  const locationRaw = values[LOCATION];
  let location: string | undefined;
  if (locationRaw !== undefined) {
    const bytes = percentDecodeBytes(locationRaw);
    const text = bytes?.toString('latin1');
    const why = text === undefined ? 'is malformed' : locationProblem(text);
    if (why) return new QueryFailure(`location ${why}`);
    location = text;
  }

  return {
    infoHashHex,
    peerId,
    peerKey,
    port,
    uploaded: uploaded ?? 0,
    downloaded: downloaded ?? 0,
    left,
    event,
    numwant,
    compact: values[COMPACT] !== '0',
    noPeerId: values[NO_PEER_ID] === '1',
    ip,
    location,
    rawRate: values[RATE],
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
    const hex = decodeHexId('info_hash', value);
    if (hex instanceof QueryFailure) return hex;
    hashes.add(hex);
    if (hashes.size > limits.maxScrapeHashes) {
      return new QueryFailure(`more than ${limits.maxScrapeHashes} info_hash values`);
    }
  }
  return [...hashes];
}
