/**
 * Worker side of the piece hasher. One job at a time: hash a contiguous range of pieces of a
 * file with synchronous reads into one reused buffer (bounded memory, no stream overhead), or
 * digest a buffer handed over by the main thread.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { WorkerJob, WorkerReply } from './hash-protocol.js';

const READ_CHUNK = 4 * 1024 * 1024;
const PROGRESS_EVERY = 32 * 1024 * 1024;
let buffer: Buffer = Buffer.alloc(0);

function hashRange(job: Extract<WorkerJob, { type: 'range' }>): WorkerReply {
  const { path, pieceLength, firstPiece, endPiece, fileLength, jobId } = job;
  const out = new Uint8Array(job.digests);
  const piecesPerRead = Math.max(1, Math.floor(READ_CHUNK / pieceLength));
  const chunk = piecesPerRead * pieceLength;
  if (buffer.length < chunk) buffer = Buffer.allocUnsafe(chunk);
  const fd = openSync(path, 'r');
  let sinceProgress = 0;
  try {
    for (let piece = firstPiece; piece < endPiece; piece += piecesPerRead) {
      const start = piece * pieceLength;
      const want = Math.min(chunk, fileLength - start, (endPiece - piece) * pieceLength);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, buffer, got, want - got, start + got);
        if (n === 0) {
          return { type: 'error', jobId, code: 'EFILECHANGED', message: 'file shrank' };
        }
        got += n;
      }
      for (let off = 0, p = piece; off < want; off += pieceLength, p++) {
        const end = Math.min(off + pieceLength, want);
        const digest = createHash('sha1').update(buffer.subarray(off, end)).digest();
        out.set(digest, p * 20);
      }
      sinceProgress += want;
      if (sinceProgress >= PROGRESS_EVERY) {
        parentPort!.postMessage({ type: 'progress', jobId, bytes: sinceProgress });
        sinceProgress = 0;
      }
    }
  } finally {
    closeSync(fd);
  }
  return { type: 'done', jobId, bytes: sinceProgress };
}

parentPort!.on('message', (job: WorkerJob) => {
  let reply: WorkerReply;
  try {
    if (job.type === 'range') {
      reply = hashRange(job);
    } else {
      const digest = createHash('sha1').update(job.data).digest();
      reply = { type: 'digest', jobId: job.jobId, digest: new Uint8Array(digest) };
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    reply = { type: 'error', jobId: job.jobId, code: e.code ?? 'EHASH', message: e.message };
  }
  parentPort!.postMessage(reply);
});
