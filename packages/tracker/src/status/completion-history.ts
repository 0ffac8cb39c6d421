import type { SwarmStats } from '../store/types.js';

export interface HistoryPoint {
  /** Milliseconds since the epoch. */
  t: number;
  seeds: number;
  leechers: number;
  /** `completed` events so far. */
  completed: number;
}

/** t, seeds, leechers, completed: one point's numbers, laid out in a row. */
const FIELDS = 4;

/**
 * Swarm counts over time in a fixed number of points. A rollout can last minutes or days, so
 * rather than dropping the oldest points the history halves its resolution when full (keeps
 * every other point and doubles the spacing): the chart always spans the whole rollout and
 * memory stays at `capacity` points per swarm.
 */
export class CompletionHistory {
  /**
   * The points as rows of one Float64Array, grown as needed: with 10,000 swarms, an object per
   * point (and a boxed number for its time) made hundreds of thousands of small objects for
   * every major GC to mark, on the same core that answers announces.
   */
  private rows = new Float64Array(4 * FIELDS);
  private count = 0;
  private stepMs: number;

  constructor(
    private readonly capacity = 120,
    initialStepMs = 1000,
  ) {
    if (capacity < 4) throw new RangeError('a completion history needs at least 4 points');
    this.stepMs = initialStepMs;
  }

  /**
   * Records the counts at `now`. The newest point follows the live counts until it is
   * `stepMs` past the point before it; then it stays and a new point starts.
   */
  add(now: number, stats: SwarmStats): void {
    const n = this.count;
    if (n >= 2 && now - this.rows[(n - 2) * FIELDS]! < this.stepMs) {
      // Updated in place: this runs on every announce.
      this.write(n - 1, now, stats);
      return;
    }
    if (n >= 2 && this.holds(n - 1, stats) && this.holds(n - 2, stats)) {
      // A plateau is drawn from its two ends, so its newest point just moves on. Points added
      // every step for swarms that do not change were, with 10,000 swarms, a megabyte a second
      // of long-lived memory and a major GC every minute.
      this.rows[(n - 1) * FIELDS] = now;
      return;
    }
    if (n >= this.capacity) this.halve();
    if (this.count * FIELDS === this.rows.length) this.grow();
    this.write(this.count++, now, stats);
  }

  points(): HistoryPoint[] {
    const out: HistoryPoint[] = [];
    const rows = this.rows;
    for (let i = 0; i < this.count; i++) {
      const at = i * FIELDS;
      out.push({
        t: rows[at]!,
        seeds: rows[at + 1]!,
        leechers: rows[at + 2]!,
        completed: rows[at + 3]!,
      });
    }
    return out;
  }

  /** Time of the newest point, 0 when empty. */
  lastAt(): number {
    return this.count > 0 ? this.rows[(this.count - 1) * FIELDS]! : 0;
  }

  get spacingMs(): number {
    return this.stepMs;
  }

  /** Whether the point has these counts. */
  private holds(point: number, stats: SwarmStats): boolean {
    const at = point * FIELDS;
    const rows = this.rows;
    return (
      rows[at + 1] === stats.complete &&
      rows[at + 2] === stats.incomplete &&
      rows[at + 3] === stats.downloaded
    );
  }

  private write(point: number, now: number, stats: SwarmStats): void {
    const at = point * FIELDS;
    this.rows[at] = now;
    this.rows[at + 1] = stats.complete;
    this.rows[at + 2] = stats.incomplete;
    this.rows[at + 3] = stats.downloaded;
  }

  private grow(): void {
    const points = Math.min(this.capacity, (this.rows.length / FIELDS) * 2);
    const rows = new Float64Array(points * FIELDS);
    rows.set(this.rows);
    this.rows = rows;
  }

  private halve(): void {
    // Keep the first point (the start of the rollout) and every other one after it.
    let w = 0;
    for (let r = 0; r < this.count; r += 2) {
      this.rows.copyWithin(w * FIELDS, r * FIELDS, r * FIELDS + FIELDS);
      w++;
    }
    this.count = w;
    this.stepMs *= 2;
  }
}
