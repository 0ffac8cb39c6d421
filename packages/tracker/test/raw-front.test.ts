import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { decode } from '@distributor/core';
import {
  createRawFront,
  divertAccepts,
  parseRequestHead,
  startTracker,
} from '@distributor/tracker';
import type { HotPath, RawFrontOptions, Tracker, TrackerOptions } from '@distributor/tracker';
import { announcePath, randomHash } from './helpers.js';

/** A connection to `port` that collects everything the server sends until it closes. */
function connect(port: number): Promise<{
  socket: Socket;
  received: () => string;
  closed: Promise<string>;
}> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const closed = new Promise<string>((done) =>
      socket.on('close', () => done(Buffer.concat(chunks).toString('latin1'))),
    );
    socket.once('error', reject);
    socket.once('connect', () =>
      resolve({ socket, received: () => Buffer.concat(chunks).toString('latin1'), closed }),
    );
  });
}

/** Waits until `received()` satisfies `done` (bounded: 5 s). */
async function until(received: () => string, done: (text: string) => boolean): Promise<string> {
  const deadline = Date.now() + 5000;
  while (!done(received())) {
    if (Date.now() > deadline) throw new Error(`timed out; got so far: ${received()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return received();
}

const count = (text: string, what: string) => text.split(what).length - 1;

const get = (target: string, headers = 'Host: t\r\n') => `GET ${target} HTTP/1.1\r\n${headers}\r\n`;

describe('parseRequestHead', () => {
  it('reads the target, keep-alive and X-Forwarded-For of a plain GET', () => {
    expect(parseRequestHead('GET /announce?a=1 HTTP/1.1\r\nHost: x')).toEqual({
      target: '/announce?a=1',
      keepAlive: true,
      http10: false,
      forwardedFor: undefined,
    });
    expect(
      parseRequestHead(
        'GET /a HTTP/1.1\r\nCONNECTION: Close\r\nX-Forwarded-For:  10.0.0.1, 1.2.3.4 ',
      ),
    ).toEqual({ target: '/a', keepAlive: false, http10: false, forwardedFor: '10.0.0.1, 1.2.3.4' });
    expect(parseRequestHead('GET /a HTTP/1.0')?.keepAlive).toBe(false);
    expect(parseRequestHead('GET /a HTTP/1.0\r\nConnection: keep-alive')?.keepAlive).toBe(true);
  });

  it.each([
    ['another method', 'POST /announce HTTP/1.1\r\nHost: x'],
    ['HEAD', 'HEAD /announce HTTP/1.1'],
    ['a body', 'GET /announce HTTP/1.1\r\nContent-Length: 5'],
    ['chunked', 'GET /announce HTTP/1.1\r\nTransfer-Encoding: chunked'],
    ['an upgrade', 'GET /announce HTTP/1.1\r\nUpgrade: websocket'],
    ['HTTP/2 preface', 'PRI * HTTP/2.0'],
    ['HTTP/1.2', 'GET /announce HTTP/1.2'],
    ['a target not starting with /', 'GET announce HTTP/1.1'],
    ['an absolute-form target', 'GET http://x/announce HTTP/1.1'],
    ['a space in the target', 'GET /announce?a=1 b HTTP/1.1'],
    ['a NUL in the target', 'GET /announce?\0 HTTP/1.1'],
    ['non-ASCII in the target', 'GET /announce?é HTTP/1.1'],
    ['a bare LF between headers', 'GET /a HTTP/1.1\r\nHost: x\nX: y'],
    ['a bare CR in a header', 'GET /a HTTP/1.1\r\nHost: x\ry'],
    ['a header without a colon', 'GET /a HTTP/1.1\r\nHost x'],
    ['a space before the colon', 'GET /a HTTP/1.1\r\nHost : x'],
    ['an obsolete folded header', 'GET /a HTTP/1.1\r\nX: a\r\n b'],
    [
      'two X-Forwarded-For',
      'GET /a HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2',
    ],
  ])('leaves %s to node:http', (_why, head) => {
    expect(parseRequestHead(head)).toBeNull();
  });
});

describe('createRawFront', () => {
  it('refuses a batch size below 1 or a negative delay', () => {
    const base = { hotPath: () => false, handOff: () => undefined, takes: () => true };
    expect(() => createRawFront({ ...base, coalesceMax: 0 })).toThrow(/at least 1/);
    expect(() => createRawFront({ ...base, coalesceMs: -1 })).toThrow(/at least 0 ms/);
  });
});

describe.each(['node sockets', 'bare handles'] as const)('the raw front on %s', (kind) => {
  let server: net.Server | undefined;
  afterEach(async () => {
    await new Promise((r) => server?.close(r) ?? r(undefined));
    server = undefined;
  });

  /**
   * A front over a hot path that answers a request for `/hot…` with `URL|X-Forwarded-For` (its
   * URL and forwarded-for address, empty when none), after `delay=MS` in the URL when asked, and
   * a hand-off that answers with what it was handed (so tests see the exact bytes).
   */
  async function frontServer(extra: Partial<RawFrontOptions> = {}) {
    const hotPath: HotPath = (request, reply) => {
      if (!request.url.startsWith('/hot')) return false;
      const delay = /delay=(\d+)/.exec(request.url);
      const body = Buffer.from(`${request.url}|${request.forwardedFor ?? ''}`);
      if (delay) setTimeout(() => reply(200, body), Number(delay[1]));
      else reply(200, body);
      return true;
    };
    const handOff = (socket: Socket) => {
      socket.setEncoding('latin1');
      let seen = '';
      socket.on('data', (text: string) => {
        seen += text;
        if (seen.includes('\r\n\r\n')) socket.end(`HANDED[${seen}]`);
      });
    };
    const front = createRawFront({
      hotPath,
      handOff,
      takes: (target) => target.startsWith('/hot'),
      ...extra,
    });
    server = net.createServer({ allowHalfOpen: true }, front.accept);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    if (kind === 'bare handles') expect(divertAccepts(server, front.acceptWire)).toBe(true);
    return { front, port: (server.address() as AddressInfo).port };
  }

  it('answers pipelined requests in order, even when later ones answer sooner', async () => {
    const { port } = await frontServer();
    const { socket, received } = await connect(port);
    socket.write(get('/hot?1&delay=60') + get('/hot?2&delay=0') + get('/hot?3&delay=20'));
    const text = await until(received, (t) => count(t, 'HTTP/1.1 200 OK') === 3);
    const order = [...text.matchAll(/\/hot\?(\d)/g)].map((m) => m[1]);
    expect(order).toEqual(['1', '2', '3']);
    expect(text).not.toContain('Connection: close');
    socket.destroy();
  });

  it('reads a head that arrives a byte at a time', async () => {
    const { port } = await frontServer();
    const { socket, received } = await connect(port);
    const request = get('/hot?slow', 'Host: t\r\nX-Forwarded-For: 10.1.2.3\r\n');
    for (const byte of request) {
      socket.write(byte);
      await new Promise((r) => setImmediate(r));
    }
    const text = await until(received, (t) => t.includes('|10.1.2.3'));
    expect(text).toMatch(
      /^HTTP\/1\.1 200 OK\r\nContent-Type: text\/plain\r\nContent-Length: 18\r\n\r\n/,
    );
    socket.destroy();
  });

  it('closes after a response to Connection: close, and to HTTP/1.0 unless asked to keep it', async () => {
    const { port } = await frontServer();
    const a = await connect(port);
    a.socket.write(get('/hot?a', 'Connection: close\r\n') + get('/hot?ignored'));
    const textA = await a.closed;
    expect(count(textA, 'HTTP/1.1 200')).toBe(1);
    expect(textA).toContain('Connection: close\r\n');

    const b = await connect(port);
    b.socket.write('GET /hot?b HTTP/1.0\r\n\r\n');
    expect(await b.closed).toContain('Connection: close\r\n');

    const c = await connect(port);
    c.socket.write('GET /hot?c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const textC = await until(c.received, (t) => t.includes('/hot?c'));
    expect(textC).toContain('Connection: keep-alive\r\n');
    c.socket.write('GET /hot?d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    await until(c.received, (t) => t.includes('/hot?d'));
    c.socket.destroy();
  });

  it('hands the connection over with every unanswered byte, mid-connection too', async () => {
    const { port } = await frontServer();
    const { socket, closed } = await connect(port);
    const rest = get('/other?x') + 'tail';
    socket.write(get('/hot?first') + rest);
    const text = await closed;
    expect(text).toContain('/hot?first|');
    expect(text.endsWith(`HANDED[${rest}]`)).toBe(true);
  });

  it('hands over a head too long to read here, and anything it is not sure of', async () => {
    const { port } = await frontServer({ maxHeadBytes: 1024 });
    const long = get(`/hot?${'a'.repeat(2000)}`);
    const a = await connect(port);
    a.socket.write(long);
    expect(await a.closed).toBe(`HANDED[${long}]`);

    const post = 'POST /hot HTTP/1.1\r\nContent-Length: 0\r\n\r\n';
    const b = await connect(port);
    b.socket.write(post);
    expect(await b.closed).toBe(`HANDED[${post}]`);
  });

  it('answers what a half-closed client sent, then closes', async () => {
    const { port } = await frontServer();
    const { socket, closed } = await connect(port);
    socket.end(get('/hot?1&delay=30') + get('/hot?2'));
    const text = await closed;
    expect(count(text, 'HTTP/1.1 200 OK')).toBe(2);
  });

  it('closes connections that stay idle or never finish their head', async () => {
    const { port } = await frontServer({
      idleTimeoutMs: 100,
      headTimeoutMs: 150,
      sweepEveryMs: 20,
    });
    const idle = await connect(port);
    idle.socket.write(get('/hot?1'));
    const partial = await connect(port);
    partial.socket.write('GET /hot?never-ends HTTP/1.1\r\nHost:');
    // Bounded only by Jest's test timeout (jest.config.js): both must be closed by the server,
    // not by the test.
    const [idleText] = await Promise.all([idle.closed, partial.closed]);
    expect(idleText).toContain('/hot?1');
  });

  it('closes idle connections at once on closeIdle, busy ones after their response', async () => {
    const { front, port } = await frontServer();
    const idle = await connect(port);
    idle.socket.write(get('/hot?idle'));
    await until(idle.received, (t) => t.includes('/hot?idle'));
    const busy = await connect(port);
    busy.socket.write(get('/hot?busy&delay=80'));
    await new Promise((r) => setTimeout(r, 20));
    front.closeIdle();
    await idle.closed;
    const text = await busy.closed;
    expect(text).toContain('/hot?busy');
    expect(text).toContain('Connection: close\r\n');
  });

  it('answers many connections at once, each with its own response, in batches', async () => {
    const { port } = await frontServer({ coalesceMax: 8, coalesceMs: 5 });
    const clients = await Promise.all(Array.from({ length: 50 }, () => connect(port)));
    clients.forEach(({ socket }, i) =>
      socket.write(get(`/hot?${i}${i % 7 === 0 ? '&delay=10' : ''}`, 'Connection: close\r\n')),
    );
    const texts = await Promise.all(clients.map(({ closed }) => closed));
    texts.forEach((text, i) => {
      expect(count(text, 'HTTP/1.1 200 OK')).toBe(1);
      expect(text).toContain(`/hot?${i}${i % 7 === 0 ? '&delay=10' : ''}|`);
    });
  });

  it('hands a half-closed connection over when its request is not for the hot path', async () => {
    const { port } = await frontServer();
    const { socket, closed } = await connect(port);
    const request = get('/other?x');
    socket.end(request);
    expect(await closed).toBe(`HANDED[${request}]`);
  });

  it('tells the hot path the client address, and counts handed-over connections as the server own', async () => {
    const hotPath: HotPath = (request, reply) => {
      if (request.url !== '/hot') return false;
      reply(200, Buffer.from(`from ${request.client.remoteAddress}`));
      return true;
    };
    // This hand-off keeps the connection open, so that it can be counted.
    const handOff = (socket: Socket) => {
      socket.on('end', () => socket.end());
      socket.write('HANDED[');
    };
    const { port } = await frontServer({ hotPath, handOff });
    const a = await connect(port);
    a.socket.write(get('/hot', 'Connection: close\r\n'));
    expect(await a.closed).toMatch(/\r\n\r\nfrom 127\.0\.0\.1$/);

    const b = await connect(port);
    b.socket.write(get('/other'));
    await until(b.received, (t) => t.startsWith('HANDED['));
    const open = await new Promise<number>((resolve, reject) =>
      server!.getConnections((err, n) => (err ? reject(err) : resolve(n))),
    );
    // A handed-over handle joins the server's count, as node:http's connection tracking needs.
    if (kind === 'bare handles') expect(open).toBe(1);
    else expect(open).toBeGreaterThanOrEqual(1);
    b.socket.destroy();
  });

  it('hands over in order after thousands of pipelined answers the client has not read yet', async () => {
    const { port } = await frontServer();
    const { socket, received, closed } = await connect(port);
    socket.pause();
    const n = 3000;
    let all = '';
    for (let i = 0; i < n; i++) all += get(`/hot?${i}&pad=${'p'.repeat(200)}`);
    const last = get('/other?after');
    socket.write(all + last);
    await new Promise((r) => setTimeout(r, 100));
    socket.resume();
    await until(received, (t) => t.includes('HANDED['));
    socket.end();
    const text = await closed;
    const order = [...text.matchAll(/\/hot\?(\d+)&/g)].map((m) => Number(m[1]));
    expect(order).toEqual([...Array(n).keys()]);
    expect(text.endsWith(`HANDED[${last}]`)).toBe(true);
  });

  it('keeps serving a client that pipelines thousands of requests before reading any', async () => {
    const { port } = await frontServer();
    const { socket, received } = await connect(port);
    socket.pause();
    const n = 3000;
    let all = '';
    for (let i = 0; i < n; i++) all += get(`/hot?${i}&pad=${'p'.repeat(200)}`);
    socket.write(all);
    await new Promise((r) => setTimeout(r, 100));
    socket.resume();
    const text = await until(received, (t) => count(t, 'HTTP/1.1 200 OK') === n);
    const order = [...text.matchAll(/\/hot\?(\d+)&/g)].map((m) => Number(m[1]));
    expect(order).toEqual([...Array(n).keys()]);
    socket.destroy();
  });
});

describe.each([true, false])('the raw front in dist-tracker, bare handles: %s', (bareHandles) => {
  let tracker: Tracker | undefined;
  const start = (extra: Partial<TrackerOptions> = {}) =>
    startTracker({
      host: '127.0.0.1',
      port: 0,
      open: true,
      logLevel: 'silent',
      bareHandles,
      ...extra,
    });
  afterEach(async () => {
    await tracker?.close();
    tracker = undefined;
  });

  it('serves announces, node:http endpoints and announces again on one connection', async () => {
    tracker = await start();
    const { socket, received } = await connect(tracker.port);
    const hash = randomHash(1);
    socket.write(get(announcePath({ infoHash: hash, peer: 1, port: 6001 })));
    await until(received, (t) => count(t, 'HTTP/1.1 200') === 1);
    socket.write(get('/healthz'));
    await until(received, (t) => count(t, 'HTTP/1.1 200') === 2);
    socket.write(get(announcePath({ infoHash: hash, peer: 2, port: 6002 })));
    const text = await until(received, (t) => count(t, 'HTTP/1.1 200') === 3 && t.endsWith('e'));
    const bodies = text.split(/HTTP\/1\.1 200 OK\r\n[\s\S]*?\r\n\r\n/).filter(Boolean);
    expect(bodies).toHaveLength(3);
    const last = decode(Buffer.from(bodies[2]!, 'latin1')) as Record<string, unknown>;
    // The second announce, served by node:http after the hand-over, sees the first peer.
    expect(last['incomplete']).toBe(2);
    expect((last['peers'] as Uint8Array).length).toBe(6);
    socket.destroy();
  });

  it('answers an oversized announce with a failure reason, through node:http', async () => {
    tracker = await start();
    const { socket, closed } = await connect(tracker.port);
    socket.write(get(`/announce?info_hash=${'x'.repeat(40_000)}`));
    const text = await closed;
    expect(text).toContain('failure reason');
    expect(text).toContain('request too large');
  });

  it('closes an idle keep-alive connection promptly on close()', async () => {
    // If close() waited for idle connections to time out, this test would time out instead.
    tracker = await start({ drainTimeoutMs: 600_000 });
    const { socket, received, closed } = await connect(tracker.port);
    socket.write(get(announcePath({ infoHash: randomHash(2), peer: 1, port: 6001 })));
    await until(received, (t) => t.includes('HTTP/1.1 200'));
    await tracker.close();
    tracker = undefined;
    expect(await closed).toContain('HTTP/1.1 200');
  }, 15_000);
});
