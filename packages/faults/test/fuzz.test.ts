import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  DistError,
  buildTorrent,
  decode,
  encode,
  generatePeerId,
  parseMetainfo,
  sha1,
} from '@distributor/core';
import type { TorrentMeta } from '@distributor/core';
import { QueryFailure, parseAnnounceQuery, parseScrapeQuery } from '@distributor/tracker';
import { removeDir, tempDir } from './helpers/procs.js';
import { handshake, message, requestMessage, sendAndWatch } from './helpers/raw-wire.js';
import { Tally } from './helpers/tally.js';
// The misbehaving seeder is the client's test helper: one copy, built by the client's tests.
import { TestSeeder } from '../../client/dist-test/helpers/test-seeder.js';

/** Regression corpus: inputs that once broke (or nearly broke) a parser; see its README. */
const here = dirname(fileURLToPath(import.meta.url));
const CRASHERS = join(here, '..', 'test', 'fixtures', 'crashers');
// Each property gets a wall-clock budget so the suite fits CI whatever the machine's load.
const BUDGET_MS = 2500;

const tally = new Tally('fuzz');
afterAll(() => tally.save());

/** The one allowed way to reject input: a typed error; anything else is a crash. */
function acceptsOrRejectsCleanly(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (err instanceof DistError) return true;
    throw err;
  }
}

async function acceptsOrRejectsCleanlyAsync(fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (err) {
    if (err instanceof DistError) return true;
    throw err;
  }
}

const validTorrent = (() => {
  const data = Buffer.alloc(40_000, 3);
  const pieces = Buffer.concat(
    [0, 1, 2].map((i) => sha1(data.subarray(i * 16384, (i + 1) * 16384))),
  );
  return Buffer.from(
    buildTorrent({
      name: 'f.bin',
      length: data.length,
      pieceLength: 16384,
      pieces,
      announce: 'http://t/announce',
    }).torrent,
  );
})();

/** Byte-level mutations of a valid input: flips, cuts, splices, digit bumps. */
const mutated = (seed: Buffer) =>
  fc
    .array(
      fc.tuple(fc.nat({ max: seed.length }), fc.integer({ min: 0, max: 3 }), fc.nat({ max: 255 })),
      { minLength: 1, maxLength: 6 },
    )
    .map((edits) => {
      let b = Buffer.from(seed);
      for (const [at, kind, value] of edits) {
        const i = Math.min(at, b.length);
        if (kind === 0 && i < b.length) b[i] = value;
        else if (kind === 1) b = b.subarray(0, i);
        else if (kind === 2)
          b = Buffer.concat([b.subarray(0, i), Buffer.from([value]), b.subarray(i)]);
        else b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + (value % 8))]);
      }
      return b;
    });

describe('bencode and torrent parsing', () => {
  it('decode: random and mutated bytes decode or throw BencodeError', () => {
    const row = tally.scenario(
      'fuzz: bencode decode',
      'random bytes, bencode-alphabet strings and mutated torrents (fast-check)',
      'a value or BencodeError; never another exception',
    );
    const alphabet = fc
      .array(fc.constantFrom(...'dile0123456789:-xe'.split('')), { maxLength: 64 })
      .map((a) => Buffer.from(a.join('')));
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 256 }).map(Buffer.from),
      alphabet,
      mutated(validTorrent),
    );
    fc.assert(
      fc.property(input, (bytes) => {
        row.badInputs++;
        return acceptsOrRejectsCleanly(() => decode(bytes));
      }),
      { numRuns: 1_000_000, interruptAfterTimeLimit: BUDGET_MS },
    );
    row.result = 'pass';
  });

  it('encode/decode round trip for generated values', () => {
    const row = tally.scenario(
      'fuzz: bencode round trip',
      'generated ints, byte strings, lists and dicts',
      'decode(encode(v)) re-encodes to the same bytes',
    );
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small' },
        fc.maxSafeInteger(),
        fc.uint8Array({ maxLength: 32 }).map(Buffer.from),
        fc.array(tie('tree'), { maxLength: 4 }),
        fc.dictionary(fc.string({ maxLength: 8 }), tie('tree'), { maxKeys: 4 }),
      ),
    }));
    fc.assert(
      fc.property(tree, (value) => {
        row.badInputs++;
        const bytes = encode(value as never);
        expect(Buffer.from(encode(decode(bytes))).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 1_000_000, interruptAfterTimeLimit: BUDGET_MS },
    );
    row.result = 'pass';
  });

  it('parseMetainfo: mutated torrents parse consistently or throw a DistError', async () => {
    const row = tally.scenario(
      'fuzz: torrent parsing',
      'mutated valid torrents and hand-built info dicts with hostile fields',
      'TorrentMeta with consistent fields, or a DistError',
    );
    const consistent = (m: TorrentMeta) => {
      expect(m.pieces.length).toBe(m.pieceCount * 20);
      expect(m.pieceCount).toBe(Math.ceil(m.length / m.pieceLength));
      expect(m.lastPieceLength).toBeGreaterThan(0);
      expect(m.lastPieceLength).toBeLessThanOrEqual(m.pieceLength);
      expect(m.name).not.toMatch(/[/\\\0]/);
    };
    const hostileInfo = fc
      .record({
        length: fc.oneof(fc.integer({ min: -5, max: 100_000 }), fc.constant(2 ** 53)),
        name: fc.oneof(
          fc.constantFrom('..', '.', '', 'a/b', '/etc/passwd', 'a\0b', 'ok.bin'),
          fc.string({ maxLength: 300 }),
        ),
        'piece length': fc.oneof(fc.constantFrom(0, -1, 1, 16384, 3 * 16384), fc.integer()),
        pieces: fc.uint8Array({ maxLength: 200 }).map(Buffer.from),
      })
      .map((info) =>
        Buffer.from(encode({ info: { ...info, name: Buffer.from(info.name) } } as never)),
      );
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated(validTorrent), hostileInfo), async (bytes) => {
        row.badInputs++;
        return acceptsOrRejectsCleanlyAsync(async () => consistent(await parseMetainfo(bytes)));
      }),
      { numRuns: 1_000_000, interruptAfterTimeLimit: BUDGET_MS },
    );
    row.result = 'pass';
  });

  it('the regression corpus still parses or fails cleanly', async () => {
    const row = tally.scenario(
      'regression corpus (test/fixtures/crashers)',
      'every input kept from fuzzing and hand-written edge cases',
      'decode/parseMetainfo/parseAnnounceQuery fail cleanly',
    );
    const files = readdirSync(CRASHERS).filter((f) => !f.endsWith('.md'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      row.badInputs++;
      const bytes = readFileSync(join(CRASHERS, f));
      expect(acceptsOrRejectsCleanly(() => decode(bytes))).toBe(true);
      expect(await acceptsOrRejectsCleanlyAsync(() => parseMetainfo(bytes))).toBe(true);
      const q = parseAnnounceQuery(bytes.toString('latin1'));
      expect(q instanceof QueryFailure || typeof q.port === 'number').toBe(true);
    }
    row.result = 'pass';
  });
});

describe('announce query parser', () => {
  it('random and mutated queries give an AnnounceQuery or a QueryFailure', () => {
    const row = tally.scenario(
      'fuzz: announce/scrape query parser',
      'random key=value soups, percent-escapes, repeated and oversized fields',
      'AnnounceQuery with sane fields or QueryFailure; never an exception',
    );
    const key = fc.constantFrom(
      'info_hash',
      'peer_id',
      'port',
      'uploaded',
      'downloaded',
      'left',
      'event',
      'numwant',
      'compact',
      'no_peer_id',
      'ip',
      'location',
      'key',
      '',
      '=',
    );
    const value = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom(
        '%',
        '%z',
        '%00',
        '-1',
        '99999999999999999999',
        '1e3',
        'started',
        '%%41',
        'constructor',
        '__proto__',
      ),
      fc
        .uint8Array({ minLength: 20, maxLength: 20 })
        .map((b) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')),
    );
    const query = fc
      .array(fc.tuple(key, value), { maxLength: 14 })
      .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));
    fc.assert(
      fc.property(fc.oneof(query, fc.string({ maxLength: 200 })), (q) => {
        row.badInputs += 2;
        const parsed = parseAnnounceQuery(q);
        if (!(parsed instanceof QueryFailure)) {
          expect(parsed.infoHashHex).toMatch(/^[0-9a-f]{40}$/);
          expect(parsed.peerId.length).toBe(20);
          expect(Buffer.from(parsed.peerKey, 'latin1').equals(parsed.peerId)).toBe(true);
          expect(['started', 'completed', 'stopped', 'update']).toContain(parsed.event);
          expect(Number.isInteger(parsed.port)).toBe(true);
          expect(parsed.port).toBeGreaterThanOrEqual(0);
          expect(parsed.port).toBeLessThanOrEqual(65535);
        }
        const scrape = parseScrapeQuery(q);
        expect(scrape instanceof QueryFailure || Array.isArray(scrape)).toBe(true);
      }),
      { numRuns: 1_000_000, interruptAfterTimeLimit: BUDGET_MS },
    );
    row.result = 'pass';
  });
});

describe('wire message handling (core peer-wire, used by dist-seed and dist-get)', () => {
  let dir: string;
  let seeder: TestSeeder;
  let meta: TorrentMeta;

  beforeAll(async () => {
    dir = await tempDir();
    const path = join(dir, 'f.bin');
    const data = Buffer.alloc(40_000, 3);
    await writeFile(path, data);
    meta = await parseMetainfo(validTorrent);
    seeder = await new TestSeeder({ path, meta }).start();
  });

  afterAll(async () => {
    await seeder?.close();
    await removeDir(dir);
  });

  it('random message sequences after a valid handshake never crash the listener', async () => {
    const row = tally.scenario(
      'fuzz: peer wire messages',
      'connections sending random message ids, lengths and payloads after a handshake',
      'no exception; bad peers dropped; a clean peer is still served afterwards',
    );
    const msg = fc.oneof(
      fc
        .tuple(fc.nat({ max: 25 }), fc.uint8Array({ maxLength: 40 }))
        .map(([id, p]) => message(id, p)),
      fc
        .tuple(fc.nat({ max: 5 }), fc.nat({ max: 70_000 }), fc.nat({ max: 70_000 }))
        .map(([i, o, l]) => requestMessage(i, o, l)),
      fc.uint8Array({ minLength: 1, maxLength: 16 }).map(Buffer.from),
      fc.constant(Buffer.from([0xff, 0xff, 0xff, 0xff, 7])),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(msg, { maxLength: 12 }), async (msgs) => {
        row.badInputs++;
        await sendAndWatch(
          seeder.host,
          seeder.port,
          [handshake(meta.infoHash, generatePeerId()), ...msgs],
          30,
        );
      }),
      { numRuns: 300, interruptAfterTimeLimit: BUDGET_MS * 2 },
    );
    // Still serving: a well-behaved peer gets the block it asks for.
    const ok = await sendAndWatch(
      seeder.host,
      seeder.port,
      [handshake(meta.infoHash, generatePeerId()), message(2), 300, requestMessage(0, 0, 16384)],
      2000,
    );
    expect(ok.received).toBeGreaterThan(68 + 16384);
    row.result = 'pass';
  });
});
