import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** BEP 3 handshake: pstrlen, "BitTorrent protocol", 8 reserved bytes, info hash, peer id. */
export function handshake(infoHash: string, peerId: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from([19]),
    Buffer.from('BitTorrent protocol'),
    Buffer.alloc(8),
    Buffer.from(infoHash, 'hex'),
    Buffer.from(peerId),
  ]);
}

/** A length-prefixed message: `<len><id><payload>`. */
export function message(id: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length + 1, 0);
  head[4] = id;
  return Buffer.concat([head, payload]);
}

export function pieceMessage(index: number, offset: number, block: Uint8Array): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(index, 0);
  p.writeUInt32BE(offset, 4);
  return message(7, Buffer.concat([p, block]));
}

export function requestMessage(index: number, offset: number, length: number): Buffer {
  const p = Buffer.alloc(12);
  p.writeUInt32BE(index, 0);
  p.writeUInt32BE(offset, 4);
  p.writeUInt32BE(length, 8);
  return message(6, p);
}

/** A full bitfield for `pieceCount` pieces (spare bits zero, as BEP 3 requires). */
export function fullBitfield(pieceCount: number): Buffer {
  const bits = Buffer.alloc(Math.ceil(pieceCount / 8));
  for (let i = 0; i < pieceCount; i++) bits[i >> 3]! |= 0x80 >> (i & 7);
  return message(5, bits);
}

/** Parses `<len><id><payload>` frames out of a growing buffer. */
export class FrameReader {
  private buf = Buffer.alloc(0);

  push(chunk: Buffer): { id: number; payload: Buffer }[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: { id: number; payload: Buffer }[] = [];
    for (let i = 0; i < 10_000 && this.buf.length >= 4; i++) {
      const len = this.buf.readUInt32BE(0);
      if (this.buf.length < 4 + len) break;
      if (len > 0) out.push({ id: this.buf[4]!, payload: this.buf.subarray(5, 4 + len) });
      this.buf = this.buf.subarray(4 + len);
    }
    return out;
  }
}

/**
 * Opens a socket, sends `bytes` (a number is a pause in ms), and resolves once the peer closed it or `waitMs` passed
 * (then it is destroyed by us). `closedByPeer` says which.
 */
export function sendAndWatch(
  host: string,
  port: number,
  bytes: (Buffer | number)[],
  waitMs: number,
): Promise<{ closedByPeer: boolean; received: number }> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host, port });
    let received = 0;
    let settled = false;
    const finish = (closedByPeer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ closedByPeer, received });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('connect', () => {
      void (async () => {
        for (const b of bytes) {
          if (settled) return;
          if (typeof b === 'number') await new Promise((r) => setTimeout(r, b).unref());
          else socket.write(b);
        }
      })();
    });
    socket.on('data', (d: Buffer) => (received += d.length));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
  });
}
