import { createHash } from 'node:crypto';
import { openSync, closeSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { FileChangedError, PieceHasher, hashFile } from '@distributor/core';
import type { HashFileOptions, HashFileResult } from '@distributor/core';
import { tempDir, writeFile } from './helpers.js';

const tmp = tempDir();
const hasher = new PieceHasher({ workers: 2 });
afterAll(async () => {
  await hasher.close();
  tmp.cleanup();
});

function referencePieces(path: string, pieceLength: number): Buffer {
  const data = readFileSync(path);
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += pieceLength) {
    out.push(
      createHash('sha1')
        .update(data.subarray(off, off + pieceLength))
        .digest(),
    );
  }
  return Buffer.concat(out);
}

describe('PieceHasher', () => {
  it.each([
    ['small file, inline', 100_000, 16384],
    ['large file over workers, ragged last piece', 40 * 1024 * 1024 + 999, 65536],
    ['piece larger than the read chunk', 20 * 1024 * 1024 + 1, 8 * 1024 * 1024],
    ['many small pieces, ranges shrinking at the end', 40 * 1024 * 1024 + 5, 16384],
  ])('%s matches a plain SHA-1 loop', async (_label, size, pieceLength) => {
    const path = join(tmp.dir, `f-${size}`);
    writeFile(path, size, size);
    const result = await hasher.hashFile(path, { pieceLength });
    expect(result.length).toBe(size);
    expect(Buffer.from(result.pieces).equals(referencePieces(path, pieceLength))).toBe(true);
  });

  it('reports progress up to the file size', async () => {
    const path = join(tmp.dir, 'progress.bin');
    const size = 80 * 1024 * 1024;
    writeFile(path, size, 9);
    const seen: number[] = [];
    await hasher.hashFile(path, { onProgress: (done) => seen.push(done) });
    expect(seen.length).toBeGreaterThan(1);
    expect(seen[seen.length - 1]).toBe(size);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });

  it('uses the piece-length policy by default', async () => {
    const path = join(tmp.dir, 'policy.bin');
    writeFile(path, 40 * 1024 * 1024);
    const result = await hashFile(path, { workers: 1 });
    expect(result.pieceLength).toBe(16384 * 2);
  });

  it('reports a file rewritten while it is hashed as changed', async () => {
    const path = join(tmp.dir, 'rewritten.bin');
    writeFile(path, 128 * 1024 * 1024, 5);
    let touched = false;
    const run = hasher.hashFile(path, {
      pieceLength: 1 << 20,
      onProgress: () => {
        if (touched) return;
        touched = true;
        // Rewrite bytes that were already hashed: the digests are now wrong for the file.
        const fd = openSync(path, 'r+');
        writeSync(fd, Buffer.from('changed'), 0, 7, 0);
        closeSync(fd);
      },
    });
    await expect(run).rejects.toBeInstanceOf(FileChangedError);
    expect(touched).toBe(true);
  });

  /**
   * Hashes `path` with `hash` (the shared pool's by default) and 1 MiB pieces, truncating it to
   * `to` bytes at the first progress.
   */
  function hashWhileTruncating(
    path: string,
    to: number,
    hash: (path: string, options: HashFileOptions) => Promise<HashFileResult> = (p, o) =>
      hasher.hashFile(p, o),
  ) {
    let touched = false;
    return hash(path, {
      pieceLength: 1 << 20,
      onProgress: () => {
        if (touched) return;
        touched = true;
        truncateSync(path, to);
      },
    });
  }

  it('reports a file truncated while it is hashed as changed', async () => {
    const path = join(tmp.dir, 'truncated.bin');
    writeFile(path, 128 * 1024 * 1024, 6);
    await expect(hashWhileTruncating(path, 1024)).rejects.toBeInstanceOf(FileChangedError);
  });

  it('hashes files concurrently on one pool, each correctly', async () => {
    const a = join(tmp.dir, 'concurrent-a.bin');
    const b = join(tmp.dir, 'concurrent-b.bin');
    writeFile(a, 24 * 1024 * 1024 + 17, 11);
    writeFile(b, 30 * 1024 * 1024 + 3, 12);
    const [ra, rb] = await Promise.all([
      hasher.hashFile(a, { pieceLength: 262144 }),
      hasher.hashFile(b, { pieceLength: 1 << 20 }),
    ]);
    expect(Buffer.from(ra.pieces).equals(referencePieces(a, 262144))).toBe(true);
    expect(Buffer.from(rb.pieces).equals(referencePieces(b, 1 << 20))).toBe(true);
  });

  it('hashes the next file correctly after a failed one', async () => {
    const bad = join(tmp.dir, 'fails.bin');
    writeFile(bad, 64 * 1024 * 1024, 13);
    await expect(hashWhileTruncating(bad, 4096)).rejects.toBeInstanceOf(FileChangedError);
    const good = join(tmp.dir, 'after-failure.bin');
    writeFile(good, 20 * 1024 * 1024 + 1, 14);
    const result = await hasher.hashFile(good, { pieceLength: 1 << 20 });
    expect(Buffer.from(result.pieces).equals(referencePieces(good, 1 << 20))).toBe(true);
  });

  it.each([2, 3])(
    'hashFile() with %i threads, the calling thread among them, matches a plain SHA-1 loop',
    async (workers) => {
      const path = join(tmp.dir, `one-shot-${workers}.bin`);
      const size = 70 * 1024 * 1024 + 321;
      writeFile(path, size, 20 + workers);
      const seen: number[] = [];
      const result = await hashFile(path, {
        pieceLength: 1 << 20,
        workers,
        onProgress: (done) => seen.push(done),
      });
      expect(Buffer.from(result.pieces).equals(referencePieces(path, 1 << 20))).toBe(true);
      expect(seen[seen.length - 1]).toBe(size);
    },
  );

  it('hashFile() reports a file truncated under the calling thread as changed', async () => {
    const path = join(tmp.dir, 'one-shot-truncated.bin');
    writeFile(path, 128 * 1024 * 1024, 31);
    const run = hashWhileTruncating(path, 2048, (p, o) => hashFile(p, { ...o, workers: 2 }));
    await expect(run).rejects.toBeInstanceOf(FileChangedError);
  });

  it('digests buffers on a worker, including SharedArrayBuffer-backed ones', async () => {
    const onWorker = new PieceHasher({ workers: 1, inlineDigestBytesPerSec: 0 });
    try {
      const shared = new Uint8Array(new SharedArrayBuffer(1 << 16)).fill(42);
      const digest = await onWorker.digest(shared);
      expect(Buffer.from(digest).equals(createHash('sha1').update(shared).digest())).toBe(true);
      expect(onWorker.workersStarted).toBe(1);
    } finally {
      await onWorker.close();
    }
  });

  it('digests on the calling thread up to its byte rate, then on a worker', async () => {
    const adaptive = new PieceHasher({ workers: 1 });
    try {
      const small = new Uint8Array(1 << 16).fill(7);
      const expected = createHash('sha1').update(small).digest();
      expect(Buffer.from(await adaptive.digest(small)).equals(expected)).toBe(true);
      expect(adaptive.workersStarted).toBe(0);
      // One 16 MiB digest is past the 8 MiB burst, and the rate (16 MiB/s) pays off a little of
      // it per call: a burst of them goes to the worker.
      const big = new Uint8Array(new SharedArrayBuffer(16 << 20)).fill(9);
      const bigDigest = createHash('sha1').update(big).digest();
      for (let i = 0; i < 64 && adaptive.workersStarted === 0; i++) {
        expect(Buffer.from(await adaptive.digest(big)).equals(bigDigest)).toBe(true);
      }
      expect(adaptive.workersStarted).toBe(1);
    } finally {
      await adaptive.close();
    }
    await expect(adaptive.digest(new Uint8Array(4))).rejects.toMatchObject({ code: 'ECLOSED' });
  });
});
