import { describe, expect, it } from '@jest/globals';
import { RarestFirstPicker, endgamePolicy } from '@distributor/client';

/** Deterministic PRNG so picks are reproducible. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const all = () => true;
const none = () => false;

describe('RarestFirstPicker', () => {
  it('picks the rarest piece the peer has once past the random-first phase', () => {
    const picker = new RarestFirstPicker(8, { randomFirstPieces: 0, random: lcg(1) });
    picker.addPeer(all);
    picker.addPeer((i) => i !== 5);
    picker.addPeer((i) => i !== 5 && i !== 2);
    // Piece 5 is held by one peer, piece 2 by two, all others by three.
    expect(picker.pick(all, none)).toBe(5);
    expect(picker.pick(all, (i) => i === 5)).toBe(2);
    expect(picker.pick((i) => i !== 5, none)).toBe(2);
  });

  it('never picks a piece that is done, skipped, or that the peer lacks', () => {
    const picker = new RarestFirstPicker(4, { randomFirstPieces: 0, random: lcg(2) });
    picker.addSeed();
    picker.markDone(0);
    const picked = new Set<number>();
    for (let k = 0; k < 50; k++) {
      const p = picker.pick(
        (i) => i !== 3,
        (i) => i === 1,
      );
      if (p !== null) picked.add(p);
    }
    expect([...picked]).toEqual([2]);
    picker.markDone(2);
    expect(
      picker.pick(
        (i) => i !== 3,
        (i) => i === 1,
      ),
    ).toBeNull();
  });

  it('breaks ties at random, so peers with the same view diverge', () => {
    const picker = new RarestFirstPicker(100, { randomFirstPieces: 0, random: lcg(3) });
    picker.addSeed();
    const picks = new Set<number>();
    for (let k = 0; k < 20; k++) picks.add(picker.pick(all, none)!);
    expect(picks.size).toBeGreaterThan(10);
  });

  it('picks at random among available pieces until it holds a few', () => {
    const picker = new RarestFirstPicker(100, { randomFirstPieces: 4, random: lcg(4) });
    // Piece 0 is by far the rarest, but random-first ignores rarity.
    picker.addPeer((i) => i === 0);
    for (let k = 0; k < 5; k++) picker.addPeer((i) => i !== 0);
    const picks = new Set<number>();
    for (let k = 0; k < 30; k++) picks.add(picker.pick(all, none)!);
    expect(picks.size).toBeGreaterThan(5);
    for (let i = 10; i < 14; i++) picker.markDone(i);
    expect(picker.pick(all, none)).toBe(0);
  });

  it('tracks haves, departures and seeds in availability', () => {
    const picker = new RarestFirstPicker(3);
    const peer = (i: number) => i === 1;
    picker.addPeer(peer);
    picker.addHave(2);
    picker.addSeed();
    expect([0, 1, 2].map((i) => picker.availabilityOf(i))).toEqual([1, 2, 2]);
    picker.removePeer(peer);
    picker.removeSeed();
    expect([0, 1, 2].map((i) => picker.availabilityOf(i))).toEqual([0, 0, 1]);
  });

  it('makes a piece pickable again after it failed verification', () => {
    const picker = new RarestFirstPicker(2, { randomFirstPieces: 0 });
    picker.addSeed();
    picker.markDone(0);
    picker.markDone(1);
    expect(picker.completed).toBe(2);
    expect(picker.pick(all, none)).toBeNull();
    picker.markNeeded(1);
    expect(picker.completed).toBe(1);
    expect(picker.pick(all, none)).toBe(1);
  });
});

describe('endgamePolicy', () => {
  it('starts only when no missing piece is unstarted, and caps duplicates', () => {
    expect(endgamePolicy.isEndgame(0)).toBe(true);
    expect(endgamePolicy.isEndgame(1)).toBe(false);
    expect(endgamePolicy.maxRequestsPerBlock).toBe(2);
  });
});
