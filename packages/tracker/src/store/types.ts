/**
 * The tracker's state behind two narrow async interfaces, shaped for a networked store (Redis,
 * issue 7) as much as for memory:
 *
 * - every hot-path request is one call (`announce` upserts, checks publication, counts and
 *   samples in a single round trip, which a Redis store does as one Lua script);
 * - expiry is by TTL (peers after `peerTtlMs`, leases after their `ttlSec`), so nothing needs
 *   a janitor to be correct (a Redis store uses sorted-set scores and key expiry);
 * - peers are handed out by sampling (SRANDMEMBER), never by reading a whole swarm;
 * - peers are fixed-size binary records, so they are stored and returned pre-encoded.
 */

/** BEP 3 events; `update` is a regular announce without an event. */
export type AnnounceEvent = 'started' | 'completed' | 'stopped' | 'update';

/** IPv4 peer record: 4 address bytes, 2 port bytes (BEP 23 compact form), 20 peer-id bytes. */
export const PEER4_RECORD = 26;
/** IPv6 peer record: 16 address bytes, 2 port bytes (BEP 7 compact form), 20 peer-id bytes. */
export const PEER6_RECORD = 38;
export const PEER_ID_LENGTH = 20;

/**
 * A peer id's bytes as the latin1 string that stores and the status board key peers by, for
 * callers that were not handed `peerKey`. Reads through a view of the id's memory rather than
 * copying it first, whether the id is a Buffer or a plain Uint8Array.
 */
export function peerIdKey(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, PEER_ID_LENGTH).toString('latin1');
}

export interface PeerAnnounce {
  /** 40 lowercase hex digits. */
  infoHash: string;
  /** 20 bytes. */
  peerId: Uint8Array;
  /** `peerId` as a latin1 string, when the caller already made one (saves a copy per peer). */
  peerKey?: string | undefined;
  /** Compact address: 6 bytes (IPv4 + port) or 18 bytes (IPv6 + port). */
  address: Uint8Array;
  /** The peer has the whole file (`left=0`). */
  seed: boolean;
  event: AnnounceEvent;
  /** How many other peers to sample for the answer (0 for none). */
  want: number;
  /** Sample only peers that still download (a seed has no use for other seeds). */
  leechersOnly: boolean;
  /** Refuse (and store nothing) unless the info hash is published in the registry. */
  requirePublished: boolean;
  /** Where the peer sits, `zone/rack` (issue 7); empty or absent when unknown. */
  location?: string;
  /** Return each sampled peer's location too (`PeerSample.locations4/6`). */
  withLocations?: boolean;
}

export interface SwarmStats {
  /** Seeds. */
  complete: number;
  /** Leechers. */
  incomplete: number;
  /** `completed` events seen. */
  downloaded: number;
}

export interface PeerSample {
  /** Concatenated PEER4_RECORD-byte records. */
  v4: Uint8Array;
  /** Concatenated PEER6_RECORD-byte records. */
  v6: Uint8Array;
  /** Location of each v4 record, in order ('' when unknown); only when asked `withLocations`. */
  locations4?: string[];
  /** Location of each v6 record, in order; only when asked `withLocations`. */
  locations6?: string[];
}

export interface AnnounceOutcome extends SwarmStats {
  /** False when `requirePublished` was set and the info hash is not published. */
  published: boolean;
  /** Random other peers, never the asker (neither its peer id nor its address). */
  peers: PeerSample;
}

export interface SwarmTotals {
  swarms: number;
  seeds: number;
  leechers: number;
}

export interface PeerStore {
  /**
   * May answer synchronously (the memory store does): the announce hot path then responds
   * without a microtask hop, which is worth twice the throughput on node:http. A networked
   * store returns a Promise.
   */
  announce(request: PeerAnnounce): AnnounceOutcome | Promise<AnnounceOutcome>;
  /** Stats for each hash, in order; zeros for unknown swarms. */
  scrape(infoHashes: readonly string[]): Promise<SwarmStats[]>;
  /** Stats of up to `limit` swarms that have peers (BEP 48 scrape without info_hash). */
  allSwarms(limit: number): Promise<Map<string, SwarmStats>>;
  totals(): Promise<SwarmTotals>;
}

/** A published file. The .torrent bytes are kept apart (`torrent()`): listings don't need them. */
export interface RegistryEntry {
  infoHash: string;
  /** Name of the watched root the file is under (one path component). */
  root: string;
  /** Path relative to the root, `/`-separated, e.g. `sub/file.iso`. */
  path: string;
  /** The torrent's info.name. */
  name: string;
  length: number;
  pieceLength: number;
  mtimeMs: number;
  /** When this info hash was first published (ms). */
  publishedAt: number;
  /** When the lease runs out unless renewed (ms). */
  expiresAt: number;
}

export type PublishRequest = Omit<RegistryEntry, 'publishedAt' | 'expiresAt'> & {
  torrent: Uint8Array;
};

export interface Registry {
  /** Publishes or renews (idempotent); keeps the first `publishedAt`. */
  publish(request: PublishRequest, ttlSec: number): Promise<RegistryEntry>;
  /** Extends the leases that still exist; reports which ones are gone. */
  renew(
    infoHashes: readonly string[],
    ttlSec: number,
  ): Promise<{ renewed: string[]; missing: string[] }>;
  /** Removes an entry; false when it was not published. */
  withdraw(infoHash: string): Promise<boolean>;
  entry(infoHash: string): Promise<RegistryEntry | undefined>;
  torrent(infoHash: string): Promise<Uint8Array | undefined>;
  /** Every live entry. */
  entries(): Promise<RegistryEntry[]>;
}

/** What /healthz reports about the store. */
export interface StoreHealth {
  ok: boolean;
  /** `memory` or `redis`. */
  store: string;
  /** Why the store is unusable, when it is. */
  error?: string;
}

export interface TrackerStore extends PeerStore, Registry {
  /** Drops expired peers, empty swarms and lapsed leases; correctness never depends on it. */
  sweep(): Promise<void>;
  /** Whether the store answers now (a networked store pings its server, bounded in time). */
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}
