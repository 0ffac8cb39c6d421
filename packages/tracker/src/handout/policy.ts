import type { PeerSample } from '../store/types.js';

/** What the tracker knows about the peer asking for others. */
export interface Asker {
  /** Compact address (6 or 18 bytes) the peer is recorded under. */
  address: Uint8Array;
  seed: boolean;
  /** The `numwant` granted after clamping. */
  numwant: number;
  /** `zone/rack` (issue 7), from the announce or the topology file; undefined when unknown. */
  location?: string;
}

/** What to ask the store for: a random sample of this many peers, from these groups. */
export interface SampleRequest {
  count: number;
  leechersOnly: boolean;
}

/**
 * Decides which peers an announcing peer is handed. The store samples uniformly at random
 * (cheaply, without reading a whole swarm); a policy says how big a sample to draw and then
 * picks from it. A topology-aware policy (issue 7) draws more than `numwant` and keeps the
 * candidates nearest the asker; the random policy keeps what it gets. The store already
 * excludes the asker, and policies must never add it back.
 */
export interface HandoutPolicy {
  readonly name: string;
  /** The policy reads `PeerSample.locations4/6`, so the store must return them. */
  readonly wantsLocations?: boolean;
  sampleRequest(asker: Asker): SampleRequest;
  select(candidates: PeerSample, asker: Asker): PeerSample;
}
