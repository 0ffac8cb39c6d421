import type { SwarmStats, SwarmTotals } from './types.js';

/** Sums swarm counts into the totals every store reports; empty swarms do not count. */
export function sumTotals(
  stats: Iterable<Pick<SwarmStats, 'complete' | 'incomplete'>>,
): SwarmTotals {
  let swarms = 0;
  let seeds = 0;
  let leechers = 0;
  for (const s of stats) {
    if (s.complete + s.incomplete === 0) continue;
    swarms++;
    seeds += s.complete;
    leechers += s.incomplete;
  }
  return { swarms, seeds, leechers };
}
