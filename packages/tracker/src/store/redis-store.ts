import { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { parseRedisUrl } from './redis-url.js';
import { registryEntry } from './registry-entry.js';
import { sumTotals } from './totals.js';
import {
  PEER4_RECORD,
  PEER6_RECORD,
  PEER_ID_LENGTH,
  type AnnounceOutcome,
  type PeerAnnounce,
  type PeerSample,
  type PublishRequest,
  type RegistryEntry,
  type StoreHealth,
  type SwarmStats,
  type SwarmTotals,
  type TrackerStore,
} from './types.js';

export interface RedisStoreOptions {
  /** `redis://HOST:PORT[/DB]`. */
  url: string;
  clock?: Clock;
  /** A peer that has not announced for this long is gone (2x the announce interval). */
  peerTtlMs?: number;
  /** Prefix of every key, so that several deployments (or tests) can share one Redis. */
  keyPrefix?: string;
  /**
   * Longest wait for one Redis command. An announce that hits it is answered with a failure
   * reason, so a slow Redis costs clients a retry rather than a hung request.
   */
  commandTimeoutMs?: number;
}

/*
 * Key layout (P = keyPrefix, H = info hash in hex). The braces are Redis Cluster hash tags:
 * all keys of one swarm live in one slot, so the announce script may touch them together.
 *
 *   P{H}:all    sorted set, peer id → last announce (ms, from the injected clock)
 *   P{H}:leech  sorted set, the leechers among them, same scores
 *   P{H}:rec    hash, peer id → 1 length byte + compact address + peer id + location
 *   P{H}:dl     string counter of `completed` events
 *   P{H}:reg    hash, the registry entry (fields of RegistryEntry, plus `torrent` bytes)
 *   Pswarms     sorted set, info hash → last announce; lists swarms for scrape-all and totals
 *   Pregistry   sorted set, info hash → lease expiry; lists published files
 *
 * Expiry: a peer is live while its score is within peerTtl of now. Counts use ZCOUNT over the
 * live score range, samples skip stale scores, and each announce trims up to TRIM_BATCH stale
 * peers (lazy trimming). The per-swarm keys carry a Redis TTL of 2x peerTtl, renewed by every
 * announce, and a registry entry's key carries its lease TTL, so a swarm or lease nobody
 * touches any more disappears by itself: no sweeper is needed for memory to be returned.
 */

const TRIM_BATCH = 256;
/** `completed` counts of published files outlive their peers, like the memory store's. */
const DOWNLOADED_TTL_MS = 30 * 86_400_000;

/** One round trip per announce: check publication, trim, upsert, count, sample. */
const ANNOUNCE_LUA = `
local now = tonumber(ARGV[1])
local cutoff = ARGV[2]
local pid = ARGV[3]
local record = ARGV[4]
local isSeed = ARGV[5] == '1'
local event = ARGV[6]
local want = tonumber(ARGV[7])
local leechersOnly = ARGV[8] == '1'
local requirePublished = ARGV[9] == '1'
local keyTtl = ARGV[10]
local withLocations = ARGV[11] == '1'
local location = ARGV[12]
local infoHash = ARGV[13]
local dlTtl = ARGV[14]
local trimBatch = tonumber(ARGV[15])

if requirePublished then
  local exp = redis.call('HGET', KEYS[5], 'expiresAt')
  if not exp or tonumber(exp) <= now then return {0} end
end

local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, trimBatch)
if #stale > 0 then
  redis.call('ZREM', KEYS[1], unpack(stale))
  redis.call('ZREM', KEYS[2], unpack(stale))
  redis.call('HDEL', KEYS[3], unpack(stale))
end

if event == 'stopped' then
  if redis.call('ZREM', KEYS[1], pid) == 1 then
    redis.call('ZREM', KEYS[2], pid)
    redis.call('HDEL', KEYS[3], pid)
  end
else
  local previous = redis.call('ZSCORE', KEYS[1], pid)
  local wasSeed = previous and redis.call('ZSCORE', KEYS[2], pid) == false
  if event == 'completed' and not wasSeed then
    redis.call('INCR', KEYS[4])
    redis.call('PEXPIRE', KEYS[4], dlTtl)
  end
  redis.call('ZADD', KEYS[1], now, pid)
  if isSeed then
    redis.call('ZREM', KEYS[2], pid)
  else
    redis.call('ZADD', KEYS[2], now, pid)
    redis.call('PEXPIRE', KEYS[2], keyTtl)
  end
  redis.call('HSET', KEYS[3], pid, string.char(#record) .. record .. location)
  redis.call('PEXPIRE', KEYS[1], keyTtl)
  redis.call('PEXPIRE', KEYS[3], keyTtl)
  redis.call('ZADD', KEYS[6], now, infoHash)
end

local live = '(' .. cutoff
local total = redis.call('ZCOUNT', KEYS[1], live, '+inf')
local leechers = redis.call('ZCOUNT', KEYS[2], live, '+inf')
local downloaded = tonumber(redis.call('GET', KEYS[4]) or '0')
local out = {1, total - leechers, leechers, downloaded}
if want <= 0 then return out end

local source = KEYS[1]
if leechersOnly then source = KEYS[2] end
-- One spare: the asker itself may be drawn.
local drawn = redis.call('ZRANDMEMBER', source, want + 1, 'WITHSCORES')
local ids = {}
for i = 1, #drawn, 2 do
  if drawn[i] ~= pid and tonumber(drawn[i + 1]) > tonumber(cutoff) then
    ids[#ids + 1] = drawn[i]
  end
end
if #ids == 0 then return out end
local values = redis.call('HMGET', KEYS[3], unpack(ids))
local ownAddress = string.sub(record, 1, #record - 20)
local given = 0
for i = 1, #values do
  local v = values[i]
  if v and given < want then
    local recordLength = string.byte(v, 1)
    local peer = string.sub(v, 2, 1 + recordLength)
    if string.sub(peer, 1, recordLength - 20) ~= ownAddress then
      out[#out + 1] = peer
      if withLocations then out[#out + 1] = string.sub(v, 2 + recordLength) end
      given = given + 1
    end
  end
end
return out
`;

/** Publishes or renews one entry, keeping the first publishedAt while the lease is live. */
const PUBLISH_LUA = `
local now = tonumber(ARGV[1])
local exp = redis.call('HGET', KEYS[1], 'expiresAt')
local publishedAt = ARGV[1]
if exp and tonumber(exp) > now then
  publishedAt = redis.call('HGET', KEYS[1], 'publishedAt')
end
redis.call('HSET', KEYS[1], 'root', ARGV[4], 'path', ARGV[5], 'name', ARGV[6],
  'length', ARGV[7], 'pieceLength', ARGV[8], 'mtimeMs', ARGV[9], 'torrent', ARGV[10],
  'publishedAt', publishedAt, 'expiresAt', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[11])
return publishedAt
`;

/** Renews the live leases among ARGV[5..]; returns 1/0 per hash. Keys are built here. */
const RENEW_LUA = `
local now = tonumber(ARGV[1])
local out = {}
for i = 5, #ARGV do
  local key = ARGV[3] .. '{' .. ARGV[i] .. '}:reg'
  local exp = redis.call('HGET', key, 'expiresAt')
  if exp and tonumber(exp) > now then
    redis.call('HSET', key, 'expiresAt', ARGV[2])
    redis.call('PEXPIRE', key, ARGV[4])
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
`;

const WITHDRAW_LUA = `
local exp = redis.call('HGET', KEYS[1], 'expiresAt')
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
if exp and tonumber(exp) > tonumber(ARGV[1]) then return 1 end
return 0
`;

const ENTRY_FIELDS = [
  'root',
  'path',
  'name',
  'length',
  'pieceLength',
  'mtimeMs',
  'publishedAt',
  'expiresAt',
] as const;

const EMPTY = new Uint8Array(0);

type ScriptReply = (number | Buffer)[];

interface StoreCommands {
  distAnnounceBuffer(...args: (string | number | Buffer | Uint8Array)[]): Promise<ScriptReply>;
  distPublish(...args: (string | number | Buffer | Uint8Array)[]): Promise<string>;
  distRenew(...args: (string | number)[]): Promise<number[]>;
  distWithdraw(...args: (string | number)[]): Promise<number>;
}

/** The store could not be reached or did not answer in time. */
export class StoreUnavailableError extends Error {}

/**
 * TrackerStore in Redis, so that any number of trackers answer the same swarms and serve the
 * same registry. Announces are one Lua script (one round trip); scrapes and listings are one
 * pipeline. See the key layout above and docs/operations.md.
 */
export class RedisStore implements TrackerStore {
  private readonly clock: Clock;
  private readonly peerTtlMs: number;
  private readonly prefix: string;
  private readonly redis: Redis & StoreCommands;
  private readonly description: string;
  private lastError = '';

  constructor(options: RedisStoreOptions) {
    this.clock = options.clock ?? systemClock;
    this.peerTtlMs = options.peerTtlMs ?? 60_000;
    if (!(this.peerTtlMs > 0)) throw new RangeError('peerTtlMs must be positive');
    this.prefix = options.keyPrefix ?? 'dist:';
    const url = parseRedisUrl(options.url);
    this.description = `redis://${url.host}:${url.port}/${url.db}`;
    const commandTimeout = options.commandTimeoutMs ?? 1000;
    this.redis = new Redis({
      host: url.host,
      port: url.port,
      db: url.db,
      ...(url.password ? { password: url.password } : {}),
      ...(url.username ? { username: url.username } : {}),
      // While Redis is away, fail commands at once instead of queueing them: a queued announce
      // would hang its HTTP request, and thousands of them would pile up in memory.
      enableOfflineQueue: false,
      // A command that was sent is not retried on another connection; the client re-announces.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // Bounds a command on a live but stuck connection (Redis paused, network black hole).
      commandTimeout,
      connectTimeout: 2000,
      // Keep trying for ever, at most every 2 s: service returns by itself when Redis does.
      retryStrategy: (times) => Math.min(100 * times, 2000),
      lazyConnect: false,
    }) as Redis & StoreCommands;
    this.redis.on('error', (err: Error) => {
      // ioredis emits every failed reconnect; remember the reason for /healthz, don't crash.
      this.lastError = err.message;
    });
    this.redis.on('ready', () => {
      this.lastError = '';
    });
    this.redis.defineCommand('distAnnounce', { numberOfKeys: 6, lua: ANNOUNCE_LUA });
    this.redis.defineCommand('distPublish', { numberOfKeys: 2, lua: PUBLISH_LUA });
    this.redis.defineCommand('distRenew', { numberOfKeys: 1, lua: RENEW_LUA });
    this.redis.defineCommand('distWithdraw', { numberOfKeys: 2, lua: WITHDRAW_LUA });
  }

  /** Resolves once connected, or rejects after `timeoutMs`; the store keeps reconnecting. */
  async ready(timeoutMs = 5000): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.redis.off('ready', onReady);
        reject(
          new StoreUnavailableError(
            `cannot reach ${this.description} within ${timeoutMs} ms` +
              (this.lastError ? ` (${this.lastError})` : ''),
          ),
        );
      }, timeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.redis.once('ready', onReady);
    });
  }

  private key(infoHash: string, kind: string): string {
    return `${this.prefix}{${infoHash}}:${kind}`;
  }

  private cutoff(now: number): number {
    return now - this.peerTtlMs;
  }

  async announce(request: PeerAnnounce): Promise<AnnounceOutcome> {
    const now = this.clock.now();
    const h = request.infoHash;
    const record = Buffer.allocUnsafe(request.address.length + PEER_ID_LENGTH);
    record.set(request.address, 0);
    record.set(request.peerId.subarray(0, PEER_ID_LENGTH), request.address.length);
    const withLocations = request.withLocations === true;
    const reply = await this.redis.distAnnounceBuffer(
      this.key(h, 'all'),
      this.key(h, 'leech'),
      this.key(h, 'rec'),
      this.key(h, 'dl'),
      this.key(h, 'reg'),
      `${this.prefix}swarms`,
      String(now),
      String(this.cutoff(now)),
      Buffer.from(request.peerId.subarray(0, PEER_ID_LENGTH)),
      record,
      request.seed ? '1' : '0',
      request.event,
      String(request.want),
      request.leechersOnly ? '1' : '0',
      request.requirePublished ? '1' : '0',
      String(2 * this.peerTtlMs),
      withLocations ? '1' : '0',
      request.location ?? '',
      h,
      String(DOWNLOADED_TTL_MS),
      String(TRIM_BATCH),
    );
    if (reply[0] !== 1) {
      return {
        published: false,
        complete: 0,
        incomplete: 0,
        downloaded: 0,
        peers: { v4: EMPTY, v6: EMPTY },
      };
    }
    const v4: Buffer[] = [];
    const v6: Buffer[] = [];
    const locations4: string[] = [];
    const locations6: string[] = [];
    const step = withLocations ? 2 : 1;
    for (let i = 4; i < reply.length; i += step) {
      const peer = reply[i] as Buffer;
      const location = withLocations ? (reply[i + 1] as Buffer).toString('utf8') : '';
      if (peer.length === PEER4_RECORD) {
        v4.push(peer);
        locations4.push(location);
      } else if (peer.length === PEER6_RECORD) {
        v6.push(peer);
        locations6.push(location);
      }
    }
    const peers: PeerSample = {
      v4: v4.length ? Buffer.concat(v4) : EMPTY,
      v6: v6.length ? Buffer.concat(v6) : EMPTY,
    };
    if (withLocations) {
      peers.locations4 = locations4;
      peers.locations6 = locations6;
    }
    return {
      published: true,
      complete: reply[1] as number,
      incomplete: reply[2] as number,
      downloaded: reply[3] as number,
      peers,
    };
  }

  async scrape(infoHashes: readonly string[]): Promise<SwarmStats[]> {
    if (infoHashes.length === 0) return [];
    return this.counts(infoHashes, this.clock.now());
  }

  /** Seeds, leechers and downloads of each swarm, in one pipeline. */
  private async counts(infoHashes: readonly string[], now: number): Promise<SwarmStats[]> {
    const live = `(${this.cutoff(now)}`;
    const pipeline = this.redis.pipeline();
    for (const h of infoHashes) {
      pipeline.zcount(this.key(h, 'all'), live, '+inf');
      pipeline.zcount(this.key(h, 'leech'), live, '+inf');
      pipeline.get(this.key(h, 'dl'));
    }
    const results = await execOrThrow(pipeline);
    return infoHashes.map((_, i) => {
      const total = Number(results[i * 3]);
      const leechers = Number(results[i * 3 + 1]);
      return {
        complete: total - leechers,
        incomplete: leechers,
        downloaded: Number(results[i * 3 + 2] ?? 0),
      };
    });
  }

  /** Info hashes announced to within the peer TTL, most recent first. */
  private async liveSwarms(now: number, limit: number): Promise<string[]> {
    return this.redis.zrevrangebyscore(
      `${this.prefix}swarms`,
      '+inf',
      `(${this.cutoff(now)}`,
      'LIMIT',
      0,
      limit,
    );
  }

  async allSwarms(limit: number): Promise<Map<string, SwarmStats>> {
    const now = this.clock.now();
    const hashes = await this.liveSwarms(now, limit);
    const stats = await this.counts(hashes, now);
    const out = new Map<string, SwarmStats>();
    hashes.forEach((h, i) => {
      const s = stats[i]!;
      if (s.complete + s.incomplete > 0) out.set(h, s);
    });
    return out;
  }

  async totals(): Promise<SwarmTotals> {
    const now = this.clock.now();
    // Bounded: a status figure is not worth an unbounded scan of a huge deployment.
    const hashes = await this.liveSwarms(now, 100_000);
    return sumTotals(await this.counts(hashes, now));
  }

  async publish(request: PublishRequest, ttlSec: number): Promise<RegistryEntry> {
    const now = this.clock.now();
    const expiresAt = now + ttlSec * 1000;
    const publishedAt = await this.redis.distPublish(
      this.key(request.infoHash, 'reg'),
      `${this.prefix}registry`,
      String(now),
      String(expiresAt),
      String(ttlSec * 1000),
      request.root,
      request.path,
      request.name,
      String(request.length),
      String(request.pieceLength),
      String(request.mtimeMs),
      Buffer.from(request.torrent),
      request.infoHash,
    );
    return registryEntry(request, Number(publishedAt), expiresAt);
  }

  async renew(
    infoHashes: readonly string[],
    ttlSec: number,
  ): Promise<{ renewed: string[]; missing: string[] }> {
    const renewed: string[] = [];
    const missing: string[] = [];
    if (infoHashes.length === 0) return { renewed, missing };
    const now = this.clock.now();
    // Batches keep any one script short: Redis runs scripts one at a time.
    for (let start = 0; start < infoHashes.length; start += 1000) {
      const batch = infoHashes.slice(start, start + 1000);
      const flags = await this.redis.distRenew(
        `${this.prefix}registry`,
        String(now),
        String(now + ttlSec * 1000),
        this.prefix,
        String(ttlSec * 1000),
        ...batch,
      );
      batch.forEach((h, i) => (flags[i] === 1 ? renewed : missing).push(h));
    }
    return { renewed, missing };
  }

  async withdraw(infoHash: string): Promise<boolean> {
    const live = await this.redis.distWithdraw(
      this.key(infoHash, 'reg'),
      `${this.prefix}registry`,
      String(this.clock.now()),
      infoHash,
    );
    return live === 1;
  }

  async entry(infoHash: string): Promise<RegistryEntry | undefined> {
    const values = await this.redis.hmget(this.key(infoHash, 'reg'), ...ENTRY_FIELDS);
    return toEntry(infoHash, values, this.clock.now());
  }

  async torrent(infoHash: string): Promise<Uint8Array | undefined> {
    const [torrent, expiresAt] = await this.redis.hmgetBuffer(
      this.key(infoHash, 'reg'),
      'torrent',
      'expiresAt',
    );
    if (!torrent || !expiresAt || Number(expiresAt.toString()) <= this.clock.now()) {
      return undefined;
    }
    return torrent;
  }

  async entries(): Promise<RegistryEntry[]> {
    const now = this.clock.now();
    const hashes = await this.redis.zrangebyscore(`${this.prefix}registry`, `(${now}`, '+inf');
    if (hashes.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const h of hashes) pipeline.hmget(this.key(h, 'reg'), ...ENTRY_FIELDS);
    const results = await execOrThrow(pipeline);
    const out: RegistryEntry[] = [];
    hashes.forEach((h, i) => {
      const entry = toEntry(h, results[i] as (string | null)[], now);
      if (entry) out.push(entry);
    });
    return out;
  }

  /**
   * Trims the two index sets; the per-swarm and per-lease keys expire by their Redis TTLs.
   * Any number of trackers may run this at once.
   */
  async sweep(): Promise<void> {
    const now = this.clock.now();
    await execOrThrow(
      this.redis
        .pipeline()
        .zremrangebyscore(`${this.prefix}swarms`, '-inf', this.cutoff(now))
        .zremrangebyscore(`${this.prefix}registry`, '-inf', now),
    );
  }

  async health(): Promise<StoreHealth> {
    if (this.redis.status !== 'ready') {
      return {
        ok: false,
        store: 'redis',
        error: `redis is down: ${this.description} is ${this.redis.status}${this.lastError ? ` (${this.lastError})` : ''}`,
      };
    }
    try {
      await this.redis.ping();
      return { ok: true, store: 'redis' };
    } catch (err) {
      return {
        ok: false,
        store: 'redis',
        error: `redis is down: ${this.description}: ${(err as Error).message}`,
      };
    }
  }

  async close(): Promise<void> {
    if (this.redis.status === 'ready') {
      try {
        await this.redis.quit();
        return;
      } catch {
        // Fall through: a connection that cannot say goodbye is simply dropped.
      }
    }
    this.redis.disconnect();
  }
}

async function execOrThrow(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = await pipeline.exec();
  if (!results) throw new StoreUnavailableError('redis pipeline was discarded');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

function toEntry(
  infoHash: string,
  values: (string | null)[],
  now: number,
): RegistryEntry | undefined {
  const [root, path, name, length, pieceLength, mtimeMs, publishedAt, expiresAt] = values;
  if (root == null || path == null || name == null || expiresAt == null) return undefined;
  if (Number(expiresAt) <= now) return undefined;
  return {
    infoHash,
    root,
    path,
    name,
    length: Number(length),
    pieceLength: Number(pieceLength),
    mtimeMs: Number(mtimeMs),
    publishedAt: Number(publishedAt),
    expiresAt: Number(expiresAt),
  };
}
