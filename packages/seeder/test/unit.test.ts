import { describe, expect, it } from '@jest/globals';
import { appendFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTorrent, parseMetainfo, sha1 } from '@distributor/core';
import {
  CHUNK_SIZE,
  ChunkCache,
  ConfigError,
  FdCache,
  FilePieceReader,
  HashCache,
  isIgnoredName,
  isIgnoredPath,
  resolveConfig,
} from '@distributor/seeder';
import { patternBytes, tempDir } from './helpers.js';

describe('config', () => {
  it('applies defaults', () => {
    const c = resolveConfig({ dirs: ['/srv/isos'], stateDir: '/var/lib/dist' });
    expect(c).toMatchObject({
      dirs: ['/srv/isos'],
      tracker: 'http://localhost:6969',
      port: 6881,
      settleMs: 2000,
      renewIntervalMs: 30_000,
      leaseTtlSec: 90,
      pieceLength: 0,
    });
  });

  it.each([
    [{ dirs: [] }, /no directory/],
    [{ dirs: ['/a/isos', '/b/isos'] }, /share the name isos/],
    [{ dirs: ['/srv/isos'], stateDir: '/srv/isos/.state' }, /inside seeded/],
    [{ dirs: ['/srv/x'], tracker: 'not a url' }, /not a URL/],
    [{ dirs: ['/srv/x'], port: 70000 }, /not a TCP port/],
    [{ dirs: ['/srv/x'], pieceLength: 1000 }, /power of two/],
    [{ dirs: ['/srv/x'], renewIntervalMs: 100_000, leaseTtlSec: 90 }, /shorter than the lease/],
  ])('rejects %j', (options, message) => {
    expect(() => resolveConfig({ stateDir: '/state', ...options })).toThrow(ConfigError);
    expect(() => resolveConfig({ stateDir: '/state', ...options })).toThrow(message);
  });
});

describe('ignore rules', () => {
  it.each(['.hidden', 'x.part', 'x.tmp', 'x~', '.x.swp', 'x.swp', '.rsync.AbC123'])(
    'ignores %s',
    (name) => expect(isIgnoredName(name)).toBe(true),
  );
  it.each(['ubuntu.iso', 'name with spaces', 'partial.iso', 'ünïcødé'])('keeps %s', (name) =>
    expect(isIgnoredName(name)).toBe(false),
  );
  it('ignores files under ignored directories', () => {
    expect(isIgnoredPath('a/.git/objects/x')).toBe(true);
    expect(isIgnoredPath('a/b/c.iso')).toBe(false);
  });
});

describe('hash cache', () => {
  it('survives a restart and is only used for the exact same file version', async () => {
    const tmp = tempDir();
    try {
      const cache = new HashCache(join(tmp.dir, 'state'));
      await cache.load();
      const id = { size: 100, mtimeMs: 123.5, ino: 42 };
      cache.set('/srv/a', { ...id, pieceLength: 16384, pieces: Buffer.alloc(20, 7) });
      await cache.flush();
      const again = new HashCache(join(tmp.dir, 'state'));
      await again.load();
      expect(Buffer.from(again.get('/srv/a', id)!.pieces)).toEqual(Buffer.alloc(20, 7));
      expect(again.get('/srv/a', { ...id, size: 101 })).toBeNull();
      expect(again.get('/srv/a', { ...id, mtimeMs: 124 })).toBeNull();
      expect(again.get('/srv/a', { ...id, ino: 43 })).toBeNull();
      expect(again.get('/srv/b', id)).toBeNull();
    } finally {
      tmp.cleanup();
    }
  });

  it('treats a corrupt cache file as empty', async () => {
    const tmp = tempDir();
    try {
      writeFileSync(join(tmp.dir, 'seeder-hash-cache.json'), '{not json');
      const cache = new HashCache(tmp.dir);
      await cache.load();
      expect(cache.size).toBe(0);
    } finally {
      tmp.cleanup();
    }
  });
});

describe('ChunkCache', () => {
  const fill = (byte: number) => (buffer: Buffer) => {
    buffer.fill(byte);
    return CHUNK_SIZE;
  };

  it('never reuses the memory of a block that has not been released', () => {
    const cache = new ChunkCache(2 * CHUNK_SIZE);
    const held = cache.block('a:0', 0, 16384, fill(1));
    cache.release(cache.block('b:0', 0, 16384, fill(2)));
    for (let i = 0; i < 10; i++) cache.release(cache.block(`c:${i}`, 0, 16384, fill(3 + i)));
    expect(held.every((b) => b === 1)).toBe(true);
    cache.release(held);
  });

  it('recycles dropped chunks once their blocks are released', () => {
    const cache = new ChunkCache(2 * CHUNK_SIZE);
    const first = cache.block('a:0', 0, 16384, fill(1));
    const firstMemory = first.buffer;
    cache.release(first);
    cache.dropFile('a:');
    const next = cache.block('b:0', 0, 16384, fill(2));
    expect(next.buffer).toBe(firstMemory);
    expect(next.every((b) => b === 2)).toBe(true);
  });

  it('serves a cached chunk without loading it again', () => {
    const cache = new ChunkCache();
    let loads = 0;
    const load = (buffer: Buffer) => {
      loads++;
      buffer.fill(9);
      return CHUNK_SIZE;
    };
    cache.release(cache.block('a:0', 0, 100, load));
    cache.release(cache.block('a:0', 100, 100, load));
    expect(loads).toBe(1);
  });
});

describe('FilePieceReader', () => {
  async function setup() {
    const tmp = tempDir();
    const path = join(tmp.dir, 'f.bin');
    const data = patternBytes(100_000, 3);
    writeFileSync(path, data);
    const pieceLength = 32 * 1024;
    const digests = [];
    for (let at = 0; at < data.length; at += pieceLength) {
      digests.push(sha1(data.subarray(at, at + pieceLength)));
    }
    const { torrent } = buildTorrent({
      name: 'f.bin',
      length: data.length,
      pieceLength,
      pieces: Buffer.concat(digests),
    });
    const meta = await parseMetainfo(torrent);
    const st = statSync(path);
    let changes = 0;
    const reader = new FilePieceReader(
      meta,
      path,
      { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino },
      new FdCache(4),
      new ChunkCache(),
      () => changes++,
    );
    return { tmp, path, data, reader, changes: () => changes };
  }

  it('reads blocks that match the file', async () => {
    const { tmp, data, reader } = await setup();
    try {
      const block = await reader.read(2, 1000, 16384);
      expect(Buffer.from(block)).toEqual(data.subarray(2 * 32768 + 1000, 2 * 32768 + 1000 + 16384));
      expect(reader.has(3)).toBe(true);
      expect(reader.has(4)).toBe(false);
    } finally {
      tmp.cleanup();
    }
  });

  it('refuses to serve a file modified since it was hashed', async () => {
    const { tmp, path, reader, changes } = await setup();
    try {
      appendFileSync(path, 'x');
      utimesSync(path, new Date(), new Date(Date.now() + 5000));
      await expect(reader.read(0, 0, 16384)).rejects.toThrow(/changed since it was published/);
      expect(changes()).toBe(1);
      expect(reader.has(0)).toBe(false);
    } finally {
      tmp.cleanup();
    }
  });
});
