/**
 * Collects items and hands them over together: as soon as `max` are waiting, or `delayMs` after
 * the first of them arrived, whichever comes first. An item added while a batch runs waits for
 * the next one, so a batch never runs inside another.
 */
export class BatchQueue<T> {
  private items: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly run: (items: readonly T[]) => void,
    private readonly max: number,
    private readonly delayMs: number,
  ) {
    if (!(max >= 1)) throw new RangeError(`batch size must be at least 1, got ${max}`);
    if (!(delayMs >= 0)) throw new RangeError(`batch delay must be at least 0 ms, got ${delayMs}`);
  }

  add(item: T): void {
    this.items.push(item);
    if (this.items.length >= this.max && !this.running) this.flush();
    else this.timer ??= setTimeout(this.flush, this.delayMs);
  }

  /** Runs what is waiting now. */
  readonly flush = (): void => {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.running = true;
    try {
      this.run(items);
    } finally {
      this.running = false;
      // What was added during the run (or a run that threw) goes in the next batch.
      if (this.items.length > 0) this.timer ??= setTimeout(this.flush, this.delayMs);
    }
  };

  /** Drops everything waiting. */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
  }
}
