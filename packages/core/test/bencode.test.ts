import { describe, expect, it } from '@jest/globals';
import { BencodeError, decode, decodeDict, encode, rawKey } from '@distributor/core';

const bytes = (s: string) => Buffer.from(s, 'latin1');

describe('bencode', () => {
  it('round-trips nested values with byte strings kept as bytes', () => {
    const value = { a: 1, b: [Buffer.from('xy'), -7, { c: Buffer.from([0, 255]) }] };
    const encoded = encode(value);
    expect(Buffer.from(encoded).toString('latin1')).toBe('d1:ai1e1:bl2:xyi-7ed1:c2:\x00\xffeee');
    const decoded = decode(encoded) as Record<string, unknown>;
    expect(decoded['a']).toBe(1);
    const list = decoded['b'] as unknown[];
    expect(Buffer.from(list[0] as Uint8Array).toString()).toBe('xy');
    expect(list[1]).toBe(-7);
  });

  it('sorts dictionary keys on encode, as BEP 3 requires', () => {
    expect(Buffer.from(encode({ b: 1, a: 2 })).toString()).toBe('d1:ai2e1:bi1ee');
  });

  it('accepts canonical edge values', () => {
    expect(decode(bytes('i0e'))).toBe(0);
    expect(decode(bytes('i-1e'))).toBe(-1);
    expect(Buffer.from(decode(bytes('0:')) as Uint8Array).length).toBe(0);
    expect(decode(bytes('le'))).toEqual([]);
    expect(decodeDict(bytes('de'))).toEqual({});
  });

  it('keeps binary dictionary keys recoverable', () => {
    const hash = Buffer.alloc(20, 0xfe);
    const encoded = encode({ files: { [hash.toString('latin1')]: 1 } });
    // encode() of a JS string key writes UTF-8; build the raw form by hand instead.
    const raw = Buffer.concat([bytes('d5:filesd20:'), hash, bytes('i1eee')]);
    expect(encoded.length).toBeGreaterThan(0);
    const files = decodeDict(raw)['files'] as Record<string, unknown>;
    const key = Object.keys(files)[0]!;
    expect(Buffer.from(rawKey(key, 20)).equals(hash)).toBe(true);
  });

  it.each([
    ['trailing bytes', 'i1eX'],
    ['leading zero', 'i01e'],
    ['negative zero', 'i-0e'],
    ['unsorted keys', 'd1:bi1e1:ai1ee'],
    ['duplicate keys', 'd1:ai1e1:ai2ee'],
    ['string past the end', '5:abc'],
    ['integer key', 'di1ei1ee'],
  ])('rejects %s with a BencodeError', (_what, input) => {
    expect(() => decode(bytes(input))).toThrow(BencodeError);
  });

  it('round-trips every safe integer and refuses larger ones', () => {
    for (const n of [1e15, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]) {
      expect(decode(encode(n))).toBe(n);
    }
    expect(() => decode(bytes('i9007199254740992e'))).toThrow(/safe range/);
    expect(() => decode(bytes('i12345678901234567e'))).toThrow(/safe range/);
  });

  it('bounds nesting depth', () => {
    const deep = 'l'.repeat(100) + 'e'.repeat(100);
    expect(() => decode(bytes(deep))).toThrow(/nesting deeper/);
    expect(decode(bytes(deep), { maxDepth: 100 })).toBeDefined();
  });

  it('bounds string length before allocating', () => {
    expect(() => decode(bytes('99999999999:x'), { maxStringLength: 1024 })).toThrow(
      /exceeds the limit/,
    );
  });
});
