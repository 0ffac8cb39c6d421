import type { SwarmStats } from '../store/types.js';

export interface HistoryPoint {
  /** Milliseconds since the epoch. */
  t: number;
  seeds: number;
  leechers: number;
  /** `completed` events so far. */
  completed: number;
}

/**
 * Swarm counts over time in a fixed number of points. A rollout can last minutes or days, so
 * rather than dropping the oldest points the history halves its resolution when full (keeps
 * every other point and doubles the spacing): the chart always spans the whole rollout and
 * memory stays at `capacity` points per swarm.
 */
export class CompletionHistory {
  private readonly list: HistoryPoint[] = [];
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
    const n = this.list.length;
    if (n >= 2 && now - this.list[n - 2]!.t < this.stepMs) {
      // Updated in place: this runs on every announce.
      const last = this.list[n - 1]!;
      last.t = now;
      last.seeds = stats.complete;
      last.leechers = stats.incomplete;
      last.completed = stats.downloaded;
      return;
    }
    if (n >= this.capacity) this.halve();
    this.list.push({
      t: now,
      seeds: stats.complete,
      leechers: stats.incomplete,
      completed: stats.downloaded,
    });
  }

  points(): HistoryPoint[] {
    return this.list.map((p) => ({ ...p }));
  }

  /** Time of the newest point, 0 when empty. */
  lastAt(): number {
    return this.list.at(-1)?.t ?? 0;
  }

  get spacingMs(): number {
    return this.stepMs;
  }

  private halve(): void {
    // Keep the first point (the start of the rollout) and every other one after it.
    let w = 0;
    for (let r = 0; r < this.list.length; r += 2) this.list[w++] = this.list[r]!;
    this.list.length = w;
    this.stepMs *= 2;
  }
}
