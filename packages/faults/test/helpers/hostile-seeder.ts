import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { TrackerClient, generatePeerId } from '@distributor/core';
import type { TorrentMeta } from '@distributor/core';
import { FrameReader, fullBitfield, handshake, message, pieceMessage } from './raw-wire.js';

/**
 * How a hostile seeder misbehaves once a downloader asks it for a block:
 * - wrong-size: answers with a block 1000 bytes longer than asked;
 * - overlong: announces a message of 2 GiB and streams junk;
 * - slowloris: sends 3 bytes of a piece message, then nothing, ever;
 * - garbage: unknown message ids and truncated payloads.
 */
export type HostileMode = 'wrong-size' | 'overlong' | 'slowloris' | 'garbage';

/** A seeder speaking just enough BEP 3 by hand to misbehave in one way. */
export class HostileSeeder {
  port = 0;
  connections = 0;
  readonly peerId = generatePeerId('-HS0001-');
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly meta: TorrentMeta,
    readonly mode: HostileMode,
    readonly host = '127.0.0.1',
  ) {}

  async start(): Promise<this> {
    this.server = createServer((socket) => this.onConnection(socket));
    await new Promise<void>((r) => this.server!.listen(0, this.host, () => r()));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  async announce(trackerUrl: string): Promise<void> {
    const client = new TrackerClient({ url: trackerUrl, localAddress: this.host, retries: 1 });
    await client.announce({
      infoHash: this.meta.infoHash,
      peerId: this.peerId,
      port: this.port,
      uploaded: 0,
      downloaded: 0,
      left: 0,
      event: 'started',
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r) ?? r(undefined));
  }

  private onConnection(socket: Socket): void {
    this.connections++;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let handshaken = false;
    let pending = Buffer.alloc(0);
    const frames = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      if (!handshaken) {
        pending = Buffer.concat([pending, chunk]);
        if (pending.length < 68) return;
        handshaken = true;
        socket.write(handshake(this.meta.infoHash, this.peerId));
        socket.write(fullBitfield(this.meta.pieceCount));
        socket.write(message(1)); // unchoke
        chunk = pending.subarray(68);
      }
      for (const frame of frames.push(chunk)) {
        if (frame.id === 6 && frame.payload.length === 12) this.onRequest(socket, frame.payload);
      }
    });
  }

  private onRequest(socket: Socket, payload: Buffer): void {
    const index = payload.readUInt32BE(0);
    const offset = payload.readUInt32BE(4);
    const length = payload.readUInt32BE(8);
    switch (this.mode) {
      case 'wrong-size':
        socket.write(pieceMessage(index, offset, Buffer.alloc(length + 1000, 0x5a)));
        break;
      case 'overlong': {
        const head = Buffer.alloc(5);
        head.writeUInt32BE(0x7fffffff, 0);
        head[4] = 7;
        socket.write(head);
        socket.write(Buffer.alloc(64 * 1024, 0x41));
        break;
      }
      case 'slowloris':
        socket.write(Buffer.from([0, 0, 0x40]));
        break;
      case 'garbage':
        socket.write(message(42, Buffer.alloc(5, 1)));
        socket.write(message(4, Buffer.alloc(1))); // have with a 1-byte payload
        socket.write(message(7, Buffer.alloc(3))); // piece shorter than its header
        break;
    }
  }
}
