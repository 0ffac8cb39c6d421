import { describe, expect, it } from '@jest/globals';
import {
  CompletionHistory,
  ManualClock,
  SwarmStatusBoard,
  formatCompactAddress,
  parseExtraParams,
} from '@distributor/tracker';
import type { ProgressReport } from '@distributor/tracker';
import { peerId, randomHash } from './helpers.js';

const HASH = randomHash(1);
const INTERVAL = 30;

function report(peer: number, fields: Partial<ProgressReport> = {}): ProgressReport {
  return {
    infoHash: HASH,
    peerId: peerId(peer),
    address: Buffer.from([127, 0, 0, peer, 0x1a, 0xe1]),
    event: 'update',
    uploaded: 0,
    downloaded: 0,
    left: 1000,
    stats: { complete: 1, incomplete: 1, downloaded: 0 },
    ...fields,
  };
}

function board(clock: ManualClock, extra: { maxPeers?: number; maxSwarms?: number } = {}) {
  return new SwarmStatusBoard({ clock, interval: INTERVAL, ...extra });
}

describe('SwarmStatusBoard', () => {
  it('derives a rate from downloaded between announces when the client sends none', () => {
    const clock = new ManualClock();
    const b = board(clock);
    b.record(report(1, { event: 'started', downloaded: 0, left: 10_000 }));
    clock.advance(10_000);
    b.record(report(1, { downloaded: 5000, left: 5000 }));
    const [peer] = b.peers(HASH);
    expect(peer).toMatchObject({ rate: 500, rateReported: false, left: 5000, seed: false });
    expect(b.activity(HASH).downloadRate).toBe(500);
  });

  it('prefers the rate the client reports and sums leechers only', () => {
    const clock = new ManualClock();
    const b = board(clock);
    b.record(report(1, { rate: 1234, left: 10 }));
    b.record(report(2, { rate: 4000, left: 20 }));
    b.record(report(3, { rate: 9999, left: 0 }));
    const activity = b.activity(HASH);
    expect(activity.downloadRate).toBe(1234 + 4000);
    expect(activity.trackedPeers).toBe(3);
    expect(b.peers(HASH).find((p) => p.address === '127.0.0.3:6881')).toMatchObject({
      seed: true,
      rateReported: true,
    });
  });

  it('keeps every other machine intact when machines leave from the middle', async () => {
    const clock = new ManualClock();
    const b = board(clock);
    const machines = 200;
    const stopped = (peer: number) => peer >= 60 && (peer - 60) % 3 === 0;
    for (let peer = 1; peer <= machines; peer++) {
      b.record(report(peer, { event: 'started', left: peer * 10, uploaded: peer, rate: peer }));
      clock.advance(10);
    }
    // Stopped ones leave at once; the first 50 go silent and expire.
    for (let peer = 1; peer <= machines; peer++) {
      if (stopped(peer)) b.record(report(peer, { event: 'stopped' }));
    }
    clock.advance(2 * INTERVAL * 1000 - 100 * 10);
    for (let peer = 51; peer <= machines; peer++) {
      if (stopped(peer)) continue;
      b.record(report(peer, { left: peer * 10, uploaded: peer, rate: peer }));
      clock.advance(1);
    }
    await b.sweep();
    const listed = b.peers(HASH);
    const expected = [];
    for (let peer = 51; peer <= machines; peer++) {
      if (!stopped(peer)) expected.push(peer);
    }
    expect(listed).toHaveLength(expected.length);
    expect(b.trackedPeers).toBe(expected.length);
    for (const status of listed) {
      const peer = Number(status.address.split('.')[3]!.split(':')[0]);
      expect(expected).toContain(peer);
      expect(status).toMatchObject({ left: peer * 10, uploaded: peer, rate: peer });
      expect(status.peerId).toBe(peerId(peer).toString('hex'));
    }
    // Most recently announced first.
    expect(listed[0]!.address).toBe(`127.0.0.${machines}:6881`);
  });

  it('calls a leecher stuck after three intervals without a change in left', () => {
    const clock = new ManualClock();
    const b = board(clock);
    b.record(report(1, { left: 500 }));
    b.record(report(2, { left: 500 }));
    b.record(report(3, { left: 0 }));
    for (let i = 1; i <= 3; i++) {
      clock.advance(INTERVAL * 1000);
      b.record(report(1, { left: 500 }));
      b.record(report(2, { left: 500 - i }));
      b.record(report(3, { left: 0 }));
      // Two intervals of no change are not yet stuck.
      if (i < 3) expect(b.activity(HASH).stuck).toEqual([]);
    }
    const { stuck, stuckCount } = b.activity(HASH);
    expect(stuckCount).toBe(1);
    expect(stuck.map((p) => p.address)).toEqual(['127.0.0.1:6881']);
    expect(b.activity(HASH, 0)).toMatchObject({ stuckCount: 1, stuck: [] });
    expect(stuck[0]!.stuck).toBe(true);
    expect(b.peers(HASH).filter((p) => p.stuck)).toHaveLength(1);
    expect(b.stuckAfterMs).toBe(3 * INTERVAL * 1000);
  });

  it('forgets a machine on stopped and when it falls silent for two intervals', () => {
    const clock = new ManualClock();
    const b = board(clock);
    b.record(report(1));
    b.record(report(2));
    b.record(report(2, { event: 'stopped' }));
    expect(b.peers(HASH).map((p) => p.address)).toEqual(['127.0.0.1:6881']);
    clock.advance(2 * INTERVAL * 1000 + 1);
    expect(b.peers(HASH)).toEqual([]);
    expect(b.trackedPeers).toBe(0);
  });

  it('bounds the machines it details and counts the rest', () => {
    const clock = new ManualClock();
    const b = board(clock, { maxPeers: 3 });
    for (let i = 1; i <= 5; i++) b.record(report(i));
    expect(b.trackedPeers).toBe(3);
    expect(b.untracked).toBe(2);
    // Known machines still update.
    b.record(report(1, { left: 1 }));
    expect(b.peers(HASH).find((p) => p.address === '127.0.0.1:6881')?.left).toBe(1);
  });

  it('bounds the swarms it keeps, dropping the least recently announced', () => {
    const clock = new ManualClock();
    const b = board(clock, { maxSwarms: 2 });
    for (const [peer, hash] of [
      [1, 10],
      [1, 11],
      [2, 10],
      [1, 12],
    ] as const) {
      b.record(report(peer, { infoHash: randomHash(hash) }));
      clock.advance(1000);
    }
    expect(b.activity(randomHash(11)).trackedPeers).toBe(0);
    expect(b.activity(randomHash(10)).trackedPeers).toBe(2);
    expect(b.activity(randomHash(12)).trackedPeers).toBe(1);
    expect(b.trackedPeers).toBe(3);
  });

  it('sweeps away swarms nobody announces any more', async () => {
    const clock = new ManualClock();
    const b = board(clock);
    b.record(report(1));
    clock.advance(2 * INTERVAL * 1000 + 1);
    await b.sweep();
    expect(b.activity(HASH).history).toEqual([]);
  });
});

describe('CompletionHistory', () => {
  const stats = (done: number) => ({ complete: done, incomplete: 10 - done, downloaded: done });

  it('keeps the newest point live within a step and starts a new one after it', () => {
    const h = new CompletionHistory(8, 1000);
    h.add(0, stats(0));
    h.add(500, stats(1));
    h.add(800, stats(2));
    expect(h.points().map((p) => [p.t, p.completed])).toEqual([
      [0, 0],
      [800, 2],
    ]);
    h.add(1200, stats(3));
    expect(h.points().map((p) => p.completed)).toEqual([0, 2, 3]);
    h.add(1700, stats(4));
    expect(h.points().map((p) => p.completed)).toEqual([0, 2, 4]);
  });

  it('draws a plateau from its two ends, however long it lasts', () => {
    const h = new CompletionHistory(8, 1000);
    h.add(0, stats(0));
    h.add(1000, stats(2));
    for (let t = 2000; t <= 600_000; t += 1000) h.add(t, stats(2));
    expect(h.points().map((p) => [p.t, p.completed])).toEqual([
      [0, 0],
      [1000, 2],
      [600_000, 2],
    ]);
    expect(h.spacingMs).toBe(1000);
    h.add(601_000, stats(3));
    expect(h.points().map((p) => [p.t, p.completed])).toEqual([
      [0, 0],
      [1000, 2],
      [600_000, 2],
      [601_000, 3],
    ]);
  });

  it('stays within its capacity and still spans the whole rollout', () => {
    const h = new CompletionHistory(8, 1000);
    for (let i = 0; i <= 1000; i++) h.add(i * 1000, stats(i % 10));
    const points = h.points();
    expect(points.length).toBeLessThanOrEqual(8);
    expect(points[0]!.t).toBe(0);
    expect(points.at(-1)!.t).toBe(1_000_000);
    expect(h.spacingMs).toBeGreaterThan(1000);
    for (let i = 1; i < points.length; i++) expect(points[i]!.t).toBeGreaterThan(points[i - 1]!.t);
  });
});

describe('announce extras', () => {
  it('reads rate=, ignoring bad values', () => {
    expect(parseExtraParams('info_hash=x&rate=1500&location=dc1%2Frack7')).toEqual({ rate: 1500 });
    expect(parseExtraParams('rate=12.5')).toEqual({ rate: 12.5 });
    expect(parseExtraParams('rate=-1')).toEqual({ rate: undefined });
    expect(parseExtraParams('rate=1e9')).toEqual({ rate: undefined });
    expect(parseExtraParams('separate=1&xrate=5')).toEqual({ rate: undefined });
  });

  it('formats compact addresses for display', () => {
    expect(formatCompactAddress(Buffer.from([127, 0, 0, 1, 0x1a, 0xe1]))).toBe('127.0.0.1:6881');
    const v6 = Buffer.alloc(18);
    v6[15] = 1;
    v6.writeUInt16BE(6881, 16);
    expect(formatCompactAddress(v6)).toBe('[::1]:6881');
  });
});
