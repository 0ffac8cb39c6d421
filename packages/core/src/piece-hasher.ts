import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DistError, FileChangedError } from './errors.js';
import type { RangeJob, WorkerJob, WorkerReply } from './hash-protocol.js';
import ranges from './hash-ranges.cjs';
import { choosePieceLength, pieceCount } from './piece-length.js';

export interface HashFileOptions {
  /** Defaults to the piece-length policy for the file's size. */
  pieceLength?: number;
  /** Called with the bytes hashed so far and the total. */
  onProgress?: (hashed: number, total: number) => void;
}

export interface HashFileResult {
  path: string;
  length: number;
  pieceLength: number;
  /** Concatenated 20-byte SHA-1 digests. */
  pieces: Uint8Array;
  mtimeMs: number;
  ino: number;
}

/** Files below this are hashed on the calling thread: a worker round trip would cost more. */
const INLINE_LIMIT = 8 * 1024 * 1024;
/**
 * A file is cut into ranges of about this many bytes rather than one range per worker: on a
 * shared machine one worker is often slower, and with fixed halves the whole file would wait
 * for it. Workers take ranges off a shared counter, so a range costs no message; 16 MiB keeps
 * each worker's reads long and sequential.
 */
const JOB_BYTES = 16 * 1024 * 1024;
/** The shrinking ranges at the end of a file stop at this size. */
const MIN_JOB_BYTES = 1024 * 1024;

export interface PieceHasherOptions {
  /** Worker threads; default one per core. */
  workers?: number;
  /**
   * The calling thread takes ranges too, one at a time between event-loop turns (a range is at
   * most 16 MiB, ~10 ms). For one-shot hashing, where a busy event loop harms nobody: a worker
   * costs ~20 ms of CPU to start, so on two cores the calling thread and one worker finish a
   * file sooner than two workers while the calling thread waits.
   */
  callingThread?: boolean;
  /**
   * digest() hashes on the calling thread up to this many bytes a second, and on a worker past
   * that (0: always a worker). A worker costs ~30 ms of CPU to start: in a swarm of 16 clients
   * on two cores, started together, that is a quarter of a second before the first piece moves,
   * to save hashing 2.4 MB a second at 20 Mbit/s. Counted in bytes, not time: on a loaded
   * machine a hash timed with a clock includes the time the thread was not running (measured
   * that way, a 16-client swarm crossed a 2 % share and started its workers anyway). Default
   * 16 MiB/s, ~1 % of a core at the 1.7 GB/s SHA-1 runs at here.
   */
  inlineDigestBytesPerSec?: number;
}

/** How far digest() may run ahead of its rate (bytes) before it hands work over. */
const INLINE_BURST_BYTES = 8 * 1024 * 1024;

interface PendingJob {
  job: WorkerJob;
  resolve: (reply: WorkerReply) => void;
  reject: (err: Error) => void;
  onProgress?: (bytes: number) => void;
}

interface PoolWorker {
  worker: Worker;
  current: PendingJob | null;
}

/**
 * SHA-1 piece hashing over a pool of worker threads (default: one per core). A file is split
 * into contiguous ranges of pieces that the workers take in turn, each read sequentially with
 * synchronous reads into a reused 4 MiB buffer, so memory stays bounded whatever the file size.
 * The pool is reusable: a seeder hashing thousands of files pays the worker start-up once.
 */
export class PieceHasher {
  readonly size: number;
  private readonly callingThread: boolean;
  private readonly inlineRate: number;
  /** Bytes hashed on the calling thread not yet paid off at `inlineRate` (a leaky bucket). */
  private inlineDebt = 0;
  private inlineCheckedAt = 0;
  private readonly workers: PoolWorker[] = [];
  private readonly queue: PendingJob[] = [];
  private nextJobId = 1;
  private closed = false;
  /**
   * The calling thread's read buffer, kept like each worker keeps its own: a seeder hashes
   * thousands of small files here, and a WebAssembly memory per file would reserve address
   * space for each.
   */
  private readBuffer: Buffer = Buffer.alloc(0);

  constructor(options: PieceHasherOptions = {}) {
    this.size = Math.max(1, options.workers ?? availableParallelism());
    this.callingThread = options.callingThread ?? false;
    this.inlineRate = options.inlineDigestBytesPerSec ?? 16 * 1024 * 1024;
  }

  /** Worker threads in the pool now (started, and not failed since). */
  get workersStarted(): number {
    return this.workers.length;
  }

  /** Hashes every piece of a file; fails with FileChangedError if it changes meanwhile. */
  async hashFile(path: string, options: HashFileOptions = {}): Promise<HashFileResult> {
    const before = await stat(path);
    if (!before.isFile()) throw new DistError('ENOTFILE', `${path} is not a regular file`);
    const length = before.size;
    const pieceLength = options.pieceLength ?? choosePieceLength(length);
    const count = pieceCount(length, pieceLength);
    const shared = new SharedArrayBuffer(count * 20);
    let hashed = 0;
    let failed = false;
    const progress = (bytes: number) => {
      if (failed) return; // the other workers' last reports after a failure
      hashed += bytes;
      options.onProgress?.(hashed, length);
    };

    // Small files, and a one-worker pool not allowed the calling thread, are hashed here alone.
    const inline = length <= INLINE_LIMIT || (this.size === 1 && !this.callingThread);
    const job: RangeJob = {
      path,
      pieceLength,
      fileLength: length,
      bounds: inline
        ? [0, count]
        : splitRanges(
            count,
            Math.max(1, Math.floor(JOB_BYTES / pieceLength)),
            Math.max(1, Math.floor(MIN_JOB_BYTES / pieceLength)),
            this.size + (this.callingThread ? 1 : 0),
          ),
      nextRange: new SharedArrayBuffer(4),
      stop: new SharedArrayBuffer(4),
      digests: shared,
    };
    if (inline) {
      await hashOnCallingThread(job, progress, this.callerBuffer(pieceLength, length));
    } else {
      // One helper job per worker; a worker busy elsewhere joins late or finds nothing left.
      const helpers = Math.min(this.size, job.bounds.length - 1);
      const threads = Array.from({ length: helpers }, () =>
        this.run({ type: 'file', jobId: 0, ...job }, progress).then((reply) => {
          if (reply.type === 'error') throw toError(path, reply);
          if (reply.type === 'done') progress(reply.bytes);
        }),
      );
      if (this.callingThread) {
        threads.push(hashOnCallingThread(job, progress, this.callerBuffer(pieceLength, length)));
      }
      try {
        await Promise.all(threads);
      } catch (err) {
        failed = true;
        Atomics.store(new Int32Array(job.stop), 0, 1);
        throw err;
      }
    }

    const after = await stat(path);
    if (after.size !== before.size) {
      throw new FileChangedError(path, `size ${before.size} → ${after.size}`);
    }
    if (after.mtimeMs !== before.mtimeMs) throw new FileChangedError(path, 'mtime changed');
    if (after.ino !== before.ino) throw new FileChangedError(path, 'file was replaced');
    return {
      path,
      length,
      pieceLength,
      pieces: new Uint8Array(shared).slice(),
      mtimeMs: before.mtimeMs,
      ino: before.ino,
    };
  }

  /**
   * SHA-1 of a buffer: on the calling thread within `inlineDigestBytesPerSec`, otherwise on a
   * worker. A buffer backed by a SharedArrayBuffer is not copied for the worker; any other is
   * copied once by the structured clone.
   */
  async digest(data: Uint8Array): Promise<Uint8Array> {
    if (this.closed) throw new DistError('ECLOSED', 'piece hasher closed');
    if (this.inlineAllowed()) {
      this.inlineDebt += data.length;
      return new Uint8Array(createHash('sha1').update(data).digest());
    }
    const reply = await this.run({ type: 'digest', jobId: 0, data });
    if (reply.type === 'error') throw new DistError(reply.code, reply.message);
    if (reply.type !== 'digest') throw new DistError('EHASH', 'unexpected worker reply');
    return reply.digest;
  }

  private inlineAllowed(): boolean {
    if (this.inlineRate <= 0) return false;
    const now = performance.now();
    const paid = ((now - this.inlineCheckedAt) / 1000) * this.inlineRate;
    this.inlineDebt = Math.max(0, this.inlineDebt - paid);
    this.inlineCheckedAt = now;
    return this.inlineDebt < INLINE_BURST_BYTES;
  }

  /** Stops the workers. Jobs still queued are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) {
      pending.reject(new DistError('ECLOSED', 'piece hasher closed'));
    }
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    this.workers.length = 0;
  }

  /**
   * Shared by overlapping hashFile() calls: hashNextRange is done with the buffer before it
   * returns, and the event loop runs only between calls.
   */
  private callerBuffer(pieceLength: number, length: number): Buffer {
    const wanted = Math.max(ranges.READ_BYTES, Math.min(pieceLength, length));
    if (this.readBuffer.length < wanted) this.readBuffer = ranges.allocPageAligned(wanted);
    return this.readBuffer;
  }

  private run(job: WorkerJob, onProgress?: (bytes: number) => void): Promise<WorkerReply> {
    if (this.closed) return Promise.reject(new DistError('ECLOSED', 'piece hasher closed'));
    return new Promise((resolve, reject) => {
      job.jobId = this.nextJobId++;
      const pending: PendingJob = { job, resolve, reject };
      if (onProgress) pending.onProgress = onProgress;
      this.queue.push(pending);
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.workers.find((w) => w.current === null);
      if (!slot && this.workers.length < this.size) slot = this.spawn();
      if (!slot) return;
      const pending = this.queue.shift()!;
      slot.current = pending;
      slot.worker.postMessage(pending.job);
    }
  }

  private spawn(): PoolWorker {
    const worker = new Worker(new URL('./hash-worker.cjs', import.meta.url));
    // An idle pool must not keep a CLI alive; a busy one is awaited by its caller anyway.
    worker.unref();
    const slot: PoolWorker = { worker, current: null };
    worker.on('message', (reply: WorkerReply) => {
      const pending = slot.current;
      if (!pending || pending.job.jobId !== reply.jobId) return;
      if (reply.type === 'progress') {
        pending.onProgress?.(reply.bytes);
        return;
      }
      slot.current = null;
      pending.resolve(reply);
      this.dispatch();
    });
    worker.on('error', (err) => {
      const pending = slot.current;
      slot.current = null;
      this.workers.splice(this.workers.indexOf(slot), 1);
      pending?.reject(err);
      this.dispatch();
    });
    this.workers.push(slot);
    return slot;
  }
}

/**
 * Hashes one file with threads started for the purpose: the calling thread and a worker per
 * other core (`workers` counts them all). The event loop runs between ranges, ~10 ms apart.
 */
export async function hashFile(
  path: string,
  options: HashFileOptions & { workers?: number } = {},
): Promise<HashFileResult> {
  const threads = Math.max(1, options.workers ?? availableParallelism());
  const hasher = new PieceHasher({ workers: Math.max(1, threads - 1), callingThread: threads > 1 });
  try {
    return await hasher.hashFile(path, options);
  } finally {
    // The result does not wait for the worker to wind down; an unref'd worker holds nothing up.
    hasher.close().catch(() => undefined);
  }
}

/**
 * The calling thread's share of a file: ranges off the shared counter into `buffer` (at least a
 * piece, or the whole file when shorter), yielding between them.
 */
async function hashOnCallingThread(
  job: RangeJob,
  progress: (bytes: number) => void,
  buffer: Buffer,
): Promise<void> {
  const fd = openSync(job.path, 'r');
  try {
    for (let bytes; (bytes = ranges.hashNextRange(job, fd, buffer)) >= 0;) {
      progress(bytes);
      // The yield lets the event loop run between ranges; after a file's only range (every
      // small file a seeder hashes) it would only delay the result.
      if (job.bounds.length > 2) await new Promise((resolve) => setImmediate(resolve));
    }
  } catch (err) {
    if (err instanceof ranges.FileShrankError) throw new FileChangedError(job.path, err.message);
    throw err;
  } finally {
    closeSync(fd);
  }
}

/** SHA-1 of a buffer on the calling thread. */
export function sha1(data: Uint8Array): Buffer {
  return createHash('sha1').update(data).digest();
}

/**
 * Where consecutive ranges covering pieces [0, count) start, then `count`. Ranges hold
 * `maxPieces` until the end nears, then shrink to a share of what is left (down to `minPieces`),
 * so that the workers run out of work together instead of one hashing a whole last range alone.
 */
function splitRanges(
  count: number,
  maxPieces: number,
  minPieces: number,
  workers: number,
): number[] {
  const bounds = [0];
  for (let first = 0; first < count;) {
    const share = Math.ceil((count - first) / (2 * workers));
    first = Math.min(count, first + Math.max(minPieces, Math.min(maxPieces, share)));
    bounds.push(first);
  }
  return bounds;
}

function toError(path: string, reply: { code: string; message: string }): Error {
  if (reply.code === 'EFILECHANGED') return new FileChangedError(path, reply.message);
  return new DistError(reply.code, `${path}: ${reply.message}`);
}
