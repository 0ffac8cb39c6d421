import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import {
  PeerListener,
  SlotUnchokePolicy,
  TrackerClient,
  WireUploader,
  generatePeerId,
} from '@distributor/core';
import type { PieceReader, TorrentMeta } from '@distributor/core';

export interface TestSeederOptions {
  path: string;
  meta: TorrentMeta;
  host?: string;
  /** Pieces whose blocks are served with flipped bytes (a hostile peer). */
  corruptPieces?: ReadonlySet<number>;
  /** Upload rate cap, bytes per second (to stop a download half way). */
  rateBytesPerSec?: number;
  peerIdPrefix?: string;
}

/**
 * An in-process seeder built from core's peer-wire module (the same code dist-seed uses), with
 * knobs for tests: serve corrupt blocks for chosen pieces, or throttle the upload.
 */
export class TestSeeder {
  readonly host: string;
  port = 0;
  uploaded = 0;
  /** Addresses that connected to this seeder. */
  readonly remoteAddresses = new Set<string>();
  readonly peerId: Buffer;
  private readonly options: TestSeederOptions;
  private listener: PeerListener | null = null;
  private file: FileHandle | null = null;
  private readonly uploaders = new Set<WireUploader>();
  private nextSendAt = 0;
  private rotateTimer: NodeJS.Timeout | null = null;

  constructor(options: TestSeederOptions) {
    this.options = options;
    this.host = options.host ?? '127.0.0.1';
    this.peerId = generatePeerId(options.peerIdPrefix);
  }

  async start(): Promise<this> {
    const { meta } = this.options;
    this.file = await open(this.options.path, 'r');
    const file = this.file;
    const corrupt = this.options.corruptPieces ?? new Set<number>();
    const rate = this.options.rateBytesPerSec;
    const reader: PieceReader = {
      meta,
      has: () => true,
      read: async (index, offset, length) => {
        if (rate) {
          // Token-bucket-free pacing: each block is sent no earlier than its fair time.
          const now = Date.now();
          const at = Math.max(now, this.nextSendAt);
          this.nextSendAt = at + (length / rate) * 1000;
          if (at > now) await new Promise((r) => setTimeout(r, at - now));
        }
        const buf = Buffer.alloc(length);
        await file.read(buf, 0, length, index * meta.pieceLength + offset);
        if (corrupt.has(index)) for (let i = 0; i < buf.length; i += 97) buf[i]! ^= 0xff;
        return buf;
      },
    };
    const policy = new SlotUnchokePolicy({ slots: 64 });
    this.rotateTimer = setInterval(() => policy.rotate(), 10_000);
    this.listener = new PeerListener({
      host: this.host,
      port: 0,
      peerId: this.peerId,
      accepts: (h) => h === meta.infoHash,
      onPeer: ({ transport }) => {
        this.remoteAddresses.add(transport.remoteAddress);
        const uploader = new WireUploader(transport, reader, { policy });
        this.uploaders.add(uploader);
        uploader.on('upload', (n: number) => (this.uploaded += n));
        uploader.on('close', () => this.uploaders.delete(uploader));
      },
    });
    this.port = (await this.listener.listen()).port;
    return this;
  }

  /** Registers with a tracker as a seed (left=0) from this seeder's address. */
  async announce(trackerUrl: string): Promise<void> {
    const client = new TrackerClient({ url: trackerUrl, localAddress: this.host, retries: 1 });
    await client.announce({
      infoHash: this.options.meta.infoHash,
      peerId: this.peerId,
      port: this.port,
      uploaded: 0,
      downloaded: 0,
      left: 0,
      event: 'started',
    });
  }

  async close(): Promise<void> {
    if (this.rotateTimer) clearInterval(this.rotateTimer);
    for (const u of this.uploaders) u.close();
    await this.listener?.close();
    await this.file?.close();
  }
}
