import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  ManualClock,
  PEER4_RECORD,
  PEER6_RECORD,
  type PeerAnnounce,
  type TrackerStore,
} from '@distributor/tracker';
import { makeTorrent, peerId } from './helpers.js';

/** Parameters every store under test is made with. */
export interface StoreFactoryOptions {
  clock: ManualClock;
  /** Peers expire this long after their last announce. */
  peerTtlMs: number;
}

const HASH_A = 'aa'.repeat(20);
const HASH_B = 'bb'.repeat(20);

function v4(last: number, port = 6881): Buffer {
  const b = Buffer.alloc(6);
  b.set([10, 0, (last >> 8) & 0xff, last & 0xff]);
  b.writeUInt16BE(port, 4);
  return b;
}

function v6(last: number, port = 6881): Buffer {
  const b = Buffer.alloc(18);
  b[0] = 0xfd;
  b.writeUInt16BE(last, 14);
  b.writeUInt16BE(port, 16);
  return b;
}

function ann(overrides: Partial<PeerAnnounce> & { n: number }): PeerAnnounce {
  const { n, ...rest } = overrides;
  return {
    infoHash: HASH_A,
    peerId: peerId(n),
    address: v4(n),
    seed: false,
    event: 'started',
    want: 50,
    leechersOnly: false,
    requirePublished: false,
    ...rest,
  };
}

/** Peer ids (as numbers) found in a sample's records. */
function sampledIds(sample: { v4: Uint8Array; v6: Uint8Array }): number[] {
  const ids: number[] = [];
  for (let o = 0; o < sample.v4.length; o += PEER4_RECORD) {
    ids.push(Buffer.from(sample.v4).readUInt32BE(o + 6 + 16));
  }
  for (let o = 0; o < sample.v6.length; o += PEER6_RECORD) {
    ids.push(Buffer.from(sample.v6).readUInt32BE(o + 18 + 16));
  }
  return ids;
}

/**
 * The behaviour every TrackerStore must have, whatever keeps its state. Run it against a new
 * implementation with `runStoreContract('redis', makeRedisStore)`.
 */
export function runStoreContract(
  name: string,
  makeStore: (options: StoreFactoryOptions) => Promise<TrackerStore> | TrackerStore,
): void {
  describe(`TrackerStore contract: ${name}`, () => {
    const peerTtlMs = 60_000;
    let clock: ManualClock;
    let store: TrackerStore;

    beforeEach(async () => {
      clock = new ManualClock();
      store = await makeStore({ clock, peerTtlMs });
    });
    afterEach(async () => {
      await store.close();
    });

    describe('peers', () => {
      it('counts seeds and leechers and hands out the others, never the asker', async () => {
        await store.announce(ann({ n: 1 }));
        await store.announce(ann({ n: 2, seed: true }));
        const out = await store.announce(ann({ n: 3 }));
        expect(out.published).toBe(true);
        expect(out.complete).toBe(1);
        expect(out.incomplete).toBe(2);
        expect(sampledIds(out.peers).sort()).toEqual([1, 2]);
        const again = await store.announce(ann({ n: 1, event: 'update' }));
        expect(sampledIds(again.peers).sort()).toEqual([2, 3]);
      });

      it('returns the compact address as the first bytes of each record', async () => {
        await store.announce(ann({ n: 7, address: v4(7, 51413) }));
        const out = await store.announce(ann({ n: 8, want: 10 }));
        expect(Buffer.from(out.peers.v4.subarray(0, 6))).toEqual(v4(7, 51413));
        expect(Buffer.from(out.peers.v4.subarray(6, 26))).toEqual(peerId(7));
      });

      it('keeps IPv6 peers apart and hands them out as 18-byte addresses', async () => {
        await store.announce(ann({ n: 1, address: v6(1) }));
        const out = await store.announce(ann({ n: 2 }));
        expect(out.peers.v4.length).toBe(0);
        expect(out.peers.v6.length).toBe(PEER6_RECORD);
        expect(Buffer.from(out.peers.v6.subarray(0, 18))).toEqual(v6(1));
      });

      it('never hands out a record with the asker address, even under another peer id', async () => {
        await store.announce(ann({ n: 1, address: v4(9, 7000) }));
        const out = await store.announce(ann({ n: 2, address: v4(9, 7000) }));
        expect(sampledIds(out.peers)).toEqual([]);
      });

      it('re-announcing updates in place instead of adding a peer', async () => {
        for (let i = 0; i < 3; i++) await store.announce(ann({ n: 1, event: 'update' }));
        const out = await store.announce(ann({ n: 2 }));
        expect(out.incomplete).toBe(2);
      });

      it('moves a peer to the seeds on completed and counts the download once', async () => {
        await store.announce(ann({ n: 1 }));
        let out = await store.announce(ann({ n: 1, seed: true, event: 'completed' }));
        expect(out).toMatchObject({ complete: 1, incomplete: 0, downloaded: 1 });
        out = await store.announce(ann({ n: 1, seed: true, event: 'completed' }));
        expect(out.downloaded).toBe(1);
      });

      it('forgets a peer on stopped and returns no peers to it', async () => {
        await store.announce(ann({ n: 1 }));
        await store.announce(ann({ n: 2 }));
        const out = await store.announce(ann({ n: 1, event: 'stopped', want: 0 }));
        expect(out.incomplete).toBe(1);
        expect(sampledIds(out.peers)).toEqual([]);
        const [stats] = await store.scrape([HASH_A]);
        expect(stats).toEqual({ complete: 0, incomplete: 1, downloaded: 0 });
      });

      it('hands a seed only leechers when asked for leechersOnly', async () => {
        await store.announce(ann({ n: 1, seed: true }));
        await store.announce(ann({ n: 2 }));
        const out = await store.announce(ann({ n: 3, seed: true, leechersOnly: true }));
        expect(sampledIds(out.peers)).toEqual([2]);
      });

      it('samples at most `want` distinct peers from a big swarm, and varies', async () => {
        for (let n = 1; n <= 300; n++) await store.announce(ann({ n, want: 0 }));
        const seen = new Set<number>();
        for (let round = 0; round < 5; round++) {
          const out = await store.announce(ann({ n: 1, event: 'update', want: 20 }));
          const ids = sampledIds(out.peers);
          expect(ids).toHaveLength(20);
          expect(new Set(ids).size).toBe(20);
          expect(ids).not.toContain(1);
          ids.forEach((id) => seen.add(id));
        }
        expect(seen.size).toBeGreaterThan(20);
      });

      it('keeps swarms apart', async () => {
        await store.announce(ann({ n: 1 }));
        const out = await store.announce(ann({ n: 2, infoHash: HASH_B }));
        expect(sampledIds(out.peers)).toEqual([]);
        expect(await store.scrape([HASH_A, HASH_B, 'cc'.repeat(20)])).toEqual([
          { complete: 0, incomplete: 1, downloaded: 0 },
          { complete: 0, incomplete: 1, downloaded: 0 },
          { complete: 0, incomplete: 0, downloaded: 0 },
        ]);
      });

      it('expires a silent peer after the peer TTL, and not before', async () => {
        await store.announce(ann({ n: 1 }));
        clock.advance(peerTtlMs * 0.75);
        await store.announce(ann({ n: 2 }));
        let out = await store.announce(ann({ n: 3, want: 10 }));
        expect(sampledIds(out.peers).sort()).toEqual([1, 2]);
        // Peer 1 is now silent for 1.5x the TTL; peers 2 and 3 for 0.75x.
        clock.advance(peerTtlMs * 0.75);
        out = await store.announce(ann({ n: 3, event: 'update', want: 10 }));
        expect(sampledIds(out.peers)).toEqual([2]);
        expect(out.incomplete).toBe(2);
        clock.advance(peerTtlMs * 3);
        expect(await store.scrape([HASH_A])).toEqual([
          { complete: 0, incomplete: 0, downloaded: 0 },
        ]);
        expect((await store.totals()).leechers).toBe(0);
      });

      it('refuses and stores nothing for unpublished hashes when publication is required', async () => {
        const out = await store.announce(ann({ n: 1, requirePublished: true }));
        expect(out.published).toBe(false);
        expect(await store.scrape([HASH_A])).toEqual([
          { complete: 0, incomplete: 0, downloaded: 0 },
        ]);
      });

      it('reports totals and lists swarms that have peers', async () => {
        await store.announce(ann({ n: 1, seed: true }));
        await store.announce(ann({ n: 2 }));
        await store.announce(ann({ n: 3, infoHash: HASH_B }));
        expect(await store.totals()).toEqual({ swarms: 2, seeds: 1, leechers: 2 });
        const all = await store.allSwarms(10);
        expect([...all.keys()].sort()).toEqual([HASH_A, HASH_B]);
        expect((await store.allSwarms(1)).size).toBe(1);
      });
    });

    describe('registry', () => {
      const file = makeTorrent('file.iso', 1);
      const request = {
        infoHash: file.infoHash,
        root: 'isos',
        path: 'sub/file.iso',
        name: 'file.iso',
        length: 100_000,
        pieceLength: 16384,
        mtimeMs: 1_730_000_000_000,
        torrent: file.torrent,
      };

      it('publishes, lists, returns the torrent bytes and withdraws', async () => {
        const entry = await store.publish(request, 90);
        expect(entry).toMatchObject({
          infoHash: file.infoHash,
          root: 'isos',
          path: 'sub/file.iso',
        });
        expect(entry.expiresAt).toBe(clock.now() + 90_000);
        expect(await store.entries()).toHaveLength(1);
        expect(Buffer.from((await store.torrent(file.infoHash))!)).toEqual(
          Buffer.from(file.torrent),
        );
        expect(await store.withdraw(file.infoHash)).toBe(true);
        expect(await store.withdraw(file.infoHash)).toBe(false);
        expect(await store.entry(file.infoHash)).toBeUndefined();
      });

      it('lets a lease lapse after its TTL unless renewed', async () => {
        await store.publish(request, 90);
        clock.advance(60_000);
        expect(await store.renew([file.infoHash, HASH_B], 90)).toEqual({
          renewed: [file.infoHash],
          missing: [HASH_B],
        });
        clock.advance(89_000);
        expect(await store.entry(file.infoHash)).toBeDefined();
        clock.advance(1_000);
        expect(await store.entry(file.infoHash)).toBeUndefined();
        expect(await store.torrent(file.infoHash)).toBeUndefined();
        expect(await store.entries()).toEqual([]);
        expect(await store.renew([file.infoHash], 90)).toEqual({
          renewed: [],
          missing: [file.infoHash],
        });
      });

      it('re-publishing renews and keeps the first publishedAt', async () => {
        const first = await store.publish(request, 90);
        clock.advance(30_000);
        const second = await store.publish({ ...request, mtimeMs: 5 }, 90);
        expect(second.publishedAt).toBe(first.publishedAt);
        expect(second.expiresAt).toBe(clock.now() + 90_000);
        expect((await store.entry(file.infoHash))!.mtimeMs).toBe(5);
      });

      it('admits announces for published hashes only while the lease lives', async () => {
        await store.publish(request, 90);
        const ok = await store.announce(
          ann({ n: 1, infoHash: file.infoHash, requirePublished: true }),
        );
        expect(ok.published).toBe(true);
        clock.advance(91_000);
        const late = await store.announce(
          ann({ n: 2, infoHash: file.infoHash, requirePublished: true }),
        );
        expect(late.published).toBe(false);
      });

      it('sweep drops lapsed leases and expired peers', async () => {
        await store.publish(request, 10);
        await store.announce(ann({ n: 1 }));
        clock.advance(peerTtlMs * 2);
        await store.sweep();
        expect(await store.entries()).toEqual([]);
        expect(await store.totals()).toEqual({ swarms: 0, seeds: 0, leechers: 0 });
      });
    });
  });
}
