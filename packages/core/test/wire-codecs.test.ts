import { describe, expect, it } from '@jest/globals';
import {
  MAX_PIECE_LENGTH,
  MIN_PIECE_LENGTH,
  PEER_ID_PREFIX,
  choosePieceLength,
  decodeCompactPeers4,
  decodeCompactPeers6,
  encodeCompactPeers4,
  encodeCompactPeers6,
  generatePeerId,
  normalizeIp,
  pieceCount,
  pieceSize,
} from '@distributor/core';

describe('compact peers (BEP 23, BEP 7)', () => {
  it('encodes IPv4 peers as 6 bytes each', () => {
    const peers = [
      { ip: '10.1.2.3', port: 6881 },
      { ip: '255.0.0.1', port: 65535 },
    ];
    const buf = encodeCompactPeers4(peers);
    expect(buf.toString('hex')).toBe('0a0102031ae1' + 'ff000001ffff');
    expect(decodeCompactPeers4(buf)).toEqual(peers);
  });

  it('encodes IPv6 peers as 18 bytes each', () => {
    const peers = [
      { ip: '2001:db8::1', port: 6881 },
      { ip: '::1', port: 1 },
      { ip: 'fe80:1:2:3:4:5:6:7', port: 80 },
    ];
    const buf = encodeCompactPeers6(peers);
    expect(buf.length).toBe(54);
    expect(buf.subarray(0, 18).toString('hex')).toBe('20010db8000000000000000000000001' + '1ae1');
    expect(decodeCompactPeers6(buf)).toEqual(peers);
  });

  it('handles embedded IPv4 in IPv6', () => {
    const [peer] = decodeCompactPeers6(encodeCompactPeers6([{ ip: '::ffff:1.2.3.4', port: 9 }]));
    expect(peer).toEqual({ ip: '::ffff:102:304', port: 9 });
    expect(normalizeIp('::ffff:1.2.3.4')).toBe('1.2.3.4');
  });

  it('rejects malformed input', () => {
    expect(() => decodeCompactPeers4(Buffer.alloc(7))).toThrow(RangeError);
    expect(() => decodeCompactPeers6(Buffer.alloc(17))).toThrow(RangeError);
    expect(() => encodeCompactPeers4([{ ip: '::1', port: 1 }])).toThrow(RangeError);
    expect(() => encodeCompactPeers6([{ ip: '1.2.3', port: 1 }])).toThrow(RangeError);
  });
});

describe('piece-length policy', () => {
  it('aims at 1,000–2,000 pieces within the bounds', () => {
    for (const size of [40e6, 100e6, 700e6, 4.7e9, 30e9]) {
      const count = pieceCount(size, choosePieceLength(size));
      expect(count).toBeGreaterThanOrEqual(1000);
      expect(count).toBeLessThanOrEqual(2000);
    }
  });

  it('is a power of two clamped to 16 KiB .. 16 MiB', () => {
    expect(choosePieceLength(0)).toBe(MIN_PIECE_LENGTH);
    expect(choosePieceLength(1)).toBe(MIN_PIECE_LENGTH);
    expect(choosePieceLength(1e15)).toBe(MAX_PIECE_LENGTH);
    for (const size of [1, 1e5, 1e7, 1e9, 1e11]) {
      const len = choosePieceLength(size);
      expect(len & (len - 1)).toBe(0);
    }
    expect(() => choosePieceLength(-1)).toThrow(RangeError);
  });

  it('sizes the last piece', () => {
    expect(pieceSize(0, 40000, 16384)).toBe(16384);
    expect(pieceSize(2, 40000, 16384)).toBe(40000 - 32768);
  });
});

describe('peer id', () => {
  it('is 20 printable bytes with the Azureus-style prefix, random each time', () => {
    const a = generatePeerId();
    const b = generatePeerId();
    expect(a.length).toBe(20);
    expect(a.toString('latin1').startsWith(PEER_ID_PREFIX)).toBe(true);
    expect(a.toString('latin1')).toMatch(/^[\x20-\x7e]{20}$/);
    expect(a.equals(b)).toBe(false);
  });
});
