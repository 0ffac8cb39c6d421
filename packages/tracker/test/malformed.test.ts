import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decode, escapeBytes, isDict } from '@distributor/core';
import {
  makeTorrent,
  metricValue,
  peerId,
  publish,
  request,
  spawnTracker,
  type TrackerProcess,
} from './helpers.js';

/**
 * Hostile and broken requests. Announce and scrape must answer HTTP 200 with a bencoded
 * `failure reason` (what BitTorrent clients display); everything else a 4xx. The tracker runs as
 * its own process, so a crash or a leak shows up as a dead process or a growing RSS.
 */

const file = makeTorrent('file.iso', 1);
const IH = escapeBytes(Buffer.from(file.infoHash, 'hex'));
const PID = escapeBytes(peerId(1));
const base: Record<string, string> = {
  info_hash: IH,
  peer_id: PID,
  port: '6881',
  uploaded: '0',
  downloaded: '0',
  left: '100',
  compact: '1',
};

function announceWith(changes: Record<string, string | null>, extra = ''): string {
  const params = { ...base, ...changes };
  const q = Object.entries(params)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return `/announce?${q}${extra}`;
}

type Case = [label: string, path: string, kind: 'bencode' | '4xx'];

const cases: Case[] = [];
const bencoded = (label: string, path: string) => cases.push([label, path, 'bencode']);
const client4xx = (label: string, path: string) => cases.push([label, path, '4xx']);

// info_hash and peer_id: missing, short, long, non-hex, broken escapes, repeated.
for (const key of ['info_hash', 'peer_id']) {
  const good = base[key]!;
  bencoded(`${key} missing`, announceWith({ [key]: null }));
  bencoded(`${key} empty`, announceWith({ [key]: '' }));
  bencoded(`${key} 1 byte`, announceWith({ [key]: 'a' }));
  bencoded(`${key} 19 bytes`, announceWith({ [key]: 'a'.repeat(19) }));
  bencoded(`${key} 21 bytes`, announceWith({ [key]: 'a'.repeat(21) }));
  bencoded(`${key} 39 hex`, announceWith({ [key]: 'a'.repeat(39) }));
  bencoded(`${key} 40 non-hex`, announceWith({ [key]: 'g'.repeat(40) }));
  bencoded(`${key} 41 hex`, announceWith({ [key]: 'a'.repeat(41) }));
  bencoded(`${key} 200 bytes`, announceWith({ [key]: '%ff'.repeat(200) }));
  bencoded(`${key} bad escape %zz`, announceWith({ [key]: `%zz${'a'.repeat(19)}` }));
  bencoded(`${key} truncated escape`, announceWith({ [key]: `${'a'.repeat(19)}%4` }));
  bencoded(`${key} lone percent`, announceWith({ [key]: `${'a'.repeat(19)}%` }));
  bencoded(`${key} unicode escapes`, announceWith({ [key]: '%C3%A9'.repeat(20) }));
  bencoded(`${key} repeated`, announceWith({}, `&${key}=${good}`));
  bencoded(`${key} 19 NULs`, announceWith({ [key]: '%00'.repeat(19) }));
}
// Numbers.
for (const port of [
  '0',
  '70000',
  '65536',
  'abc',
  '-1',
  '1.5',
  '',
  '%2080',
  '0x50',
  '1e3',
  '9'.repeat(20),
]) {
  bencoded(`port ${JSON.stringify(port)}`, announceWith({ port }));
}
bencoded('port missing', announceWith({ port: null }));
bencoded('port repeated', announceWith({}, '&port=6882'));
for (const numwant of ['-1', '1e9', 'abc', '1.5', '', '9'.repeat(17), '%2D1']) {
  bencoded(`numwant ${JSON.stringify(numwant)}`, announceWith({}, `&numwant=${numwant}`));
}
bencoded('numwant repeated', announceWith({}, '&numwant=5&numwant=6'));
for (const key of ['uploaded', 'downloaded', 'left']) {
  for (const value of ['-1', 'abc', '1e9', '1.0', '9'.repeat(20)]) {
    bencoded(`${key} ${value}`, announceWith({ [key]: value }));
  }
  bencoded(`${key} repeated`, announceWith({}, `&${key}=1`));
}
for (const event of ['bogus', 'STARTED', 'started%00', 'complete']) {
  bencoded(`event ${event}`, announceWith({}, `&event=${event}`));
}
bencoded('event repeated', announceWith({}, '&event=started&event=stopped'));
bencoded('5 KB query string', announceWith({}, `&pad=${'x'.repeat(5000)}`));
bencoded('1 MB query string', announceWith({}, `&pad=${'x'.repeat(1024 * 1024)}`));
bencoded('no query at all', '/announce');
bencoded('only separators', '/announce?&&&==&');
bencoded('unpublished but well-formed', announceWith({ info_hash: 'b'.repeat(40) }));
// Scrape.
for (const [label, value] of [
  ['short', 'abc'],
  ['long', 'a'.repeat(41)],
  ['non-hex', 'z'.repeat(40)],
  ['bad escape', '%zz'],
  ['lone percent', '%'],
  ['empty', ''],
] as const) {
  bencoded(`scrape info_hash ${label}`, `/scrape?info_hash=${value}`);
}
bencoded('scrape 1 MB query string', `/scrape?info_hash=${'a'.repeat(1024 * 1024)}`);
bencoded(
  'scrape 1001 hashes',
  `/scrape?${Array.from({ length: 1001 }, (_, i) => `info_hash=${i.toString(16).padStart(40, '0')}`).join('&')}`,
);
// /serve and friends: names that escape, NULs, bad encodings, unicode, oversize.
for (const name of [
  '../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e/%2e%2e/etc/passwd',
  '/etc/passwd',
  '%2Fetc%2Fpasswd',
  'a/../../b',
  'a//b',
  './file.iso',
  'file.iso/..',
  '..\\..\\windows',
  'file%00.iso',
  '%00',
  '%zz',
  '%',
  '%E2%82',
  '',
  'x'.repeat(5000),
  'caf%C3%A9.iso',
  '%F0%9F%92%A9',
  'nonexistent.iso',
  'isos/nonexistent.iso',
]) {
  client4xx(`serve ${name.slice(0, 40)}`, `/serve?${name}`);
}
client4xx('serve 1 MB name', `/serve?${'x'.repeat(1024 * 1024)}`);
for (const root of ['..', '%2e%2e', 'a/b', '%00', '%zz', 'nosuchroot']) {
  client4xx(`serve_last_updated ${root}`, `/serve_last_updated?${root}`);
}
client4xx('serve_last_updated with nothing published under it', '/serve_last_updated?zzz');
client4xx('unknown path', '/etc/passwd');
client4xx('dot-dot path', '/announce/../etc/passwd');
client4xx('torrents bad hash', '/torrents/xyz');
client4xx('torrents escape', '/torrents/%zz');

const methodCases: { label: string; method: string; path: string; body?: string; type?: string }[] =
  [
    {
      label: 'PUT junk JSON',
      method: 'PUT',
      path: `/torrents/${file.infoHash}`,
      body: '{',
      type: 'application/json',
    },
    {
      label: 'PUT array',
      method: 'PUT',
      path: `/torrents/${file.infoHash}`,
      body: '[]',
      type: 'application/json',
    },
    { label: 'PUT no body', method: 'PUT', path: `/torrents/${file.infoHash}` },
    {
      label: 'PUT text body',
      method: 'PUT',
      path: `/torrents/${file.infoHash}`,
      body: 'hello',
      type: 'text/plain',
    },
    {
      label: 'PUT bad hash',
      method: 'PUT',
      path: '/torrents/%zz',
      body: '{}',
      type: 'application/json',
    },
    {
      label: 'PUT 9 MB body',
      method: 'PUT',
      path: `/torrents/${file.infoHash}`,
      body: `{"x":"${'a'.repeat(9 * 1024 * 1024)}"}`,
      type: 'application/json',
    },
    {
      label: 'POST renew junk',
      method: 'POST',
      path: '/torrents/renew',
      body: '{"infoHashes":"x"}',
      type: 'application/json',
    },
    {
      label: 'POST renew bad hash',
      method: 'POST',
      path: '/torrents/renew',
      body: '{"infoHashes":["../x"]}',
      type: 'application/json',
    },
    { label: 'DELETE bad hash', method: 'DELETE', path: '/torrents/..%2F..%2Fetc' },
    { label: 'DELETE unknown', method: 'DELETE', path: `/torrents/${'0'.repeat(40)}` },
  ];

function expectBencodedFailure(body: Buffer): void {
  const value = decode(body);
  expect(isDict(value) && value['failure reason'] instanceof Uint8Array).toBe(true);
}

describe('malformed requests', () => {
  let tracker: TrackerProcess;

  beforeAll(async () => {
    tracker = await spawnTracker([]);
    const res = await publish(tracker.url, { root: 'isos', path: 'sub/file.iso', ...file });
    expect(res.status).toBe(200);
  });
  afterAll(async () => {
    await tracker.stop();
  });

  it('the table has at least 100 cases, and the unmodified request succeeds', async () => {
    expect(cases.length + methodCases.length).toBeGreaterThanOrEqual(100);
    const ok = await request(tracker.url, announceWith({}));
    const value = decode(ok.body);
    expect(isDict(value) && typeof value['interval'] === 'number').toBe(true);
  });

  it.each(cases)('%s', async (_label, path, kind) => {
    const res = await request(tracker.url, path);
    if (kind === 'bencode') {
      expect(res.status).toBe(200);
      expectBencodedFailure(res.body);
    } else {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
  });

  it.each(methodCases)('$label', async ({ method, path, body, type }) => {
    const res = await request(tracker.url, path, {
      method,
      ...(body !== undefined ? { body } : {}),
      headers: type ? { 'Content-Type': type } : {},
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it('raw garbage on the socket gets a 4xx or a bencoded failure, never a crash', async () => {
    const { connect } = await import('node:net');
    const raws = [
      'GET /announce?info_hash=\0\0 HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /announce?x=é HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /serve?\0 HTTP/1.1\r\nHost: x\r\n\r\n',
      'BLAH\r\n\r\n',
      'GET / HTTP/9.9\r\n\r\n',
    ];
    for (const raw of raws) {
      const reply = await new Promise<string>((resolve, reject) => {
        const sock = connect(tracker.port, '127.0.0.1', () => sock.end(raw, 'latin1'));
        let data = '';
        sock.on('data', (c: Buffer) => (data += c.toString('latin1')));
        sock.on('end', () => resolve(data));
        sock.on('error', reject);
        sock.setTimeout(5000, () => sock.destroy(new Error('timeout')));
      });
      expect(reply).toMatch(/^HTTP\/1\.1 (200 OK[\s\S]*failure reason|4\d\d )/);
    }
  });

  it('stays up with flat memory through thousands of bad requests', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const small = cases.filter(([, path]) => path.length < 20_000);
    const burst = async (n: number) => {
      for (let i = 0; i < n; i += 16) {
        await Promise.all(
          Array.from({ length: 16 }, (_, k) =>
            request(tracker.url, small[(i + k) % small.length]![1], { agent }),
          ),
        );
      }
    };
    const sample = async () => (await request(tracker.url, '/metrics')).body.toString();
    await burst(1000); // warm up: JIT, buffers, metric children
    const before = await sample();
    await burst(4000);
    const after = await sample();
    agent.destroy();
    const rss = (t: string) => metricValue(t, 'dist_tracker_process_resident_memory_bytes');
    const heap = (t: string) => metricValue(t, 'dist_tracker_nodejs_heap_size_used_bytes');
    // Generous bounds: a leak of even 10 KB per request would blow through them.
    expect(rss(after) - rss(before)).toBeLessThan(40 * 1024 * 1024);
    expect(heap(after) - heap(before)).toBeLessThan(20 * 1024 * 1024);
    expect((await request(tracker.url, '/healthz')).status).toBe(200);
    expect(tracker.proc.exitCode).toBeNull();
  });
});
