/**
 * Request pipelining policy: how many 16 KiB block requests to keep outstanding per peer.
 *
 * A peer can only send what it has been asked for, so the queue must cover the bandwidth-delay
 * product or the link idles between requests. We size the queue to what the peer delivered in
 * the last `horizonSec` seconds: a fast peer on a datacenter link gets hundreds of blocks, a slow
 * one a few (so a slow peer does not sit on blocks that the endgame would have to duplicate).
 * A new peer starts at 64 blocks (1 MiB), enough for a 10 Gbit/s link with 0.8 ms RTT.
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
    this.initial = options.initial ?? 64;
    this.min = options.min ?? 8;
    this.max = options.max ?? 512;
    this.horizonSec = options.horizonSec ?? 0.5;
    this.blockSize = options.blockSize ?? 16 * 1024;
  }

  /**
   * Outstanding requests for a peer that delivered `bytesPerSec` recently; `measured` is false
   * until its rate has been observed for long enough to mean anything.
   */
  depth(bytesPerSec: number, measured: boolean): number {
    if (!measured) return this.initial;
    const wanted = Math.ceil((bytesPerSec * this.horizonSec) / this.blockSize);
    // A fast peer never drops below the initial depth: one slow second must not starve it.
    const floor = bytesPerSec * this.horizonSec >= this.initial * this.blockSize ? this.initial : 0;
    return Math.min(this.max, Math.max(this.min, floor, wanted));
  }
}
