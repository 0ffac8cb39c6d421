import { EventEmitter } from 'node:events';
import type Wire from 'bittorrent-protocol';
import {
  SlotUnchokePolicy,
  WireUploader,
  connectPeer,
  peerListenPort,
  pieceHash,
  pieceSize,
} from '@distributor/core';
import type {
  PeerAddress,
  PieceHasher,
  TorrentMeta,
  UnchokePolicy,
  WireTransport,
} from '@distributor/core';
import { ActivePiece, BLOCK_SIZE } from './active-piece.js';
import type { Clock } from './clock.js';
import type { LocalPieces } from './local-pieces.js';
import type { Logger } from './logger.js';
import type { PartFile } from './part-file.js';
import { PieceBufferPool } from './piece-buffers.js';
import { RarestFirstPicker, endgamePolicy } from './piece-picker.js';
import { PeerSelectionPolicy, peerKey } from './peer-selection.js';
import { PipelineDepthPolicy } from './pipeline-depth.js';
import { RateMeter } from './rate-meter.js';
import type { ResumeRecorder } from './resume-record.js';

/**
 * Pieces a client fetches from the origin at once while other peers serve it too. Every extra
 * one raises the chance that two clients pull the same piece from the origin (measured on 8
 * clients before partitioning: 1 → 2.1-2.4x the file from the origin, 2 → 2.4-2.7x, 4 →
 * 2.6-2.8x).
 */
const ORIGIN_PIECES_IN_FLIGHT = 1;
/**
 * A piece from the origin with every block asked for and at most this many still on their way
 * no longer counts against ORIGIN_PIECES_IN_FLIGHT: the next one is asked for a block ahead, so
 * the connection does not idle for a round trip between pieces. Under load that round trip is
 * ~100 ms of queues, a fifth of the time a 64 KiB piece takes at 1/16 of a 20 Mbit/s uplink
 * (16-peer swarm: last peer 0.23 s earlier on average over six alternated pairs; two blocks
 * ahead was no better).
 */
const ORIGIN_NEXT_PIECE_BLOCKS_LEFT = 1;

export interface EngineOptions {
  meta: TorrentMeta;
  peerId: Uint8Array;
  pieces: LocalPieces;
  file: PartFile;
  recorder: ResumeRecorder | null;
  hasher: PieceHasher;
  clock: Clock;
  logger: Logger;
  bind?: string;
  /** Our listening port, told to the peers we dial (BEP 10 `p`). */
  listenPort?: number;
  maxPeers: number;
  memoryBudgetBytes: number;
  originPeerIdPrefix: string;
  random?: () => number;
  /** Upload slots; default: enough for every connection (see docs/client.md). */
  unchokeSlots?: number;
  /** A peer that sent bad data for this many pieces it shared with others is banned. */
  strikesToBan?: number;
}

/** One connected peer, from the download side's point of view. */
export interface Peer {
  key: string;
  address: PeerAddress;
  transport: WireTransport;
  wire: Wire;
  uploader: WireUploader;
  peerIdHex: string;
  /** Where a peer that dialled us listens, once it said so (BEP 10 `p`). */
  listenAddress: PeerAddress | null;
  isOrigin: boolean;
  incoming: boolean;
  haveCount: number;
  isSeed: boolean;
  outstanding: number;
  /** Outstanding requests wanted, as of the last refill. */
  depth: number;
  /** Pieces this peer started: it gets their remaining blocks first. */
  assigned: Set<number>;
  rate: RateMeter;
  received: number;
  strikes: number;
  closed: boolean;
  filling: boolean;
  /**
   * Pick generation at which the picker last found nothing new for this peer. This peer's own
   * `have`s reset it to -1, a generation never reached (`pickGeneration` counts the events that
   * matter for every peer and starts at 1).
   */
  nothingToPickAt: number;
}

export interface EngineStats {
  /** Bytes of verified pieces held (including those from a previous run). */
  haveBytes: number;
  length: number;
  /** Block bytes received in this run, useful or not. */
  received: number;
  fromOrigin: number;
  fromPeers: number;
  /** Received bytes that were thrown away (duplicates, bad pieces). */
  wasted: number;
  uploaded: number;
  downloadRate: number;
  uploadRate: number;
  peers: number;
  seeds: number;
  leechers: number;
  banned: number;
  hashFailures: number;
}

export interface BanEvent {
  peer: string;
  peerId: string;
  reason: string;
}

/**
 * Downloads one torrent's pieces from a set of peer connections, verifies them off the main
 * thread, writes them into the part file, and serves verified pieces to the same peers (core's
 * WireUploader over this client's LocalPieces).
 *
 * Events: 'piece' (index) after a piece is verified and written; 'complete' once every piece
 * is held; 'ban' (BanEvent); 'fatal' (Error) when the download cannot continue (disk errors).
 */
export class DownloadEngine extends EventEmitter {
  readonly meta: TorrentMeta;
  private readonly o: EngineOptions;
  private readonly picker: RarestFirstPicker;
  private readonly pool: PieceBufferPool;
  private readonly depthPolicy = new PipelineDepthPolicy();
  readonly selection: PeerSelectionPolicy;
  private readonly unchoke: UnchokePolicy;
  private readonly peers = new Map<string, Peer>();
  private readonly dialing = new Set<string>();
  private readonly candidates = new Map<string, PeerAddress>();
  private readonly bannedIds = new Set<string>();
  private readonly active = new Map<number, ActivePiece<Peer>>();
  /**
   * Active pieces that may still have blocks nobody was asked for (a superset: pieces whose
   * blocks are all requested are dropped lazily). Helping with others' pieces scans this, not
   * every active piece: in a 16-peer swarm ~250 pieces are active, and the scan ran on every
   * `have` and every refill (the engine's top self-time function).
   */
  private readonly open = new Set<ActivePiece<Peer>>();
  private readonly verifying = new Set<number>();
  private readonly ownIdHex: string;
  private readonly originPrefixHex: string;
  private readonly downRate: RateMeter;
  private readonly upRate: RateMeter;
  private pickGeneration = 1;

  private completeEmitted = false;
  private closed = false;
  private tickTimer: unknown = null;
  private ticks = 0;
  lastProgressAt: number;
  private counters = { received: 0, fromOrigin: 0, fromPeers: 0, wasted: 0, uploaded: 0 };
  private bannedCount = 0;
  private hashFailures = 0;

  constructor(options: EngineOptions) {
    super();
    this.o = options;
    this.meta = options.meta;
    const random = options.random ?? Math.random;
    this.picker = new RarestFirstPicker(this.meta.pieceCount, { random });

    for (let i = 0; i < this.meta.pieceCount; i++) {
      if (options.pieces.has(i)) this.picker.markDone(i);
    }
    this.pool = new PieceBufferPool(this.meta.pieceLength, options.memoryBudgetBytes);
    this.selection = new PeerSelectionPolicy({ now: () => options.clock.now(), random });
    this.unchoke = new SlotUnchokePolicy({ slots: options.unchokeSlots ?? options.maxPeers * 2 });
    this.ownIdHex = Buffer.from(options.peerId).toString('hex');
    this.originPrefixHex = Buffer.from(options.originPeerIdPrefix, 'latin1').toString('hex');
    this.downRate = new RateMeter(() => options.clock.now());
    this.upRate = new RateMeter(() => options.clock.now());
    this.lastProgressAt = options.clock.now();
  }

  get isComplete(): boolean {
    return this.o.pieces.complete;
  }

  get peerCount(): number {
    return this.peers.size;
  }

  /** Starts the periodic work: dialling, unchoke rotation. */
  start(): void {
    const tick = () => {
      this.tickTimer = this.o.clock.setTimeout(tick, 1000);
      this.ticks++;
      if (this.ticks % 10 === 0) this.unchoke.rotate();
      this.dial();
      // A peer turning stalled frees its pieces for the origin, but no event says so.
      if ([...this.peers.values()].some((p) => this.stalled(p))) {
        this.pickGeneration++;
        this.fillAll();
      }
      if (this.o.logger.isLevelEnabled('debug')) {
        const peers = [...this.peers.values()].map((p) => ({
          peer: p.key,
          origin: p.isOrigin,
          has: p.haveCount,
          choking: p.wire.peerChoking,
          interested: p.wire.amInterested,
          outstanding: p.outstanding,
          assigned: p.assigned.size,
        }));
        this.o.logger.debug({ peers, active: this.active.size }, 'peers');
      }
    };
    this.tickTimer = this.o.clock.setTimeout(tick, 1000);
    if (this.isComplete) this.finish();
  }

  /** Peers from the tracker. */
  addPeers(peers: readonly PeerAddress[]): void {
    for (const p of peers) this.candidates.set(peerKey(p), p);
    this.dial();
  }

  addSelf(address: PeerAddress): void {
    this.selection.addSelf(address);
  }

  /** A handshaken incoming connection from core's PeerListener. */
  acceptIncoming(transport: WireTransport, peerIdHex: string): void {
    const address = { ip: transport.remoteAddress, port: transport.remotePort };
    this.attach(transport, address, peerIdHex, true);
  }

  stats(): EngineStats {
    let seeds = 0;
    let uploaded = this.counters.uploaded;
    for (const p of this.peers.values()) {
      if (p.isSeed) seeds++;
      uploaded += p.uploader.uploaded;
    }
    return {
      haveBytes: this.o.pieces.haveBytes,
      length: this.meta.length,
      ...this.counters,
      uploaded,
      downloadRate: this.downRate.rate(),
      uploadRate: this.upRate.rate(),
      peers: this.peers.size,
      seeds,
      leechers: this.peers.size - seeds,
      banned: this.bannedCount,
      hashFailures: this.hashFailures,
    };
  }

  /** Peers that still want pieces from us (connected, not seeds). */
  leecherCount(): number {
    let n = 0;
    for (const p of this.peers.values()) if (!p.isSeed) n++;
    return n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.tickTimer !== null) this.o.clock.clearTimeout(this.tickTimer);
    for (const peer of [...this.peers.values()]) this.dropPeer(peer);
    // Let verifications in flight finish, so their pieces reach the file and the record.
    for (let i = 0; i < 100 && this.verifying.size > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  // ---- connections -------------------------------------------------------------------------

  private dial(): void {
    if (this.closed || this.isComplete) return;
    const slots = this.o.maxPeers - this.peers.size - this.dialing.size;
    const busy = (key: string) => this.dialing.has(key) || this.peers.has(key);
    for (const address of this.selection.select([...this.candidates.values()], slots, busy)) {
      const key = peerKey(address);
      this.dialing.add(key);
      connectPeer({
        host: address.ip,
        port: address.port,
        infoHash: this.meta.infoHash,
        peerId: this.o.peerId,
        timeoutMs: 10_000,
        // Blocks reach onBlock as views of the socket's read buffer, without the Wire's copies
        // (core's message-framer.ts); onBlock copies them into the piece buffer at once.
        directBlocks: true,
        ...(this.o.listenPort !== undefined ? { listenPort: this.o.listenPort } : {}),
        ...(this.o.bind ? { localAddress: this.o.bind } : {}),
      }).then(
        (transport) => {
          this.dialing.delete(key);
          this.selection.connected(address);
          const idHex = transport.wire.peerId ?? '';
          if (this.closed) return transport.destroy();
          this.attach(transport, address, idHex, false);
        },
        (err: Error) => {
          this.dialing.delete(key);
          this.selection.connectFailed(address);
          this.o.logger.debug({ peer: key, err: err.message }, 'connect failed');
        },
      );
    }
  }

  private attach(
    transport: WireTransport,
    address: PeerAddress,
    peerIdHex: string,
    incoming: boolean,
  ): void {
    const key = incoming ? `in:${peerKey(address)}` : peerKey(address);
    if (this.closed) return transport.destroy();
    if (peerIdHex === this.ownIdHex) {
      // The tracker handed us our own address.
      if (!incoming) this.selection.addSelf(address);
      return transport.destroy();
    }
    if (this.bannedIds.has(peerIdHex) || this.selection.isBanned(address)) {
      return transport.destroy();
    }
    const twin = [...this.peers.values()].find((p) => p.peerIdHex === peerIdHex);
    if (twin) {
      // Both sides dialled each other. Both keep the connection opened by the lower peer id,
      // so they agree on which one survives without talking about it.
      const keepOutgoing = this.ownIdHex < peerIdHex;
      if (keepOutgoing === incoming) return transport.destroy();
      this.dropPeer(twin);
    }
    if (this.peers.has(key)) return transport.destroy();

    const wire = transport.wire;
    const uploader = new WireUploader(transport, this.o.pieces, { policy: this.unchoke });
    const peer: Peer = {
      key,
      address,
      transport,
      wire,
      uploader,
      peerIdHex,
      listenAddress: null,
      isOrigin: peerIdHex.startsWith(this.originPrefixHex),
      incoming,
      haveCount: 0,
      isSeed: false,
      outstanding: 0,
      depth: 0,
      assigned: new Set(),
      rate: new RateMeter(() => this.o.clock.now()),
      received: 0,
      strikes: 0,
      closed: false,
      filling: false,
      nothingToPickAt: 0,
    };
    this.peers.set(key, peer);
    this.o.logger.debug({ peer: key, incoming, origin: peer.isOrigin }, 'peer connected');
    // A silent request queue means a dead or overloaded peer: free its blocks for others.
    wire.setTimeout(30_000, true);
    wire.on('bitfield', () => this.onBitfield(peer));
    wire.on('have', (index: number) => this.onHave(peer, index));
    wire.on('unchoke', () => this.fill(peer));
    // bittorrent-protocol silently ignores a block that matches none of our requests, so a peer
    // answering with blocks of the wrong size would hold our requests until the 30 s timeout.
    wire.on('piece', (index: number, offset: number, block: Uint8Array) => {
      if (!peer.closed && !this.isBlockShape(index, offset, block.length)) {
        this.ban(peer, `sent a ${block.length}-byte block for piece ${index} at ${offset}`);
      }
    });
    wire.on('choke', () => {
      // Pieces this peer was serving may now be the origin's to send (pickFromOrigin).
      this.pickGeneration++;
      queueMicrotask(() => this.fillAll());
    });
    // bittorrent-protocol times out one request per period; a peer that sat on a full queue
    // for 30 s would hold the rest for half an hour. Drop it and let others take its blocks.
    wire.on('timeout', () => {
      if (peer.closed) return;
      this.o.logger.info({ peer: key }, 'peer stopped sending blocks; disconnecting');
      if (!incoming) this.selection.connectFailed(address);
      this.dropPeer(peer);
    });
    if (incoming) {
      // Its extended handshake may have come with its handshake, or may still be on its way.
      this.learnListenAddress(peer);
      wire.on('extended', (name: string) => {
        if (name === 'handshake') this.learnListenAddress(peer);
      });
    }
    uploader.on('upload', (bytes: number) => this.upRate.add(bytes));
    uploader.on('violation', (reason: string) =>
      this.o.logger.warn({ peer: key, reason }, 'dropped peer for protocol violation'),
    );
    uploader.on('read-error', (err: Error) =>
      this.o.logger.warn({ peer: key, err: err.message }, 'could not read a piece to upload'),
    );
    uploader.on('close', () => this.dropPeer(peer));
    this.emit('peer', { key, incoming, origin: peer.isOrigin });
    // connectPeer resolves a tick after the handshake; a bitfield, haves or an unchoke that
    // arrived in the same TCP segment were parsed before our listeners existed.
    if (this.countPeerPieces(peer) > 0) this.onBitfield(peer);
  }

  private learnListenAddress(peer: Peer): void {
    if (peer.closed || peer.listenAddress) return;
    const port = peerListenPort(peer.wire);
    if (port === null) return;
    peer.listenAddress = { ip: peer.address.ip, port };
    this.selection.incomingFrom(peer.listenAddress);
  }

  private countPeerPieces(peer: Peer): number {
    const has = peer.wire.peerPieces;
    let count = 0;
    for (let i = 0; i < this.meta.pieceCount; i++) if (has.get(i)) count++;
    return count;
  }

  private dropPeer(peer: Peer): void {
    if (peer.closed) return;
    peer.closed = true;
    if (peer.listenAddress) this.selection.incomingGone(peer.listenAddress);
    this.counters.uploaded += peer.uploader.uploaded;
    peer.uploader.uploaded = 0;
    if (this.peers.get(peer.key) === peer) this.peers.delete(peer.key);
    if (peer.haveCount > 0) {
      if (peer.isSeed) this.picker.removeSeed();
      else this.picker.removePeer((i) => peer.wire.peerPieces.get(i));
    }
    for (const piece of this.active.values()) {
      if (piece.dropPeer(peer) > 0) this.open.add(piece);
    }
    peer.outstanding = 0;
    peer.uploader.close();
    this.pickGeneration++;
    if (!this.closed) queueMicrotask(() => this.fillAll());
  }

  private onBitfield(peer: Peer): void {
    if (peer.haveCount > 0) return; // a second bitfield is a protocol error; ignore it
    const has = peer.wire.peerPieces;
    const count = this.countPeerPieces(peer);
    peer.haveCount = count;
    if (count === this.meta.pieceCount) {
      peer.isSeed = true;
      this.picker.addSeed();
    } else {
      this.picker.addPeer((i) => has.get(i));
    }
    this.pickGeneration++;
    this.afterAvailabilityChange(peer);
  }

  private onHave(peer: Peer, index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.meta.pieceCount) {
      return peer.transport.violation(`have for piece ${index} out of range`);
    }
    peer.haveCount++;
    if (peer.haveCount === this.meta.pieceCount) {
      // Turn its per-piece counts into one seed count.
      this.picker.removePeer((i) => i !== index && peer.wire.peerPieces.get(i));
      this.picker.addSeed();
      peer.isSeed = true;
    } else {
      this.picker.addHave(index);
    }
    // Its new piece may be pickable from it; pickGeneration counts only events for every peer.
    peer.nothingToPickAt = -1;
    this.afterAvailabilityChange(peer, index);
  }

  private afterAvailabilityChange(peer: Peer, index?: number): void {
    if (this.isComplete) {
      // Two seeds have nothing to say to each other.
      if (peer.isSeed) this.dropPeer(peer);
      return;
    }
    if (!peer.wire.amInterested) {
      const useful =
        index !== undefined ? !this.o.pieces.has(index) : this.peerHasSomethingWeNeed(peer);
      if (useful) peer.wire.interested();
    }
    // A have for a piece we hold or are verifying gives us nothing to ask for; and a peer whose
    // queue is above the refill mark gets refilled by its next block anyway. Each peer hears a
    // have from every other for every piece, so refilling on each one was most of the engine's
    // CPU in a swarm.
    if (index !== undefined && (this.o.pieces.has(index) || this.verifying.has(index))) return;
    if (!this.belowRefillMark(peer)) return;
    this.fill(peer);
  }

  /**
   * Refills go out in batches: once a quarter of the queue has drained, the refill leaves in one
   * corked write instead of one 17-byte request per block received (syscalls were 9% of the
   * main thread at 1 GiB). A peer never filled yet (depth 0) is below the mark.
   */
  private belowRefillMark(peer: Peer): boolean {
    return peer.depth === 0 || peer.outstanding <= peer.depth - Math.max(1, peer.depth >> 2);
  }

  private peerHas(peer: Peer, index: number): boolean {
    return peer.isSeed || peer.wire.peerPieces.get(index);
  }

  private peerHasSomethingWeNeed(peer: Peer): boolean {
    for (let i = 0; i < this.meta.pieceCount; i++) {
      if (!this.o.pieces.has(i) && this.peerHas(peer, i)) return true;
    }
    return false;
  }

  // ---- requests ----------------------------------------------------------------------------

  private fillAll(): void {
    if (this.closed) return;
    for (const peer of this.peers.values()) this.fill(peer);
  }

  private fill(peer: Peer): void {
    if (this.closed || peer.closed || peer.filling || this.isComplete) return;
    if (peer.wire.peerChoking || !peer.wire.amInterested) return;
    peer.filling = true;
    try {
      const depth = this.depthPolicy.depth(peer.rate.rate(), peer.rate.measured);
      peer.depth = depth;
      while (peer.outstanding < depth && !peer.closed && !peer.wire.peerChoking) {
        const next = this.nextRequest(peer);
        if (!next) break;
        this.request(peer, next.piece, next.block);
      }
      if (peer.outstanding === 0 && !peer.closed && !this.peerHasSomethingWeNeed(peer)) {
        peer.wire.uninterested();
      }
    } finally {
      peer.filling = false;
    }
  }

  private nextRequest(peer: Peer): { piece: ActivePiece<Peer>; block: number } | null {
    // 1. Finish what this peer started: one sender per piece keeps blame for bad data exact.
    for (const index of peer.assigned) {
      const piece = this.active.get(index);
      if (!piece) {
        peer.assigned.delete(index);
        continue;
      }
      const block = piece.nextMissing();
      if (block >= 0) return { piece, block };
    }
    // The origin is the source of last resort (its uplink is what a rollout is short of):
    // from it we take only pieces that no other peer currently serving us has.
    const others = peer.isOrigin ? this.servingNonOrigin(peer) : [];
    const elsewhere = (i: number) => others.some((p) => this.peerHas(p, i));
    // Other leechers, serving us yet or not: at start-up they have nothing, and a client that
    // pulled from the origin at full speed until they did would take a fifth of the file from it.
    const swarming = peer.isOrigin && this.leecherCount() > 0;
    // 2. Start a new piece, if the memory budget allows.
    if (peer.nothingToPickAt !== this.pickGeneration && this.pool.available > 0) {
      const index = swarming ? this.pickFromOrigin(peer, others, elsewhere) : this.pickFrom(peer);
      if (index !== null) {
        const buffer = this.pool.acquire()!;
        const length = pieceSize(index, this.meta.length, this.meta.pieceLength);
        const piece = new ActivePiece<Peer>(index, length, buffer);
        this.active.set(index, piece);
        this.open.add(piece);
        peer.assigned.add(index);
        return { piece, block: 0 };
      }
    }
    // 3. Help with pieces others started (the budget is spent, or nothing new is left).
    for (const piece of this.open) {
      const block = piece.nextMissing();
      if (block < 0) {
        this.open.delete(piece);
        continue;
      }
      if (!this.peerHas(peer, piece.index) || elsewhere(piece.index)) continue;
      return { piece, block };
    }
    // 4. Endgame: duplicate requests for blocks still in flight elsewhere (not to the origin
    // for pieces that other peers have: 8 clients in endgame at once made up half of the
    // origin's load in the 8-client swarm test).
    if (this.inEndgame()) {
      for (const piece of this.active.values()) {
        if (!this.peerHas(peer, piece.index) || elsewhere(piece.index)) continue;
        const block = piece.duplicateCandidate(peer, endgamePolicy.maxRequestsPerBlock);
        if (block >= 0) return { piece, block };
      }
    }
    return null;
  }

  private inEndgame(): boolean {
    const unstarted =
      this.meta.pieceCount - this.picker.completed - this.active.size - this.verifying.size;
    return endgamePolicy.isEndgame(unstarted);
  }

  private pickFrom(peer: Peer): number | null {
    const index = this.picker.pick(
      (i) => this.peerHas(peer, i),
      (i) => this.active.has(i) || this.verifying.has(i),
    );
    if (index === null) peer.nothingToPickAt = this.pickGeneration;
    return index;
  }

  /**
   * Picking from the origin while other peers serve us. Clients cannot see each other's pieces
   * in progress, so left alone they pull the same pieces from the origin at once. Three rules
   * keep that rare: at most ORIGIN_PIECES_IN_FLIGHT pieces from the origin at a time; first
   * choice among the origin-only pieces of our own partition (piece index modulo the number of
   * leechers we see, by our rank among their peer ids, so neighbours pick disjoint pieces); and
   * outside our partition only when `originShouldWait` says we have nothing better to do.
   * An origin that advertises only some pieces is super-seeding and has already done that
   * partitioning for us.
   */
  private pickFromOrigin(
    peer: Peer,
    others: Peer[],
    elsewhere: (i: number) => boolean,
  ): number | null {
    if (this.originPiecesInFlight(peer) >= ORIGIN_PIECES_IN_FLIGHT) return null;
    const peerHas = (i: number) => this.peerHas(peer, i);
    const busy = (i: number) => this.active.has(i) || this.verifying.has(i) || elsewhere(i);
    if (!peer.isSeed) {
      // A super-seeding origin advertises each peer its own few pieces: they are ours to take,
      // and waiting or partitioning would only leave its uplink idle.
      const offered = this.picker.pick(peerHas, busy);
      if (offered === null) peer.nothingToPickAt = this.pickGeneration;
      return offered;
    }
    const { k, rank } = this.originPartition();
    const mine = this.picker.pick(peerHas, (i) => i % k !== rank || busy(i));
    if (mine !== null) return mine;
    if (peer.assigned.size > 0 || this.originShouldWait(others, elsewhere)) return null;
    const any = this.picker.pick(peerHas, busy);
    if (any === null) peer.nothingToPickAt = this.pickGeneration;
    return any;
  }

  /** Pieces from the origin that count against ORIGIN_PIECES_IN_FLIGHT. */
  private originPiecesInFlight(origin: Peer): number {
    let n = 0;
    for (const index of origin.assigned) {
      const piece = this.active.get(index);
      const nearlyDone =
        piece !== undefined &&
        piece.nextMissing() < 0 &&
        piece.blockCount - piece.received <= ORIGIN_NEXT_PIECE_BLOCKS_LEFT;
      if (!nearlyDone) n++;
    }
    return n;
  }

  /** Our rank among the leechers we are connected to (by peer id), and their number. */
  private originPartition(): { k: number; rank: number } {
    const ids = [this.ownIdHex];
    for (const p of this.peers.values()) if (!p.isOrigin && !p.isSeed) ids.push(p.peerIdHex);
    ids.sort();
    return { k: ids.length, rank: ids.indexOf(this.ownIdHex) };
  }

  /**
   * Near the end of a swarm download few pieces are left that only the origin has, and every
   * client wants them at once: if we are busy with other peers anyway, let the client that is
   * already fetching such a piece finish it and get it from that client instead. (8 clients,
   * origin capped at 32 MiB/s: the origin sent 2.1-2.3x the file without this, 1.6-1.7x with.)
   */
  private originShouldWait(others: Peer[], elsewhere: (i: number) => boolean): boolean {
    const busyElsewhere = others.some((p) => p.outstanding > 0);
    if (!busyElsewhere) return false;
    let originOnly = 0;
    for (let i = 0; i < this.meta.pieceCount; i++) {
      if (this.picker.isDone(i) || this.active.has(i) || this.verifying.has(i)) continue;
      if (!elsewhere(i)) originOnly++;
    }
    return originOnly < Math.max(2, this.leecherCount());
  }

  /** Non-origin peers that are unchoking us, other than `except`. */
  private servingNonOrigin(except: Peer): Peer[] {
    const out: Peer[] = [];
    for (const p of this.peers.values()) {
      if (p !== except && !p.isOrigin && !p.closed && !p.wire.peerChoking && !this.stalled(p)) {
        out.push(p);
      }
    }
    return out;
  }

  /**
   * Requests out and no byte for the whole rate window: a hung or hostile peer. It must not keep
   * the origin away from the pieces it claims until its requests time out (30 s).
   */
  private stalled(p: Peer): boolean {
    return p.outstanding > 0 && p.rate.measured && p.rate.rate() === 0;
  }

  /** We only ever request aligned blocks of BLOCK_SIZE (shorter at the end of a piece). */
  private isBlockShape(index: number, offset: number, length: number): boolean {
    if (index >= this.meta.pieceCount || offset % BLOCK_SIZE !== 0) return false;
    const size = pieceSize(index, this.meta.length, this.meta.pieceLength);
    return offset < size && length === Math.min(BLOCK_SIZE, size - offset);
  }

  private request(peer: Peer, piece: ActivePiece<Peer>, block: number): void {
    const index = piece.index;
    const offset = piece.blockOffset(block);
    const length = piece.blockLength(block);
    piece.markRequested(block, peer);
    peer.outstanding++;
    peer.wire.request(index, offset, length, (err, data) => {
      peer.outstanding = Math.max(0, peer.outstanding - 1);
      const current = this.active.get(index);
      if (err) {
        if (current) {
          current.requestFailed(block, peer);
          this.open.add(current);
        }
        if (!peer.filling && !peer.closed) this.fill(peer);
        return;
      }
      this.onBlock(peer, index, offset, data);
    });
  }

  /** `data` is only valid during this call (WireTransport's directBlocks): copy, never keep. */
  private onBlock(peer: Peer, index: number, offset: number, data: Uint8Array): void {
    const bytes = data.length;
    peer.received += bytes;
    peer.rate.add(bytes);
    this.downRate.add(bytes);
    this.counters.received += bytes;
    if (peer.isOrigin) this.counters.fromOrigin += bytes;
    else this.counters.fromPeers += bytes;
    this.lastProgressAt = this.o.clock.now();

    const piece = this.active.get(index);
    const others = piece?.receive(offset, data, peer) ?? null;
    if (!piece || others === null) {
      this.counters.wasted += bytes;
    } else {
      // Endgame duplicates of this block are no longer needed.
      for (const other of others) {
        if (!other.closed) other.wire.cancel(index, offset, data.length);
      }
      if (piece.complete) this.verify(piece);
    }
    if (this.belowRefillMark(peer)) this.fill(peer);
  }

  // ---- verification ------------------------------------------------------------------------

  private verify(piece: ActivePiece<Peer>): void {
    const { index } = piece;
    this.active.delete(index);
    this.open.delete(piece);
    this.verifying.add(index);
    for (const peer of piece.senders) peer.assigned.delete(index);
    let refill = false;
    for (const peer of piece.requestedFrom()) {
      // Only possible in endgame: cancel whatever is still in flight for this piece.
      for (let b = 0; b < piece.blockCount; b++) {
        if (!peer.closed) peer.wire.cancel(index, piece.blockOffset(b), piece.blockLength(b));
      }
    }
    this.o.hasher
      .digest(piece.buffer)
      .then(async (digest) => {
        if (Buffer.compare(Buffer.from(digest), Buffer.from(pieceHash(this.meta, index))) !== 0) {
          this.onBadPiece(piece);
          refill = true;
          return;
        }
        await this.o.file.write(piece.buffer, index * this.meta.pieceLength);
        this.o.logger.debug(
          { piece: index, from: [...piece.senders].map((p) => (p.isOrigin ? 'origin' : p.key)) },
          'piece verified',
        );
        this.onGoodPiece(index);
      })
      .catch((err: Error) => {
        if (this.closed && (err as { code?: string }).code === 'ECLOSED') return;
        this.emit('fatal', err);
      })
      .finally(() => {
        this.verifying.delete(index);
        // Only a spent memory budget (or a piece to fetch again) kept peers from asking for more;
        // otherwise their next block or have refills them. A refill of every peer per verified
        // piece was a sixth of the engine's CPU in a 16-peer swarm. In endgame idle peers are
        // the ones to ask for duplicates, and no block of theirs will wake them: refill all.
        if (this.pool.available === 0 || this.inEndgame()) refill = true;
        this.pool.release(piece.buffer);
        if (refill && !this.closed) this.fillAll();
      });
  }

  private onGoodPiece(index: number): void {
    this.o.pieces.add(index);
    this.picker.markDone(index);
    this.o.recorder?.markHave(index);
    // Every peer but a seed hears about it, even one that has the piece: peers count our
    // pieces to tell when we became a seed (and stop wanting us).
    for (const peer of this.peers.values()) if (!peer.isSeed) peer.uploader.have(index);
    this.emit('piece', index);
    if (this.isComplete) this.finish();
  }

  private onBadPiece(piece: ActivePiece<Peer>): void {
    this.hashFailures++;
    // The piece is pickable again: peers that found nothing to pick may find it now.
    this.pickGeneration++;
    this.counters.wasted += piece.length;
    const senders = [...piece.senders];
    const strikesToBan = this.o.strikesToBan ?? 2;
    for (const peer of senders) {
      peer.strikes++;
      // A piece from one sender convicts it; shared pieces need repeated failures.
      if (senders.length === 1 || peer.strikes >= strikesToBan) {
        this.ban(peer, `sent data for piece ${piece.index} that failed its SHA-1 check`);
      }
    }
    this.o.logger.warn(
      { piece: piece.index, senders: senders.map((p) => p.key) },
      'piece failed its SHA-1 check; requesting it again from other peers',
    );
    for (const peer of this.peers.values()) {
      if (!peer.wire.amInterested && this.peerHas(peer, piece.index)) peer.wire.interested();
    }
  }

  private ban(peer: Peer, reason: string): void {
    // Pieces it sent before the ban may still fail verification afterwards.
    if (this.bannedIds.has(peer.peerIdHex)) return;
    this.bannedCount++;
    this.bannedIds.add(peer.peerIdHex);
    if (!peer.incoming) this.selection.ban(peer.address);
    const event: BanEvent = { peer: peer.key, peerId: peer.peerIdHex, reason };
    this.o.logger.warn(event, `banned peer ${peer.key}: ${reason}`);
    this.emit('ban', event);
    this.dropPeer(peer);
  }

  private finish(): void {
    if (this.completeEmitted) return;
    this.completeEmitted = true;
    for (const peer of [...this.peers.values()]) {
      if (peer.isSeed) this.dropPeer(peer);
      else peer.wire.uninterested();
    }
    this.emit('complete');
  }
}

export { BLOCK_SIZE };
