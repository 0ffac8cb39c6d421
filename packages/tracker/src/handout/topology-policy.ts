import type { PeerSample } from '../store/types.js';
import { PEER4_RECORD, PEER6_RECORD } from '../store/types.js';
import { zoneOf } from '../topology/location.js';
import type { Asker, HandoutPolicy, SampleRequest } from './policy.js';

export interface TopologyHandoutOptions {
  /**
   * Share of each handout taken from beyond the nearest tier that has peers (0 to 0.9). It
   * keeps racks connected to each other: without it a rack whose peers all lack a piece would
   * never see a peer that has it, and a rack with no origin would never start.
   */
  farShare?: number;
  /** Candidates drawn per peer handed out, so that near peers are found in a random sample. */
  oversample?: number;
  /** Most candidates drawn per announce, whatever numwant is (bounds the store's work). */
  maxSample?: number;
  /** Uniform [0, 1) source for rounding the far count; tests pass a fixed one. */
  random?: () => number;
}

export const DEFAULT_FAR_SHARE = 0.2;

interface Candidate {
  record: Uint8Array;
  v6: boolean;
  location: string;
}

/**
 * Rack-aware handout (issue 7; Kraken's and Dragonfly's answer to cross-rack traffic). Peers
 * are ranked in tiers: same rack, same zone, the rest (peers of unknown location count as the
 * rest). The handout is the nearest tier that has any peers, up to numwant, plus a share
 * `farShare` of the handout (on average; at least one peer when any exist) drawn from the
 * farther tiers, nearer tiers first, at random within a tier. So a rack pulls most bytes from inside itself and only a
 * trickle over the slow inter-rack links, yet every rack stays connected to the rest of the
 * swarm. The handout may be shorter than numwant: handing a peer farther ones it does not need
 * would only invite it to fetch across racks. An asker of unknown location is handed peers
 * at random, like the random policy does.
 */
export class TopologyHandoutPolicy implements HandoutPolicy {
  readonly name = 'topology';
  readonly wantsLocations = true;
  readonly farShare: number;
  private readonly oversample: number;
  private readonly maxSample: number;
  private readonly random: () => number;

  constructor(options: TopologyHandoutOptions = {}) {
    this.random = options.random ?? Math.random;
    this.farShare = options.farShare ?? DEFAULT_FAR_SHARE;
    this.oversample = options.oversample ?? 4;
    this.maxSample = options.maxSample ?? 400;
    if (!(this.farShare >= 0 && this.farShare <= 0.9)) {
      throw new RangeError(`far share must be from 0 to 0.9, got ${this.farShare}`);
    }
    if (!(this.oversample >= 1) || !(this.maxSample >= 1)) {
      throw new RangeError('oversample and maxSample must be at least 1');
    }
  }

  sampleRequest(asker: Asker): SampleRequest {
    const count = asker.location
      ? Math.min(Math.max(asker.numwant, asker.numwant * this.oversample), this.maxSample)
      : asker.numwant;
    return {
      count: Math.max(count, Math.min(asker.numwant, this.maxSample)),
      leechersOnly: asker.seed,
    };
  }

  select(candidates: PeerSample, asker: Asker): PeerSample {
    const all = unpack(candidates);
    const want = asker.numwant;
    if (!asker.location) return pack(all.slice(0, want));

    const zone = zoneOf(asker.location);
    const rack: Candidate[] = [];
    const sameZone: Candidate[] = [];
    const rest: Candidate[] = [];
    for (const c of shuffle(all)) {
      if (c.location === asker.location) rack.push(c);
      else if (c.location !== '' && zoneOf(c.location) === zone) sameZone.push(c);
      else rest.push(c);
    }
    const tiers = [rack, sameZone, rest].filter((t) => t.length > 0);
    if (tiers.length === 0) return pack([]);
    const [nearest, ...farther] = tiers as [Candidate[], ...Candidate[][]];
    const far = farther.flat();
    // far = share * total, near = (1 - share) * total  =>  far = near * share / (1 - share).
    // Rounded at random (1.25 is 1 three times in four, else 2) so that the far share is the
    // configured one on average: rounding up in small racks made every peer hold extra
    // cross-rack connections, and each pulled pieces over the slow link that a rack mate
    // already had (measured with bench:racks).
    const share = this.farShare;
    let farCount = 0;
    if (far.length > 0 && share > 0) {
      const nearCount = Math.min(nearest.length, Math.max(1, Math.ceil(want * (1 - share))));
      farCount = Math.max(1, Math.floor((nearCount * share) / (1 - share) + this.random()));
    }
    farCount = Math.min(farCount, far.length, want);
    const nearCount = Math.min(nearest.length, want - farCount);
    return pack([...nearest.slice(0, nearCount), ...far.slice(0, farCount)]);
  }
}

function unpack(sample: PeerSample): Candidate[] {
  const out: Candidate[] = [];
  for (let i = 0, o = 0; o < sample.v4.length; i++, o += PEER4_RECORD) {
    out.push({
      record: sample.v4.subarray(o, o + PEER4_RECORD),
      v6: false,
      location: sample.locations4?.[i] ?? '',
    });
  }
  for (let i = 0, o = 0; o < sample.v6.length; i++, o += PEER6_RECORD) {
    out.push({
      record: sample.v6.subarray(o, o + PEER6_RECORD),
      v6: true,
      location: sample.locations6?.[i] ?? '',
    });
  }
  return out;
}

function pack(picked: readonly Candidate[]): PeerSample {
  const v4 = picked.filter((c) => !c.v6);
  const v6 = picked.filter((c) => c.v6);
  return {
    v4: Buffer.concat(v4.map((c) => c.record)),
    v6: Buffer.concat(v6.map((c) => c.record)),
  };
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
