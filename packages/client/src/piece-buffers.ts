/**
 * Piece buffers backed by SharedArrayBuffer: the hash worker reads them without a copy
 * (core's PieceHasher.digest), and they are reused, so a 2 GiB download touches a bounded,
 * fixed set of buffers. The pool's size is the memory budget for pieces in flight; when it is
 * exhausted, peers finish pieces already started instead of starting new ones.
 */
export class PieceBufferPool {
  readonly pieceLength: number;
  readonly capacity: number;
  private readonly free: Uint8Array[] = [];
  private allocated = 0;

  constructor(pieceLength: number, budgetBytes: number, minBuffers = 4) {
    this.pieceLength = pieceLength;
    this.capacity = Math.max(minBuffers, Math.floor(budgetBytes / pieceLength));
  }

  get inUse(): number {
    return this.allocated - this.free.length;
  }

  get available(): number {
    return this.capacity - this.inUse;
  }

  /** A buffer, or null when the budget is spent. */
  acquire(): Uint8Array | null {
    const reused = this.free.pop();
    if (reused) return reused;
    if (this.allocated >= this.capacity) return null;
    this.allocated++;
    return new Uint8Array(new SharedArrayBuffer(this.pieceLength));
  }

  release(buffer: Uint8Array): void {
    const whole = new Uint8Array(buffer.buffer, 0, this.pieceLength);
    this.free.push(whole);
  }
}
