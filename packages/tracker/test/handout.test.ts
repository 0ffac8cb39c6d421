import { describe, expect, it } from '@jest/globals';
import {
  ManualClock,
  MemoryStore,
  PEER4_RECORD,
  PEER6_RECORD,
  RandomHandoutPolicy,
  compactAddress,
  ipBytes,
} from '@distributor/tracker';
import { peerId } from './helpers.js';

const HASH = 'ab'.repeat(20);

describe('RandomHandoutPolicy', () => {
  const policy = new RandomHandoutPolicy();
  const address = compactAddress(ipBytes('10.0.0.1')!, 6881);

  it('asks for numwant peers, and only leechers when the asker is a seed', () => {
    expect(policy.sampleRequest({ address, seed: false, numwant: 50 })).toEqual({
      count: 50,
      leechersOnly: false,
    });
    expect(policy.sampleRequest({ address, seed: true, numwant: 7 })).toEqual({
      count: 7,
      leechersOnly: true,
    });
  });

  it('trims a larger sample to numwant, IPv4 first', () => {
    const v4 = Buffer.alloc(5 * PEER4_RECORD);
    const v6 = Buffer.alloc(2 * PEER6_RECORD);
    const out = policy.select({ v4, v6 }, { address, seed: false, numwant: 6 });
    expect(out.v4.length).toBe(5 * PEER4_RECORD);
    expect(out.v6.length).toBe(PEER6_RECORD);
    const few = policy.select({ v4, v6 }, { address, seed: false, numwant: 3 });
    expect(few.v4.length).toBe(3 * PEER4_RECORD);
    expect(few.v6.length).toBe(0);
  });

  it('with the store, hands every peer out about equally often and never the asker', async () => {
    const store = new MemoryStore({ clock: new ManualClock(), peerTtlMs: 60_000 });
    const swarm = 40;
    for (let n = 1; n <= swarm; n++) {
      await store.announce({
        infoHash: HASH,
        peerId: peerId(n),
        address: compactAddress(Buffer.from([10, 0, 0, n]), 6881),
        seed: false,
        event: 'started',
        want: 0,
        leechersOnly: false,
        requirePublished: false,
      });
    }
    const counts = new Map<number, number>();
    const rounds = 400;
    const asker = {
      address: compactAddress(Buffer.from([10, 0, 0, 1]), 6881),
      seed: false,
      numwant: 10,
    };
    for (let r = 0; r < rounds; r++) {
      const sampling = policy.sampleRequest(asker);
      const out = await store.announce({
        infoHash: HASH,
        peerId: peerId(1),
        address: asker.address,
        seed: false,
        event: 'update',
        want: sampling.count,
        leechersOnly: sampling.leechersOnly,
        requirePublished: false,
      });
      const picked = policy.select(out.peers, asker);
      expect(picked.v4.length).toBe(10 * PEER4_RECORD);
      for (let o = 0; o < picked.v4.length; o += PEER4_RECORD) {
        const n = picked.v4[o + 3]!;
        counts.set(n, (counts.get(n) ?? 0) + 1);
      }
    }
    expect(counts.has(1)).toBe(false);
    expect(counts.size).toBe(swarm - 1);
    // Each of 39 peers is expected 400 * 10 / 39 ≈ 103 times; allow a wide band.
    for (const c of counts.values()) {
      expect(c).toBeGreaterThan(50);
      expect(c).toBeLessThan(170);
    }
    await store.close();
  });
});
