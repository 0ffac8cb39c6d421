/**
 * Bytes per second over a sliding window of one-second buckets. Cheap enough to call per block.
 */
export class RateMeter {
  private readonly buckets: Float64Array;
  private readonly now: () => number;
  private head = 0;
  private headSecond: number;
  private readonly startedAt: number;

  constructor(now: () => number = Date.now, windowSec = 5) {
    this.now = now;
    this.buckets = new Float64Array(windowSec);
    this.startedAt = now();
    this.headSecond = Math.floor(this.startedAt / 1000);
  }

  add(bytes: number): void {
    this.advance();
    this.buckets[this.head]! += bytes;
  }

  /** Bytes per second over the window (or over the time since creation, if shorter). */
  rate(): number {
    this.advance();
    let total = 0;
    for (const b of this.buckets) total += b;
    const elapsed = Math.min(
      this.buckets.length,
      Math.max(0.25, (this.now() - this.startedAt) / 1000),
    );
    return total / elapsed;
  }

  /** Whether the window has filled once, so the rate means something. */
  get measured(): boolean {
    return this.now() - this.startedAt >= 1000;
  }

  private advance(): void {
    const second = Math.floor(this.now() / 1000);
    let steps = second - this.headSecond;
    if (steps <= 0) return;
    if (steps > this.buckets.length) steps = this.buckets.length;
    for (let i = 0; i < steps; i++) {
      this.head = (this.head + 1) % this.buckets.length;
      this.buckets[this.head] = 0;
    }
    this.headSecond = second;
  }
}
