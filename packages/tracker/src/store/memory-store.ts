import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { registryEntry } from './registry-entry.js';
import { sumTotals } from './totals.js';
import { TimeSlices } from '../time-slices.js';
import {
  PEER4_RECORD,
  PEER6_RECORD,
  PEER_ID_LENGTH,
  peerIdKey,
  type AnnounceOutcome,
  type PeerAnnounce,
  type PublishRequest,
  type RegistryEntry,
  type PeerSample,
  type StoreHealth,
  type SwarmStats,
  type SwarmTotals,
  type TrackerStore,
} from './types.js';

export interface MemoryStoreOptions {
  clock?: Clock;
  /** A peer that has not announced for this long is gone (2x the announce interval). */
  peerTtlMs?: number;
  /** sweep() gives the event loop back after this much work (ms). */
  sweepSliceMs?: number;
}

const EMPTY = new Uint8Array(0);
// A group holds these until its first peer: most swarms never see an IPv6 peer, and with
// 10,000 swarms, buffers allocated up front were 160,000 heap objects for each major GC to mark.
const NO_RECORDS = Buffer.alloc(0);
const NO_EXPIRES = new Float64Array(0);
const NO_KEYS: string[] = [];

/**
 * One group of peers (seeds or leechers, IPv4 or IPv6) as fixed-size records packed in one
 * buffer, so a sample is a handful of 26- or 38-byte copies and nothing is encoded per announce.
 * Removal swaps the last record into the hole, keeping the records dense for O(1) sampling.
 */
class PeerGroup {
  records: Buffer = NO_RECORDS;
  expires: Float64Array = NO_EXPIRES;
  keys: string[] = NO_KEYS;
  /** `zone/rack` of each record ('' when unknown), kept beside the records for the handout. */
  locations: string[] = NO_KEYS;
  count = 0;

  constructor(readonly recordSize: number) {}

  /** Appends a record (the compact address, then the peer id); returns its slot. */
  push(
    key: string,
    address: Uint8Array,
    peerId: Uint8Array,
    expiresAt: number,
    location: string,
  ): number {
    if (this.count === this.expires.length) this.grow(Math.max(4, this.count * 2));
    const slot = this.count++;
    this.keys[slot] = key;
    this.write(slot, address, peerId, expiresAt, location);
    return slot;
  }

  write(
    slot: number,
    address: Uint8Array,
    peerId: Uint8Array,
    expiresAt: number,
    location: string,
  ): void {
    // Written in place: a record assembled first cost an allocation per announce.
    const at = slot * this.recordSize;
    this.records.set(address, at);
    this.records.set(peerId, at + address.length);
    this.expires[slot] = expiresAt;
    this.locations[slot] = location;
  }

  /** Removes `slot`; returns the key of the record moved into it, if any. */
  remove(slot: number): string | undefined {
    const last = --this.count;
    let moved: string | undefined;
    if (slot !== last) {
      const size = this.recordSize;
      this.records.copy(this.records, slot * size, last * size, last * size + size);
      this.expires[slot] = this.expires[last]!;
      moved = this.keys[last]!;
      this.keys[slot] = moved;
      this.locations[slot] = this.locations[last]!;
    }
    this.keys.pop();
    this.locations.pop();
    // Give memory back when a swarm shrinks a lot.
    if (this.expires.length > 64 && this.count < this.expires.length / 4) {
      this.grow(this.expires.length / 2);
    }
    return moved;
  }

  private grow(capacity: number): void {
    if (this.keys === NO_KEYS) {
      this.keys = [];
      this.locations = [];
    }
    const records = Buffer.allocUnsafe(capacity * this.recordSize);
    this.records.copy(records, 0, 0, this.count * this.recordSize);
    const expires = new Float64Array(capacity);
    expires.set(this.expires.subarray(0, this.count));
    this.records = records;
    this.expires = expires;
  }
}

// Group numbers; a peer's location is stored as slot * 4 + group.
const SEED4 = 0;
const LEECH4 = 1;
const SEED6 = 2;
const LEECH6 = 3;

class Swarm {
  readonly groups = [
    new PeerGroup(PEER4_RECORD),
    new PeerGroup(PEER4_RECORD),
    new PeerGroup(PEER6_RECORD),
    new PeerGroup(PEER6_RECORD),
  ] as const;
  /** Peer id (latin1) → slot * 4 + group. */
  readonly where = new Map<string, number>();
  downloaded = 0;
  sweptAt: number;

  constructor(now: number) {
    this.sweptAt = now;
  }

  get seeds(): number {
    return this.groups[SEED4].count + this.groups[SEED6].count;
  }

  get leechers(): number {
    return this.groups[LEECH4].count + this.groups[LEECH6].count;
  }

  get size(): number {
    return this.where.size;
  }

  remove(location: number): void {
    const group = this.groups[location & 3]!;
    const slot = location >>> 2;
    this.where.delete(group.keys[slot]!);
    const moved = group.remove(slot);
    if (moved !== undefined) this.where.set(moved, (slot << 2) | (location & 3));
  }

  sweep(now: number): void {
    this.sweptAt = now;
    for (let g = 0; g < 4; g++) {
      const group = this.groups[g]!;
      // Walk backwards: removal moves the last record into the hole, which is already checked.
      for (let slot = group.count - 1; slot >= 0; slot--) {
        if (group.expires[slot]! <= now) this.remove((slot << 2) | g);
      }
    }
  }
}

interface StoredEntry {
  entry: RegistryEntry;
  torrent: Uint8Array;
}

/**
 * The in-memory TrackerStore: one process, no persistence (the seeders' lease renewals
 * repopulate the registry after a restart, and peers re-announce within one interval).
 */
export class MemoryStore implements TrackerStore {
  private readonly clock: Clock;
  private readonly peerTtlMs: number;
  /** A swarm is swept of expired peers at most this often, when it is next touched. */
  private readonly sweepEveryMs: number;
  private readonly sweepSliceMs: number;
  private readonly swarms = new Map<string, Swarm>();
  private readonly registry = new Map<string, StoredEntry>();

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.peerTtlMs = options.peerTtlMs ?? 60_000;
    if (!(this.peerTtlMs > 0)) throw new RangeError('peerTtlMs must be positive');
    this.sweepEveryMs = this.peerTtlMs / 8;
    this.sweepSliceMs = options.sweepSliceMs ?? 2;
  }

  announce(request: PeerAnnounce): AnnounceOutcome {
    const now = this.clock.now();
    if (request.requirePublished && !this.liveEntry(request.infoHash, now)) {
      return {
        published: false,
        complete: 0,
        incomplete: 0,
        downloaded: 0,
        peers: { v4: EMPTY, v6: EMPTY },
      };
    }
    let swarm = this.swarms.get(request.infoHash);
    if (!swarm) {
      if (request.event === 'stopped') {
        return {
          published: true,
          complete: 0,
          incomplete: 0,
          downloaded: 0,
          peers: { v4: EMPTY, v6: EMPTY },
        };
      }
      swarm = new Swarm(now);
      this.swarms.set(request.infoHash, swarm);
    } else if (now - swarm.sweptAt >= this.sweepEveryMs) {
      swarm.sweep(now);
    }

    const key = request.peerKey ?? peerIdKey(request.peerId);
    const previous = swarm.where.get(key);
    let self = -1;
    if (request.event === 'stopped') {
      if (previous !== undefined) swarm.remove(previous);
    } else {
      const v6 = request.address.length === 18;
      const group = v6 ? (request.seed ? SEED6 : LEECH6) : request.seed ? SEED4 : LEECH4;
      const peerId =
        request.peerId.length === PEER_ID_LENGTH
          ? request.peerId
          : request.peerId.subarray(0, PEER_ID_LENGTH);
      const expiresAt = now + this.peerTtlMs;
      const wasSeed =
        previous !== undefined && ((previous & 3) === SEED4 || (previous & 3) === SEED6);
      if (request.event === 'completed' && !wasSeed) swarm.downloaded++;
      const location = request.location ?? '';
      if (previous !== undefined && (previous & 3) === group) {
        swarm.groups[group]!.write(previous >>> 2, request.address, peerId, expiresAt, location);
        self = previous;
      } else {
        if (previous !== undefined) swarm.remove(previous);
        const slot = swarm.groups[group]!.push(key, request.address, peerId, expiresAt, location);
        self = (slot << 2) | group;
        swarm.where.set(key, self);
      }
    }

    const outcome: AnnounceOutcome = {
      published: true,
      complete: swarm.seeds,
      incomplete: swarm.leechers,
      downloaded: swarm.downloaded,
      peers:
        request.want > 0
          ? sample(
              swarm,
              request.want,
              request.leechersOnly,
              self,
              request.address,
              now,
              request.withLocations === true,
            )
          : { v4: EMPTY, v6: EMPTY },
    };
    if (swarm.size === 0 && request.event === 'stopped') this.dropIfIdle(request.infoHash, swarm);
    return outcome;
  }

  async scrape(infoHashes: readonly string[]): Promise<SwarmStats[]> {
    const now = this.clock.now();
    return infoHashes.map((hash) => {
      const swarm = this.swarms.get(hash);
      if (!swarm) return { complete: 0, incomplete: 0, downloaded: 0 };
      if (now - swarm.sweptAt >= this.sweepEveryMs) swarm.sweep(now);
      return { complete: swarm.seeds, incomplete: swarm.leechers, downloaded: swarm.downloaded };
    });
  }

  async allSwarms(limit: number): Promise<Map<string, SwarmStats>> {
    const now = this.clock.now();
    const out = new Map<string, SwarmStats>();
    for (const [hash, swarm] of this.swarms) {
      if (out.size >= limit) break;
      if (now - swarm.sweptAt >= this.sweepEveryMs) swarm.sweep(now);
      if (swarm.size === 0) continue;
      out.set(hash, {
        complete: swarm.seeds,
        incomplete: swarm.leechers,
        downloaded: swarm.downloaded,
      });
    }
    return out;
  }

  async totals(): Promise<SwarmTotals> {
    return sumTotals(
      Array.from(this.swarms.values(), (s) => ({ complete: s.seeds, incomplete: s.leechers })),
    );
  }

  async publish(request: PublishRequest, ttlSec: number): Promise<RegistryEntry> {
    const now = this.clock.now();
    const existing = this.liveEntry(request.infoHash, now);
    const entry = registryEntry(request, existing?.entry.publishedAt ?? now, now + ttlSec * 1000);
    this.registry.set(request.infoHash, { entry, torrent: Uint8Array.from(request.torrent) });
    return { ...entry };
  }

  async renew(
    infoHashes: readonly string[],
    ttlSec: number,
  ): Promise<{ renewed: string[]; missing: string[] }> {
    const now = this.clock.now();
    const renewed: string[] = [];
    const missing: string[] = [];
    for (const hash of infoHashes) {
      const stored = this.liveEntry(hash, now);
      if (stored) {
        stored.entry.expiresAt = now + ttlSec * 1000;
        renewed.push(hash);
      } else {
        missing.push(hash);
      }
    }
    return { renewed, missing };
  }

  async withdraw(infoHash: string): Promise<boolean> {
    const live = this.liveEntry(infoHash, this.clock.now()) !== undefined;
    this.registry.delete(infoHash);
    return live;
  }

  async entry(infoHash: string): Promise<RegistryEntry | undefined> {
    const stored = this.liveEntry(infoHash, this.clock.now());
    return stored ? { ...stored.entry } : undefined;
  }

  async torrent(infoHash: string): Promise<Uint8Array | undefined> {
    return this.liveEntry(infoHash, this.clock.now())?.torrent;
  }

  async entries(): Promise<RegistryEntry[]> {
    const now = this.clock.now();
    const out: RegistryEntry[] = [];
    for (const hash of [...this.registry.keys()]) {
      const stored = this.liveEntry(hash, now);
      if (stored) out.push({ ...stored.entry });
    }
    return out;
  }

  async sweep(): Promise<void> {
    const slices = new TimeSlices(this.sweepSliceMs, this.clock);
    for (const [hash, swarm] of this.swarms) {
      // Swarms that see announces sweep themselves; this catches the ones gone quiet, in
      // slices, so that announces do not wait for a walk over every peer the tracker knows.
      if (slices.now - swarm.sweptAt >= this.sweepEveryMs) swarm.sweep(slices.now);
      if (swarm.size === 0) this.dropIfIdle(hash, swarm);
      if (slices.due()) await slices.yield();
    }
    for (const hash of [...this.registry.keys()]) this.liveEntry(hash, slices.now);
  }

  async health(): Promise<StoreHealth> {
    return { ok: true, store: 'memory' };
  }

  async close(): Promise<void> {
    this.swarms.clear();
    this.registry.clear();
  }

  /** The entry if its lease is current; a lapsed one is deleted on sight. */
  private liveEntry(infoHash: string, now: number): StoredEntry | undefined {
    const stored = this.registry.get(infoHash);
    if (stored && stored.entry.expiresAt <= now) {
      this.registry.delete(infoHash);
      return undefined;
    }
    return stored;
  }

  /** Empty swarms go, except published ones, whose `downloaded` count is worth keeping. */
  private dropIfIdle(infoHash: string, swarm: Swarm): void {
    if (swarm.size === 0 && !this.registry.has(infoHash)) this.swarms.delete(infoHash);
  }
}

const ALL_GROUPS = [SEED4, LEECH4, SEED6, LEECH6] as const;
const LEECHER_GROUPS = [LEECH4, LEECH6] as const;
const EMPTY_SAMPLE = { v4: EMPTY, v6: EMPTY };

/** Consecutive records read per random window when sampling a large swarm. */
const WINDOW = 8;

/**
 * Random sample of up to `want` peers from the eligible groups (laid end to end as one index
 * space), skipping the asker's own record (`self`), any record with the asker's address, and
 * expired records. The cost is O(want), whatever the swarm size.
 *
 * In a big swarm, `want` records scattered over a large buffer cost a cache miss each, which
 * measured as most of an announce's own work. So the index space, rotated by a random offset,
 * is cut into ceil((want + 1) / 8) equal strata and 8 consecutive records are read at a random
 * place in each: every peer is equally likely to be handed out, picks never repeat, and the
 * reads are mostly sequential. A swarm too small for that is walked whole from a random start.
 */
function sample(
  swarm: Swarm,
  want: number,
  leechersOnly: boolean,
  self: number,
  address: Uint8Array,
  now: number,
  withLocations: boolean,
): PeerSample {
  const order = leechersOnly ? LEECHER_GROUPS : ALL_GROUPS;
  let total = 0;
  for (const g of order) total += swarm.groups[g].count;
  if (total === 0)
    return withLocations ? { ...EMPTY_SAMPLE, locations4: [], locations6: [] } : EMPTY_SAMPLE;
  const locations4: string[] = [];
  const locations6: string[] = [];

  const out4 = Buffer.allocUnsafe(Math.min(want, total) * PEER4_RECORD);
  let out6: Buffer | null = null;
  let n4 = 0;
  let n6 = 0;
  // Appends the record at global index `index` unless it must be skipped.
  const take = (index: number): void => {
    let slot = index;
    let gi = 0;
    let group = swarm.groups[order[0]];
    while (slot >= group.count) {
      slot -= group.count;
      group = swarm.groups[order[++gi]!];
    }
    if (((slot << 2) | order[gi]!) === self || group.expires[slot]! <= now) return;
    const size = group.recordSize;
    const from = slot * size;
    const records = group.records;
    if (address.length === size - PEER_ID_LENGTH && sameAddress(records, from, address)) return;
    let out: Buffer;
    let at: number;
    if (size === PEER4_RECORD) {
      out = out4;
      at = n4++ * size;
      if (withLocations) locations4.push(group.locations[slot]!);
    } else {
      out6 ??= Buffer.allocUnsafe(Math.min(want, total) * PEER6_RECORD);
      out = out6;
      at = n6++ * size;
      if (withLocations) locations6.push(group.locations[slot]!);
    }
    // A byte loop beats Buffer#copy for 26- and 38-byte records.
    for (let b = 0; b < size; b++) out[at + b] = records[from + b]!;
  };

  const base = Math.floor(Math.random() * total);
  const strata = Math.ceil((want + 1) / WINDOW);
  const stratum = Math.floor(total / strata);
  if (stratum < WINDOW * 2) {
    for (let k = 0; k < total && n4 + n6 < want; k++) take((base + k) % total);
  } else {
    for (let s = 0; s < strata && n4 + n6 < want; s++) {
      const start = base + s * stratum + Math.floor(Math.random() * (stratum - WINDOW + 1));
      for (let k = 0; k < WINDOW && n4 + n6 < want; k++) take((start + k) % total);
    }
  }
  // `take` assigns out6; TypeScript's narrowing does not see assignments in closures.
  const v6 = out6 as Buffer | null;
  const picked: PeerSample = {
    v4: n4 > 0 ? out4.subarray(0, n4 * PEER4_RECORD) : EMPTY,
    v6: v6 && n6 > 0 ? v6.subarray(0, n6 * PEER6_RECORD) : EMPTY,
  };
  if (withLocations) {
    picked.locations4 = locations4;
    picked.locations6 = locations6;
  }
  return picked;
}

function sameAddress(records: Buffer, offset: number, address: Uint8Array): boolean {
  for (let k = 0; k < address.length; k++) if (records[offset + k] !== address[k]) return false;
  return true;
}
