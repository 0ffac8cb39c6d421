/** BEP 3 request size: every client serves 16 KiB blocks; most refuse anything larger. */
export const BLOCK_SIZE = 16 * 1024;

const MISSING = 0;
const REQUESTED = 1;
const RECEIVED = 2;
const NO_PEERS: readonly never[] = Object.freeze([]);

/**
 * A piece being assembled from blocks into a buffer of its own. Tracks, per block, whether it
 * is missing, requested (and from whom) or received, plus who sent data for the piece, so a
 * piece that fails its hash can be blamed on its senders.
 */
export class ActivePiece<P extends object> {
  readonly index: number;
  readonly length: number;
  readonly blockCount: number;
  readonly buffer: Uint8Array;
  readonly senders = new Set<P>();
  private readonly state: Uint8Array;
  private readonly requesters = new Map<number, P[]>();
  private cursor = 0;
  private receivedCount = 0;

  constructor(index: number, length: number, buffer: Uint8Array) {
    if (buffer.length < length) throw new RangeError('piece buffer too small');
    this.index = index;
    this.length = length;
    this.blockCount = Math.ceil(length / BLOCK_SIZE);
    this.buffer = buffer.subarray(0, length);
    this.state = new Uint8Array(this.blockCount);
  }

  blockOffset(block: number): number {
    return block * BLOCK_SIZE;
  }

  blockLength(block: number): number {
    return Math.min(BLOCK_SIZE, this.length - block * BLOCK_SIZE);
  }

  get received(): number {
    return this.receivedCount;
  }

  get complete(): boolean {
    return this.receivedCount === this.blockCount;
  }

  /** The first block nobody has been asked for, or -1. */
  nextMissing(): number {
    while (this.cursor < this.blockCount && this.state[this.cursor] !== MISSING) this.cursor++;
    return this.cursor < this.blockCount ? this.cursor : -1;
  }

  /** Endgame: a requested-but-not-received block that `peer` has not been asked for. */
  duplicateCandidate(peer: P, maxRequestsPerBlock: number): number {
    for (const [block, who] of this.requesters) {
      if (who.length < maxRequestsPerBlock && !who.includes(peer)) return block;
    }
    return -1;
  }

  markRequested(block: number, peer: P): void {
    if (this.state[block] === RECEIVED) return;
    this.state[block] = REQUESTED;
    const who = this.requesters.get(block);
    if (who) who.push(peer);
    else this.requesters.set(block, [peer]);
  }

  /** A request failed (choke, reject, timeout, disconnect): someone else may take the block. */
  requestFailed(block: number, peer: P): void {
    const who = this.requesters.get(block);
    if (!who) return;
    const i = who.indexOf(peer);
    if (i >= 0) who.splice(i, 1);
    if (who.length === 0) {
      this.requesters.delete(block);
      if (this.state[block] === REQUESTED) {
        this.state[block] = MISSING;
        if (block < this.cursor) this.cursor = block;
      }
    }
  }

  /**
   * Stores a block (copies `data`, which the caller may reuse). Returns the other peers the block was also requested from (to cancel), or
   * null when the block was not wanted (unrequested, wrong length, or already received).
   */
  receive(offset: number, data: Uint8Array, peer: P): readonly P[] | null {
    if (offset % BLOCK_SIZE !== 0) return null;
    const block = offset / BLOCK_SIZE;
    if (block >= this.blockCount || data.length !== this.blockLength(block)) return null;
    if (this.state[block] === RECEIVED) {
      this.requestFailed(block, peer);
      return null;
    }
    const who = this.requesters.get(block) ?? [];
    if (!who.includes(peer)) return null;
    this.buffer.set(data, offset);
    this.state[block] = RECEIVED;
    this.receivedCount++;
    this.senders.add(peer);
    this.requesters.delete(block);
    // Outside endgame the sender was the only one asked: skip an array per block.
    return who.length === 1 ? NO_PEERS : who.filter((p) => p !== peer);
  }

  /** Every peer with a request in flight for this piece. */
  requestedFrom(): Set<P> {
    const out = new Set<P>();
    for (const who of this.requesters.values()) for (const p of who) out.add(p);
    return out;
  }

  /** Forgets `peer`'s requests (it disconnected); returns how many were dropped. */
  dropPeer(peer: P): number {
    let dropped = 0;
    for (const [block, who] of [...this.requesters]) {
      if (who.includes(peer)) {
        this.requestFailed(block, peer);
        dropped++;
      }
    }
    return dropped;
  }
}
