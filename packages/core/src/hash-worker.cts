/**
 * Worker side of the piece hasher. One job at a time: help hash a file, taking ranges of pieces
 * off a counter shared with the other workers and reading them with synchronous reads into one
 * reused, page-aligned buffer (bounded memory, no stream overhead); or digest a buffer handed
 * over by the main thread.
 */
// A CommonJS module importing Node built-ins and types only: the first file hashed waits for
// the workers to start, and two CommonJS workers are ready 5–12 ms sooner, for ~10 ms less CPU,
// than ES module ones, which set up the ES module loader; each extra module adds ~0.5 ms more.
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose, see above */
import crypto = require('node:crypto');
import fs = require('node:fs');
import workerThreads = require('node:worker_threads');
import type { WorkerJob, WorkerReply } from './hash-protocol.js';

const READ_CHUNK = 4 * 1024 * 1024;
const PROGRESS_EVERY = 32 * 1024 * 1024;
const WASM_PAGE = 64 * 1024;
let buffer: Buffer = Buffer.alloc(0);

/**
 * A read buffer whose first byte is page-aligned when the runtime allows it. Where a read lands
 * changes what the kernel's copy from the page cache costs: on this machine (AMD EPYC, Linux
 * 6.18) a destination 8–24 bytes past a page boundary, which is where malloc puts a large
 * Buffer (page + 16), makes `read` twice as expensive as a page-aligned one (1 GiB from the page
 * cache: ~120 ms of system time instead of ~55 ms): the source pages are page-aligned and the
 * copy stalls on addresses that alias modulo 4 KiB. Node has no aligned allocator, but a
 * WebAssembly memory is mapped in whole pages (WebAssembly is absent under --jitless).
 */
function allocPageAligned(size: number): Buffer {
  const wasm = (globalThis as { WebAssembly?: { Memory?: WasmMemoryCtor } }).WebAssembly;
  if (wasm?.Memory) {
    const pages = Math.ceil(size / WASM_PAGE);
    try {
      return Buffer.from(new wasm.Memory({ initial: pages, maximum: pages }).buffer, 0, size);
    } catch {
      // Address space refused (a tight `ulimit -v`): an unaligned buffer still works.
    }
  }
  return Buffer.allocUnsafe(size);
}

interface WasmMemoryCtor {
  new (descriptor: { initial: number; maximum: number }): { buffer: ArrayBuffer };
}

function hashFile(job: Extract<WorkerJob, { type: 'file' }>): WorkerReply {
  const { path, pieceLength, fileLength, bounds, jobId } = job;
  const nextRange = new Int32Array(job.nextRange);
  const stop = new Int32Array(job.stop);
  const out = new Uint8Array(job.digests);
  const piecesPerRead = Math.max(1, Math.floor(READ_CHUNK / pieceLength));
  const chunk = piecesPerRead * pieceLength;
  if (buffer.length < chunk) buffer = allocPageAligned(chunk);
  let fd: number | undefined;
  let sinceProgress = 0;
  try {
    fd = fs.openSync(path, 'r');
    for (;;) {
      const range = Atomics.add(nextRange, 0, 1);
      if (range >= bounds.length - 1 || Atomics.load(stop, 0) !== 0) break;
      const endPiece = bounds[range + 1]!;
      for (let piece = bounds[range]!; piece < endPiece; piece += piecesPerRead) {
        const start = piece * pieceLength;
        const want = Math.min(chunk, fileLength - start, (endPiece - piece) * pieceLength);
        let got = 0;
        while (got < want) {
          const n = fs.readSync(fd, buffer, got, want - got, start + got);
          if (n === 0) {
            Atomics.store(stop, 0, 1);
            return { type: 'error', jobId, code: 'EFILECHANGED', message: 'file shrank' };
          }
          got += n;
        }
        for (let off = 0, p = piece; off < want; off += pieceLength, p++) {
          const end = Math.min(off + pieceLength, want);
          const digest = crypto.createHash('sha1').update(buffer.subarray(off, end)).digest();
          out.set(digest, p * 20);
        }
        sinceProgress += want;
        if (sinceProgress >= PROGRESS_EVERY) {
          workerThreads.parentPort!.postMessage({ type: 'progress', jobId, bytes: sinceProgress });
          sinceProgress = 0;
        }
      }
    }
  } catch (err) {
    Atomics.store(stop, 0, 1);
    throw err;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return { type: 'done', jobId, bytes: sinceProgress };
}

workerThreads.parentPort!.on('message', (job: WorkerJob) => {
  let reply: WorkerReply;
  try {
    if (job.type === 'file') {
      reply = hashFile(job);
    } else {
      const digest = crypto.createHash('sha1').update(job.data).digest();
      reply = { type: 'digest', jobId: job.jobId, digest: new Uint8Array(digest) };
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    reply = { type: 'error', jobId: job.jobId, code: e.code ?? 'EHASH', message: e.message };
  }
  workerThreads.parentPort!.postMessage(reply);
});
