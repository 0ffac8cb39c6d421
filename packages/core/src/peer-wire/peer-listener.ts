import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import Wire from 'bittorrent-protocol';
import { advertiseListenPort } from './listen-port.js';
import { WireTransport } from './wire-transport.js';
import type { WireTransportOptions } from './wire-transport.js';

/** A handshaken incoming connection, handed to the owner. */
export interface IncomingPeer {
  transport: WireTransport;
  /** 40 lowercase hex digits. */
  infoHash: string;
  /** The peer's id, hex. */
  peerId: string;
}

export interface PeerListenerOptions extends WireTransportOptions {
  /** Local address to listen on (default: all addresses). */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Our 20-byte peer id, sent in the handshake reply. */
  peerId: Uint8Array;
  /** Whether we serve this info hash (hex); unknown ones are dropped before we reply. */
  accepts: (infoHash: string) => boolean;
  onPeer: (peer: IncomingPeer) => void;
  /** Connections at once, handshaking or not; more are closed at accept time. */
  maxConnections?: number;
  /** Time a new connection gets to send its handshake. */
  handshakeTimeoutMs?: number;
}

/**
 * Accepts BitTorrent peer connections (BEP 3) for the torrents the owner serves.
 *
 * Events: 'rejected' (remoteAddress, reason) for connections dropped before the handshake
 * completed (connection cap, timeout, unknown info hash, not BitTorrent).
 */
export class PeerListener extends EventEmitter {
  private readonly options: PeerListenerOptions;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private listening = false;

  constructor(options: PeerListenerOptions) {
    super();
    if (options.peerId.length !== 20) throw new RangeError('peer id must be 20 bytes');
    this.options = options;
    this.server = createServer((socket) => this.onConnection(socket));
    this.server.on('error', (err) => this.emit('error', err));
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Starts listening; resolves with the bound address and port. */
  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host: this.options.host, port: this.options.port }, () => {
        this.server.off('error', onError);
        this.listening = true;
        resolve(this.address());
      });
    });
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Stops accepting and drops every connection it accepted. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (!this.listening) return;
    this.listening = false;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: Socket): void {
    const remote = socket.remoteAddress ?? '?';
    socket.on('error', () => socket.destroy());
    if (this.sockets.size >= (this.options.maxConnections ?? 500)) {
      this.emit('rejected', remote, 'connection cap reached');
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));

    const wire = new Wire('tcpIncoming');
    const transport = new WireTransport(socket, wire, this.options);
    let settled = false;
    const reject = (reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.emit('rejected', remote, reason);
      transport.destroy();
    };
    const timer = setTimeout(
      () => reject('no handshake in time'),
      this.options.handshakeTimeoutMs ?? 10_000,
    );
    timer.unref();
    transport.on('close', () => reject('closed before handshake'));
    transport.on('violation', (why: string) => reject(why));
    wire.once('handshake', (infoHash: string, peerId: string) => {
      if (settled) return;
      if (!this.options.accepts(infoHash)) return reject(`unknown info hash ${infoHash}`);
      settled = true;
      clearTimeout(timer);
      advertiseListenPort(wire, this.address().port);
      wire.handshake(infoHash, this.options.peerId);
      this.options.onPeer({ transport, infoHash, peerId });
    });
  }
}
