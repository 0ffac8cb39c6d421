import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import {
  MAX_BLOCK_LENGTH,
  PeerListener,
  SlotUnchokePolicy,
  WireUploader,
  buildTorrent,
  connectPeer,
  generatePeerId,
  parseMetainfo,
  peerListenPort,
  pieceLengthAt,
  sha1,
} from '@distributor/core';
import type {
  IncomingPeer,
  PieceReader,
  TorrentMeta,
  UnchokeCandidate,
  WireTransport,
} from '@distributor/core';

const PIECE = 32 * 1024;
jest.setTimeout(20_000);

async function makeTorrent(length: number): Promise<{ data: Buffer; meta: TorrentMeta }> {
  const data = randomBytes(length);
  const digests: Buffer[] = [];
  for (let at = 0; at < length; at += PIECE) digests.push(sha1(data.subarray(at, at + PIECE)));
  const { torrent } = buildTorrent({
    name: 'blob.bin',
    length,
    pieceLength: PIECE,
    pieces: Buffer.concat(digests),
  });
  return { data, meta: await parseMetainfo(torrent) };
}

class MemoryReader implements PieceReader {
  constructor(
    readonly meta: TorrentMeta,
    private readonly data: Buffer,
    private readonly available: Set<number> | null = null,
  ) {}
  has(index: number): boolean {
    return this.available ? this.available.has(index) : index < this.meta.pieceCount;
  }
  async read(index: number, offset: number, length: number): Promise<Uint8Array> {
    const at = index * this.meta.pieceLength + offset;
    return this.data.subarray(at, at + length);
  }
}

interface Harness {
  listener: PeerListener;
  port: number;
  uploaders: WireUploader[];
  violations: string[];
  rejected: string[];
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function serve(
  reader: PieceReader,
  opts: { maxQueuedRequests?: number; slots?: number } = {},
): Promise<Harness> {
  const policy = new SlotUnchokePolicy({ slots: opts.slots ?? 8 });
  const harness: Harness = {
    listener: undefined as unknown as PeerListener,
    port: 0,
    uploaders: [],
    violations: [],
    rejected: [],
  };
  harness.listener = new PeerListener({
    host: '127.0.0.1',
    port: 0,
    peerId: generatePeerId(),
    handshakeTimeoutMs: 2000,
    accepts: (infoHash) => infoHash === reader.meta.infoHash,
    onPeer: ({ transport }: IncomingPeer) => {
      const uploader = new WireUploader(transport, reader, {
        policy,
        ...(opts.maxQueuedRequests ? { maxQueuedRequests: opts.maxQueuedRequests } : {}),
      });
      uploader.on('violation', (why: string) => harness.violations.push(why));
      harness.uploaders.push(uploader);
    },
  });
  harness.listener.on('rejected', (_addr: string, why: string) => harness.rejected.push(why));
  harness.port = (await harness.listener.listen()).port;
  cleanups.push(() => harness.listener.close());
  return harness;
}

function once<T extends unknown[]>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args as T)));
}

async function leech(
  port: number,
  meta: TorrentMeta,
  onHandshake?: (t: WireTransport) => void,
  directBlocks = false,
): Promise<WireTransport> {
  const transport = await connectPeer({
    host: '127.0.0.1',
    port,
    infoHash: meta.infoHash,
    peerId: generatePeerId(),
    directBlocks,
    ...(onHandshake ? { onHandshake } : {}),
  });
  cleanups.push(() => transport.destroy());
  return transport;
}

function request(t: WireTransport, index: number, offset: number, length: number) {
  return new Promise<Uint8Array>((resolve, reject) =>
    t.wire.request(index, offset, length, (err, block) =>
      err ? reject(err) : resolve(Buffer.from(block)),
    ),
  );
}

async function downloadAll(t: WireTransport, meta: TorrentMeta): Promise<Buffer> {
  const blocks: Promise<Uint8Array>[] = [];
  for (let index = 0; index < meta.pieceCount; index++) {
    const size = pieceLengthAt(meta, index);
    for (let offset = 0; offset < size; offset += MAX_BLOCK_LENGTH) {
      blocks.push(request(t, index, offset, Math.min(MAX_BLOCK_LENGTH, size - offset)));
    }
  }
  return Buffer.concat(await Promise.all(blocks));
}

async function unchokedLeech(port: number, meta: TorrentMeta): Promise<WireTransport> {
  const t = await leech(port, meta);
  const unchoked = once(t.wire, 'unchoke');
  t.wire.interested();
  await unchoked;
  return t;
}

/** A raw BEP 3 handshake, so hostile tests control every byte. */
function handshakeBytes(infoHash: string): Buffer {
  return Buffer.concat([
    Buffer.from('\x13BitTorrent protocol', 'latin1'),
    Buffer.alloc(8),
    Buffer.from(infoHash, 'hex'),
    generatePeerId(),
  ]);
}

function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.on('error', reject);
    cleanups.push(() => void socket.destroy());
  });
}

const closed = (s: Socket) =>
  new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));

describe('peer wire serving over real TCP', () => {
  it.each([false, true])(
    'serves every block of a torrent byte-exactly (directBlocks: %s)',
    async (directBlocks) => {
      const { data, meta } = await makeTorrent(5 * PIECE + 1234);
      const h = await serve(new MemoryReader(meta, data));
      let bitfield!: Promise<[{ get(i: number): boolean }]>;
      const t = await leech(
        h.port,
        meta,
        (early) => (bitfield = once(early.wire, 'bitfield')),
        directBlocks,
      );
      const unchoked = once(t.wire, 'unchoke');
      t.wire.interested();
      const [bits] = await bitfield;
      for (let i = 0; i < meta.pieceCount; i++) expect(bits.get(i)).toBe(true);
      await unchoked;
      expect(Buffer.compare(await downloadAll(t, meta), data)).toBe(0);
      expect(h.uploaders[0]!.uploaded).toBe(data.length);
      expect(t.wire.downloaded).toBe(data.length);
      expect(t.wire.requests).toEqual([]);
      expect(h.violations).toEqual([]);
    },
  );

  it('sends only available pieces and announces new ones with have', async () => {
    const { data, meta } = await makeTorrent(4 * PIECE);
    const reader = new MemoryReader(meta, data, new Set([1]));
    const h = await serve(reader);
    let bitfield!: Promise<[{ get(i: number): boolean }]>;
    const t = await leech(h.port, meta, (early) => (bitfield = once(early.wire, 'bitfield')));
    const [bits] = await bitfield;
    expect([0, 1, 2, 3].map((i) => bits.get(i))).toEqual([false, true, false, false]);
    const have = once<[number]>(t.wire, 'have');
    h.uploaders[0]!.have(3);
    expect((await have)[0]).toBe(3);
  });

  it("tells each side the other's listening port (BEP 10 `p`)", async () => {
    const { data, meta } = await makeTorrent(PIECE);
    const h = await serve(new MemoryReader(meta, data));
    const t = await connectPeer({
      host: '127.0.0.1',
      port: h.port,
      infoHash: meta.infoHash,
      peerId: generatePeerId(),
      listenPort: 51413,
    });
    cleanups.push(() => t.destroy());
    const incoming = h.uploaders[0]!.transport;
    // Each extended handshake follows its handshake in the same write, but may be parsed later.
    for (let i = 0; i < 100; i++) {
      if (peerListenPort(t.wire) !== null && peerListenPort(incoming.wire) !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(peerListenPort(t.wire)).toBe(h.port);
    expect(peerListenPort(incoming.wire)).toBe(51413);
    // Only a whole number in 1..65535 is a port.
    for (const p of [0, 65536, 1.5, '6881', -1]) {
      incoming.wire.peerExtendedHandshake = { p };
      expect(peerListenPort(incoming.wire)).toBeNull();
    }
    incoming.wire.peerExtendedHandshake = {};
    expect(peerListenPort(incoming.wire)).toBeNull();
  });

  it('drops a connection for an info hash it does not serve', async () => {
    const { data, meta } = await makeTorrent(PIECE);
    const other = await makeTorrent(PIECE);
    const h = await serve(new MemoryReader(meta, data));
    await expect(
      connectPeer({
        host: '127.0.0.1',
        port: h.port,
        infoHash: other.meta.infoHash,
        peerId: generatePeerId(),
        timeoutMs: 3000,
      }),
    ).rejects.toThrow(/closed/);
    expect(h.rejected.some((why) => why.includes('unknown info hash'))).toBe(true);
  });

  it.each([
    ['an oversize block', 0, 0, 2 * MAX_BLOCK_LENGTH, /block length/],
    ['an index out of range', 99, 0, MAX_BLOCK_LENGTH, /out of range/],
    ['a block past the end of the piece', 0, PIECE - 100, MAX_BLOCK_LENGTH, /outside piece/],
  ])('drops a peer that requests %s', async (_label, index, offset, length, pattern) => {
    const { data, meta } = await makeTorrent(3 * PIECE);
    const h = await serve(new MemoryReader(meta, data));
    const bad = await unchokedLeech(h.port, meta);
    const good = await unchokedLeech(h.port, meta);
    const badClosed = once(bad, 'close');
    bad.wire.request(index, offset, length, () => {});
    await badClosed;
    expect(h.violations.join('\n')).toMatch(pattern);
    expect(Buffer.compare(await downloadAll(good, meta), data)).toBe(0);
  });

  it('drops a peer that sends garbage after the handshake', async () => {
    const { data, meta } = await makeTorrent(2 * PIECE);
    const h = await serve(new MemoryReader(meta, data));
    const socket = await rawConnect(h.port);
    socket.on('data', () => {});
    socket.write(handshakeBytes(meta.infoHash));
    socket.write(Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8]));
    await closed(socket);
    expect(h.violations.join('\n')).toMatch(/message length/);
  });

  it('drops a peer that floods requests without reading, and keeps serving others', async () => {
    const { data, meta } = await makeTorrent(8 * PIECE);
    const h = await serve(new MemoryReader(meta, data), { maxQueuedRequests: 256 });
    const socket = await rawConnect(h.port);
    let unchoked = false;
    const gotUnchoke = new Promise<void>((resolve) => {
      let seen = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        seen = Buffer.concat([seen, chunk]);
        // The unchoke message is <0,0,0,1,1>; once seen, stop reading entirely.
        if (seen.includes(Buffer.from([0, 0, 0, 1, 1]))) {
          unchoked = true;
          socket.off('data', onData);
          socket.pause();
          resolve();
        }
      };
      socket.on('data', onData);
    });
    socket.write(handshakeBytes(meta.infoHash));
    socket.write(Buffer.from([0, 0, 0, 1, 2])); // interested
    await gotUnchoke;
    expect(unchoked).toBe(true);
    const requests: Buffer[] = [];
    for (let i = 0; i < 10_000; i++) {
      const msg = Buffer.alloc(17);
      msg.writeUInt32BE(13, 0);
      msg[4] = 6;
      msg.writeUInt32BE(i % meta.pieceCount, 5);
      msg.writeUInt32BE(0, 9);
      msg.writeUInt32BE(MAX_BLOCK_LENGTH, 13);
      requests.push(msg);
    }
    const good = await unchokedLeech(h.port, meta);
    socket.write(Buffer.concat(requests));
    await closed(socket);
    expect(h.violations.join('\n')).toMatch(/request flood/);
    const flooder = h.uploaders[0]!;
    expect(flooder.queuedRequests).toBe(0);
    expect(Buffer.compare(await downloadAll(good, meta), data)).toBe(0);
  });
});

describe('SlotUnchokePolicy', () => {
  class Peer implements UnchokeCandidate {
    peerInterested = true;
    choked = true;
    choke() {
      this.choked = true;
    }
    unchoke() {
      this.choked = false;
    }
  }

  it('serves every interested peer up to the slot count', () => {
    const policy = new SlotUnchokePolicy({ slots: 2 });
    const peers = [new Peer(), new Peer(), new Peer()];
    peers.forEach((p) => policy.interested(p));
    expect(peers.map((p) => p.choked)).toEqual([false, false, true]);
    expect(policy.waitingCount).toBe(1);
  });

  it('rotates slots round-robin when oversubscribed', () => {
    const policy = new SlotUnchokePolicy({ slots: 2 });
    const [a, b, c] = [new Peer(), new Peer(), new Peer()];
    [a, b, c].forEach((p) => policy.interested(p));
    policy.rotate();
    expect([a.choked, b.choked, c.choked]).toEqual([true, false, false]);
    policy.rotate();
    expect([a.choked, b.choked, c.choked]).toEqual([false, true, false]);
  });

  it('gives a freed slot to a waiting peer', () => {
    const policy = new SlotUnchokePolicy({ slots: 1 });
    const [a, b] = [new Peer(), new Peer()];
    policy.interested(a);
    policy.interested(b);
    expect(b.choked).toBe(true);
    a.peerInterested = false;
    policy.uninterested(a);
    expect([a.choked, b.choked]).toEqual([true, false]);
    policy.remove(b);
    expect(policy.unchokedCount).toBe(0);
  });
});
