import { describe, expect, it } from '@jest/globals';
import { SuperSeedPolicy } from '@distributor/seeder';

const PIECE = 1000;

/** A policy over `count` pieces whose advertisements are recorded per peer. */
function setup(
  count: number,
  options: { minWindow?: number; stallMs?: number; maxUnrelayed?: number } = {},
) {
  let now = 0;
  const haves = new Map<string, number[]>();
  const policy = new SuperSeedPolicy<string>({
    pieceCount: count,
    pieceLength: PIECE,
    lastPieceLength: PIECE / 2,
    now: () => now,
    minWindow: options.minWindow ?? 2,
    stallMs: options.stallMs ?? 5000,
    maxUnrelayed: options.maxUnrelayed ?? 0,
    advertise: (peer, index) => {
      const list = haves.get(peer) ?? [];
      list.push(index);
      haves.set(peer, list);
    },
  });
  const bits = (bitfield: Uint8Array | null) => {
    const out: number[] = [];
    if (bitfield)
      for (let i = 0; i < count; i++) if (bitfield[i >> 3]! & (0x80 >> (i & 7))) out.push(i);
    return out;
  };
  const sizeOf = (i: number) => (i === count - 1 ? PIECE / 2 : PIECE);
  return {
    policy,
    haves,
    bits,
    sizeOf,
    advance: (ms: number) => (now += ms),
    /** Sends all of piece `i` to `peer`, in two blocks. */
    send: (peer: string, i: number) => {
      policy.uploaded(peer, i, sizeOf(i) / 2);
      policy.uploaded(peer, i, sizeOf(i) / 2);
    },
  };
}

describe('SuperSeedPolicy', () => {
  it('gives each peer its own pieces in its first bitfield', () => {
    const { policy, bits } = setup(10);
    const a = bits(policy.addPeer('a'));
    const b = bits(policy.addPeer('b'));
    expect(a).toHaveLength(2);
    expect(b).toHaveLength(2);
    expect(a.filter((i) => b.includes(i))).toEqual([]);
    for (const i of [...a, ...b]) expect(policy.givenCount(i)).toBe(1);
  });

  it('sends every piece once before any piece twice, then advertises the rest', () => {
    const count = 9;
    const t = setup(count);
    const { policy } = t;
    const peers = ['a', 'b', 'c'];
    for (const p of peers) t.haves.set(p, t.bits(policy.addPeer(p)));
    const sentTo = new Map<number, string[]>();
    // Each peer downloads whatever it was advertised and not yet sent, until nothing new comes.
    for (let round = 0; round < 20 && policy.active; round++) {
      for (const p of peers) {
        for (const i of t.haves.get(p)!) {
          if (sentTo.get(i)?.includes(p)) continue;
          sentTo.set(i, [...(sentTo.get(i) ?? []), p]);
          t.send(p, i);
          if (!policy.active) break;
        }
      }
    }
    expect(policy.active).toBe(false);
    expect(policy.piecesOut).toBe(count);
    for (let i = 0; i < count; i++) expect(sentTo.get(i)).toHaveLength(1);
    // Once every piece is out, every peer has been told about every piece exactly once.
    for (const p of peers)
      expect([...t.haves.get(p)!].sort((x, y) => x - y)).toEqual([...Array(count).keys()]);
  });

  it('does not offer a second peer what the first is still fetching', () => {
    const t = setup(4);
    const a = t.bits(t.policy.addPeer('a'));
    const b = t.bits(t.policy.addPeer('b'));
    expect(a).toEqual([0, 1]);
    expect(b).toEqual([2, 3]);
    const c = t.bits(t.policy.addPeer('c'));
    expect(c).toEqual([]);
    // Half a piece is not a delivery: nothing new for anybody.
    t.policy.uploaded('a', 0, PIECE / 2);
    expect(t.haves.get('c')).toBeUndefined();
    expect(t.policy.active).toBe(true);
  });

  it('counts pieces peers announce as out, and skips what a peer already has', () => {
    const t = setup(6);
    expect(t.bits(t.policy.addPeer('a'))).toEqual([0, 1]);
    t.policy.peerHas('a', [0, 1, 2, 3]);
    expect(t.policy.piecesOut).toBe(4);
    // It got 0 and 1 elsewhere: its window is free again, for pieces nobody has.
    expect(t.haves.get('a')).toEqual([4, 5]);
    expect(t.bits(t.policy.addPeer('b'))).toEqual([]);
    // A peer that holds everything (a finished one) ends super-seeding for everybody.
    t.policy.addPeer('seed');
    t.policy.peerHas('seed', [0, 1, 2, 3, 4, 5]);
    expect(t.policy.active).toBe(false);
    expect(t.haves.get('a')).toEqual([4, 5, 2, 3]);
    expect(t.haves.get('b')).toEqual([0, 1, 2, 3, 4, 5]);
    expect(t.bits(t.policy.addPeer('late'))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('advertises the next piece once the peer asked for the last block of one', () => {
    const t = setup(4, { minWindow: 1 });
    expect(t.bits(t.policy.addPeer('a'))).toEqual([0]);
    t.policy.requested('a', 0, PIECE / 2);
    expect(t.haves.get('a')).toBeUndefined();
    t.policy.requested('a', 0, PIECE);
    expect(t.haves.get('a')).toEqual([1]);
    // Asking twice, or for a piece it was not given, changes nothing.
    t.policy.requested('a', 0, PIECE);
    t.policy.requested('a', 3, PIECE / 2);
    expect(t.haves.get('a')).toEqual([1]);
    expect(t.policy.givenCount(0)).toBe(1);
  });

  it('hands pieces on when their peer leaves before taking them', () => {
    const t = setup(2);
    expect(t.bits(t.policy.addPeer('a'))).toEqual([0, 1]);
    expect(t.bits(t.policy.addPeer('b'))).toEqual([]);
    t.send('a', 0);
    t.policy.removePeer('a');
    // Piece 0 left with 'a' (nobody else holds it), piece 1 was never sent: both go to 'b'.
    expect(t.haves.get('b')).toEqual([0, 1]);
    expect(t.policy.piecesOut).toBe(0);
  });

  it('hands a stalled piece on to another peer after stallMs, and not before', () => {
    const t = setup(2, { minWindow: 1, stallMs: 5000 });
    expect(t.bits(t.policy.addPeer('a'))).toEqual([0]);
    expect(t.bits(t.policy.addPeer('b'))).toEqual([1]);
    t.advance(4000);
    t.policy.tick();
    expect(t.haves.get('b')).toBeUndefined();
    t.send('b', 1);
    t.advance(1500);
    t.policy.tick();
    expect(t.haves.get('b')).toEqual([0]);
    expect(t.policy.givenCount(0)).toBe(1);
    t.send('b', 0);
    expect(t.policy.active).toBe(false);
  });

  it('leaves queued pieces with a peer that keeps taking pieces, however long they wait', () => {
    const t = setup(4, { minWindow: 3, stallMs: 5000 });
    expect(t.bits(t.policy.addPeer('a'))).toEqual([0, 1, 2]);
    t.policy.addPeer('b');
    // 'a' takes one piece every 3 s, in order: piece 2 waits 6 s for its turn.
    for (const i of [0, 1]) {
      t.advance(3000);
      t.send('a', i);
      t.policy.tick();
    }
    t.advance(3000);
    t.policy.tick();
    expect(t.policy.givenCount(2)).toBe(1);
    expect(t.haves.get('b') ?? []).not.toContain(2);
    // Silent for stallMs: now it is handed on.
    t.advance(2000);
    t.policy.tick();
    expect(t.haves.get('b')).toContain(2);
  });

  it('widens a fast peer’s window with its measured rate', () => {
    const t = setup(100, { minWindow: 2 });
    t.policy.addPeer('a');
    // 20 pieces in the first second: the window becomes ~20 pieces.
    for (let i = 0; i < 2; i++) t.send('a', i);
    for (let round = 0; round < 9; round++) {
      const next = t.haves.get('a')!.slice(-2);
      for (const i of next) t.send('a', i);
    }
    t.advance(1000);
    t.policy.tick();
    const advertised = t.policy.advertisedTo('a').length;
    const sent = 20;
    expect(advertised - sent).toBeGreaterThanOrEqual(15);
  });

  it('gives a peer more only as other peers announce what it was given', () => {
    const t = setup(8, { minWindow: 2, maxUnrelayed: 2 });
    expect(t.bits(t.policy.addPeer('a'))).toEqual([0, 1]);
    expect(t.bits(t.policy.addPeer('b'))).toEqual([2, 3]);
    t.send('a', 0);
    t.send('a', 1);
    // 'a' announcing its own pieces passes nothing on: it still holds two nobody else has.
    t.policy.peerHas('a', [0, 1]);
    expect(t.haves.get('a')).toBeUndefined();
    t.policy.peerHas('b', [0]);
    expect(t.haves.get('a')).toEqual([4]);
    t.policy.peerHas('b', [1]);
    expect(t.haves.get('a')).toEqual([4, 5]);
  });

  it('does not bind a lone leecher, nor pieces held longer than stallMs', () => {
    const t = setup(6, { minWindow: 2, maxUnrelayed: 2 });
    expect(t.bits(t.policy.addPeer('a'))).toEqual([0, 1]);
    t.send('a', 0);
    t.send('a', 1);
    // Nobody to pass pieces to: 'a' is not held back.
    expect(t.haves.get('a')).toEqual([2, 3]);
    const u = setup(6, { minWindow: 2, maxUnrelayed: 2, stallMs: 5000 });
    expect(u.bits(u.policy.addPeer('a'))).toEqual([0, 1]);
    expect(u.bits(u.policy.addPeer('b'))).toEqual([2, 3]);
    u.send('a', 0);
    u.send('a', 1);
    expect(u.haves.get('a')).toBeUndefined();
    // stallMs later the two pieces stop counting ('b' is still taking pieces, so nothing is
    // handed on; its own two stopped counting too, and it took piece 4 first).
    u.advance(5001);
    u.send('b', 2);
    expect(u.haves.get('b')).toEqual([4]);
    u.policy.tick();
    expect(u.haves.get('a')).toEqual([5]);
  });

  it('starts over once every peer has left', () => {
    const t = setup(2);
    t.policy.addPeer('a');
    t.policy.peerHas('a', [0, 1]);
    expect(t.policy.active).toBe(false);
    t.policy.removePeer('a');
    expect(t.policy.active).toBe(true);
    expect(t.bits(t.policy.addPeer('b'))).toEqual([0, 1]);
  });

  it('ignores announcements out of range', () => {
    const t = setup(3);
    t.policy.addPeer('a');
    t.policy.peerHas('a', [-1, 3, 1.5]);
    t.policy.uploaded('a', 7, 100);
    expect(t.policy.piecesOut).toBe(0);
  });
});
