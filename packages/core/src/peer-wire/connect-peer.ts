import { connect } from 'node:net';
import Wire from 'bittorrent-protocol';
import { advertiseListenPort } from './listen-port.js';
import { WireTransport } from './wire-transport.js';
import type { WireTransportOptions } from './wire-transport.js';

/** What Node reads per call by default: loopback rarely delivers more in one read. */
const READ_BUFFER_SIZE = 64 * 1024;

export interface ConnectPeerOptions extends WireTransportOptions {
  host: string;
  port: number;
  /** 40 hex digits or 20 bytes. */
  infoHash: string | Uint8Array;
  peerId: Uint8Array;
  /** Local address to connect from (`--bind`). */
  localAddress?: string;
  /** Our listening port, sent as BEP 10's `p` so the peer knows which listed address we are. */
  listenPort?: number;
  /** Time for the TCP connect and the peer's handshake together. */
  timeoutMs?: number;
  /**
   * Called synchronously when the handshake arrives, before any message that came in the same
   * packet (typically the peer's bitfield) is parsed: attach Wire listeners here. Whatever
   * already happened by the time the promise resolves is on the Wire (e.g. `wire.peerPieces`).
   */
  onHandshake?: (transport: WireTransport) => void;
}

/**
 * Opens an outgoing peer connection and completes the BEP 3 handshake. Rejects if the peer does
 * not answer in time or answers for another torrent.
 */
export function connectPeer(options: ConnectPeerOptions): Promise<WireTransport> {
  const infoHash =
    typeof options.infoHash === 'string'
      ? options.infoHash.toLowerCase()
      : Buffer.from(options.infoHash).toString('hex');
  return new Promise((resolve, reject) => {
    // With directBlocks, the socket reads into one buffer reused for the connection's life
    // instead of a new 64 KiB Buffer per read (one of the GC's main sources at 1 GiB): nothing
    // downstream keeps the bytes (MessageFramer copies what the Wire gets, the engine copies
    // blocks into piece buffers).
    let reader: WireTransport | null = null;
    const socket = connect({
      host: options.host,
      port: options.port,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      ...(options.directBlocks
        ? {
            onread: {
              buffer: Buffer.allocUnsafe(READ_BUFFER_SIZE),
              callback: (length: number, buffer: Uint8Array) => {
                reader?.receive(buffer, length);
                return true;
              },
            },
          }
        : {}),
    });
    const wire = new Wire('tcpOutgoing');
    if (options.listenPort !== undefined) advertiseListenPort(wire, options.listenPort);
    const transport = new WireTransport(socket, wire, options);
    reader = transport;
    const fail = (why: string) => {
      clearTimeout(timer);
      transport.destroy();
      reject(new Error(`peer ${options.host}:${options.port}: ${why}`));
    };
    const timer = setTimeout(() => fail('no handshake in time'), options.timeoutMs ?? 10_000);
    transport.once('close', () => fail('connection closed during handshake'));
    wire.once('handshake', (peerInfoHash: string) => {
      if (peerInfoHash !== infoHash) return fail(`answered for info hash ${peerInfoHash}`);
      clearTimeout(timer);
      transport.removeAllListeners('close');
      options.onHandshake?.(transport);
      resolve(transport);
    });
    socket.once('connect', () => wire.handshake(infoHash, options.peerId));
  });
}
