import type {
  AnnounceEvent,
  AnnounceParams,
  AnnounceResponse,
  PeerAddress,
} from '@distributor/core';
import type { Clock } from './clock.js';

export interface AnnounceStats {
  uploaded: number;
  downloaded: number;
  left: number;
}

export interface AnnouncerOptions {
  clock: Clock;
  /** Sends one announce (TrackerClient.announce bound to the URL and our ids). */
  send: (params: Omit<AnnounceParams, 'infoHash' | 'peerId' | 'port'>) => Promise<AnnounceResponse>;
  stats: () => AnnounceStats;
  /** How many peers we are connected to: few peers → announce again early. */
  connectedPeers: () => number;
  onPeers: (peers: PeerAddress[]) => void;
  onError: (err: Error, event: AnnounceEvent) => void;
  /** Below this many connected peers, re-announce early. */
  fewPeers?: number;
  /** First early re-announce delay; doubles each time, capped by the tracker's interval. */
  earlyMs?: number;
  numwant?: number;
}

/**
 * The announce lifecycle (BEP 3): `started` once, then periodic announces at the tracker's
 * interval, `completed` when the file is verified, `stopped` on the way out. While we have few
 * peers we announce sooner (from 5 s, doubling, never more often than the tracker's
 * `min interval`): in a fleet rollout the first announces see an almost empty swarm, and
 * waiting the full 300 s interval to learn about the machines that joined since would leave
 * the origin doing all the work.
 */
export class Announcer {
  private readonly o: Required<Omit<AnnouncerOptions, 'numwant'>> & { numwant?: number };
  private timer: unknown = null;
  private intervalMs = 300_000;
  private minIntervalMs = 0;
  private earlyDelay: number;
  private stopped = false;
  private lastAnnounceAt = 0;

  constructor(options: AnnouncerOptions) {
    this.o = { fewPeers: 5, earlyMs: 5_000, ...options };
    this.earlyDelay = this.o.earlyMs;
  }

  /** Sends `started`; rejects if the tracker cannot be reached (the caller decides). */
  async start(): Promise<AnnounceResponse> {
    const res = await this.announce('started');
    this.scheduleNext();
    return res;
  }

  async completed(): Promise<void> {
    await this.announce('completed').catch((err: Error) => this.o.onError(err, 'completed'));
    this.scheduleNext();
  }

  /** Announces `stopped` (best effort, bounded by the send's own timeout) and stops. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTimer();
    await this.announce('stopped').catch((err: Error) => this.o.onError(err, 'stopped'));
  }

  /** Delay until the next regular announce, for tests and progress output. */
  nextDelayMs(): number {
    const few = this.o.connectedPeers() < this.o.fewPeers;
    if (!few) return this.intervalMs;
    return Math.min(this.intervalMs, Math.max(this.minIntervalMs, this.earlyDelay));
  }

  private async announce(event: AnnounceEvent): Promise<AnnounceResponse> {
    const params: Omit<AnnounceParams, 'infoHash' | 'peerId' | 'port'> = {
      ...this.o.stats(),
      event,
    };
    if (event === 'stopped') params.numwant = 0;
    else if (this.o.numwant !== undefined) params.numwant = this.o.numwant;
    this.lastAnnounceAt = this.o.clock.now();
    const res = await this.o.send(params);
    if (res.interval > 0) this.intervalMs = res.interval * 1000;
    if (res.minInterval !== undefined) this.minIntervalMs = res.minInterval * 1000;
    if (event !== 'stopped' && res.peers.length > 0) this.o.onPeers(res.peers);
    return res;
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    this.cancelTimer();
    const delay = this.nextDelayMs();
    if (delay < this.intervalMs) this.earlyDelay = Math.min(this.earlyDelay * 2, this.intervalMs);
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = null;
      if (this.stopped) return;
      this.announce('empty')
        .catch((err: Error) => this.o.onError(err, 'empty'))
        .finally(() => this.scheduleNext());
    }, delay);
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.o.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  get lastAnnounce(): number {
    return this.lastAnnounceAt;
  }
}
