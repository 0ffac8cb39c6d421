import type { PeerAddress } from '@distributor/core';

/**
 * Peer selection policy: which announced peers to connect to.
 *
 * In a trusted fleet every peer is equally good a priori, so candidates are shuffled (which
 * spreads a thousand machines over each other rather than onto the first few in the tracker's
 * list). We skip ourselves, peers we are connected or connecting to (including those that
 * dialled us and told us their listening address), banned peers, and peers whose last attempt
 * failed until their backoff has passed (doubling from 5 s up to 5 min), so a dead address costs
 * a few SYNs per hour rather than one per announce.
 */
export interface PeerSelectionOptions {
  now?: () => number;
  random?: () => number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
}

interface Failure {
  count: number;
  retryAt: number;
}

export const peerKey = (p: PeerAddress) =>
  p.ip.includes(':') ? `[${p.ip}]:${p.port}` : `${p.ip}:${p.port}`;

export class PeerSelectionPolicy {
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly failures = new Map<string, Failure>();
  private readonly banned = new Set<string>();
  private readonly self = new Set<string>();
  /** Listening addresses of peers connected by a connection they opened, and how many. */
  private readonly reachedUs = new Map<string, number>();

  constructor(options: PeerSelectionOptions = {}) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.baseBackoffMs = options.baseBackoffMs ?? 5_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 300_000;
  }

  /** Our own listen addresses: the tracker hands them back to us. */
  addSelf(address: PeerAddress): void {
    this.self.add(peerKey(address));
  }

  ban(address: PeerAddress): void {
    this.banned.add(peerKey(address));
  }

  isBanned(address: PeerAddress): boolean {
    // Not by IP alone: on one host (or behind NAT) many honest peers share an address. The
    // engine also bans by peer id, which covers a banned peer that reconnects from a new port.
    return this.banned.has(peerKey(address));
  }

  connectFailed(address: PeerAddress): void {
    const key = peerKey(address);
    const count = (this.failures.get(key)?.count ?? 0) + 1;
    const delay = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** (count - 1));
    this.failures.set(key, { count, retryAt: this.now() + delay });
  }

  connected(address: PeerAddress): void {
    this.failures.delete(peerKey(address));
  }

  /**
   * A peer that dialled us listens at `address` (BEP 10's `p`): while it stays connected,
   * dialling that address would only open a second connection to it.
   */
  incomingFrom(address: PeerAddress): void {
    const key = peerKey(address);
    this.reachedUs.set(key, (this.reachedUs.get(key) ?? 0) + 1);
  }

  /** The peer that dialled us from `address`'s listener is gone. */
  incomingGone(address: PeerAddress): void {
    const key = peerKey(address);
    const left = (this.reachedUs.get(key) ?? 0) - 1;
    if (left > 0) this.reachedUs.set(key, left);
    else this.reachedUs.delete(key);
  }

  /**
   * Up to `slots` candidates to dial now, in random order. `busy(key)` says whether a peer is
   * already connected or being dialled.
   */
  select(candidates: readonly PeerAddress[], slots: number, busy: (key: string) => boolean) {
    if (slots <= 0) return [];
    const now = this.now();
    const seen = new Set<string>();
    const eligible: PeerAddress[] = [];
    for (const peer of candidates) {
      const key = peerKey(peer);
      if (seen.has(key)) continue;
      seen.add(key);
      if (this.self.has(key) || this.reachedUs.has(key) || busy(key) || this.isBanned(peer)) {
        continue;
      }
      const failure = this.failures.get(key);
      if (failure && failure.retryAt > now) continue;
      eligible.push(peer);
    }
    for (let i = eligible.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [eligible[i], eligible[j]] = [eligible[j]!, eligible[i]!];
    }
    return eligible.slice(0, slots);
  }
}
