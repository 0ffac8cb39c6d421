import { TrackerClient } from '@distributor/core';
import type { AnnounceEvent } from '@distributor/core';

interface Entry {
  infoHash: string;
  uploaded: () => number;
  nextAt: number;
  started: boolean;
}

export interface AnnouncerOptions {
  tracker: TrackerClient;
  peerId: Uint8Array;
  port: () => number;
  now?: () => number;
  onError?: (infoHash: string, err: Error) => void;
  /** Used until the tracker has told us its interval. */
  fallbackIntervalSec?: number;
}

/**
 * Announces every published torrent as a seed (left=0), at the interval the tracker asks for.
 * The tracker records the peer under the address the announce came from, which is why the
 * TrackerClient is built with --bind as its local address.
 */
export class Announcer {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private busy = false;

  constructor(private readonly options: AnnouncerOptions) {
    this.now = options.now ?? Date.now;
  }

  add(infoHash: string, uploaded: () => number): void {
    if (this.entries.has(infoHash)) return;
    this.entries.set(infoHash, { infoHash, uploaded, nextAt: 0, started: false });
  }

  /** Forgets a torrent and tells the tracker we stopped seeding it (best effort). */
  async remove(infoHash: string): Promise<void> {
    const entry = this.entries.get(infoHash);
    this.entries.delete(infoHash);
    if (entry?.started) await this.send(entry, 'stopped').catch(() => undefined);
  }

  /** Announces this torrent at the next tick (the tracker restarted and forgot its peers). */
  poke(infoHash: string): void {
    const entry = this.entries.get(infoHash);
    if (entry) entry.nextAt = 0;
  }

  has(infoHash: string): boolean {
    return this.entries.has(infoHash);
  }

  /** Announces what is due, a few at a time; called from the seeder's tick. */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const due = [...this.entries.values()].filter((e) => e.nextAt <= this.now());
      for (let i = 0; i < due.length; i += 8) {
        await Promise.all(due.slice(i, i + 8).map((e) => this.announce(e)));
      }
    } finally {
      this.busy = false;
    }
  }

  /** Announces 'stopped' for everything (shutdown), bounded by the tracker client's timeout. */
  async stopAll(): Promise<void> {
    const all = [...this.entries.values()].filter((e) => e.started);
    this.entries.clear();
    for (let i = 0; i < all.length; i += 16) {
      await Promise.all(all.slice(i, i + 16).map((e) => this.send(e, 'stopped').catch(() => 0)));
    }
  }

  private async announce(entry: Entry): Promise<void> {
    try {
      const interval = await this.send(entry, entry.started ? 'empty' : 'started');
      entry.started = true;
      entry.nextAt = this.now() + interval * 1000;
    } catch (err) {
      entry.nextAt = this.now() + (this.options.fallbackIntervalSec ?? 30) * 1000;
      this.options.onError?.(entry.infoHash, err as Error);
    }
  }

  private async send(entry: Entry, event: AnnounceEvent): Promise<number> {
    const res = await this.options.tracker.announce({
      infoHash: entry.infoHash,
      peerId: this.options.peerId,
      port: this.options.port(),
      uploaded: entry.uploaded(),
      downloaded: 0,
      left: 0,
      event,
      numwant: 0,
    });
    return Math.max(res.minInterval ?? 0, res.interval, 5);
  }
}
