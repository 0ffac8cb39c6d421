import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import {
  MAX_BLOCK_LENGTH,
  connectPeer,
  generatePeerId,
  parseMetainfo,
  pieceLengthAt,
} from '@distributor/core';
import type { TorrentMeta, WireTransport } from '@distributor/core';
import type { Seeder } from '@distributor/seeder';
import { patternBytes, served, tempDir, testSeeder, testTracker, waitFor } from './helpers.js';
import type { TestTracker } from './helpers.js';

const tmp = tempDir();
const content = patternBytes(2_000_000, 42);
let tracker: TestTracker;
let seeder: Seeder;
let meta: TorrentMeta;

beforeAll(async () => {
  const root = join(tmp.dir, 'files');
  mkdirSync(root);
  writeFileSync(join(root, 'target.bin'), content);
  tracker = await testTracker();
  seeder = await testSeeder(tracker.url, [root], join(tmp.dir, 'state'));
  const torrent = await waitFor('target.bin', () => served(tracker.url, 'target.bin'), 5000);
  meta = await parseMetainfo(torrent);
});

afterAll(async () => {
  await seeder?.stop();
  await tracker?.close();
  tmp.cleanup();
});

function handshake(infoHash: string): Buffer {
  return Buffer.concat([
    Buffer.from('\x13BitTorrent protocol', 'latin1'),
    Buffer.alloc(8),
    Buffer.from(infoHash, 'hex'),
    generatePeerId(),
  ]);
}

function message(id: number, ...ints: number[]): Buffer {
  const buf = Buffer.alloc(5 + 4 * ints.length);
  buf.writeUInt32BE(1 + 4 * ints.length, 0);
  buf[4] = id;
  ints.forEach((n, i) => buf.writeUInt32BE(n, 5 + 4 * i));
  return buf;
}

interface RawPeer {
  socket: Socket;
  received: () => Buffer;
  closed: Promise<void>;
}

/** A raw-socket peer: handshake + interested, then waits for the unchoke. */
async function rawPeer(infoHash: string, waitUnchoke = true): Promise<RawPeer> {
  const socket = connect({ host: '127.0.0.1', port: seeder.port });
  let received = Buffer.alloc(0);
  socket.on('data', (c: Buffer) => (received = Buffer.concat([received, c])));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(handshake(infoHash));
  socket.write(message(2));
  if (waitUnchoke) {
    const unchoke = Buffer.from([0, 0, 0, 1, 1]);
    await waitFor('unchoke', () => received.includes(unchoke), 3000, 20);
  }
  return { socket, received: () => received, closed };
}

async function goodLeech(): Promise<WireTransport> {
  const t = await connectPeer({
    host: '127.0.0.1',
    port: seeder.port,
    infoHash: meta.infoHash,
    peerId: generatePeerId(),
  });
  const unchoked = new Promise((r) => t.wire.once('unchoke', r));
  t.wire.interested();
  await unchoked;
  return t;
}

async function downloadAll(t: WireTransport): Promise<Buffer> {
  const blocks: Promise<Buffer>[] = [];
  for (let index = 0; index < meta.pieceCount; index++) {
    const size = pieceLengthAt(meta, index);
    for (let offset = 0; offset < size; offset += MAX_BLOCK_LENGTH) {
      const length = Math.min(MAX_BLOCK_LENGTH, size - offset);
      blocks.push(
        new Promise((resolve, reject) =>
          t.wire.request(index, offset, length, (err, block) =>
            err ? reject(err) : resolve(Buffer.from(block)),
          ),
        ),
      );
    }
  }
  return Buffer.concat(await Promise.all(blocks));
}

describe('hostile peers against dist-seed', () => {
  it('drops a peer with a wrong info hash before answering', async () => {
    const peer = await rawPeer('00'.repeat(20), false);
    await peer.closed;
    expect(peer.received().length).toBe(0);
  });

  it.each([
    ['an oversize request', () => message(6, 0, 0, 4 * MAX_BLOCK_LENGTH)],
    ['an index out of range', () => message(6, meta.pieceCount + 5, 0, MAX_BLOCK_LENGTH)],
    ['garbage after the handshake', () => Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    ['an unknown message id', () => message(99, 1, 2)],
  ])('drops a peer that sends %s; others keep being served', async (_label, bad) => {
    const good = await goodLeech();
    try {
      const peer = await rawPeer(meta.infoHash);
      peer.socket.write(bad());
      await peer.closed;
      expect(Buffer.compare(await downloadAll(good), content)).toBe(0);
    } finally {
      good.destroy();
    }
  });

  it('drops a peer that sends 10,000 requests without reading; memory stays bounded', async () => {
    const good = await goodLeech();
    try {
      const peer = await rawPeer(meta.infoHash);
      peer.socket.pause();
      const heapBefore = process.memoryUsage().heapUsed;
      const flood: Buffer[] = [];
      for (let i = 0; i < 10_000; i++) {
        flood.push(message(6, i % meta.pieceCount, 0, MAX_BLOCK_LENGTH));
      }
      peer.socket.write(Buffer.concat(flood));
      await peer.closed;
      const grownMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
      console.log(
        `heap growth while flooded: ${grownMiB.toFixed(1)} MiB (10,000 requests = 156 MiB)`,
      );
      expect(grownMiB).toBeLessThan(64);
      expect(Buffer.compare(await downloadAll(good), content)).toBe(0);
      expect(seeder.peersOf(meta.infoHash)).toBe(1);
    } finally {
      good.destroy();
    }
  });
});
