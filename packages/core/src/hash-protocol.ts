/** Messages between the piece hasher and its workers. */

/** What a thread needs to take ranges of one file's pieces. */
export interface RangeJob {
  path: string;
  pieceLength: number;
  fileLength: number;
  /** Range i is pieces [bounds[i], bounds[i + 1]); the last entry is the piece count. */
  bounds: number[];
  /** One Int32 shared by every thread hashing the file: the next range to take. */
  nextRange: SharedArrayBuffer;
  /** One Int32, non-zero once hashing the file failed anywhere: the others stop early. */
  stop: SharedArrayBuffer;
  /** 20 bytes per piece of the whole file; each thread fills the ranges it took. */
  digests: SharedArrayBuffer;
}

export type WorkerJob =
  /**
   * Help hash a file: every thread given this job takes ranges of pieces off the shared counter
   * until none is left, so no worker waits on the main thread between ranges.
   */
  | ({ type: 'file'; jobId: number } & RangeJob)
  | { type: 'digest'; jobId: number; data: Uint8Array };

export type WorkerReply =
  | { type: 'progress'; jobId: number; bytes: number }
  | { type: 'done'; jobId: number; bytes: number }
  | { type: 'digest'; jobId: number; digest: Uint8Array }
  | { type: 'error'; jobId: number; code: string; message: string };
