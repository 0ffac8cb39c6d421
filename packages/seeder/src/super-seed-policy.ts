/**
 * Super-seeding (the BEP 16 idea) for one torrent on the origin.
 *
 * The origin's uplink is what a rollout is short of: every piece has to leave it once, and every
 * piece it sends twice before the swarm holds a whole copy delays the last machine. So while the
 * swarm lacks some piece, each peer is told about (advertised, by bitfield and `have`) only a
 * few pieces that nobody has been given yet, and a piece goes to one peer only; the peers pass
 * it on among themselves, and a peer gets new pieces only as fast as others announce the ones
 * it was given (it passed them on). Once every piece has gone out once, the origin advertises
 * the rest and is an ordinary seed again. Advertising instead of refusing keeps third-party
 * clients working: they simply download what they are told we have.
 *
 * Two escape hatches keep the end of a rollout from stalling: a piece given to a peer that
 * leaves, or that has taken nothing from us for `stallMs`, is handed out again; and a peer keeps
 * everything it was ever advertised (we serve any piece it asks for).
 */
export interface SuperSeedPolicyOptions<P> {
  pieceCount: number;
  pieceLength: number;
  lastPieceLength: number;
  /** Sends a `have` for `index` to `peer`; called for every advertisement after the first bitfield. */
  advertise: (peer: P, index: number) => void;
  now?: () => number;
  /**
   * Pieces given to one peer that it has not yet asked for in full, at least; the default is 4
   * pieces or 256 KiB, whichever is more.
   */
  minWindow?: number;
  /** The window also covers this much of the peer's measured upload rate from us. */
  windowMs?: number;
  maxWindow?: number;
  /**
   * A given piece is handed to another peer too once its peer has been sent no byte of it, and
   * no byte at all, for this long.
   */
  stallMs?: number;
  /**
   * Pieces a peer may hold from us that no other peer has announced yet (0: no bound); the
   * default is 4.
   */
  maxUnrelayed?: number;
}

interface PeerState<P> {
  peer: P;
  /** Pieces the peer holds, by its bitfield and haves. */
  has: Uint8Array;
  /** Pieces we told it we have. */
  advertised: Uint8Array;
  /**
   * Pieces given to it and not yet sent in full: bytes sent so far, when the last went, and
   * whether it asked for the piece's last block already (then it no longer takes window room).
   */
  pending: Map<number, { bytes: number; at: number; asked: boolean }>;
  /** Pending pieces not yet `asked`: what its window holds. */
  unasked: number;
  /** Pieces given to it (pending or sent) that no other peer has announced yet, and since when. */
  unrelayed: Map<number, number>;
  /** Pieces it announced. */
  hasCount: number;
  /** Pieces we sent it in full (still counted in `given` while it stays connected). */
  delivered: Set<number>;
  /** When we last sent it anything. */
  lastSentAt: number;
  /** Bytes uploaded to it in the current and the previous rate bucket. */
  bucketStart: number;
  bucketBytes: number;
  lastBucketBytes: number;
}

const RATE_BUCKET_MS = 1000;

export class SuperSeedPolicy<P> {
  readonly pieceCount: number;
  private readonly o: Required<Omit<SuperSeedPolicyOptions<P>, 'now'>> & { now: () => number };
  private readonly peers = new Map<P, PeerState<P>>();
  /** Peers each piece was given to (pending or delivered), connected ones only. */
  private readonly given: Uint16Array;
  /** 1 once the piece is known to be in the swarm: sent in full once, or a peer announced it. */
  private readonly out: Uint8Array;
  /** Peers holding each piece that no other peer has announced (see relayBound). */
  private readonly owners = new Map<number, PeerState<P>[]>();
  private outCount = 0;
  /** Every index below it has been given or is out (a scan start, not a promise). */
  private cursor = 0;
  private done = false;
  /** Connected peers that have not announced every piece. */
  private leechers = 0;

  constructor(options: SuperSeedPolicyOptions<P>) {
    this.pieceCount = options.pieceCount;
    this.o = {
      minWindow: Math.max(4, Math.ceil((256 * 1024) / options.pieceLength)),
      windowMs: 1000,
      maxWindow: 256,
      stallMs: 5000,
      maxUnrelayed: 4,
      now: Date.now,
      ...options,
    };
    this.given = new Uint16Array(this.pieceCount);
    this.out = new Uint8Array(this.pieceCount);
  }

  /** False once every piece has gone out once: the origin is an ordinary seed from then on. */
  get active(): boolean {
    return !this.done;
  }

  /** Pieces known to be in the swarm. */
  get piecesOut(): number {
    return this.outCount;
  }

  /** Times `index` is given out right now (connected peers only). */
  givenCount(index: number): number {
    return this.given[index] ?? 0;
  }

  /** Pieces advertised to `peer`. */
  advertisedTo(peer: P): number[] {
    const s = this.peers.get(peer);
    const out: number[] = [];
    if (s) for (let i = 0; i < this.pieceCount; i++) if (s.advertised[i]) out.push(i);
    return out;
  }

  /**
   * A peer connected; returns the bitfield to send it (spare bits zero), or null to send none
   * (BEP 3 allows leaving it out when we advertise nothing yet).
   */
  addPeer(peer: P): Uint8Array | null {
    const s: PeerState<P> = {
      peer,
      has: new Uint8Array(this.pieceCount),
      advertised: new Uint8Array(this.pieceCount),
      pending: new Map(),
      unasked: 0,
      unrelayed: new Map(),
      hasCount: 0,
      delivered: new Set(),
      lastSentAt: this.o.now(),
      bucketStart: this.o.now(),
      bucketBytes: 0,
      lastBucketBytes: 0,
    };
    this.peers.set(peer, s);
    this.leechers++;
    if (this.done) s.advertised.fill(1);
    else this.offer(s, null);
    let any = false;
    const bits = new Uint8Array(Math.ceil(this.pieceCount / 8));
    for (let i = 0; i < this.pieceCount; i++) {
      if (s.advertised[i]) {
        bits[i >> 3]! |= 0x80 >> (i & 7);
        any = true;
      }
    }
    return any ? bits : null;
  }

  /** The peer announced pieces (its bitfield, or one `have`). */
  peerHas(peer: P, indices: Iterable<number>): void {
    const s = this.peers.get(peer);
    if (!s) return;
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= this.pieceCount || s.has[i]) continue;
      s.has[i] = 1;
      if (++s.hasCount === this.pieceCount) this.leechers--;
      this.relayed(s, i);
      // Got elsewhere (or already had it): the slot we gave it for this piece is free again.
      if (this.settle(s, i)) s.delivered.add(i);
      this.markOut(i);
    }
    this.refill(peer);
  }

  /** `bytes` of piece `index` went to `peer`. */
  uploaded(peer: P, index: number, bytes: number): void {
    const s = this.peers.get(peer);
    if (!s || index < 0 || index >= this.pieceCount) return;
    const now = this.o.now();
    this.rollBucket(s, now);
    s.bucketBytes += bytes;
    s.lastSentAt = now;
    if (this.done) return;
    let p = s.pending.get(index);
    if (!p) {
      // A piece it asked for without being told (a client that ignores bitfields, or one given
      // to it before a stall handed it on): it counts all the same.
      if (s.delivered.has(index) || s.has[index]) return;
      p = { bytes: 0, at: now, asked: true };
      s.pending.set(index, p);
      this.given[index]!++;
      this.holdUnrelayed(s, index);
    }
    p.bytes += bytes;
    p.at = now;
    if (p.bytes >= this.sizeOf(index)) {
      this.settle(s, index);
      s.delivered.add(index);
      this.markOut(index);
      this.refill(peer);
    }
  }

  /**
   * The peer asked for the block of `index` that ends at `end`. Once it asked for a piece's last
   * block the piece leaves its window and the next one is advertised, so that a client keeps
   * something to ask for (and stays interested) while the blocks are on their way.
   */
  requested(peer: P, index: number, end: number): void {
    const s = this.peers.get(peer);
    const p = s?.pending.get(index);
    if (!s || !p || p.asked || end < this.sizeOf(index)) return;
    p.asked = true;
    s.unasked--;
    this.refill(peer);
  }

  /** The peer left: what it took but the swarm does not otherwise hold can be given again. */
  removePeer(peer: P): void {
    const s = this.peers.get(peer);
    if (!s) return;
    this.peers.delete(peer);
    if (s.hasCount < this.pieceCount) this.leechers--;
    for (const i of s.unrelayed.keys()) this.dropOwner(s, i);
    for (const i of s.pending.keys()) this.ungive(i);
    for (const i of s.delivered) this.ungive(i);
    if (this.peers.size === 0) {
      // Nobody left holds anything we know of: a later wave of peers starts from scratch.
      this.given.fill(0);
      this.owners.clear();
      this.out.fill(0);
      this.outCount = 0;
      this.cursor = 0;
      this.done = false;
      return;
    }
    if (!this.done) for (const other of this.peers.keys()) this.refill(other);
  }

  /** Periodic: hands on pieces whose peer stopped taking them, tops windows up. */
  tick(): void {
    if (this.done) return;
    const now = this.o.now();
    for (const s of this.peers.values()) {
      this.rollBucket(s, now);
      // A peer still taking pieces from us is working through its window, not stalled: dist-get
      // takes one piece at a time from the origin, so on a slow link the last of a wide window
      // waits longer than stallMs, and handing it on made the origin send it twice (10 Mbit/s,
      // 16 peers: 1.24x the file).
      if (now - s.lastSentAt < this.o.stallMs) continue;
      for (const [i, p] of s.pending) {
        if (now - p.at < this.o.stallMs) continue;
        // It stays advertised to this peer (a have cannot be taken back), and we still serve it.
        this.settle(s, i);
        this.given[i]!--;
        s.unrelayed.delete(i);
        this.dropOwner(s, i);
        if (i < this.cursor) this.cursor = i;
      }
    }
    // Freed pieces, and windows widened by a new rate measurement, are handed out now.
    for (const peer of this.peers.keys()) this.refill(peer);
  }

  private refill(peer: P): void {
    if (this.done) return;
    const s = this.peers.get(peer);
    if (s) this.offer(s, peer);
  }

  /** Gives `s` fresh pieces up to its window; `peer` null while building its first bitfield. */
  private offer(s: PeerState<P>, peer: P | null): void {
    const want = this.windowOf(s);
    let i = this.cursor;
    let cursorMoves = true;
    while (s.unasked < want && i < this.pieceCount) {
      if (this.given[i]! > 0 || this.out[i]) {
        if (cursorMoves) this.cursor = i + 1;
      } else {
        cursorMoves = false;
        if (!s.has[i] && !s.advertised[i]) {
          if (this.relayBound(s)) return;
          this.given[i]!++;
          s.pending.set(i, { bytes: 0, at: this.o.now(), asked: false });
          s.unasked++;
          s.advertised[i] = 1;
          this.holdUnrelayed(s, i);
          if (peer !== null) this.o.advertise(peer, i);
        }
      }
      i++;
    }
  }

  /**
   * `s` holds as many pieces that no other peer has announced as it may: it gets more as they
   * do. Pieces older than stallMs stop counting, and a lone leecher is never bound (there is
   * nobody to pass pieces to).
   */
  private relayBound(s: PeerState<P>): boolean {
    const max = this.o.maxUnrelayed;
    // `s` lacks a piece (we are about to give it one): it is a leecher itself.
    if (max <= 0 || s.unrelayed.size < max || this.leechers <= 1) return false;
    const since = this.o.now() - this.o.stallMs;
    let held = 0;
    for (const at of s.unrelayed.values()) if (at > since) held++;
    return held >= max;
  }

  private holdUnrelayed(s: PeerState<P>, index: number): void {
    s.unrelayed.set(index, this.o.now());
    const list = this.owners.get(index);
    if (list) list.push(s);
    else this.owners.set(index, [s]);
  }

  private dropOwner(s: PeerState<P>, index: number): void {
    const list = this.owners.get(index);
    if (!list) return;
    const at = list.indexOf(s);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.owners.delete(index);
  }

  /** `by` announced `index`: whoever we gave it to has passed it on (or it came another way). */
  private relayed(by: PeerState<P>, index: number): void {
    // Owners are connected peers (removePeer drops its own), and none are left once done.
    const list = this.owners.get(index);
    if (!list) return;
    if (list.includes(by)) this.owners.set(index, [by]);
    else this.owners.delete(index);
    for (const owner of list) {
      if (owner === by) continue;
      owner.unrelayed.delete(index);
      this.offer(owner, owner.peer);
    }
  }

  private windowOf(s: PeerState<P>): number {
    const rate = Math.max(s.lastBucketBytes, s.bucketBytes) / RATE_BUCKET_MS; // bytes per ms
    const byRate = Math.ceil((rate * this.o.windowMs) / this.o.pieceLength);
    return Math.min(this.o.maxWindow, Math.max(this.o.minWindow, byRate));
  }

  private rollBucket(s: PeerState<P>, now: number): void {
    const elapsed = now - s.bucketStart;
    if (elapsed < RATE_BUCKET_MS) return;
    s.lastBucketBytes = elapsed < 2 * RATE_BUCKET_MS ? s.bucketBytes : 0;
    s.bucketBytes = 0;
    s.bucketStart = now;
  }

  private ungive(index: number): void {
    if (this.given[index]! > 0) this.given[index]!--;
    if (this.given[index] === 0 && !this.heldByAnyone(index)) {
      if (this.out[index]) {
        this.out[index] = 0;
        this.outCount--;
      }
      if (index < this.cursor) this.cursor = index;
    }
  }

  private heldByAnyone(index: number): boolean {
    for (const s of this.peers.values()) if (s.has[index] || s.delivered.has(index)) return true;
    return false;
  }

  private markOut(index: number): void {
    if (this.out[index]) return;
    this.out[index] = 1;
    this.outCount++;
    if (this.outCount === this.pieceCount) this.finish();
  }

  /** Every piece is in the swarm: advertise the rest to everybody, once. */
  private finish(): void {
    this.done = true;
    this.owners.clear();
    for (const [peer, s] of this.peers) {
      s.pending.clear();
      s.unrelayed.clear();
      s.unasked = 0;
      for (let i = 0; i < this.pieceCount; i++) {
        if (s.advertised[i]) continue;
        s.advertised[i] = 1;
        this.o.advertise(peer, i);
      }
    }
  }

  /** Drops `index` from the peer's pending pieces; false when it was not pending. */
  private settle(s: PeerState<P>, index: number): boolean {
    const p = s.pending.get(index);
    if (!p) return false;
    s.pending.delete(index);
    if (!p.asked) s.unasked--;
    return true;
  }

  private sizeOf(index: number): number {
    return index === this.pieceCount - 1 ? this.o.lastPieceLength : this.o.pieceLength;
  }
}
