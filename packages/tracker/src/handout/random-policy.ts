import type { PeerSample } from '../store/types.js';
import { PEER4_RECORD, PEER6_RECORD } from '../store/types.js';
import type { Asker, HandoutPolicy, SampleRequest } from './policy.js';

/**
 * Uniformly random peers, numwant of them. A seed is handed only leechers: another seed has
 * nothing it needs, and every connection it spends on one is upload capacity a leecher lacks.
 */
export class RandomHandoutPolicy implements HandoutPolicy {
  readonly name = 'random';

  sampleRequest(asker: Asker): SampleRequest {
    return { count: asker.numwant, leechersOnly: asker.seed };
  }

  select(candidates: PeerSample, asker: Asker): PeerSample {
    const n4 = candidates.v4.length / PEER4_RECORD;
    const n6 = candidates.v6.length / PEER6_RECORD;
    if (n4 + n6 <= asker.numwant) return candidates;
    // The store may return a spare; keep IPv4 first (what nearly every client can use).
    const keep4 = Math.min(n4, asker.numwant);
    const keep6 = asker.numwant - keep4;
    return {
      v4: candidates.v4.subarray(0, keep4 * PEER4_RECORD),
      v6: candidates.v6.subarray(0, keep6 * PEER6_RECORD),
    };
  }
}
