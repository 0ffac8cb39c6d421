import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock } from './clock.js';

/**
 * Splits a long walk (a sweep over every swarm) into slices of `sliceMs`, giving the event loop
 * back between them, so that announces wait at most a slice behind it. A sweep of 60,000 peers
 * in one go held the loop 10–35 ms, which set the p99 of whole benchmark rounds.
 */
export class TimeSlices {
  private started = performance.now();
  private clockAtStart: number;

  /** `clock`: the walk's own clock, read once per slice (`now`) rather than once per item. */
  constructor(
    private readonly sliceMs = 2,
    private readonly clock?: Clock,
  ) {
    this.clockAtStart = clock?.now() ?? 0;
  }

  /** The clock's time at the start of the current slice. */
  get now(): number {
    return this.clockAtStart;
  }

  /** True once the current slice is used up: time to `yield()`. Cheap enough to ask per item. */
  due(): boolean {
    return performance.now() - this.started >= this.sliceMs;
  }

  /** Lets the event loop run once, then starts a new slice. */
  async yield(): Promise<void> {
    await nextTurn();
    this.started = performance.now();
    this.clockAtStart = this.clock?.now() ?? 0;
  }
}
