import { promiseOf } from '@distributor/core';
import type { PieceReader, TorrentMeta } from '@distributor/core';
import type { PartFile } from './part-file.js';
import { bitGet, bitSet, emptyBitfield } from './resume-record.js';

/**
 * What this client can upload: the verified pieces of its own file, read back from disk with
 * synchronous positional reads (PartFile.readBlock says why); core's WireUploader validates
 * requests against `has` before reading.
 */
export class LocalPieces implements PieceReader {
  readonly meta: TorrentMeta;
  readonly bits: Uint8Array;
  private file: PartFile | null;
  private count = 0;

  constructor(meta: TorrentMeta, file: PartFile | null, initial?: Uint8Array) {
    this.meta = meta;
    this.file = file;
    this.bits = emptyBitfield(meta.pieceCount);
    if (initial) for (let i = 0; i < meta.pieceCount; i++) if (bitGet(initial, i)) this.add(i);
  }

  setFile(file: PartFile): void {
    this.file = file;
  }

  has(index: number): boolean {
    return bitGet(this.bits, index);
  }

  add(index: number): void {
    if (this.has(index)) return;
    bitSet(this.bits, index);
    this.count++;
  }

  remove(index: number): void {
    if (!this.has(index)) return;
    bitSet(this.bits, index, false);
    this.count--;
  }

  get haveCount(): number {
    return this.count;
  }

  get complete(): boolean {
    return this.count === this.meta.pieceCount;
  }

  /** Bytes held: every verified piece's length. */
  get haveBytes(): number {
    const { meta } = this;
    const last = this.has(meta.pieceCount - 1);
    return (this.count - (last ? 1 : 0)) * meta.pieceLength + (last ? meta.lastPieceLength : 0);
  }

  read(index: number, offset: number, length: number): Promise<Uint8Array> {
    return promiseOf(() => {
      if (!this.file || !this.has(index)) throw new Error(`piece ${index} is not available`);
      return this.file.readBlock(index * this.meta.pieceLength + offset, length);
    });
  }
}
