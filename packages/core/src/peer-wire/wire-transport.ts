import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import Wire from 'bittorrent-protocol';

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
  now?: () => number;
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
    this.lastReceivedAt = this.now();
    socket.setNoDelay(true);

    socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
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
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.wire.setKeepAlive(false);
    this.socket.destroy();
    this.wire.destroy();
    this.emit('close');
  }

  private onSocketData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastReceivedAt = this.now();
    if (!this.wire.write(chunk)) this.socket.pause();
    // streamx hands the chunk to the Wire's parser in a microtask queued by write(); check the
    // announced length once it has been parsed.
    queueMicrotask(() => this.checkMessageLength());
  }

  private checkMessageLength(): void {
    // bittorrent-protocol keeps the length it waits for in `_parserSize` (pinned 5.0.9). It is
    // Number.MAX_VALUE once the wire has finished, which destroy() handles already.
    const waitingFor = (this.wire as unknown as { _parserSize: number })._parserSize;
    if (waitingFor > this.maxMessageLength && waitingFor !== Number.MAX_VALUE) {
      this.violation(`message length ${waitingFor} exceeds ${this.maxMessageLength}`);
    }
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
