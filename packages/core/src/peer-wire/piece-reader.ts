import { readSync } from 'node:fs';
import type { TorrentMeta } from '../metainfo.js';

/**
 * Read access to the pieces one side of a connection can upload. The seeder implements it over a
 * published file, the client over its `.part` file (verified pieces only). `read` must return
 * exactly `length` bytes that match the published piece hashes, or reject.
 */
export interface PieceReader {
  readonly meta: TorrentMeta;
  has(index: number): boolean;
  read(index: number, offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional. Called exactly once for every block `read` returned, when nothing references it
   * any more (the kernel has it, or it was never sent). A reader that recycles its buffers may
   * reuse the memory only then.
   */
  release?(block: Uint8Array): void;
}

/**
 * `read` for a reader that reads synchronously (dist-seed and dist-get both do: a block from the
 * page cache costs less than a thread-pool hand-off): what `fn` throws becomes the rejection.
 */
export function promiseOf<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

/**
 * Reads `length` bytes at `position` into the start of `buffer`, as many calls as it takes; stops
 * early only at the end of the file. Returns the bytes read: fewer than `length` means the file
 * is shorter than its caller expected.
 */
export function readFullySync(
  fd: number,
  buffer: Uint8Array,
  length: number,
  position: number,
): number {
  let filled = 0;
  while (filled < length) {
    const bytesRead = readSync(fd, buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** BEP 3 block size; every mainstream client requests exactly this, and nobody may ask for more. */
export const MAX_BLOCK_LENGTH = 16 * 1024;

/** Byte length of piece `index` of `meta`. */
export function pieceLengthAt(meta: TorrentMeta, index: number): number {
  return index === meta.pieceCount - 1 ? meta.lastPieceLength : meta.pieceLength;
}

/** Why a request (index, offset, length) is not servable by `reader`, or null when it is. */
export function badRequestReason(
  reader: PieceReader,
  index: number,
  offset: number,
  length: number,
): string | null {
  const { meta } = reader;
  if (!Number.isInteger(index) || index < 0 || index >= meta.pieceCount) {
    return `piece index ${index} out of range (0..${meta.pieceCount - 1})`;
  }
  if (!Number.isInteger(length) || length <= 0 || length > MAX_BLOCK_LENGTH) {
    return `block length ${length} not in 1..${MAX_BLOCK_LENGTH}`;
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + length > pieceLengthAt(meta, index)) {
    return `block ${offset}+${length} outside piece ${index}`;
  }
  if (!reader.has(index)) return `piece ${index} is not available`;
  return null;
}

/** The BEP 3 bitfield of the pieces `reader` has (spare bits zero), or null when it has none. */
export function bitfieldOf(reader: PieceReader): Uint8Array | null {
  const count = reader.meta.pieceCount;
  const bits = new Uint8Array(Math.ceil(count / 8));
  let any = false;
  for (let i = 0; i < count; i++) {
    if (reader.has(i)) {
      bits[i >> 3]! |= 0x80 >> (i & 7);
      any = true;
    }
  }
  return any ? bits : null;
}
