/**
 * Piece picking policy: rarest first, random first pieces, endgame.
 *
 * Rarest first keeps every piece available somewhere in the swarm and spreads load: a fleet
 * that all started at piece 0 would all want the same piece from the origin at once. Until a
 * download holds a few pieces it picks at random instead (BitTorrent's "random first piece"):
 * rarity is meaningless when everyone has nothing, and random picks make new peers useful to
 * each other soonest. Ties are broken from a random starting index so peers that see the same
 * availability still diverge.
 */
export interface PiecePickerOptions {
  /** Pieces picked at random before rarest first takes over. */
  randomFirstPieces?: number;
  random?: () => number;
}

export class RarestFirstPicker {
  readonly pieceCount: number;
  /** Peers known to hold each piece (seeds are counted once in `seeds`). */
  private readonly availability: Uint32Array;
  /** 1 for pieces we hold (verified) or no longer want to pick. */
  private readonly done: Uint8Array;
  private seeds = 0;
  private doneCount = 0;
  private readonly randomFirst: number;
  private readonly random: () => number;

  constructor(pieceCount: number, options: PiecePickerOptions = {}) {
    this.pieceCount = pieceCount;
    this.availability = new Uint32Array(pieceCount);
    this.done = new Uint8Array(pieceCount);
    this.randomFirst = options.randomFirstPieces ?? 4;
    this.random = options.random ?? Math.random;
  }

  /** A peer announced its pieces. `has(i)` answers for each index. */
  addPeer(has: (index: number) => boolean): void {
    for (let i = 0; i < this.pieceCount; i++) if (has(i)) this.availability[i]!++;
  }

  removePeer(has: (index: number) => boolean): void {
    for (let i = 0; i < this.pieceCount; i++) {
      if (has(i) && this.availability[i]! > 0) this.availability[i]!--;
    }
  }

  /** A peer that has every piece (a seed, or BEP 6 have-all). */
  addSeed(): void {
    this.seeds++;
  }

  removeSeed(): void {
    if (this.seeds > 0) this.seeds--;
  }

  /** A peer announced one more piece. */
  addHave(index: number): void {
    if (index >= 0 && index < this.pieceCount) this.availability[index]!++;
  }

  availabilityOf(index: number): number {
    return (this.availability[index] ?? 0) + this.seeds;
  }

  /** We hold `index` now (verified): never pick it again. */
  markDone(index: number): void {
    if (this.done[index] === 1) return;
    this.done[index] = 1;
    this.doneCount++;
  }

  /** `index` must be fetched again (it failed its hash check). */
  markNeeded(index: number): void {
    if (this.done[index] !== 1) return;
    this.done[index] = 0;
    this.doneCount--;
  }

  isDone(index: number): boolean {
    return this.done[index] === 1;
  }

  get completed(): number {
    return this.doneCount;
  }

  /**
   * The next piece to start from a peer: one the peer has, we still need, and `skip` does not
   * exclude (pieces already being fetched or verified). Null when there is none.
   */
  pick(peerHas: (index: number) => boolean, skip: (index: number) => boolean): number | null {
    const n = this.pieceCount;
    const start = Math.floor(this.random() * n);
    if (this.doneCount < this.randomFirst) {
      // Reservoir sampling over the eligible pieces: uniform without building a list.
      let chosen: number | null = null;
      let seen = 0;
      for (let k = 0; k < n; k++) {
        const i = (start + k) % n;
        if (this.done[i] === 1 || !peerHas(i) || skip(i)) continue;
        seen++;
        if (this.random() * seen < 1) chosen = i;
      }
      return chosen;
    }
    let best: number | null = null;
    let bestAvailability = Infinity;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      const a = this.availability[i]!;
      // peerHas (one bit) before skip (the engine's map lookups): it is the cheaper test.
      if (a >= bestAvailability || this.done[i] === 1 || !peerHas(i) || skip(i)) continue;
      best = i;
      bestAvailability = a;
      if (a <= 1) break; // nothing is rarer than the one peer that has it
    }
    return best;
  }
}

/**
 * Endgame (BEP 3's "end game mode"): once every missing piece is already being fetched, idle
 * peers request the outstanding blocks too, so the last pieces are not held hostage by the
 * slowest peer. Duplicates are capped and cancelled as soon as one copy arrives.
 */
export const endgamePolicy = {
  /** Copies of one block in flight at once, the original request included. */
  maxRequestsPerBlock: 2,
  /** Endgame starts when no missing piece is left unstarted. */
  isEndgame(unstartedMissingPieces: number): boolean {
    return unstartedMissingPieces === 0;
  },
} as const;
