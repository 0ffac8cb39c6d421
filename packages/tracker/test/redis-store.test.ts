import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError, RedisStore, parseRedisUrl, resolveConfig } from '@distributor/tracker';
import { startRedis, type RedisServer } from '../../../scripts/lib/redis-server.js';
import { runStoreContract } from './store-contract.js';

let redis: RedisServer;
let stores = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

// Each store gets its own key prefix, so the contract's tests start from an empty store.
runStoreContract('redis', async ({ clock, peerTtlMs }) => {
  const store = new RedisStore({
    url: redis.url,
    clock,
    peerTtlMs,
    keyPrefix: `contract-${process.pid}-${stores++}:`,
  });
  await store.ready();
  return store;
});

describe('RedisStore specifics', () => {
  it('parses redis URLs and rejects what it cannot use', () => {
    expect(parseRedisUrl('redis://10.1.2.3:6380/2')).toMatchObject({
      host: '10.1.2.3',
      port: 6380,
      db: 2,
    });
    expect(parseRedisUrl('redis://:secret@cache')).toMatchObject({
      host: 'cache',
      port: 6379,
      db: 0,
      password: 'secret',
    });
    expect(() => parseRedisUrl('redis://cache/99')).toThrow(/database/);
    expect(() => resolveConfig({ store: 'redis://' })).toThrow(ConfigError);
    expect(() => resolveConfig({ store: 'mongodb://x' })).toThrow(/--store/);
  });

  it('reports health, and fails commands fast while Redis is unreachable', async () => {
    const store = new RedisStore({ url: redis.url, keyPrefix: 'health:' });
    await store.ready();
    expect(await store.health()).toEqual({ ok: true, store: 'redis' });
    await store.close();

    // Nothing listens on port 1: the store must report it, not hang.
    const down = new RedisStore({ url: 'redis://127.0.0.1:1', keyPrefix: 'health:' });
    await expect(down.ready(300)).rejects.toThrow(/cannot reach redis/);
    const health = await down.health();
    expect(health.ok).toBe(false);
    expect(health.error).toMatch(/redis is down/);
    await expect(down.entries()).rejects.toThrow();
    await down.close();
  });

  it('returns each sampled peer location when asked', async () => {
    const store = new RedisStore({ url: redis.url, keyPrefix: 'loc:' });
    await store.ready();
    const base = {
      infoHash: 'cd'.repeat(20),
      seed: false,
      event: 'started' as const,
      leechersOnly: false,
      requirePublished: false,
    };
    await store.announce({
      ...base,
      peerId: Buffer.alloc(20, 1),
      address: Buffer.from([10, 0, 0, 1, 0x1a, 0xe1]),
      want: 0,
      location: 'zone-a/rack-1',
    });
    const out = await store.announce({
      ...base,
      peerId: Buffer.alloc(20, 2),
      address: Buffer.from([10, 0, 0, 2, 0x1a, 0xe1]),
      want: 5,
      withLocations: true,
    });
    expect(out.peers.locations4).toEqual(['zone-a/rack-1']);
    await store.close();
  });
});
