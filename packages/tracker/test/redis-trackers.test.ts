import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeDict, getBytes, parseMetainfo } from '@distributor/core';
import { startTracker, type Tracker } from '@distributor/tracker';
import { announcePath, makeTorrent, publish, request } from './helpers.js';
import { startRedis, type RedisServer } from '../../../scripts/lib/redis-server.js';

/** Compact IPv4 peers of an announce answer, as `a.b.c.d:port`. */
function peersOf(body: Buffer): string[] {
  const dict = decodeDict(body);
  const failure = getBytes(dict, 'failure reason');
  if (failure) throw new Error(`announce failed: ${Buffer.from(failure).toString()}`);
  const peers = Buffer.from(getBytes(dict, 'peers') ?? new Uint8Array(0));
  const out: string[] = [];
  for (let o = 0; o + 6 <= peers.length; o += 6) {
    out.push(`${peers.subarray(o, o + 4).join('.')}:${peers.readUInt16BE(o + 4)}`);
  }
  return out;
}

function failureOf(body: Buffer): string | undefined {
  const reason = getBytes(decodeDict(body), 'failure reason');
  return reason ? Buffer.from(reason).toString() : undefined;
}

/** Sends one inline command to Redis on its own connection; resolves with the reply line. */
function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(`${command}\r\n`));
    socket.setTimeout(5000, () => socket.destroy(new Error(`no reply to ${command}`)));
    socket.once('error', reject);
    socket.once('data', (c: Buffer) => {
      socket.destroy();
      resolve(c.toString('latin1').trim());
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  // Bounded: 100 tries, 100 ms apart.
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('trackers sharing one Redis', () => {
  let redis: RedisServer;
  let a: Tracker;
  let b: Tracker;
  const file = makeTorrent('shared.iso', 7);

  beforeAll(async () => {
    redis = await startRedis();
    const options = {
      host: '127.0.0.1',
      port: 0,
      store: redis.url,
      logLevel: 'silent' as const,
      storeTimeoutMs: 500,
    };
    a = await startTracker(options);
    b = await startTracker(options);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  it('serves a torrent published to one tracker from the other', async () => {
    const put = await publish(a.url, { root: 'isos', path: 'shared.iso', ...file });
    expect(put.status).toBe(200);
    const served = await request(b.url, '/serve?shared.iso');
    expect(served.status).toBe(200);
    expect((await parseMetainfo(served.body)).infoHash).toBe(file.infoHash);
    const listed = JSON.parse((await request(b.url, '/torrents')).body.toString()) as {
      infoHash: string;
      path: string;
    }[];
    expect(listed.map((e) => [e.infoHash, e.path])).toEqual([[file.infoHash, 'shared.iso']]);
  });

  it('hands out a peer announced to one tracker from the other', async () => {
    const first = await request(
      a.url,
      announcePath({ infoHash: file.infoHash, peer: 1, port: 7001, event: 'started' }),
    );
    expect(peersOf(first.body)).toEqual([]);
    const second = await request(
      b.url,
      announcePath({ infoHash: file.infoHash, peer: 2, port: 7002, event: 'started' }),
      { localAddress: '127.0.0.2' },
    );
    expect(peersOf(second.body)).toEqual(['127.0.0.1:7001']);
    const again = await request(
      a.url,
      announcePath({ infoHash: file.infoHash, peer: 1, port: 7001 }),
    );
    expect(peersOf(again.body)).toEqual(['127.0.0.2:7002']);
    const scrape = decodeDict((await request(b.url, `/scrape`)).body);
    expect(Object.keys(scrape['files'] as object)).toHaveLength(1);
  });

  it('answers a failure reason when Redis is too slow, not a hung request', async () => {
    // CLIENT PAUSE holds every client's commands for 3 s, past the 500 ms store timeout.
    await redisCommand(redis.port, 'CLIENT PAUSE 3000 ALL');
    const slow = await request(
      a.url,
      announcePath({ infoHash: file.infoHash, peer: 5, port: 7005, event: 'started' }),
    );
    expect(failureOf(slow.body)).toMatch(/store unavailable/);
    await redisCommand(redis.port, 'CLIENT UNPAUSE');
    await waitFor('announces to succeed again', async () => {
      const res = await request(
        a.url,
        announcePath({ infoHash: file.infoHash, peer: 5, port: 7005, event: 'started' }),
      );
      return failureOf(res.body) === undefined;
    });
  });

  it('answers failure reasons while Redis is down, and recovers when it is back', async () => {
    await redis.kill();
    // The helper's request gives up after 10 s, so a hanging announce fails this test.
    const during = await request(
      a.url,
      announcePath({ infoHash: file.infoHash, peer: 3, port: 7003, event: 'started' }),
    );
    expect(failureOf(during.body)).toMatch(/store unavailable/);

    const health = await request(b.url, '/healthz');
    expect(health.status).toBe(503);
    expect(JSON.parse(health.body.toString())).toMatchObject({
      status: 'unhealthy',
      store: 'redis',
    });
    expect(JSON.parse(health.body.toString()).error).toMatch(/redis is down/);
    expect((await request(b.url, '/torrents')).status).toBeGreaterThanOrEqual(500);

    await redis.restart();
    await waitFor('both trackers healthy', async () => {
      const [ha, hb] = await Promise.all([request(a.url, '/healthz'), request(b.url, '/healthz')]);
      return ha.status === 200 && hb.status === 200;
    });
    // The restarted Redis is empty: the seeder's renewal finds its lease missing and
    // republishes, as it does after a tracker restart.
    const renew = await request(a.url, '/torrents/renew', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ infoHashes: [file.infoHash] }),
    });
    expect(JSON.parse(renew.body.toString())).toEqual({ renewed: [], missing: [file.infoHash] });
    expect((await publish(b.url, { root: 'isos', path: 'shared.iso', ...file })).status).toBe(200);
    const after = await request(
      a.url,
      announcePath({ infoHash: file.infoHash, peer: 3, port: 7003, event: 'started' }),
    );
    expect(failureOf(after.body)).toBeUndefined();
    const other = await request(
      b.url,
      announcePath({ infoHash: file.infoHash, peer: 4, port: 7004, event: 'started' }),
      { localAddress: '127.0.0.2' },
    );
    expect(peersOf(other.body)).toEqual(['127.0.0.1:7003']);
  });
});
