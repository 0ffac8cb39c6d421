import { pieceHash, pieceSize } from '@distributor/core';
import type { PieceHasher, TorrentMeta } from '@distributor/core';
import type { PartFile } from './part-file.js';

/**
 * Which of `indexes` hold correct data in `file`: each piece is read into a SharedArrayBuffer
 * and hashed on the worker pool, a few at a time, so a resume check of a large file runs at
 * disk/hash speed without blocking the event loop.
 */
export async function checkPieces(
  hasher: PieceHasher,
  file: PartFile,
  meta: TorrentMeta,
  indexes: readonly number[],
  parallel = 4,
): Promise<number[]> {
  const good: number[] = [];
  let next = 0;
  const worker = async () => {
    const buffer = new Uint8Array(new SharedArrayBuffer(meta.pieceLength));
    while (next < indexes.length) {
      const index = indexes[next++]!;
      const length = pieceSize(index, meta.length, meta.pieceLength);
      const data = await file.read(index * meta.pieceLength, length, buffer);
      const digest = await hasher.digest(data);
      if (Buffer.from(digest).equals(Buffer.from(pieceHash(meta, index)))) good.push(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, indexes.length) }, worker));
  return good.sort((a, b) => a - b);
}

/** Which pieces of the file at `path` are correct, hashing the whole file sequentially. */
export async function scanFile(hasher: PieceHasher, path: string, meta: TorrentMeta) {
  const result = await hasher.hashFile(path, { pieceLength: meta.pieceLength });
  const good: number[] = [];
  if (result.length !== meta.length) return good;
  for (let i = 0; i < meta.pieceCount; i++) {
    const a = result.pieces.subarray(i * 20, i * 20 + 20);
    if (Buffer.from(a).equals(Buffer.from(pieceHash(meta, i)))) good.push(i);
  }
  return good;
}
