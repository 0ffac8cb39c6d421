import { describe, expect, it } from '@jest/globals';
import { ActivePiece, BLOCK_SIZE } from '@distributor/client';

const a = { name: 'a' };
const b = { name: 'b' };

describe('ActivePiece', () => {
  it('hands out blocks in order and assembles them', () => {
    const length = BLOCK_SIZE * 2 + 100;
    const piece = new ActivePiece<object>(3, length, new Uint8Array(BLOCK_SIZE * 4));
    expect(piece.blockCount).toBe(3);
    expect(piece.blockLength(2)).toBe(100);
    for (let blk = 0; blk < 3; blk++) {
      expect(piece.nextMissing()).toBe(blk);
      piece.markRequested(blk, a);
    }
    expect(piece.nextMissing()).toBe(-1);
    expect(piece.receive(BLOCK_SIZE * 2, new Uint8Array(100).fill(7), a)).toEqual([]);
    expect(piece.receive(0, new Uint8Array(BLOCK_SIZE).fill(1), a)).toEqual([]);
    expect(piece.complete).toBe(false);
    expect(piece.receive(BLOCK_SIZE, new Uint8Array(BLOCK_SIZE).fill(2), a)).toEqual([]);
    expect(piece.complete).toBe(true);
    expect(piece.buffer[0]).toBe(1);
    expect(piece.buffer[BLOCK_SIZE]).toBe(2);
    expect(piece.buffer[length - 1]).toBe(7);
    expect([...piece.senders]).toEqual([a]);
  });

  it('refuses unrequested, misaligned, wrong-length and duplicate blocks', () => {
    const piece = new ActivePiece<object>(0, BLOCK_SIZE * 2, new Uint8Array(BLOCK_SIZE * 2));
    expect(piece.receive(0, new Uint8Array(BLOCK_SIZE), a)).toBeNull(); // never requested
    piece.markRequested(0, a);
    expect(piece.receive(0, new Uint8Array(BLOCK_SIZE), b)).toBeNull(); // not from b
    expect(piece.receive(1, new Uint8Array(BLOCK_SIZE), a)).toBeNull(); // misaligned
    expect(piece.receive(0, new Uint8Array(10), a)).toBeNull(); // wrong length
    expect(piece.receive(0, new Uint8Array(BLOCK_SIZE), a)).toEqual([]);
    expect(piece.receive(0, new Uint8Array(BLOCK_SIZE), a)).toBeNull(); // duplicate
    expect(piece.received).toBe(1);
  });

  it('returns failed requests to the pool and reports endgame duplicates to cancel', () => {
    const piece = new ActivePiece<object>(0, BLOCK_SIZE * 2, new Uint8Array(BLOCK_SIZE * 2));
    piece.markRequested(0, a);
    piece.markRequested(1, a);
    piece.requestFailed(0, a);
    expect(piece.nextMissing()).toBe(0);
    piece.markRequested(0, a);
    // Endgame: b may duplicate a block a has in flight, once.
    const dup = piece.duplicateCandidate(b, 2);
    expect(dup).toBeGreaterThanOrEqual(0);
    piece.markRequested(dup, b);
    expect(piece.duplicateCandidate(a, 2)).toBe(-1);
    const others = piece.receive(dup * BLOCK_SIZE, new Uint8Array(BLOCK_SIZE), b);
    expect(others).toEqual([a]);
    expect(piece.dropPeer(a)).toBe(1);
    expect(piece.nextMissing()).toBe(dup === 0 ? 1 : 0);
  });
});
