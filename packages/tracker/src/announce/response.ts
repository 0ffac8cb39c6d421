import { encode } from '@distributor/core';
import type { PeerSample, SwarmStats } from '../store/types.js';
import { PEER4_RECORD, PEER6_RECORD, PEER_ID_LENGTH } from '../store/types.js';

/**
 * Hand-rolled bencoding of the tracker's replies. The announce reply is written straight into
 * one buffer from the stored records (their first 6 or 18 bytes are already the BEP 23 / BEP 7
 * compact form), so an announce costs no per-peer encoding. Keys appear in sorted order, as
 * bencode requires.
 */

export function encodeFailure(reason: string): Buffer {
  const bytes = Buffer.byteLength(reason);
  return Buffer.from(`d14:failure reason${bytes}:${reason}e`);
}

export interface AnnounceReply extends SwarmStats {
  interval: number;
  minInterval: number;
  peers: PeerSample;
}

const ascii = (text: string) => Buffer.from(text, 'latin1');
const K_COMPLETE = ascii('d8:completei');
const K_DOWNLOADED = ascii('e10:downloadedi');
const K_INCOMPLETE = ascii('e10:incompletei');
const K_INTERVAL = ascii('e8:intervali');
const K_MIN_INTERVAL = ascii('e12:min intervali');
const K_PEERS = ascii('e5:peers');
const K_PEERS6 = ascii('6:peers6');

function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

function putBytes(out: Buffer, off: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) out[off + i] = bytes[i]!;
  return off + bytes.length;
}

/** Writes a non-negative integer in decimal; returns the new offset. */
function putInt(out: Buffer, off: number, n: number): number {
  const end = off + digits(n);
  for (let i = end - 1; i >= off; i--) {
    out[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
}

/** Copies the first `take` bytes of each `size`-byte record. */
function putRecords(out: Buffer, off: number, records: Uint8Array, size: number, take: number) {
  for (let s = 0; s < records.length; s += size) {
    for (let k = 0; k < take; k++) out[off++] = records[s + k]!;
  }
  return off;
}

// The compact reply is built byte by byte into one buffer of the exact size: template strings
// and number formatting measured as a sizeable share of an announce's own work.
export function encodeCompactAnnounce(reply: AnnounceReply): Buffer {
  const n4 = reply.peers.v4.length / PEER4_RECORD;
  const n6 = reply.peers.v6.length / PEER6_RECORD;
  const peersLen = n4 * 6;
  const peers6Len = n6 * 18;
  const size =
    K_COMPLETE.length +
    digits(reply.complete) +
    K_DOWNLOADED.length +
    digits(reply.downloaded) +
    K_INCOMPLETE.length +
    digits(reply.incomplete) +
    K_INTERVAL.length +
    digits(reply.interval) +
    K_MIN_INTERVAL.length +
    digits(reply.minInterval) +
    K_PEERS.length +
    digits(peersLen) +
    1 +
    peersLen +
    (n6 > 0 ? K_PEERS6.length + digits(peers6Len) + 1 + peers6Len : 0) +
    1;
  const out = Buffer.allocUnsafe(size);
  let off = putBytes(out, 0, K_COMPLETE);
  off = putInt(out, off, reply.complete);
  off = putBytes(out, off, K_DOWNLOADED);
  off = putInt(out, off, reply.downloaded);
  off = putBytes(out, off, K_INCOMPLETE);
  off = putInt(out, off, reply.incomplete);
  off = putBytes(out, off, K_INTERVAL);
  off = putInt(out, off, reply.interval);
  off = putBytes(out, off, K_MIN_INTERVAL);
  off = putInt(out, off, reply.minInterval);
  off = putBytes(out, off, K_PEERS);
  off = putInt(out, off, peersLen);
  out[off++] = 0x3a; // ':'
  off = putRecords(out, off, reply.peers.v4, PEER4_RECORD, 6);
  if (n6 > 0) {
    off = putBytes(out, off, K_PEERS6);
    off = putInt(out, off, peers6Len);
    out[off++] = 0x3a;
    off = putRecords(out, off, reply.peers.v6, PEER6_RECORD, 18);
  }
  out[off] = 0x65; // 'e'
  return out;
}

/** BEP 3's original dictionary peer list, for clients that send compact=0. */
export function encodeDictAnnounce(reply: AnnounceReply, noPeerId: boolean): Buffer {
  const peers: Record<string, unknown>[] = [];
  const add = (records: Uint8Array, size: number, addrLen: number) => {
    for (let s = 0; s + size <= records.length; s += size) {
      const view = Buffer.from(records.buffer, records.byteOffset + s, size);
      const ip = addrLen === 4 ? ipv4Text(view) : ipv6Text(view);
      const peer: Record<string, unknown> = { ip, port: view.readUInt16BE(addrLen) };
      if (!noPeerId) peer['peer id'] = view.subarray(addrLen + 2, addrLen + 2 + PEER_ID_LENGTH);
      peers.push(peer);
    }
  };
  add(reply.peers.v4, PEER4_RECORD, 4);
  add(reply.peers.v6, PEER6_RECORD, 16);
  return Buffer.from(
    encode({
      complete: reply.complete,
      downloaded: reply.downloaded,
      incomplete: reply.incomplete,
      interval: reply.interval,
      'min interval': reply.minInterval,
      peers,
    }),
  );
}

/** BEP 48 reply. `files` keys are raw 20-byte hashes, sorted (hex order is byte order). */
export function encodeScrape(stats: Map<string, SwarmStats>): Buffer {
  const parts: Buffer[] = [Buffer.from('d5:filesd')];
  for (const hash of [...stats.keys()].sort()) {
    const s = stats.get(hash)!;
    parts.push(
      Buffer.from('20:'),
      Buffer.from(hash, 'hex'),
      Buffer.from(
        `d8:completei${s.complete}e10:downloadedi${s.downloaded}e10:incompletei${s.incomplete}ee`,
      ),
    );
  }
  parts.push(Buffer.from('ee'));
  return Buffer.concat(parts);
}

function ipv4Text(b: Buffer): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** RFC 5952 text form (longest zero run compressed), as clients print and compare it. */
function ipv6Text(b: Buffer): string {
  const hextets: string[] = [];
  for (let i = 0; i < 16; i += 2) hextets.push(b.readUInt16BE(i).toString(16));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && hextets[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j > i ? j : i + 1;
  }
  if (best < 0) return hextets.join(':');
  return `${hextets.slice(0, best).join(':')}::${hextets.slice(best + bestLen).join(':')}`;
}
