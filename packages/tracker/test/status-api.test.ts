import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { escapeBytes } from '@distributor/core';
import { ManualClock, startTracker } from '@distributor/tracker';
import type { SwarmDetailResponse, SwarmsResponse, Tracker } from '@distributor/tracker';
import { makeTorrent, metricValue, peerId, publish, request, spawnTracker } from './helpers.js';

const TOKEN = 'status-token-42';
const INTERVAL = 30;

interface Announce {
  infoHash: string;
  peer: number;
  left: number;
  downloaded?: number;
  event?: string;
  extra?: string;
}

async function announce(tracker: Tracker, a: Announce): Promise<void> {
  const parts = [
    `info_hash=${escapeBytes(Buffer.from(a.infoHash, 'hex'))}`,
    `peer_id=${escapeBytes(peerId(a.peer))}`,
    `port=${7000 + a.peer}`,
    'uploaded=0',
    `downloaded=${a.downloaded ?? 0}`,
    `left=${a.left}`,
    'compact=1',
  ];
  if (a.event) parts.push(`event=${a.event}`);
  if (a.extra) parts.push(a.extra);
  const res = await request(tracker.url, `/announce?${parts.join('&')}`);
  expect(res.status).toBe(200);
  expect(res.body.toString('latin1')).not.toContain('failure reason');
}

async function getJson<T>(tracker: Tracker, path: string, headers: Record<string, string> = {}) {
  const res = await request(tracker.url, path, { headers });
  return { status: res.status, headers: res.headers, body: JSON.parse(res.body.toString()) as T };
}

describe('status API on an open-status tracker', () => {
  const clock = new ManualClock();
  let tracker: Tracker;
  const iso = makeTorrent('big.iso', 1, 1_000_000);
  const evil = makeTorrent('<img src=x onerror=alert(1)>.bin', 2, 2000);

  beforeAll(async () => {
    tracker = await startTracker({
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      interval: INTERVAL,
      logLevel: 'silent',
      clock,
    });
    expect(
      (await publish(tracker.url, { root: 'isos', path: 'big.iso', ...iso }, TOKEN, 3600)).status,
    ).toBe(200);
    const evilPath = '<img src=x onerror=alert(1)>.bin';
    expect(
      (await publish(tracker.url, { root: 'x', path: evilPath, ...evil }, TOKEN, 3600)).status,
    ).toBe(200);

    // A seed, two leechers (one reporting rate and location), then progress over time.
    await announce(tracker, { infoHash: iso.infoHash, peer: 1, left: 0, event: 'started' });
    await announce(tracker, { infoHash: iso.infoHash, peer: 2, left: 1_000_000, event: 'started' });
    await announce(tracker, {
      infoHash: iso.infoHash,
      peer: 3,
      left: 1_000_000,
      event: 'started',
      extra: 'rate=2048&location=dc1%2Frack7',
    });
    for (let i = 1; i <= 3; i++) {
      clock.advance(INTERVAL * 1000);
      await announce(tracker, { infoHash: iso.infoHash, peer: 1, left: 0 });
      // Peer 2 makes no progress; peer 3 gains 100 kB per interval and completes at the end.
      await announce(tracker, { infoHash: iso.infoHash, peer: 2, left: 1_000_000 });
      await announce(tracker, {
        infoHash: iso.infoHash,
        peer: 3,
        left: i === 3 ? 0 : 1_000_000 - i * 100_000,
        downloaded: i === 3 ? 1_000_000 : i * 100_000,
        event: i === 3 ? 'completed' : undefined,
        extra: 'rate=2048&location=dc1%2Frack7',
      });
    }
    await announce(tracker, { infoHash: evil.infoHash, peer: 4, left: 2000, event: 'started' });
  });
  afterAll(async () => {
    await tracker.close();
  });

  it('GET /api/swarms lists every published file with counts, rate, stuck and history', async () => {
    const { status, headers, body } = await getJson<SwarmsResponse>(tracker, '/api/swarms');
    expect(status).toBe(200);
    expect(headers['cache-control']).toBe('no-store');
    expect(body).toMatchObject({
      generatedAt: clock.now(),
      interval: INTERVAL,
      stuckAfterSec: 3 * INTERVAL,
      totals: { files: 2, seeds: 2, leechers: 2, completed: 1, downloadRate: 0, stuck: 1 },
      tracker: { files: 2, swarms: 2, seeds: 2, leechers: 2 },
    });
    expect(body.swarms.map((s) => s.path)).toEqual(['big.iso', '<img src=x onerror=alert(1)>.bin']);
    const big = body.swarms[0]!;
    expect(big).toMatchObject({
      infoHash: iso.infoHash,
      root: 'isos',
      name: 'big.iso',
      length: 1_000_000,
      seeds: 2,
      leechers: 1,
      completed: 1,
      trackedPeers: 3,
      stuckCount: 1,
    });
    expect(typeof big.publishedAt).toBe('number');
    expect(typeof big.expiresAt).toBe('number');
    expect(big.stuck.map((p) => p.peerId)).toEqual([peerId(2).toString('hex')]);
    expect(big.stuck[0]).toMatchObject({
      address: '127.0.0.1:7002',
      left: 1_000_000,
      stuck: true,
      seed: false,
    });
    expect(big.history.length).toBeGreaterThanOrEqual(2);
    expect(big.history.at(-1)).toMatchObject({ seeds: 2, leechers: 1, completed: 1 });
    expect(big.history[0]!.t).toBeLessThan(big.history.at(-1)!.t);
  });

  it('GET /api/swarms/:infoHash adds every machine with its progress', async () => {
    const { status, body } = await getJson<SwarmDetailResponse>(
      tracker,
      `/api/swarms/${iso.infoHash.toUpperCase()}`,
    );
    expect(status).toBe(200);
    expect(body.infoHash).toBe(iso.infoHash);
    expect(body.peers).toHaveLength(3);
    const byPort = new Map(body.peers.map((p) => [p.address, p]));
    expect(byPort.get('127.0.0.1:7003')).toMatchObject({
      left: 0,
      seed: true,
      downloaded: 1_000_000,
      rate: 2048,
      rateReported: true,
      location: 'dc1/rack7',
      stuck: false,
    });
    expect(byPort.get('127.0.0.1:7002')).toMatchObject({ stuck: true, location: null });
    // The leecher that never sends rate= has a derived rate: no bytes gained, so zero.
    expect(byPort.get('127.0.0.1:7002')!.rate).toBe(0);
  });

  it('answers 400 for a malformed hash and 404 for an unpublished one', async () => {
    expect((await getJson(tracker, '/api/swarms/xyz')).status).toBe(400);
    const missing = await getJson<{ error: string }>(tracker, `/api/swarms/${'ab'.repeat(20)}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatch(/not published/);
  });

  it('agrees with /metrics on the counts', async () => {
    const { body } = await getJson<SwarmsResponse>(tracker, '/api/swarms');
    const metrics = (await request(tracker.url, '/metrics')).body.toString();
    expect(metricValue(metrics, 'dist_tracker_seeds')).toBe(body.tracker.seeds);
    expect(metricValue(metrics, 'dist_tracker_leechers')).toBe(body.tracker.leechers);
    expect(metricValue(metrics, 'dist_tracker_swarms')).toBe(body.tracker.swarms);
    expect(metricValue(metrics, 'dist_tracker_registry_entries')).toBe(body.totals.files);
    // On a closed tracker every swarm is published, so the per-file sums match the store too.
    expect(body.totals.seeds).toBe(body.tracker.seeds);
    expect(body.totals.leechers).toBe(body.tracker.leechers);
    const completedAnnounces = /^dist_tracker_announces_total\{event="completed"\} (\d+)$/m.exec(
      metrics,
    );
    expect(Number(completedAnnounces?.[1])).toBe(body.totals.completed);
  });

  it('serves the page with a strict content security policy, and its script', async () => {
    const page = await request(tracker.url, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(page.body.toString()).toContain('static/status.js');
    const script = await request(tracker.url, '/static/status.js');
    expect(script.status).toBe(200);
    expect(script.body.toString()).not.toMatch(
      /\.(inner|outer)HTML\s*=|insertAdjacentHTML|document\.write/,
    );
    expect((await request(tracker.url, '/static/../package.json')).status).toBe(404);
  });
});

describe('status API with --private-status', () => {
  let tracker: Tracker;

  beforeAll(async () => {
    tracker = await startTracker({
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      privateStatus: true,
      logLevel: 'silent',
    });
  });
  afterAll(async () => {
    await tracker.close();
  });

  it('needs the token as a Bearer header or ?token=', async () => {
    for (const path of ['/', '/api/swarms', `/api/swarms/${'ab'.repeat(20)}`, '/torrents']) {
      const denied = await request(tracker.url, path);
      expect(denied.status).toBe(401);
      expect(denied.headers['www-authenticate']).toBe('Bearer');
      const wrong = await request(tracker.url, path, {
        headers: { Authorization: 'Bearer nope' },
      });
      expect(wrong.status).toBe(401);
    }
    const header = await request(tracker.url, '/api/swarms', {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(header.status).toBe(200);
    expect((await request(tracker.url, `/api/swarms?token=${TOKEN}`)).status).toBe(200);
    expect((await request(tracker.url, `/?token=${TOKEN}`)).status).toBe(200);
    // The published-file list is a read-only view too.
    const list = await request(tracker.url, '/torrents', {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(list.status).toBe(200);
    // The script holds no data and is served without a token.
    expect((await request(tracker.url, '/static/status.js')).status).toBe(200);
  });

  it('refuses to start private without a token', async () => {
    await expect(
      startTracker({ port: 0, privateStatus: true, logLevel: 'silent' }),
    ).rejects.toThrow(/--private-status needs a --token/);
  });
});

describe('dist-tracker --private-status', () => {
  const BIN = new URL('../bin/dist-tracker.js', import.meta.url).pathname;

  it('exits 2 with one line when there is no token', () => {
    const res = spawnSync(
      process.execPath,
      [BIN, '--host', '127.0.0.1', '--port', '0', '--private-status'],
      {
        encoding: 'utf8',
        timeout: 15_000,
        env: { ...process.env, DIST_TOKEN: '' },
      },
    );
    expect(res.status).toBe(2);
    expect(res.stderr.trim()).toBe(
      'dist-tracker: --private-status needs a --token (or DIST_TOKEN) to check',
    );
  });

  it('closes the status API to callers without the token', async () => {
    const tracker = await spawnTracker(['--private-status', '--token', TOKEN]);
    try {
      expect((await request(tracker.url, '/api/swarms')).status).toBe(401);
      const ok = await request(tracker.url, '/api/swarms', {
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
      expect(ok.status).toBe(200);
    } finally {
      await tracker.stop();
    }
  });
});
