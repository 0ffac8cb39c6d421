import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import Wire from 'bittorrent-protocol';
import type { WireRequest } from 'bittorrent-protocol';
import { MessageFramer } from './message-framer.js';

export interface WireTransportOptions {
  /**
   * Largest message a peer may announce. bittorrent-protocol buffers a message until its
   * announced length has arrived, so without a bound a garbage length prefix lets a peer make
   * us buffer gigabytes. A piece message is 16 KiB + 9; a bitfield of a million pieces 125 KiB.
   */
  maxMessageLength?: number;
  /** Drop the connection when nothing at all has been received for this long (BEP 3: 2 min). */
  idleTimeoutMs?: number;
  /** Send keep-alives (every 55 s, bittorrent-protocol's interval) so the peer keeps us. */
  keepAlive?: boolean;
  /**
   * A block that answers one of the Wire's own requests goes straight to that request's
   * callback, bypassing the Wire's parser, as a view that is valid only during the callback
   * (the callback must copy it). Off by default: a caller that keeps the block must not use it.
   */
  directBlocks?: boolean;
  now?: () => number;
}

/** bittorrent-protocol 5.0.9 internals (pinned) used to complete a request as its _onPiece does. */
interface WireInternals {
  _callback(request: WireRequest, err: Error | null, block: Uint8Array): void;
}

/**
 * One peer connection: a TCP socket and the bittorrent-protocol Wire that parses and frames its
 * messages.
 *
 * The Wire's readable side is not piped to the socket, because bittorrent-protocol pushes the
 * header and the payload of every message as separate chunks, which `pipe` turns into two
 * `write` syscalls per block (and one 17-byte syscall per request). Instead every chunk the Wire
 * emits is written inside a cork that is released on the next tick, so everything the Wire
 * produces in one turn of the event loop leaves in a single `writev`.
 *
 * Received bytes go through a MessageFramer first (see message-framer.ts for why): it enforces
 * `maxMessageLength`, hands every message but `piece` to the Wire whole, and, with
 * `directBlocks`, delivers blocks to their request's callback without the Wire's copies.
 * (bittorrent-protocol's MSE/PE encryption is never enabled here, so the bytes are plain.)
 *
 * Events: 'violation' (reason: string) for peer misbehaviour detected here, 'timeout' when the
 * peer has been silent for `idleTimeoutMs`, 'close' once.
 */
export class WireTransport extends EventEmitter {
  readonly wire: Wire;
  readonly socket: Socket;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private readonly maxMessageLength: number;
  private readonly idleTimeoutMs: number;
  private readonly now: () => number;
  private readonly directBlocks: boolean;
  private readonly framer: MessageFramer;
  private lastReceivedAt: number;
  private idleTimer: NodeJS.Timeout | null = null;
  private corked = false;
  private closed = false;

  constructor(socket: Socket, wire: Wire = new Wire(), options: WireTransportOptions = {}) {
    super();
    this.socket = socket;
    this.wire = wire;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.maxMessageLength = options.maxMessageLength ?? 1024 * 1024 + 16;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
    this.now = options.now ?? Date.now;
    this.directBlocks = options.directBlocks ?? false;
    this.framer = new MessageFramer(
      {
        forward: (bytes) => {
          if (!this.wire.write(bytes)) this.socket.pause();
        },
        block: (index, offset, data) => this.onBlock(index, offset, data),
        // After the Wire has parsed what came before (streamx hands it over in a microtask), so
        // that a handshake in the same chunk reaches the owner and the owner hears the reason.
        violation: (reason) => queueMicrotask(() => this.violation(reason)),
      },
      { maxMessageLength: this.maxMessageLength },
    );
    this.lastReceivedAt = this.now();
    socket.setNoDelay(true);

    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
    socket.on('end', () => this.destroy());
    wire.on('data', (chunk: Uint8Array) => this.onWireData(chunk));
    wire.on('drain', () => socket.resume());
    wire.on('error', () => this.destroy());
    wire.on('close', () => this.destroy());
    wire.on('finish', () => this.destroy());
    wire.on('unknownmessage', () => this.violation('unknown message id'));
    if (options.keepAlive ?? true) wire.setKeepAlive(true);
    this.armIdleTimer(this.idleTimeoutMs);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Bytes queued in the socket but not yet handed to the kernel. */
  get writableLength(): number {
    return this.socket.writableLength;
  }

  /** Reports a protocol violation and drops the connection. */
  violation(reason: string): void {
    if (this.closed) return;
    this.emit('violation', reason);
    this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.framer.stop();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.wire.setKeepAlive(false);
    this.socket.destroy();
    this.wire.destroy();
    this.emit('close');
  }

  /**
   * Bytes from the socket: its 'data' chunks, or `chunk[0, length)` of a reused `onread`
   * buffer (connectPeer with `directBlocks`), which is why nothing may keep `chunk`.
   */
  receive(chunk: Uint8Array, length = chunk.length): void {
    if (this.closed) return;
    this.lastReceivedAt = this.now();
    this.framer.push(chunk, 0, length);
  }

  private onBlock(index: number, offset: number, data: Uint8Array): boolean {
    if (!this.directBlocks || this.closed) return false;
    const requests = this.wire.requests;
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i]!;
      if (request.piece !== index || request.offset !== offset) continue;
      if (request.length !== data.length) continue;
      // splice, not the Wire's swap-remove: its timeout expires the oldest request first.
      requests.splice(i, 1);
      this.wire.downloaded += data.length;
      // As the Wire's _onPiece, minus the 'download'/'piece' events and the speedometer, which
      // nothing here listens to. _callback re-arms the Wire's request timeout.
      (this.wire as unknown as WireInternals)._callback(request, null, data);
      return true;
    }
    return false;
  }

  /**
   * Sends a piece message (BEP 3 id 7) straight to the socket, bypassing the Wire's stream:
   * header and block leave in the same corked writev, and the block is never copied. The caller
   * has taken the request off `wire.peerRequests` (see WireUploader). Messages the Wire pushed
   * earlier in this tick may follow it on the wire; for a piece that only matters after a
   * choke, and the uploader never answers a request the choke cleared. `onWritten` is called
   * exactly once, when the kernel has the block or the connection is gone.
   */
  sendPiece(index: number, offset: number, block: Uint8Array, onWritten?: () => void): void {
    if (this.closed) {
      onWritten?.();
      return;
    }
    const header = Buffer.allocUnsafe(13);
    header.writeUInt32BE(9 + block.length, 0);
    header[4] = 7;
    header.writeUInt32BE(index, 5);
    header.writeUInt32BE(offset, 9);
    this.corkForTick();
    this.socket.write(header);
    // The callback runs once the kernel has the bytes (or the socket failed): only then may the
    // block's memory be reused.
    this.socket.write(block, onWritten && (() => onWritten()));
    this.wire.uploaded += block.length;
  }

  private onWireData(chunk: Uint8Array): void {
    if (this.closed) return;
    this.corkForTick();
    this.socket.write(chunk);
  }

  private corkForTick(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  private armIdleTimer(delayMs: number): void {
    if (this.idleTimeoutMs <= 0) return;
    this.idleTimer = setTimeout(() => {
      const idle = this.now() - this.lastReceivedAt;
      if (idle >= this.idleTimeoutMs) {
        this.emit('timeout');
        this.destroy();
      } else this.armIdleTimer(this.idleTimeoutMs - idle);
    }, delayMs);
    this.idleTimer.unref();
  }
}
