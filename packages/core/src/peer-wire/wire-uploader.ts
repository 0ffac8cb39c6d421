import { EventEmitter } from 'node:events';
import type { PieceReader } from './piece-reader.js';
import { badRequestReason, bitfieldOf } from './piece-reader.js';
import type { UnchokeCandidate, UnchokePolicy } from './unchoke-policy.js';
import type { WireTransport } from './wire-transport.js';

export interface WireUploaderOptions {
  /** Shared by all of the owner's connections. */
  policy: UnchokePolicy;
  /**
   * Requests a peer may have outstanding. Real clients pipeline a few hundred at most
   * (libtorrent's default cap is 500); a peer past this bound is flooding and is dropped, which
   * keeps the memory a peer can make us hold bounded.
   */
  maxQueuedRequests?: number;
  /**
   * Blocks being read at once for this peer. Reads go through the libuv thread pool; with 4 in
   * flight a loaded machine left the socket idle between chunk reads (aria2c downloader: 232 vs
   * 427 MB/s with 32). In-flight blocks are views into the reader's buffers, so this costs little.
   */
  maxReadsInFlight?: number;
  /** Stop reading blocks for this peer while its socket holds this many unsent bytes. */
  writeHighWaterBytes?: number;
  /**
   * The bitfield to advertise instead of every piece the reader has (null: send none), for an
   * owner that tells each peer about pieces a few at a time (super-seeding) through `have()`.
   */
  bitfield?: Uint8Array | null;
}

interface QueuedRequest {
  index: number;
  offset: number;
  length: number;
}

/**
 * Serves one torrent's pieces to one peer over an already handshaken connection.
 *
 * Events: 'violation' (reason) just before the connection is dropped for misbehaving,
 * 'upload' (bytes, index, offset) per block sent, 'read-error' (err) when the reader failed
 * (the connection is dropped too: a reader that fails may be serving a changed file), 'close'
 * once.
 */
export class WireUploader extends EventEmitter implements UnchokeCandidate {
  readonly transport: WireTransport;
  readonly reader: PieceReader;
  uploaded = 0;
  private readonly policy: UnchokePolicy;
  private readonly maxQueuedRequests: number;
  private readonly maxReadsInFlight: number;
  private readonly writeHighWaterBytes: number;
  private queue: QueuedRequest[] = [];
  private readsInFlight = 0;
  private closed = false;

  constructor(transport: WireTransport, reader: PieceReader, options: WireUploaderOptions) {
    super();
    this.transport = transport;
    this.reader = reader;
    this.policy = options.policy;
    this.maxQueuedRequests = options.maxQueuedRequests ?? 2048;
    this.maxReadsInFlight = options.maxReadsInFlight ?? 32;
    this.writeHighWaterBytes = options.writeHighWaterBytes ?? 1024 * 1024;

    const { wire, socket } = transport;
    wire.on('interested', () => this.policy.interested(this));
    wire.on('uninterested', () => this.policy.uninterested(this));
    wire.on('request', (index, offset, length) => this.onRequest(index, offset, length));
    wire.on('cancel', (index, offset, length) => this.onCancel(index, offset, length));
    // BEP 3: a bitfield of the wrong size is a protocol error; the connection is dropped.
    wire.on('bitfield', (bits) => {
      const expected = Math.ceil(reader.meta.pieceCount / 8);
      if (bits.buffer.length !== expected) {
        this.transport.violation(`bitfield of ${bits.buffer.length} bytes, expected ${expected}`);
      }
    });
    socket.on('drain', () => this.pump());
    transport.on('violation', (reason: string) => this.emit('violation', reason));
    transport.on('close', () => this.close());
    if (transport.isClosed) {
      queueMicrotask(() => this.close());
      return;
    }
    const bitfield = options.bitfield !== undefined ? options.bitfield : bitfieldOf(reader);
    if (bitfield) wire.bitfield(bitfield);
  }

  get peerInterested(): boolean {
    return this.transport.wire.peerInterested;
  }

  get queuedRequests(): number {
    return this.queue.length;
  }

  choke(): void {
    if (this.closed) return;
    // bittorrent-protocol forgets the peer's pending requests on choke (BEP 3); so do we.
    this.queue = [];
    this.transport.wire.choke();
  }

  unchoke(): void {
    if (!this.closed) this.transport.wire.unchoke();
  }

  /** Tells the peer a piece became available (the client, after verifying it). */
  have(index: number): void {
    if (!this.closed) this.transport.wire.have(index);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.policy.remove(this);
    this.transport.destroy();
    this.emit('close');
  }

  private onRequest(index: number, offset: number, length: number): void {
    if (this.closed) return;
    const why = badRequestReason(this.reader, index, offset, length);
    if (why) return this.transport.violation(`bad request: ${why}`);
    if (this.queue.length >= this.maxQueuedRequests) {
      return this.transport.violation(
        `more than ${this.maxQueuedRequests} requests outstanding (request flood)`,
      );
    }
    this.queue.push({ index, offset, length });
    this.pump();
  }

  private onCancel(index: number, offset: number, length: number): void {
    const at = this.queue.findIndex(
      (r) => r.index === index && r.offset === offset && r.length === length,
    );
    if (at >= 0) this.queue.splice(at, 1);
  }

  private pump(): void {
    while (
      !this.closed &&
      this.queue.length > 0 &&
      this.readsInFlight < this.maxReadsInFlight &&
      this.transport.writableLength < this.writeHighWaterBytes
    ) {
      const request = this.queue.shift()!;
      this.readsInFlight++;
      this.reader.read(request.index, request.offset, request.length).then(
        (block) => {
          this.readsInFlight--;
          if (this.closed) {
            this.reader.release?.(block);
            return;
          }
          if (block.length !== request.length) {
            this.reader.release?.(block);
            this.fail(new Error(`reader returned ${block.length} bytes for ${request.length}`));
            return;
          }
          if (this.takeWireRequest(request)) {
            this.transport.sendPiece(request.index, request.offset, block, () =>
              this.reader.release?.(block),
            );
            this.uploaded += block.length;
            this.emit('upload', block.length, request.index, request.offset);
          } else {
            this.reader.release?.(block);
          }
          this.pump();
        },
        (err: unknown) => {
          this.readsInFlight--;
          this.fail(err instanceof Error ? err : new Error(String(err)));
        },
      );
    }
  }

  /**
   * Removes the request from the Wire's own list, as the Wire's `respond` would; false when it is
   * gone (the peer cancelled it, or a choke cleared it), in which case nothing may be sent.
   */
  private takeWireRequest(request: QueuedRequest): boolean {
    const pending = this.transport.wire.peerRequests;
    for (let i = 0; i < pending.length; i++) {
      const r = pending[i]!;
      if (r.piece === request.index && r.offset === request.offset && r.length === request.length) {
        pending.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.emit('read-error', err);
    this.close();
  }
}
