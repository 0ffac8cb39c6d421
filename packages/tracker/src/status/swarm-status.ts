import type { Clock } from '../clock.js';
import { peerIdKey } from '../store/types.js';
import type { AnnounceEvent, SwarmStats } from '../store/types.js';
import { CompletionHistory } from './completion-history.js';
import type { HistoryPoint } from './completion-history.js';
import { formatCompactAddress } from './address-text.js';
import { PeerTable } from './peer-table.js';
import type { PeerRow } from './peer-table.js';
import { TimeSlices } from '../time-slices.js';

/**
 * What the status page knows about each machine, learned from what announces already carry
 * (uploaded, downloaded, left, event) plus dist-get's optional `rate=` and `location=`.
 *
 * This lives in the tracker process, beside the store rather than in it: the store interface
 * is shared with the Redis store, and per-machine progress is a view for operators, not state
 * that announces depend on. With several trackers behind a load balancer each one sees the
 * machines that announce to it; the swarm counts on the page always come from the store.
 */

export interface ProgressReport {
  infoHash: string;
  /** 20 bytes. */
  peerId: Uint8Array;
  /** `peerId` as a latin1 string, when the caller has one: shared rather than copied. */
  peerKey?: string | undefined;
  /** BEP 23 / BEP 7 compact address; made readable only when someone looks. */
  address: Uint8Array;
  event: AnnounceEvent;
  uploaded: number;
  downloaded: number;
  /** Undefined when the client did not say. */
  left: number | undefined;
  /** Download rate the client measured itself (bytes/s), when it sends one. */
  rate?: number | undefined;
  location?: string | undefined;
  /** Counts the store answered this announce with, for the completion history. */
  stats: SwarmStats;
}

export interface PeerStatus {
  /** 40 hex digits. */
  peerId: string;
  address: string;
  location: string | null;
  left: number | null;
  uploaded: number;
  downloaded: number;
  /** Bytes/s: as the client reported it, else derived from `downloaded` between announces. */
  rate: number;
  /** Whether `rate` was sent by the client rather than derived. */
  rateReported: boolean;
  seed: boolean;
  firstSeenAt: number;
  lastAnnounceAt: number;
  /** Last time `left` changed (or the first announce). */
  lastProgressAt: number;
  stuck: boolean;
}

export interface SwarmActivity {
  /** Sum of the leechers' rates, bytes/s. */
  downloadRate: number;
  /** Machines this tracker process knows about in the swarm. */
  trackedPeers: number;
  /** Leechers whose `left` has not changed for `stuckAfterMs`. */
  stuckCount: number;
  /** The first `maxStuck` of them. */
  stuck: PeerStatus[];
  history: HistoryPoint[];
}

export interface SwarmStatusOptions {
  clock: Clock;
  /** Announce interval in seconds: peers are forgotten after 2x, stuck after `stuckIntervals`x. */
  interval: number;
  /** A leecher whose `left` stays the same this many intervals is stuck. */
  stuckIntervals?: number;
  /** Most machines tracked over all swarms; announces from more are counted but not detailed. */
  maxPeers?: number;
  /** Most swarms tracked; the least recently announced one is dropped beyond it. */
  maxSwarms?: number;
  /** sweep() gives the event loop back after this much work (ms). */
  sweepSliceMs?: number;
  /** Points kept per completion history. */
  historyPoints?: number;
}

interface SwarmRecord {
  peers: PeerTable;
  history: CompletionHistory;
}

export class SwarmStatusBoard {
  readonly stuckAfterMs: number;
  private readonly peerTtlMs: number;
  private readonly clock: Clock;
  private readonly maxPeers: number;
  private readonly maxSwarms: number;
  private readonly historyPoints: number;
  private readonly sweepSliceMs: number;
  private readonly swarms = new Map<string, SwarmRecord>();
  private peerCount = 0;
  /** Announces from machines not detailed because `maxPeers` was reached. */
  untracked = 0;

  constructor(options: SwarmStatusOptions) {
    this.clock = options.clock;
    this.peerTtlMs = 2 * options.interval * 1000;
    this.stuckAfterMs = (options.stuckIntervals ?? 3) * options.interval * 1000;
    this.maxPeers = options.maxPeers ?? 100_000;
    this.maxSwarms = options.maxSwarms ?? 10_000;
    this.historyPoints = options.historyPoints ?? 120;
    this.sweepSliceMs = options.sweepSliceMs ?? 2;
  }

  /** Called once per answered announce; cheap (a few map operations). */
  record(report: ProgressReport): void {
    const now = this.clock.now();
    let swarm = this.swarms.get(report.infoHash);
    if (!swarm) {
      if (this.swarms.size >= this.maxSwarms) this.dropOldestSwarm();
      swarm = { peers: new PeerTable(), history: new CompletionHistory(this.historyPoints) };
      this.swarms.set(report.infoHash, swarm);
    }
    swarm.history.add(now, report.stats);

    const key = report.peerKey ?? peerIdKey(report.peerId);
    const table = swarm.peers;
    const slot = table.slotOf(key);
    if (report.event === 'stopped') {
      if (slot !== undefined) {
        table.remove(key);
        this.peerCount--;
      }
      return;
    }
    const left = report.left ?? null;
    const rateReported = report.rate !== undefined;
    if (slot !== undefined) {
      const seconds = (now - table.lastAnnounceAtOf(slot)) / 1000;
      const gained = report.downloaded - table.downloadedAt(slot);
      table.write(slot, {
        address: report.address,
        location: report.location ?? table.locationAt(slot),
        left,
        uploaded: report.uploaded,
        downloaded: report.downloaded,
        rate: rateReported ? report.rate! : seconds > 0 && gained > 0 ? gained / seconds : 0,
        rateReported,
        lastAnnounceAt: now,
        lastProgressAt: left !== table.leftAt(slot) ? now : table.lastProgressAtOf(slot),
      });
      return;
    }
    if (this.peerCount >= this.maxPeers) {
      this.untracked++;
      return;
    }
    table.add({
      key,
      address: report.address,
      location: report.location ?? null,
      left,
      uploaded: report.uploaded,
      downloaded: report.downloaded,
      rate: report.rate ?? 0,
      rateReported,
      firstSeenAt: now,
      lastAnnounceAt: now,
      lastProgressAt: now,
    });
    this.peerCount++;
  }

  /** Progress summary of one swarm (empty when no machine announced it to this tracker). */
  activity(infoHash: string, maxStuck = 20): SwarmActivity {
    const swarm = this.swarms.get(infoHash);
    if (!swarm) return { downloadRate: 0, trackedPeers: 0, stuckCount: 0, stuck: [], history: [] };
    this.expire(swarm);
    const now = this.clock.now();
    let downloadRate = 0;
    let stuckCount = 0;
    const stuck: PeerStatus[] = [];
    const table = swarm.peers;
    for (let slot = 0; slot < table.size; slot++) {
      const left = table.leftAt(slot);
      if (left === 0) continue;
      downloadRate += table.rateAt(slot);
      if (!this.isStuck(left, table.lastProgressAtOf(slot), now)) continue;
      stuckCount++;
      if (stuck.length < maxStuck) stuck.push(this.view(table.read(slot), now));
    }
    return {
      downloadRate: Math.round(downloadRate),
      trackedPeers: swarm.peers.size,
      stuckCount,
      stuck,
      history: swarm.history.points(),
    };
  }

  /** Every live machine of a swarm, most recently announced first, up to `limit`. */
  peers(infoHash: string, limit = 1000): PeerStatus[] {
    const swarm = this.swarms.get(infoHash);
    if (!swarm) return [];
    this.expire(swarm);
    const now = this.clock.now();
    return swarm.peers
      .slotsByRecency()
      .slice(0, limit)
      .map((slot) => this.view(swarm.peers.read(slot), now));
  }

  /**
   * Drops silent machines and swarms nobody announced for a while. Visits every tracked
   * machine, which is why it runs on the tracker's sweep timer, in slices, and never per
   * announce.
   */
  async sweep(): Promise<void> {
    const slices = new TimeSlices(this.sweepSliceMs, this.clock);
    for (const [infoHash, swarm] of this.swarms) {
      this.expire(swarm);
      if (swarm.peers.size === 0 && slices.now - swarm.history.lastAt() > this.peerTtlMs) {
        this.swarms.delete(infoHash);
      }
      if (slices.due()) await slices.yield();
    }
  }

  /** Forgets a swarm (its file was withdrawn). */
  forget(infoHash: string): void {
    const swarm = this.swarms.get(infoHash);
    if (!swarm) return;
    this.peerCount -= swarm.peers.size;
    this.swarms.delete(infoHash);
  }

  now(): number {
    return this.clock.now();
  }

  get trackedPeers(): number {
    return this.peerCount;
  }

  private isStuck(left: number | null, lastProgressAt: number, now: number): boolean {
    return left !== null && left > 0 && now - lastProgressAt >= this.stuckAfterMs;
  }

  private view(peer: PeerRow, now: number): PeerStatus {
    return {
      peerId: Buffer.from(peer.key, 'latin1').toString('hex'),
      address: formatCompactAddress(peer.address),
      location: peer.location,
      left: peer.left,
      uploaded: peer.uploaded,
      downloaded: peer.downloaded,
      rate: Math.round(peer.rate),
      rateReported: peer.rateReported,
      seed: peer.left === 0,
      firstSeenAt: peer.firstSeenAt,
      lastAnnounceAt: peer.lastAnnounceAt,
      lastProgressAt: peer.lastProgressAt,
      stuck: this.isStuck(peer.left, peer.lastProgressAt, now),
    };
  }

  private expire(swarm: SwarmRecord): void {
    this.peerCount -= swarm.peers.removeSilentSince(this.clock.now() - this.peerTtlMs);
  }

  /** A scan, but only when a new swarm arrives at the cap, which a rollout never reaches. */
  private dropOldestSwarm(): void {
    let oldest: string | undefined;
    let oldestAt = Infinity;
    for (const [infoHash, swarm] of this.swarms) {
      const at = swarm.history.lastAt();
      if (at < oldestAt) {
        oldest = infoHash;
        oldestAt = at;
      }
    }
    if (oldest !== undefined) this.forget(oldest);
  }
}
