import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import parseTorrent from 'parse-torrent';
import {
  MetainfoError,
  buildTorrent,
  decodeDict,
  hashFile,
  isDict,
  parseMetainfo,
  withAnnounce,
} from '@distributor/core';
import { tempDir, transmissionShowHash, writeFile } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const PIECE = 32 * 1024;
const LOG2_PIECE = 15;

async function ourTorrent(path: string, name: string, pieceLength: number) {
  const hashed = await hashFile(path, { pieceLength });
  return buildTorrent({
    name,
    length: hashed.length,
    pieceLength,
    pieces: hashed.pieces,
    announce: 'http://127.0.0.1:6969/announce',
  });
}

function mktorrentHash(path: string, name: string, log2: number): string {
  const out = join(tmp.dir, `${name}.mk.torrent`);
  execFileSync('mktorrent', ['-l', String(log2), '-n', name, '-o', out, path], { stdio: 'ignore' });
  return transmissionShowHash(out);
}

describe('metainfo matches mktorrent', () => {
  it.each([
    ['1 byte', 1, PIECE, LOG2_PIECE],
    ['exactly one piece', PIECE, PIECE, LOG2_PIECE],
    ['one piece + 1 byte', PIECE + 1, PIECE, LOG2_PIECE],
    ['~100 MiB', 100 * 1024 * 1024 + 12345, 256 * 1024, 18],
  ])('%s', async (label, size, pieceLength, log2) => {
    const name = `file-${size}.bin`;
    const path = join(tmp.dir, name);
    writeFile(path, size, size);
    const ours = await ourTorrent(path, name, pieceLength);
    const oursPath = join(tmp.dir, `${name}.torrent`);
    writeFileSync(oursPath, ours.torrent);

    expect(ours.infoHash).toBe(mktorrentHash(path, name, log2));
    // Third-party readers agree on our bytes.
    expect(transmissionShowHash(oursPath)).toBe(ours.infoHash);
    const parsed = await parseTorrent(readFileSync(oursPath));
    expect(parsed.infoHash).toBe(ours.infoHash);
    expect(parsed.length).toBe(size);
    expect(label).toBeTruthy();
  });

  it('info dict holds exactly length, name, piece length, pieces', async () => {
    const path = join(tmp.dir, 'keys.bin');
    writeFile(path, 100_000);
    const { torrent } = await ourTorrent(path, 'keys.bin', PIECE);
    const info = decodeDict(torrent)['info'];
    expect(isDict(info) && Object.keys(info).sort()).toEqual([
      'length',
      'name',
      'piece length',
      'pieces',
    ]);
  });
});

describe('parseMetainfo', () => {
  it('parses a mktorrent torrent into a typed TorrentMeta', async () => {
    const path = join(tmp.dir, 'mk.bin');
    writeFile(path, 70_000, 3);
    const out = join(tmp.dir, 'mk.torrent');
    execFileSync('mktorrent', ['-l', '15', '-a', 'http://t/announce', '-o', out, path], {
      stdio: 'ignore',
    });
    const meta = await parseMetainfo(readFileSync(out));
    expect(meta).toMatchObject({
      name: 'mk.bin',
      length: 70_000,
      pieceLength: 32768,
      pieceCount: 3,
      lastPieceLength: 70_000 - 2 * 32768,
      announce: ['http://t/announce'],
      private: false,
    });
    expect(meta.infoHash).toBe(transmissionShowHash(out));
    expect(meta.pieces.length).toBe(60);
  });

  it('withAnnounce changes the announce URL but not the info hash', async () => {
    const { torrent, infoHash } = buildTorrent({
      name: 'a.bin',
      length: 10,
      pieceLength: 16384,
      pieces: Buffer.alloc(20, 1),
      announce: 'http://old/announce',
    });
    const moved = await parseMetainfo(withAnnounce(torrent, 'http://new:6969/announce'));
    expect(moved.infoHash).toBe(infoHash);
    expect(moved.announce).toEqual(['http://new:6969/announce']);
  });

  it('refuses to build an unsafe or inconsistent torrent', () => {
    const base = { length: 10, pieceLength: 16384, pieces: Buffer.alloc(20) };
    expect(() => buildTorrent({ ...base, name: '../etc' })).toThrow(MetainfoError);
    expect(() => buildTorrent({ ...base, name: 'ok', pieces: Buffer.alloc(40) })).toThrow(/hashes/);
  });
});
