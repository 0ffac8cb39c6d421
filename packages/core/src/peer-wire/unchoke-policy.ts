/** What the unchoke policy needs from a connection it manages. */
export interface UnchokeCandidate {
  readonly peerInterested: boolean;
  choke(): void;
  unchoke(): void;
}

/**
 * Decides which interested peers get upload slots. One policy instance is shared by every
 * connection of an owner (all torrents of a seeder, the one torrent of a client), so that the
 * slot limit bounds the owner's total upload fan-out.
 */
export interface UnchokePolicy {
  interested(peer: UnchokeCandidate): void;
  uninterested(peer: UnchokeCandidate): void;
  remove(peer: UnchokeCandidate): void;
  /** Called periodically by the owner; moves slots on when peers are waiting. */
  rotate(): void;
  readonly unchokedCount: number;
  readonly waitingCount: number;
}

export interface SlotUnchokePolicyOptions {
  /** Upload slots; every interested peer is served while there are no more of them. */
  slots?: number;
}

/**
 * Keep every interested peer served, up to `slots` at once. When more peers are interested than
 * there are slots, each `rotate()` chokes the peers that have held a slot longest and hands their
 * slots to the peers that have waited longest (round-robin), so that nobody starves. There is no
 * tit-for-tat: in a datacenter fleet every machine is cooperative, and reciprocity only slows the
 * first copies down.
 */
export class SlotUnchokePolicy implements UnchokePolicy {
  readonly slots: number;
  /** Insertion order is slot age: the first entry has held its slot longest. */
  private readonly unchoked = new Set<UnchokeCandidate>();
  private readonly waiting = new Set<UnchokeCandidate>();

  constructor(options: SlotUnchokePolicyOptions = {}) {
    this.slots = options.slots ?? 32;
    if (!Number.isInteger(this.slots) || this.slots < 1) {
      throw new RangeError(`unchoke slots must be a positive integer, got ${this.slots}`);
    }
  }

  get unchokedCount(): number {
    return this.unchoked.size;
  }

  get waitingCount(): number {
    return this.waiting.size;
  }

  interested(peer: UnchokeCandidate): void {
    if (this.unchoked.has(peer) || this.waiting.has(peer)) return;
    if (this.unchoked.size < this.slots) this.grant(peer);
    else this.waiting.add(peer);
  }

  uninterested(peer: UnchokeCandidate): void {
    this.waiting.delete(peer);
    if (this.unchoked.delete(peer)) {
      peer.choke();
      this.fill();
    }
  }

  remove(peer: UnchokeCandidate): void {
    this.waiting.delete(peer);
    if (this.unchoked.delete(peer)) this.fill();
  }

  rotate(): void {
    let moves = Math.min(this.waiting.size, this.unchoked.size);
    for (const peer of this.unchoked) {
      if (moves-- <= 0) break;
      this.unchoked.delete(peer);
      peer.choke();
      if (peer.peerInterested) this.waiting.add(peer);
    }
    this.fill();
  }

  private fill(): void {
    for (const peer of this.waiting) {
      if (this.unchoked.size >= this.slots) break;
      this.waiting.delete(peer);
      if (peer.peerInterested) this.grant(peer);
    }
  }

  private grant(peer: UnchokeCandidate): void {
    this.unchoked.add(peer);
    peer.unchoke();
  }
}
