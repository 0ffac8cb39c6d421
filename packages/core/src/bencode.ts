import bencodeLib from 'bencode';
import { BencodeError } from './errors.js';

/** A decoded bencode value: byte strings stay bytes, because most of them are not text. */
export type BencodeValue = number | Uint8Array | BencodeValue[] | { [key: string]: BencodeValue };
export type BencodeDict = { [key: string]: BencodeValue };

export interface DecodeLimits {
  /** Deepest list/dict nesting accepted (torrents need 3; trackers' replies 4). */
  maxDepth: number;
  /** Longest single byte string accepted. */
  maxStringLength: number;
  /** Most items (values plus keys) accepted in one document. */
  maxItems: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxDepth: 64,
  maxStringLength: 64 * 1024 * 1024,
  maxItems: 1_000_000,
};

const CH_I = 0x69;
const CH_L = 0x6c;
const CH_D = 0x64;
const CH_E = 0x65;
const CH_COLON = 0x3a;
const CH_MINUS = 0x2d;
const CH_0 = 0x30;
const CH_9 = 0x39;

/** Encodes a value as bencode (dict keys sorted, as BEP 3 requires). */
export function encode(value: unknown): Uint8Array {
  return bencodeLib.encode(value);
}

/**
 * Decodes untrusted bytes. The `bencode` package does the decoding; first a single linear pass
 * checks what it does not: canonical integers, declared lengths that fit, sorted unique keys,
 * bounded nesting (so no stack overflow), and no trailing bytes. Any violation throws a
 * BencodeError; no input can make this hang or crash.
 */
export function decode(data: Uint8Array, limits: Partial<DecodeLimits> = {}): BencodeValue {
  const lim = { ...DEFAULT_DECODE_LIMITS, ...limits };
  validate(data, lim);
  try {
    return bencodeLib.decode(data) as BencodeValue;
  } catch (err) {
    throw new BencodeError(`invalid bencode: ${(err as Error).message}`);
  }
}

/** Decodes and requires a dictionary at the top level. */
export function decodeDict(data: Uint8Array, limits: Partial<DecodeLimits> = {}): BencodeDict {
  const value = decode(data, limits);
  if (!isDict(value)) throw new BencodeError('expected a bencoded dictionary at the top level');
  return value;
}

export function isDict(value: unknown): value is BencodeDict {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array)
  );
}

function validate(data: Uint8Array, lim: DecodeLimits): void {
  if (!(data instanceof Uint8Array)) throw new BencodeError('input is not a byte array');
  if (data.length === 0) throw new BencodeError('empty input');
  let pos = 0;
  let items = 0;
  // Each open container: whether it is a dict, whether the next item is a key, and the last key.
  const stack: { dict: boolean; expectKey: boolean; lastKey: Uint8Array | null }[] = [];

  const fail = (what: string): never => {
    throw new BencodeError(`${what} at byte ${pos}`);
  };

  const readString = (): Uint8Array => {
    const start = pos;
    while (pos < data.length && data[pos] !== CH_COLON) {
      const c = data[pos]!;
      if (c < CH_0 || c > CH_9) fail('invalid string length');
      pos++;
      if (pos - start > 16) fail('string length has too many digits');
    }
    if (pos >= data.length) fail('truncated string length');
    if (pos === start) fail('missing string length');
    if (data[start] === CH_0 && pos - start > 1) fail('string length with a leading zero');
    const len = Number(new TextDecoder().decode(data.subarray(start, pos)));
    if (len > lim.maxStringLength) fail(`string of ${len} bytes exceeds the limit`);
    pos++; // colon
    if (len > data.length - pos) fail(`string of ${len} bytes runs past the end of the input`);
    const bytes = data.subarray(pos, pos + len);
    pos += len;
    return bytes;
  };

  const readInteger = (): void => {
    pos++; // 'i'
    const start = pos;
    if (data[pos] === CH_MINUS) pos++;
    const digitsStart = pos;
    while (pos < data.length && data[pos] !== CH_E) {
      const c = data[pos]!;
      if (c < CH_0 || c > CH_9) fail('invalid integer');
      pos++;
    }
    if (pos >= data.length) fail('truncated integer');
    const digits = pos - digitsStart;
    if (digits === 0) fail('integer without digits');
    if (digits > 16 || (digits === 16 && !isSafeDigits(data.subarray(digitsStart, pos)))) {
      fail('integer out of the safe range');
    }
    if (data[digitsStart] === CH_0 && (digits > 1 || digitsStart > start)) {
      fail('non-canonical integer (leading zero or -0)');
    }
    pos++; // 'e'
  };

  do {
    const top = stack[stack.length - 1];
    if (++items > lim.maxItems) fail('too many items');
    if (pos >= data.length) fail('truncated input');
    const c = data[pos]!;
    if (top?.dict && top.expectKey) {
      if (c === CH_E) {
        pos++;
        stack.pop();
        continue;
      }
      if (c < CH_0 || c > CH_9) fail('dictionary key is not a string');
      const key = readString();
      if (top.lastKey && compareBytes(top.lastKey, key) >= 0) fail('dictionary keys not sorted');
      top.lastKey = key;
      top.expectKey = false;
      continue;
    }
    if (top?.dict) top.expectKey = true;
    if (c === CH_E) {
      if (!top || top.dict) fail('unexpected end marker');
      pos++;
      stack.pop();
    } else if (c === CH_I) {
      readInteger();
    } else if (c === CH_L || c === CH_D) {
      if (stack.length >= lim.maxDepth) fail(`nesting deeper than ${lim.maxDepth}`);
      pos++;
      stack.push({ dict: c === CH_D, expectKey: c === CH_D, lastKey: null });
    } else if (c >= CH_0 && c <= CH_9) {
      readString();
    } else {
      fail(`unexpected byte 0x${c.toString(16)}`);
    }
  } while (stack.length > 0);
  if (pos !== data.length) throw new BencodeError(`${data.length - pos} trailing bytes`);
}

/** Whether a run of ASCII digits is at most Number.MAX_SAFE_INTEGER. */
function isSafeDigits(digits: Uint8Array): boolean {
  return Number.isSafeInteger(Number(new TextDecoder().decode(digits)));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

/** A dict key decoded by the `bencode` package back to its raw bytes (it hex-encodes non-UTF-8 keys). */
export function rawKey(key: string, expectedLength?: number): Uint8Array {
  if (
    expectedLength !== undefined &&
    key.length === expectedLength * 2 &&
    /^[0-9a-f]+$/.test(key)
  ) {
    return Buffer.from(key, 'hex');
  }
  return new TextEncoder().encode(key);
}

export function getBytes(dict: BencodeDict, key: string): Uint8Array | undefined {
  const v = dict[key];
  return v instanceof Uint8Array ? v : undefined;
}

export function getInt(dict: BencodeDict, key: string): number | undefined {
  const v = dict[key];
  return typeof v === 'number' ? v : undefined;
}

export function getText(dict: BencodeDict, key: string): string | undefined {
  const v = getBytes(dict, key);
  return v ? new TextDecoder().decode(v) : undefined;
}
