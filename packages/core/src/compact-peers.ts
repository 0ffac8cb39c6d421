import { isIPv4, isIPv6 } from 'node:net';

/** A peer's transport address. */
export interface PeerAddress {
  ip: string;
  port: number;
}

/** IPv4 addresses that arrive as IPv4-mapped IPv6 (`::ffff:1.2.3.4`) are IPv4 peers. */
export function normalizeIp(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped ? mapped[1]! : ip.toLowerCase();
}

export function isValidPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port < 65536;
}

/** BEP 23: 4 bytes of IPv4 address and 2 bytes of port, network order, per peer. */
export function encodeCompactPeers4(peers: readonly PeerAddress[]): Buffer {
  const out = Buffer.allocUnsafe(peers.length * 6);
  let off = 0;
  for (const peer of peers) {
    const parts = peer.ip.split('.');
    if (parts.length !== 4 || !isIPv4(peer.ip)) throw new RangeError(`not IPv4: ${peer.ip}`);
    for (const part of parts) out[off++] = Number(part);
    out.writeUInt16BE(peer.port, off);
    off += 2;
  }
  return out;
}

/** BEP 7: 16 bytes of IPv6 address and 2 bytes of port per peer. */
export function encodeCompactPeers6(peers: readonly PeerAddress[]): Buffer {
  const out = Buffer.allocUnsafe(peers.length * 18);
  let off = 0;
  for (const peer of peers) {
    ipv6ToBytes(peer.ip).copy(out, off);
    out.writeUInt16BE(peer.port, off + 16);
    off += 18;
  }
  return out;
}

export function decodeCompactPeers4(data: Uint8Array): PeerAddress[] {
  if (data.length % 6 !== 0) throw new RangeError(`compact IPv4 peers: ${data.length} bytes`);
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const peers: PeerAddress[] = [];
  for (let off = 0; off < buf.length; off += 6) {
    const ip = `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
    peers.push({ ip, port: buf.readUInt16BE(off + 4) });
  }
  return peers;
}

export function decodeCompactPeers6(data: Uint8Array): PeerAddress[] {
  if (data.length % 18 !== 0) throw new RangeError(`compact IPv6 peers: ${data.length} bytes`);
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const peers: PeerAddress[] = [];
  for (let off = 0; off < buf.length; off += 18) {
    peers.push({ ip: bytesToIpv6(buf.subarray(off, off + 16)), port: buf.readUInt16BE(off + 16) });
  }
  return peers;
}

export function ipv6ToBytes(ip: string): Buffer {
  if (!isIPv6(ip)) throw new RangeError(`not IPv6: ${ip}`);
  let address = ip.replace(/%.*$/, '');
  // An embedded dotted IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    const tail = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
    address = address.slice(0, v4.index) + tail;
  }
  const [head = '', rest] = address.split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const missing = 8 - headParts.length - tailParts.length;
  const hextets = [
    ...headParts,
    ...Array<string>(rest !== undefined ? missing : 0).fill('0'),
    ...tailParts,
  ];
  const out = Buffer.alloc(16);
  hextets.forEach((h, i) => out.writeUInt16BE(parseInt(h, 16), i * 2));
  return out;
}

function bytesToIpv6(bytes: Buffer): string {
  const hextets: string[] = [];
  for (let i = 0; i < 16; i += 2) hextets.push(bytes.readUInt16BE(i).toString(16));
  // Compress the longest run of zero hextets (RFC 5952) so addresses compare as strings.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (hextets[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && hextets[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return hextets.join(':');
  const left = hextets.slice(0, bestStart).join(':');
  const right = hextets.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}
