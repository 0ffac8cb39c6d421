/**
 * The serving half of the BitTorrent peer wire protocol (BEP 3), shared by dist-seed and
 * dist-get, on top of bittorrent-protocol's `Wire`.
 *
 * Roles:
 * - `PieceReader` (piece-reader.ts): what can be uploaded. The seeder implements it over a
 *   published file, the client over its verified pieces.
 * - `WireTransport` (wire-transport.ts): one TCP socket + one Wire. Corks writes so a block
 *   costs one syscall, bounds the message length a peer can announce, drops silent peers.
 * - `MessageFramer` (message-framer.ts): splits received bytes into messages in front of the
 *   Wire, so blocks reach the request callback without the Wire's copies (`directBlocks`).
 * - `PeerListener` (peer-listener.ts): accepts TCP connections, waits for the handshake
 *   (with a timeout), asks the owner whether it serves that info hash, replies with the owner's
 *   peer id and hands the connection over; enforces a connection cap.
 * - `connectPeer` (connect-peer.ts): the outgoing counterpart, resolving after the handshake.
 * - `advertiseListenPort` / `peerListenPort` (listen-port.ts): BEP 10's `p`, our listening port
 *   in the extended handshake, so a peer that we dialled knows which listed address we are.
 * - `WireUploader` (wire-uploader.ts): serves one torrent to one peer: bitfield, interest,
 *   request validation (≤ 16 KiB, inside the piece, piece available; else a 'violation' and the
 *   peer is dropped), cancel, a bounded request queue, backpressure, `have()`, byte counts.
 * - `UnchokePolicy` / `SlotUnchokePolicy` (unchoke-policy.ts): one per owner, shared by all its
 *   uploaders: every interested peer is unchoked up to N slots, round-robin when oversubscribed.
 *
 * Typical owner:
 *   const policy = new SlotUnchokePolicy({ slots: 32 });
 *   const listener = new PeerListener({ port, peerId, accepts: (h) => readers.has(h),
 *     onPeer: ({ transport, infoHash }) => new WireUploader(transport, readers.get(infoHash)!,
 *       { policy }).on('violation', log) });
 *   setInterval(() => policy.rotate(), 10_000);
 */
export * from './piece-reader.js';
export * from './unchoke-policy.js';
export * from './wire-transport.js';
export * from './wire-uploader.js';
export * from './peer-listener.js';
export * from './connect-peer.js';
export * from './message-framer.js';
export * from './listen-port.js';
