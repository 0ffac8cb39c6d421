import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  NotFoundError,
  TrackerClient,
  TrackerFailureError,
  TrackerUnreachableError,
  encode,
  encodeCompactPeers4,
  encodeCompactPeers6,
  generatePeerId,
} from '@distributor/core';

/** A scripted tracker: each request is answered by the next queued handler. */
let answers: ((req: http.IncomingMessage, res: http.ServerResponse) => void)[] = [];
const seen: { url: string; remote: string }[] = [];
const server = http.createServer((req, res) => {
  seen.push({ url: req.url ?? '', remote: req.socket.remoteAddress ?? '' });
  const answer = answers.shift();
  if (answer) answer(req, res);
  else res.writeHead(500).end('no scripted answer');
});
let base = '';

const bencoded = (value: unknown) => (_req: http.IncomingMessage, res: http.ServerResponse) =>
  res.writeHead(200, { 'content-type': 'text/plain' }).end(Buffer.from(encode(value)));

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  answers = [];
  seen.length = 0;
});

const infoHash = 'aa'.repeat(20);
const announceParams = {
  infoHash,
  peerId: generatePeerId(),
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 100,
  event: 'started' as const,
};

describe('TrackerClient.announce', () => {
  it('sends a BEP 3 query with binary fields percent-encoded', async () => {
    answers.push(bencoded({ interval: 30, peers: Buffer.alloc(0) }));
    const client = new TrackerClient({ url: base, retries: 0 });
    await client.announce({
      ...announceParams,
      infoHash: Buffer.from([0, 0x41, 0xff, ...Array(17).fill(1)]),
    });
    const url = new URL(seen[0]!.url, base);
    expect(seen[0]!.url).toContain('info_hash=%00A%ff%01');
    expect(url.searchParams.get('port')).toBe('6881');
    expect(url.searchParams.get('compact')).toBe('1');
    expect(url.searchParams.get('event')).toBe('started');
  });

  it('reads compact IPv4, IPv6 and the counts', async () => {
    answers.push(
      bencoded({
        interval: 30,
        'min interval': 10,
        complete: 2,
        incomplete: 5,
        peers: encodeCompactPeers4([{ ip: '10.0.0.1', port: 1 }]),
        peers6: encodeCompactPeers6([{ ip: '2001:db8::2', port: 2 }]),
      }),
    );
    const res = await new TrackerClient({ url: base }).announce(announceParams);
    expect(res).toMatchObject({ interval: 30, minInterval: 10, complete: 2, incomplete: 5 });
    expect(res.peers).toEqual([
      { ip: '10.0.0.1', port: 1 },
      { ip: '2001:db8::2', port: 2 },
    ]);
  });

  it('reads a dictionary peer list', async () => {
    answers.push(
      bencoded({
        interval: 60,
        peers: [{ ip: Buffer.from('127.0.0.5'), port: 7000, 'peer id': Buffer.alloc(20, 0x61) }],
      }),
    );
    const res = await new TrackerClient({ url: base }).announce(announceParams);
    expect(res.peers).toEqual([{ ip: '127.0.0.5', port: 7000, peerId: '61'.repeat(20) }]);
  });

  it('turns a failure reason into a typed error and surfaces warnings', async () => {
    answers.push(bencoded({ 'failure reason': Buffer.from('unregistered torrent') }));
    await expect(new TrackerClient({ url: base }).announce(announceParams)).rejects.toThrow(
      TrackerFailureError,
    );
    answers.push(
      bencoded({
        interval: 30,
        peers: Buffer.alloc(0),
        'warning message': Buffer.from('slow down'),
      }),
    );
    expect((await new TrackerClient({ url: base }).announce(announceParams)).warning).toBe(
      'slow down',
    );
  });

  it('retries 5xx answers with backoff, then succeeds', async () => {
    answers.push((_q, res) => res.writeHead(503).end());
    answers.push((_q, res) => res.writeHead(502).end());
    answers.push(bencoded({ interval: 30, peers: Buffer.alloc(0) }));
    const client = new TrackerClient({ url: base, retries: 3, backoffMs: 5 });
    expect((await client.announce(announceParams)).interval).toBe(30);
    expect(seen.length).toBe(3);
  });

  it('gives up with TrackerUnreachableError after the retries', async () => {
    const client = new TrackerClient({ url: base, retries: 1, backoffMs: 5 });
    await expect(client.announce(announceParams)).rejects.toThrow(TrackerUnreachableError);
    expect(seen.length).toBe(2);
  });

  it('times out a tracker that never answers', async () => {
    answers.push(() => undefined);
    const client = new TrackerClient({ url: base, retries: 0, timeoutMs: 200 });
    await expect(client.announce(announceParams)).rejects.toThrow(/no answer within 200 ms/);
  });

  it('reports a closed port as unreachable', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const client = new TrackerClient({ url: `http://127.0.0.1:${port}`, retries: 0 });
    await expect(client.announce(announceParams)).rejects.toThrow(TrackerUnreachableError);
  });

  it('sends from the given local address', async () => {
    answers.push(bencoded({ interval: 30, peers: Buffer.alloc(0) }));
    await new TrackerClient({ url: base, localAddress: '127.0.0.3' }).announce(announceParams);
    expect(seen[0]!.remote).toBe('127.0.0.3');
  });
});

describe('TrackerClient.scrape and /serve', () => {
  it('scrapes several info hashes (binary dictionary keys)', async () => {
    const hashA = Buffer.alloc(20, 0xfe);
    const hashB = Buffer.from('0123456789abcdefghij');
    const body = Buffer.concat([
      Buffer.from('d5:filesd20:'),
      hashB,
      Buffer.from('d8:completei1e10:downloadedi2e10:incompletei3ee20:'),
      hashA,
      Buffer.from('d8:completei4e10:downloadedi5e10:incompletei6eeee'),
    ]);
    answers.push((_q, res) => res.writeHead(200).end(body));
    const stats = await new TrackerClient({ url: base }).scrape([hashA, hashB]);
    expect(stats.get(hashA.toString('hex'))).toEqual({ complete: 4, incomplete: 6, downloaded: 5 });
    expect(stats.get(hashB.toString('hex'))).toEqual({ complete: 1, incomplete: 3, downloaded: 2 });
    expect(seen[0]!.url.match(/info_hash=/g)?.length).toBe(2);
  });

  it('fetches /serve?NAME in the original query form', async () => {
    answers.push((_q, res) => res.writeHead(200).end('d4:infodee'));
    const bytes = await new TrackerClient({ url: `${base}/` }).fetchTorrent('dir/my file.iso');
    expect(Buffer.from(bytes).toString()).toBe('d4:infodee');
    expect(seen[0]!.url).toBe('/serve?dir%2Fmy%20file.iso');
  });

  it('maps 404 to NotFoundError without retrying', async () => {
    answers.push((_q, res) => res.writeHead(404).end('unknown'));
    await expect(new TrackerClient({ url: base }).fetchLatest('isos')).rejects.toThrow(
      NotFoundError,
    );
    expect(seen.map((s) => s.url)).toEqual(['/serve_last_updated?isos']);
  });
});
