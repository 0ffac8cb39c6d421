import { isIPv6 } from 'node:net';
import { ipv6ToBytes, normalizeIp } from '@distributor/core';

/** Raw address bytes (4 or 16) for an IP literal, or null when it is not one. */
export function ipBytes(ip: string): Buffer | null {
  const normalized = normalizeIp(ip);
  const v4 = parseIPv4(normalized);
  if (v4) return v4;
  if (!isIPv6(normalized)) return null;
  return ipv6ToBytes(normalized);
}

/** BEP 23 / BEP 7 compact address: 6 bytes for IPv4, 18 for IPv6. */
export function compactAddress(ip: Uint8Array, port: number): Buffer {
  const out = Buffer.allocUnsafe(ip.length + 2);
  out.set(ip, 0);
  out.writeUInt16BE(port, ip.length);
  return out;
}

function parseIPv4(ip: string): Buffer | null {
  const out = Buffer.allocUnsafe(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || part > 3 || value > 255) return null;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      value = value * 10 + (c - 0x30);
      digits++;
    } else {
      return null;
    }
  }
  return part === 4 ? out : null;
}
