import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { renameSync, writeFileSync } from 'node:fs';
import type { TorrentMeta } from '@distributor/core';
import { toDiskError } from './storage-errors.js';

/**
 * `PATH.part.resume`: which pieces of `PATH.part` were verified and written. It is rewritten
 * (write to a temporary file, then rename, so a kill -9 leaves either the old or the new record,
 * never half of one) after pieces land, one write at a time: while a write is in flight, newer
 * pieces are coalesced into the next one. A piece is recorded only after its data was written,
 * and on resume the recorded pieces are hashed again before they are trusted, so even a record
 * that outlived its data (power loss before the page cache reached the disk) cannot produce a
 * wrong file.
 */
export interface ResumeRecordFile {
  version: 1;
  infoHash: string;
  length: number;
  pieceLength: number;
  /** BEP 3 bitfield (high bit = piece 0), base64. */
  have: string;
}

export function emptyBitfield(pieceCount: number): Uint8Array {
  return new Uint8Array(Math.ceil(pieceCount / 8));
}

export function bitGet(bits: Uint8Array, index: number): boolean {
  return ((bits[index >> 3] ?? 0) & (0x80 >> (index & 7))) !== 0;
}

export function bitSet(bits: Uint8Array, index: number, value = true): void {
  const byte = index >> 3;
  if (value) bits[byte]! |= 0x80 >> (index & 7);
  else bits[byte]! &= ~(0x80 >> (index & 7));
}

/**
 * Record writes: at most one every MIN_INTERVAL_MS, and one every MAX_INTERVAL_MS unless 1% of
 * the pieces are new. Each write is four file-system calls (open, write, close, rename); ten a
 * second were as much of a 16-peer swarm's dist-get as writing the pieces themselves. A kill -9
 * loses at most 1% of the pieces or MIN_INTERVAL_MS worth of them, whichever is more.
 */
const MIN_INTERVAL_MS = 100;
const MAX_INTERVAL_MS = 1000;

type MetaKey = Pick<TorrentMeta, 'infoHash' | 'length' | 'pieceLength' | 'pieceCount'>;

/** The recorded bitfield, or null when there is no record or it belongs to another torrent. */
export async function loadResumeRecord(path: string, meta: MetaKey): Promise<Uint8Array | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const record = JSON.parse(text) as Partial<ResumeRecordFile>;
    if (
      record.version !== 1 ||
      record.infoHash !== meta.infoHash ||
      record.length !== meta.length ||
      record.pieceLength !== meta.pieceLength ||
      typeof record.have !== 'string'
    ) {
      return null;
    }
    const bits = new Uint8Array(Buffer.from(record.have, 'base64'));
    if (bits.length !== Math.ceil(meta.pieceCount / 8)) return null;
    return bits;
  } catch {
    return null;
  }
}

export class ResumeRecorder {
  readonly path: string;
  readonly bits: Uint8Array;
  private readonly meta: MetaKey;
  private writing: Promise<void> | null = null;
  private failed: Error | null = null;
  private lastWriteAt = 0;
  /**
   * Marks since the last write (any makes the record stale), and how many make a write due
   * before MAX_INTERVAL_MS.
   */
  private marks = 0;
  private readonly batch: number;
  /** flush() is waiting: write without waiting for the interval. */
  private urgent = false;
  /** Ends the write loop's current wait early (flush() is waiting). */
  private wakeLoop: (() => void) | null = null;

  constructor(path: string, meta: MetaKey, initial?: Uint8Array) {
    this.path = path;
    this.meta = meta;
    this.bits = initial ? Uint8Array.from(initial) : emptyBitfield(meta.pieceCount);
    this.batch = Math.max(1, Math.floor(meta.pieceCount / 100));
  }

  /** Records a piece as written; the record on disk follows shortly. */
  markHave(index: number): void {
    bitSet(this.bits, index);
    this.schedule();
  }

  markMissing(index: number): void {
    bitSet(this.bits, index, false);
    this.schedule();
  }

  /** Writes the record now (also proves the directory is writable). */
  async save(): Promise<void> {
    this.schedule();
    await this.flush();
  }

  /** Waits until the record on disk reflects every mark so far. */
  async flush(): Promise<void> {
    // Only a write loop clears it: set with nothing to write, it would hurry the next one.
    if (this.writing || this.marks > 0) this.urgent = true;
    // Completion waits on this: a download's last 100 ms are not spent asleep.
    this.wakeLoop?.();
    for (let i = 0; i < 3 && (this.writing || this.marks > 0); i++) {
      if (!this.writing) this.schedule();
      await this.writing;
    }
    if (this.failed) throw this.failed;
  }

  /** For exit paths that cannot await (signal handlers). */
  flushSync(): void {
    const tmp = `${this.path}.tmp-sync`;
    writeFileSync(tmp, this.serialize());
    renameSync(tmp, this.path);
    this.marks = 0;
  }

  async remove(): Promise<void> {
    await this.writing?.catch(() => undefined);
    this.marks = 0;
    await rm(this.path, { force: true });
  }

  private schedule(): void {
    this.marks++;
    if (this.writing) return;
    this.writing = (async () => {
      while (this.marks > 0) {
        // At most one record every MIN_INTERVAL_MS: at 1 GB/s a record per piece cost 7% of
        // the main thread. Waits in steps, so that marks arriving meanwhile or a flush() count.
        for (;;) {
          // flush() (completion, shutdown) waits for no interval.
          const interval = this.urgent
            ? 0
            : this.marks >= this.batch
              ? MIN_INTERVAL_MS
              : MAX_INTERVAL_MS;
          const wait = this.lastWriteAt + interval - Date.now();
          if (wait <= 0) break;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.min(wait, MIN_INTERVAL_MS));
            this.wakeLoop = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.wakeLoop = null;
        }
        this.lastWriteAt = Date.now();
        this.marks = 0;
        const tmp = `${this.path}.tmp`;
        try {
          await writeFile(tmp, this.serialize());
          await rename(tmp, this.path);
        } catch (err) {
          // Losing the record costs a re-download after a crash, not correctness: remember the
          // error for flush() and keep downloading.
          this.failed = toDiskError(this.path, err);
          break;
        }
      }
      this.writing = null;
      this.urgent = false;
    })();
  }

  private serialize(): string {
    const record: ResumeRecordFile = {
      version: 1,
      infoHash: this.meta.infoHash,
      length: this.meta.length,
      pieceLength: this.meta.pieceLength,
      have: Buffer.from(this.bits).toString('base64'),
    };
    return JSON.stringify(record);
  }
}
