import { beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import fc from 'fast-check';
import { outputPathFor, UnsafeNameError } from '@distributor/client';
import {
  buildTorrent,
  encode,
  escapeBytes,
  generatePeerId,
  parseMetainfo,
  parseAnnounceResponse,
  sha1,
} from '@distributor/core';
import { startTracker } from '@distributor/tracker';
import { BIN, startProc } from './helpers/procs.js';
import { faultFile } from './helpers/fault-file.js';

const TOKEN = 's3cret-token';
let tracker: Awaited<ReturnType<typeof startTracker>>;
let published: { infoHash: string; torrent: Uint8Array };
const { tally, dir } = faultFile('security', () => tracker?.close());

beforeAll(async () => {
  tracker = await startTracker({ host: '127.0.0.1', port: 0, token: TOKEN, logLevel: 'silent' });
  const pieces = sha1(Buffer.alloc(1000, 7));
  const { torrent, infoHash } = buildTorrent({
    name: 'ok.bin',
    length: 1000,
    pieceLength: 16384,
    pieces,
  });
  published = { torrent, infoHash };
});

function put(infoHash: string, body: unknown, token?: string) {
  return fetch(`${tracker.url}/torrents/${infoHash}`, {
    method: 'PUT',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
}

function publishBody(root: string, path: string) {
  return {
    root,
    path,
    mtimeMs: 1_730_000_000_000,
    torrent: Buffer.from(published.torrent).toString('base64'),
    ttlSec: 90,
  };
}

async function announce(
  url: string,
  infoHash: string,
  extra: Record<string, string> = {},
): Promise<ReturnType<typeof parseAnnounceResponse>> {
  const q = [
    `info_hash=${escapeBytes(Buffer.from(infoHash, 'hex'))}`,
    `peer_id=${escapeBytes(generatePeerId())}`,
    `port=${extra['port'] ?? '6881'}`,
    'uploaded=0',
    'downloaded=0',
    'left=100',
    'compact=1',
    ...Object.entries(extra)
      .filter(([k]) => k !== 'port')
      .map(([k, v]) => `${k}=${encodeURIComponent(v)}`),
  ].join('&');
  const res = await fetch(`${url}/announce?${q}`);
  return parseAnnounceResponse(new Uint8Array(await res.arrayBuffer()));
}

describe('publishing needs the token', () => {
  it('refuses PUT, renew and DELETE without or with a wrong token', async () => {
    const row = tally.scenario(
      'publish without the token',
      'PUT/renew/DELETE with no token and with a wrong token',
      '401, nothing published',
    );
    const { infoHash } = published;
    const attempts = [
      () => put(infoHash, publishBody('files', 'ok.bin')),
      () => put(infoHash, publishBody('files', 'ok.bin'), 'wrong'),
      () =>
        fetch(`${tracker.url}/torrents/renew`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ infoHashes: [infoHash], ttlSec: 90 }),
        }),
      () => fetch(`${tracker.url}/torrents/${infoHash}`, { method: 'DELETE' }),
    ];
    for (const attempt of attempts) {
      row.badInputs++;
      expect((await attempt()).status).toBe(401);
    }
    const list = (await (await fetch(`${tracker.url}/torrents`)).json()) as unknown[];
    expect(list).toEqual([]);
    // With the token it works, which proves the refusals were about the token.
    expect((await put(infoHash, publishBody('files', 'ok.bin'), TOKEN)).status).toBe(200);
    row.result = 'pass';
  });

  it('refuses unsafe roots and paths even with the token', async () => {
    const row = tally.scenario(
      'publish with unsafe root/path',
      'PUT with root/path containing .., absolute paths, NUL, backslashes',
      '400, nothing published under that name',
    );
    const bad: [string, string][] = [
      ['..', 'x.bin'],
      ['files', '../../etc/passwd'],
      ['files', '/etc/passwd'],
      ['files', 'a/../../b'],
      ['files', 'a\0b'],
      ['files', '..\\..\\win.ini'],
      ['', 'x.bin'],
      ['files', ''],
      ['/abs', 'x.bin'],
    ];
    for (const [root, path] of bad) {
      row.badInputs++;
      const res = await put(published.infoHash, publishBody(root, path), TOKEN);
      expect({ root, path, status: res.status }).toEqual({ root, path, status: 400 });
    }
    row.result = 'pass';
  });
});

describe('closed tracker', () => {
  it('refuses announces for unpublished info hashes', async () => {
    const row = tally.scenario(
      'announce for an unpublished info hash (closed tracker)',
      '50 random info hashes announced',
      'every answer is a bencoded failure reason; no swarm is created',
    );
    for (let i = 0; i < 50; i++) {
      row.badInputs++;
      const random = Buffer.from(generatePeerId()).toString('hex').slice(0, 40);
      await expect(announce(tracker.url, random)).rejects.toThrow(/not published|unregistered/);
    }
    // The published one is answered: the refusal above is about publication, not the query.
    const ok = await announce(tracker.url, published.infoHash);
    expect(ok.interval).toBeGreaterThan(0);
    row.result = 'pass';
  });
});

describe('/serve only answers from the registry', () => {
  it('never returns a file from disk for traversal names', async () => {
    const row = tally.scenario(
      '/serve path traversal',
      'names with .., absolute paths, encoded separators, NUL, long names',
      'never 200 except for the published name; never any bytes of a local file',
    );
    const names = [
      '../../../../etc/passwd',
      '/etc/passwd',
      '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '..%2f..%2fetc%2fpasswd',
      '....//....//etc/passwd',
      'files/../../../etc/passwd',
      'ok.bin/../../../../etc/passwd',
      'ok.bin%00.torrent',
      '..\\..\\..\\etc\\passwd',
      'x'.repeat(10_000),
      '',
    ];
    const probe = async (query: string) => {
      row.badInputs++;
      for (const path of ['/serve', '/serve_last_updated']) {
        const res = await fetch(`${tracker.url}${path}?${query}`);
        const body = Buffer.from(await res.arrayBuffer());
        expect(body.includes('root:')).toBe(false);
        if (res.status === 200) {
          // Only ever the published torrent (with the announce URL the tracker adds).
          expect((await parseMetainfo(body)).infoHash).toBe(published.infoHash);
        }
      }
    };
    for (const name of names) await probe(name);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('..', '.', 'etc', 'passwd', '%2e', '%2f', '%00', '/', '\\'), {
          maxLength: 12,
        }),
        async (parts) => probe(parts.join('')),
      ),
      { numRuns: 200 },
    );
    row.result = 'pass';
  });
});

describe('dist-get never writes outside its output directory', () => {
  const unsafe = [
    '../escape.bin',
    '../../escape.bin',
    '/tmp/dist-faults-abs-escape.bin',
    'sub/../../escape.bin',
    '..',
    '.',
    '..\\escape.bin',
    'a\nb.bin',
    '',
  ];

  it('refuses unsafe torrent names (dist-get processes)', async () => {
    const row = tally.scenario(
      'hostile torrent names (dist-get)',
      `${unsafe.length} torrents whose name is a traversal, absolute, control-char or empty`,
      'non-zero exit with one line; nothing written outside the output directory',
    );
    const out = join(dir(), 'out');
    await mkdir(out);
    const before = new Set(await readdir(dir()));
    for (const [i, name] of unsafe.entries()) {
      // The info dict is built by hand: core's buildTorrent refuses these names itself.
      const torrent = encode({
        announce: Buffer.from('http://127.0.0.1:9/announce'),
        info: {
          length: 1000,
          name: Buffer.from(name),
          'piece length': 16384,
          pieces: Buffer.alloc(20, 1),
        },
      });
      const file = join(dir(), `t${i}.torrent`);
      await writeFile(file, torrent);
      row.badInputs++;
      const get = startProc(
        'dist-get',
        BIN.get,
        ['--torrent', file, '--port', '0', '--seed-time', '0', '--peer-timeout', '2', '--quiet'],
        { cwd: out },
      );
      const result = await get.done;
      if (result.signal) row.crashes++;
      expect({ name, code: result.code === 0 ? 0 : 'non-zero' }).toEqual({
        name,
        code: 'non-zero',
      });
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(new Set(await readdir(dir()))).toEqual(
      new Set([...before, ...unsafe.map((_, i) => `t${i}.torrent`)]),
    );
    expect(await readdir(out)).toEqual([]);
    expect(existsSync('/tmp/dist-faults-abs-escape.bin')).toBe(false);
    row.result = 'pass';
  });

  it('outputPathFor: any name either throws UnsafeNameError or stays inside the directory', () => {
    const row = tally.scenario(
      'output path property (fast-check)',
      'random names built from separators, dots, NUL, control chars, unicode',
      'UnsafeNameError, or a path directly inside the output directory',
    );
    const out = resolve(dir(), 'prop-out') + sep;
    const piece = fc.oneof(
      fc.constantFrom('..', '.', '/', '\\', '\0', '\n', '~', '%2e', 'C:', '\u202e'),
      fc.string({ maxLength: 8 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 10 }), (parts) => {
        row.badInputs++;
        const name = parts.join('');
        try {
          const path = outputPathFor(name, out, dir());
          expect(resolve(path).startsWith(out)).toBe(true);
          expect(resolve(path).slice(out.length)).not.toContain(sep);
        } catch (err) {
          expect(err).toBeInstanceOf(UnsafeNameError);
        }
      }),
      { numRuns: 2000 },
    );
    row.result = 'pass';
  });
});

describe('ip= is ignored unless --trust-proxy', () => {
  it('records the connection address by default, the ip= value when trusted', async () => {
    const row = tally.scenario(
      'client-sent ip=',
      'announce with ip=198.18.7.7 from 127.0.0.1, default and --trust-proxy trackers',
      'default: peer recorded as 127.0.0.1; trust-proxy: as 198.18.7.7',
    );
    const infoHash = Buffer.from(generatePeerId()).toString('hex').slice(0, 40);
    const peersSeen = async (trustProxy: boolean) => {
      const t = await startTracker({
        host: '127.0.0.1',
        port: 0,
        open: true,
        trustProxy,
        logLevel: 'silent',
      });
      try {
        row.badInputs++;
        await announce(t.url, infoHash, { ip: '198.18.7.7', port: '7001' });
        const reply = await announce(t.url, infoHash, { port: '7002' });
        return reply.peers.map((p) => p.ip);
      } finally {
        await t.close();
      }
    };
    expect(await peersSeen(false)).toEqual(['127.0.0.1']);
    expect(await peersSeen(true)).toEqual(['198.18.7.7']);
    row.result = 'pass';
  });
});
