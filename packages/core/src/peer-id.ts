import { randomBytes } from 'node:crypto';

/** Azureus-style client prefix (BEP 20): "DS" for distributor, version 0.1.0.0. */
export const PEER_ID_PREFIX = '-DS0100-';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A 20-byte peer id: the prefix followed by random printable characters. */
export function generatePeerId(prefix = PEER_ID_PREFIX): Buffer {
  if (prefix.length >= 20) throw new RangeError('peer id prefix must be shorter than 20 bytes');
  const random = randomBytes(20 - prefix.length);
  let id = prefix;
  for (const byte of random) id += ALPHABET[byte % ALPHABET.length];
  return Buffer.from(id, 'latin1');
}
