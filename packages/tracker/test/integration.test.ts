import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  TrackerClient,
  TrackerFailureError,
  decode,
  parseAnnounceResponse,
  parseMetainfo,
  parseScrapeResponse,
} from '@distributor/core';
import { ManualClock, startTracker } from '@distributor/tracker';
import type { Tracker } from '@distributor/tracker';
import {
  announcePath,
  makeTorrent,
  peerId,
  publish,
  randomHash,
  request,
  tempDir,
} from './helpers.js';

const run = promisify(execFile);
const TOKEN = 'test-token-123';

function client(tracker: Tracker): TrackerClient {
  return new TrackerClient({ url: tracker.url, retries: 0, timeoutMs: 5000 });
}

async function announce(
  tracker: Tracker,
  args: Parameters<typeof announcePath>[0],
  localAddress?: string,
) {
  const res = await request(tracker.url, announcePath(args), localAddress ? { localAddress } : {});
  expect(res.status).toBe(200);
  return parseAnnounceResponse(res.body);
}

describe('closed tracker with a token', () => {
  const clock = new ManualClock();
  let tracker: Tracker;
  const iso = makeTorrent('file.iso', 1);
  const top = makeTorrent('top.iso', 2);
  const top2 = makeTorrent('top.iso', 3);

  beforeAll(async () => {
    tracker = await startTracker({
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      logLevel: 'silent',
      clock,
    });
  });
  afterAll(async () => {
    await tracker.close();
  });

  it('refuses announces for unpublished info hashes', async () => {
    await expect(
      client(tracker).announce({
        infoHash: iso.infoHash,
        peerId: peerId(1),
        port: 6881,
        uploaded: 0,
        downloaded: 0,
        left: 10,
      }),
    ).rejects.toThrow(TrackerFailureError);
  });

  it('needs the token to publish, renew and withdraw', async () => {
    const entry = { root: 'isos', path: 'sub/file.iso', ...iso };
    expect((await publish(tracker.url, entry)).status).toBe(401);
    const wrong = await publish(tracker.url, entry, 'nope');
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body.toString())).toHaveProperty('error');
    const renew = await request(tracker.url, '/torrents/renew', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ infoHashes: [iso.infoHash], ttlSec: 90 }),
    });
    expect(renew.status).toBe(401);
    const del = await request(tracker.url, `/torrents/${iso.infoHash}`, { method: 'DELETE' });
    expect(del.status).toBe(401);
  });

  it('publishes with the token, idempotently', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await publish(tracker.url, { root: 'isos', path: 'sub/file.iso', ...iso }, TOKEN);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body.toString())).toEqual({ infoHash: iso.infoHash, expiresInSec: 90 });
    }
    await publish(
      tracker.url,
      { root: 'isos', path: 'top.iso', ...top, mtimeMs: 1_750_000_000_000 },
      TOKEN,
    );
    await publish(
      tracker.url,
      { root: 'images', path: 'top.iso', ...top2, mtimeMs: 1_800_000_000_000 },
      TOKEN,
    );
  });

  it('rejects bad publications with a JSON 400', async () => {
    const cases: [string, object][] = [
      [
        iso.infoHash,
        {
          root: 'isos',
          path: 'x',
          mtimeMs: 1,
          torrent: Buffer.from(top.torrent).toString('base64'),
        },
      ],
      [
        iso.infoHash,
        {
          root: 'isos',
          path: '../x',
          mtimeMs: 1,
          torrent: Buffer.from(iso.torrent).toString('base64'),
        },
      ],
      [
        iso.infoHash,
        { root: '..', path: 'x', mtimeMs: 1, torrent: Buffer.from(iso.torrent).toString('base64') },
      ],
      [
        iso.infoHash,
        {
          root: 'isos',
          path: '/abs',
          mtimeMs: 1,
          torrent: Buffer.from(iso.torrent).toString('base64'),
        },
      ],
      [
        iso.infoHash,
        {
          root: 'isos',
          path: 'x',
          mtimeMs: -1,
          torrent: Buffer.from(iso.torrent).toString('base64'),
        },
      ],
      [iso.infoHash, { root: 'isos', path: 'x', mtimeMs: 1, torrent: 'not base64!' }],
      [iso.infoHash, { root: 'isos', path: 'x', mtimeMs: 1, torrent: 'aGVsbG8=' }],
      [
        iso.infoHash,
        {
          root: 'isos',
          path: 'x',
          mtimeMs: 1,
          torrent: Buffer.from(iso.torrent).toString('base64'),
          ttlSec: 0,
        },
      ],
      [
        'xyz',
        {
          root: 'isos',
          path: 'x',
          mtimeMs: 1,
          torrent: Buffer.from(iso.torrent).toString('base64'),
        },
      ],
    ];
    for (const [hash, body] of cases) {
      const res = await request(tracker.url, `/torrents/${hash}`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(body),
      });
      expect([res.status, JSON.parse(res.body.toString()).error]).toEqual([
        400,
        expect.any(String),
      ]);
    }
    const notJson = await request(tracker.url, `/torrents/${iso.infoHash}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
      body: '{"root":',
    });
    expect(notJson.status).toBe(400);
    expect(JSON.parse(notJson.body.toString())).toHaveProperty('error');
  });

  it('answers announces for published hashes with the other peers', async () => {
    const first = await announce(tracker, {
      infoHash: iso.infoHash,
      peer: 1,
      port: 7001,
      event: 'started',
    });
    expect(first.peers).toEqual([]);
    expect(first.interval).toBeGreaterThanOrEqual(30);
    expect(first.interval).toBeLessThanOrEqual(33);
    expect(first.minInterval).toBe(15);
    const second = await client(tracker).announce({
      infoHash: iso.infoHash,
      peerId: peerId(2),
      port: 7002,
      uploaded: 0,
      downloaded: 0,
      left: 0,
      event: 'started',
    });
    // A seed is handed leechers only; peer 1 is a leecher.
    expect(second.peers).toEqual([{ ip: '127.0.0.1', port: 7001 }]);
    expect(second).toMatchObject({ complete: 1, incomplete: 1 });
  });

  it('records the connection address, not a client-claimed ip=', async () => {
    const res = await announce(
      tracker,
      { infoHash: iso.infoHash, peer: 3, port: 7003, extra: 'ip=10.9.9.9' },
      '127.0.0.2',
    );
    expect(res.peers.map((p) => p.ip).sort()).toEqual(['127.0.0.1', '127.0.0.1']);
    const other = await announce(tracker, { infoHash: iso.infoHash, peer: 4, port: 7004 });
    expect(other.peers).toContainEqual({ ip: '127.0.0.2', port: 7003 });
    expect(other.peers.map((p) => p.ip)).not.toContain('10.9.9.9');
  });

  it('answers compact=0 with a dictionary list, with or without peer ids', async () => {
    const dict = await announce(tracker, {
      infoHash: iso.infoHash,
      peer: 4,
      port: 7004,
      compact: 0,
    });
    expect(dict.peers.length).toBe(3);
    expect(dict.peers.map((p) => p.peerId).sort()).toEqual(
      [1, 2, 3].map((n) => peerId(n).toString('hex')).sort(),
    );
    const res = await request(
      tracker.url,
      announcePath({
        infoHash: iso.infoHash,
        peer: 4,
        port: 7004,
        compact: 0,
        extra: 'no_peer_id=1',
      }),
    );
    expect(parseAnnounceResponse(res.body).peers.every((p) => p.peerId === undefined)).toBe(true);
  });

  it('honours numwant, clamped to the cap', async () => {
    const one = await announce(tracker, {
      infoHash: iso.infoHash,
      peer: 4,
      port: 7004,
      numwant: 1,
    });
    expect(one.peers).toHaveLength(1);
    const none = await announce(tracker, {
      infoHash: iso.infoHash,
      peer: 4,
      port: 7004,
      numwant: 0,
    });
    expect(none.peers).toHaveLength(0);
    const lots = await announce(tracker, {
      infoHash: iso.infoHash,
      peer: 4,
      port: 7004,
      numwant: 1_000_000,
    });
    expect(lots.peers).toHaveLength(3);
  });

  it('scrapes one, several or all published swarms', async () => {
    const c = client(tracker);
    const one = await c.scrape([iso.infoHash]);
    expect(one.get(iso.infoHash)).toEqual({ complete: 1, incomplete: 3, downloaded: 0 });
    const several = await c.scrape([iso.infoHash, top.infoHash, randomHash(1)]);
    expect(several.get(top.infoHash)).toEqual({ complete: 0, incomplete: 0, downloaded: 0 });
    expect(several.has(randomHash(1))).toBe(false);
    const all = await c.scrape([]);
    expect([...all.keys()]).toEqual([iso.infoHash]);
  });

  it('counts completed and forgets stopped peers', async () => {
    await announce(tracker, {
      infoHash: iso.infoHash,
      peer: 4,
      port: 7004,
      left: 0,
      event: 'completed',
    });
    await announce(
      tracker,
      { infoHash: iso.infoHash, peer: 3, port: 7003, event: 'stopped' },
      '127.0.0.2',
    );
    const stats = (await client(tracker).scrape([iso.infoHash])).get(iso.infoHash);
    expect(stats).toEqual({ complete: 2, incomplete: 1, downloaded: 1 });
  });

  it('serves torrents by path, ROOT/path and unique bare name, with our announce URL', async () => {
    for (const name of ['sub/file.iso', 'isos/sub/file.iso', 'file.iso']) {
      const res = await request(tracker.url, `/serve?${encodeURIComponent(name)}`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/x-bittorrent');
      const meta = await parseMetainfo(res.body);
      expect(meta.infoHash).toBe(iso.infoHash);
      expect(meta.announce).toEqual([`${tracker.url}/announce`]);
    }
    const viaHost = await request(tracker.url, '/serve?file.iso', {
      headers: { Host: 'tracker.example:6969' },
    });
    expect((await parseMetainfo(viaHost.body)).announce).toEqual([
      'http://tracker.example:6969/announce',
    ]);
    const fetched = await client(tracker).fetchTorrent('sub/file.iso');
    expect((await parseMetainfo(fetched)).infoHash).toBe(iso.infoHash);
  });

  it('works with the original client script verbatim (wget -O f.torrent "…/serve?f")', async () => {
    const tmp = tempDir();
    try {
      const out = join(tmp.dir, 'file.iso.torrent');
      await run('wget', ['-q', '-O', out, `${tracker.url}/serve?file.iso`], { timeout: 15_000 });
      expect((await parseMetainfo(readFileSync(out))).infoHash).toBe(iso.infoHash);
    } finally {
      tmp.cleanup();
    }
  });

  it('answers 409 for an ambiguous bare name and 404 for an unknown one, in one line', async () => {
    const amb = await request(tracker.url, '/serve?top.iso');
    expect(amb.status).toBe(409);
    expect(amb.body.toString()).toMatch(/^[^\n]*images\/top\.iso isos\/top\.iso\n$/);
    const unknown = await request(tracker.url, '/serve?missing.iso');
    expect(unknown.status).toBe(404);
    expect(unknown.body.toString().trim().split('\n')).toHaveLength(1);
    expect((await request(tracker.url, '/serve?isos/top.iso')).status).toBe(200);
  });

  it('serves the most recently modified file, overall or under a root', async () => {
    const latest = await parseMetainfo(await client(tracker).fetchLatest());
    expect(latest.infoHash).toBe(top2.infoHash);
    const underIsos = await parseMetainfo(await client(tracker).fetchLatest('isos'));
    expect(underIsos.infoHash).toBe(top.infoHash);
    expect((await request(tracker.url, '/serve_last_updated?nothing')).status).toBe(404);
  });

  it('lists published files with swarm counts', async () => {
    const res = await request(tracker.url, '/torrents');
    expect(res.status).toBe(200);
    const list = JSON.parse(res.body.toString()) as Record<string, unknown>[];
    expect(list).toHaveLength(3);
    const entry = list.find((e) => e['infoHash'] === iso.infoHash)!;
    expect(entry).toMatchObject({
      root: 'isos',
      path: 'sub/file.iso',
      name: 'file.iso',
      length: 100_000,
      pieceLength: 16384,
      mtimeMs: 1_730_000_000_000,
      complete: 2,
      incomplete: 1,
      downloaded: 1,
    });
    expect(entry['expiresAt']).toBe((entry['publishedAt'] as number) + 90_000);
  });

  it('renews leases and reports the missing ones', async () => {
    const res = await request(tracker.url, '/torrents/renew', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ infoHashes: [iso.infoHash, randomHash(2)], ttlSec: 120 }),
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({
      renewed: [iso.infoHash],
      missing: [randomHash(2)],
    });
  });

  it('expires silent peers after 2x interval and lapsed leases after their TTL', async () => {
    clock.advance(91_000); // past the 90 s leases of top/top2, within iso's 120 s renewal
    expect((await request(tracker.url, '/serve?isos/top.iso')).status).toBe(404);
    const lone = await announce(tracker, { infoHash: iso.infoHash, peer: 9, port: 7009 });
    // Everyone else last announced 91 s ago, more than 2 x 30 s.
    expect(lone.peers).toEqual([]);
    expect(lone).toMatchObject({ complete: 0, incomplete: 1 });
    clock.advance(30_000);
    await expect(
      client(tracker).announce({
        infoHash: iso.infoHash,
        peerId: peerId(9),
        port: 7009,
        uploaded: 0,
        downloaded: 0,
        left: 1,
      }),
    ).rejects.toThrow(/unregistered torrent/);
  });

  it('withdraws with 204, then 404', async () => {
    await publish(tracker.url, { root: 'isos', path: 'sub/file.iso', ...iso }, TOKEN);
    const auth = { Authorization: `Bearer ${TOKEN}` };
    expect(
      (await request(tracker.url, `/torrents/${iso.infoHash}`, { method: 'DELETE', headers: auth }))
        .status,
    ).toBe(204);
    expect(
      (await request(tracker.url, `/torrents/${iso.infoHash}`, { method: 'DELETE', headers: auth }))
        .status,
    ).toBe(404);
    expect((await request(tracker.url, '/serve?file.iso')).status).toBe(404);
  });

  it('exposes health and Prometheus metrics', async () => {
    const health = await request(tracker.url, '/healthz');
    expect(health.status).toBe(200);
    const metrics = (await request(tracker.url, '/metrics')).body.toString();
    expect(metrics).toMatch(/^dist_tracker_announces_total\{event="started"\} [1-9]/m);
    expect(metrics).toMatch(/^dist_tracker_announce_failures_total\{kind="unpublished"\} [1-9]/m);
    expect(metrics).toMatch(
      /^dist_tracker_request_duration_seconds_bucket\{le="0.005",endpoint="announce"\} [1-9]/m,
    );
    expect(metrics).toMatch(/^dist_tracker_leechers 1$/m);
    expect(metrics).toMatch(/^dist_tracker_registry_entries 0$/m);
  });
});

describe('open tracker', () => {
  let tracker: Tracker;
  afterEach(async () => {
    await tracker.close();
  });

  it('tracks any info hash, and scrapes all swarms without info_hash', async () => {
    tracker = await startTracker({ host: '127.0.0.1', port: 0, open: true, logLevel: 'silent' });
    const hash = randomHash(10);
    await announce(tracker, { infoHash: hash, peer: 1, port: 6000 });
    const res = await announce(tracker, { infoHash: hash, peer: 2, port: 6001 });
    expect(res.peers).toEqual([{ ip: '127.0.0.1', port: 6000 }]);
    const all = parseScrapeResponse((await request(tracker.url, '/scrape')).body);
    expect(all.get(hash)).toEqual({ complete: 0, incomplete: 2, downloaded: 0 });
  });

  it('honours ip= only with trustProxy, and hands IPv6 peers out as peers6', async () => {
    tracker = await startTracker({
      host: '::',
      port: 0,
      open: true,
      trustProxy: true,
      logLevel: 'silent',
    });
    const hash = randomHash(11);
    await announce(tracker, { infoHash: hash, peer: 1, port: 6000, extra: 'ip=10.1.2.3' });
    const v6 = await request(tracker.url, announcePath({ infoHash: hash, peer: 2, port: 6001 }), {
      localAddress: '::1',
    });
    const decoded = decode(v6.body) as Record<string, unknown>;
    expect(decoded['peers']).toEqual(Buffer.from([10, 1, 2, 3, 0x17, 0x70]));
    const back = await announce(tracker, {
      infoHash: hash,
      peer: 3,
      port: 6002,
      extra: 'ip=10.1.2.4',
    });
    expect(back.peers).toContainEqual({ ip: '::1', port: 6001 });
    expect(back.peers).toContainEqual({ ip: '10.1.2.3', port: 6000 });
    const bad = await request(
      tracker.url,
      announcePath({ infoHash: hash, peer: 4, port: 1, extra: 'ip=not-an-ip' }),
    );
    expect(bad.body.toString()).toMatch(/failure reason/);
  });

  it('uses --public-url in served torrents', async () => {
    tracker = await startTracker({
      host: '127.0.0.1',
      port: 0,
      publicUrl: 'https://dist.example/',
      logLevel: 'silent',
    });
    const t = makeTorrent('pub.bin', 9);
    expect((await publish(tracker.url, { root: 'r', path: 'pub.bin', ...t })).status).toBe(200);
    const meta = await parseMetainfo((await request(tracker.url, '/serve?pub.bin')).body);
    expect(meta.announce).toEqual(['https://dist.example/announce']);
    expect(meta.infoHash).toBe(t.infoHash);
  });
});
