import { describe, expect, it } from '@jest/globals';
import { ManualClock, MemoryStore, SwarmStatusBoard } from '@distributor/tracker';

const peerId = (n: number) => {
  const id = Buffer.alloc(20);
  id.writeUInt32BE(n, 16);
  return id;
};

/** Whether something queued on the event loop ran before `sweep` resolved. */
async function loopRanDuring(sweep: () => Promise<void>): Promise<boolean> {
  let finished = false;
  const done = sweep().then(() => (finished = true));
  const ranBeforeEnd = new Promise<boolean>((resolve) => setImmediate(() => resolve(!finished)));
  await done;
  return ranBeforeEnd;
}

describe('sweeps in time slices', () => {
  function fill(sliceMs: number) {
    const clock = new ManualClock(1_000_000);
    const store = new MemoryStore({ clock, peerTtlMs: 60_000, sweepSliceMs: sliceMs });
    const board = new SwarmStatusBoard({ clock, interval: 30, sweepSliceMs: sliceMs });
    for (let t = 0; t < 50; t++) {
      const infoHash = t.toString(16).padStart(40, '0');
      for (let p = 0; p < 4; p++) {
        const id = peerId(t * 4 + p);
        const address = Buffer.from([10, 0, t, p, 0x1a, 0xe1]);
        const outcome = store.announce({
          infoHash,
          peerId: id,
          address,
          seed: false,
          event: 'started',
          want: 0,
          leechersOnly: false,
          requirePublished: false,
        });
        board.record({
          infoHash,
          peerId: id,
          address,
          event: 'started',
          uploaded: 0,
          downloaded: 0,
          left: 100,
          stats: outcome as { complete: number; incomplete: number; downloaded: number },
        });
      }
    }
    // Every peer is past its time to live.
    clock.advance(10 * 60_000);
    return { store, board };
  }

  it('gives the event loop back between slices, and still sweeps everything', async () => {
    const { store, board } = fill(0);
    expect(await loopRanDuring(() => store.sweep())).toBe(true);
    expect(await store.totals()).toMatchObject({ swarms: 0, seeds: 0, leechers: 0 });
    expect(await loopRanDuring(() => board.sweep())).toBe(true);
    expect(board.trackedPeers).toBe(0);
  });

  it('runs a short sweep in one go', async () => {
    const { store, board } = fill(60_000);
    expect(await loopRanDuring(() => store.sweep())).toBe(false);
    expect(await store.totals()).toMatchObject({ swarms: 0 });
    expect(await loopRanDuring(() => board.sweep())).toBe(false);
    expect(board.trackedPeers).toBe(0);
  });
});
