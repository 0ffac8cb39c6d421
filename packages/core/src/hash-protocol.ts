/** Messages between the piece hasher and its workers. */
export type WorkerJob =
  | {
      type: 'range';
      jobId: number;
      path: string;
      pieceLength: number;
      firstPiece: number;
      endPiece: number;
      fileLength: number;
      /** 20 bytes per piece of the whole file; each worker fills its own range. */
      digests: SharedArrayBuffer;
    }
  | { type: 'digest'; jobId: number; data: Uint8Array };

export type WorkerReply =
  | { type: 'progress'; jobId: number; bytes: number }
  | { type: 'done'; jobId: number; bytes: number }
  | { type: 'digest'; jobId: number; digest: Uint8Array }
  | { type: 'error'; jobId: number; code: string; message: string };
