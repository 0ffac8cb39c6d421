import type Wire from 'bittorrent-protocol';

/**
 * BEP 10's `p`: the TCP port a peer listens on, sent in the extended handshake.
 *
 * An incoming connection shows the peer's ephemeral source port, not the address the tracker
 * lists for it, so without `p` a client cannot tell that a listed peer is one already connected
 * to it. It dials that peer again, and one of the two connections has to go (in a 16-peer swarm
 * that replaced 42-85 live connections in each run, each dropping the pieces in flight
 * on it). libtorrent and Transmission send `p` too.
 */

/** Makes the extended handshake carry `port`; call before the handshake is sent. */
export function advertiseListenPort(wire: Wire, port: number): void {
  if (isPort(port)) wire.extendedHandshake['p'] = port;
}

/** The port the peer said it listens on, or null (no extended handshake yet, none given, junk). */
export function peerListenPort(wire: Wire): number | null {
  const p = wire.peerExtendedHandshake['p'];
  return isPort(p) ? p : null;
}

function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 65536;
}
