/**
 * Request pipelining policy: how many 16 KiB block requests to keep outstanding per peer.
 *
 * A peer can only send what it has been asked for, so the queue must cover the bandwidth-delay
 * product or the link idles between requests. We size the queue to what the peer delivered in
 * the last `horizonSec` seconds: a fast peer on a datacenter link gets hundreds of blocks, a slow
 * one a few (so a slow peer does not sit on blocks that the endgame would have to duplicate).
 *
 * The start and the floor are shallow, 4 blocks (64 KiB). Every block asked for waits in the
 * sender's socket behind the ones asked before it, and in a swarm a piece can be passed on only
 * once it is whole, so deep queues at slow peers are a delay at every hop (16 peers on 20 Mbit/s
 * links, where each connection carries ~0.15 MB/s: a floor of 8 blocks was ~0.9 s of queue,
 * 1.22-1.40x T_min before, 1.20-1.31x after; with a start of 16 blocks, four pieces, a new peer
 * asked one early peer for all of its pieces at once, and the last came 2-3 s later,
 * docs/benchmarks.md). A fast peer outgrows both within a few round trips. The horizon is a
 * quarter of a second for the same reason: in that swarm the last peer finished 0.22 s earlier
 * on average than with half a second (six alternated pairs), and it still covers the
 * bandwidth-delay product of a link with a round trip under 250 ms.
 */
export interface PipelineDepthOptions {
  initial?: number;
  min?: number;
  max?: number;
  horizonSec?: number;
  blockSize?: number;
}

export class PipelineDepthPolicy {
  readonly initial: number;
  readonly min: number;
  readonly max: number;
  private readonly horizonSec: number;
  private readonly blockSize: number;

  constructor(options: PipelineDepthOptions = {}) {
    this.initial = options.initial ?? 4;
    this.min = options.min ?? 4;
    this.max = options.max ?? 512;
    this.horizonSec = options.horizonSec ?? 0.25;
    this.blockSize = options.blockSize ?? 16 * 1024;
  }

  /**
   * Outstanding requests for a peer that delivered `bytesPerSec` recently; `measured` is false
   * until its rate has been observed for long enough to mean anything.
   */
  depth(bytesPerSec: number, measured: boolean): number {
    // Before its first second a peer keeps the start depth, or more once the bytes so far say it
    // is fast: a 1 GiB loopback transfer lasts two seconds, and held at 16 blocks for the first
    // it ran 10% slower. Its rate so far still includes the connection's ramp, so it counts over
    // twice the horizon (with one horizon that transfer ran at 0.90-0.96x).
    const horizon = measured ? this.horizonSec : 2 * this.horizonSec;
    const wanted = Math.ceil((bytesPerSec * horizon) / this.blockSize);
    return Math.min(this.max, Math.max(measured ? this.min : this.initial, wanted));
  }
}
