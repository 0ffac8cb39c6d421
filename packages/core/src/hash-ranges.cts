/**
 * Hashing ranges of pieces off a shared counter: the loop the hash workers run and that the
 * calling thread of a one-shot hash runs too. CommonJS importing built-ins only, for the same
 * reason as hash-worker.cts: the first file hashed waits for the workers to load it.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose, see above */
import crypto = require('node:crypto');
import fs = require('node:fs');
import type { RangeJob } from './hash-protocol.js';

const WASM_PAGE = 64 * 1024;
/**
 * A hashing thread's read buffer, or a piece when that is longer: memory stays bounded whatever
 * the file size.
 */
const READ_BYTES = 4 * 1024 * 1024;

class FileShrankError extends Error {
  readonly code = 'EFILECHANGED';
  constructor() {
    super('file shrank');
  }
}

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

/**
 * Takes the next range off the shared counter and hashes its pieces, reading into `buffer`
 * (whole pieces at a time, at least one piece long). Returns the bytes hashed, or -1 when no
 * range is left or another thread failed. Throws FileShrankError, or the read's own error, after
 * raising the stop flag.
 */
function hashNextRange(job: RangeJob, fd: number, buffer: Buffer): number {
  const { pieceLength, fileLength, bounds } = job;
  const stop = new Int32Array(job.stop);
  const range = Atomics.add(new Int32Array(job.nextRange), 0, 1);
  if (range >= bounds.length - 1 || Atomics.load(stop, 0) !== 0) return -1;
  const out = new Uint8Array(job.digests);
  const piecesPerRead = Math.max(1, Math.floor(buffer.length / pieceLength));
  const chunk = piecesPerRead * pieceLength;
  const endPiece = bounds[range + 1]!;
  let bytes = 0;
  try {
    for (let piece = bounds[range]!; piece < endPiece; piece += piecesPerRead) {
      const start = piece * pieceLength;
      const want = Math.min(chunk, fileLength - start, (endPiece - piece) * pieceLength);
      let got = 0;
      while (got < want) {
        const n = fs.readSync(fd, buffer, got, want - got, start + got);
        if (n === 0) throw new FileShrankError();
        got += n;
      }
      for (let off = 0, p = piece; off < want; off += pieceLength, p++) {
        const end = Math.min(off + pieceLength, want);
        out.set(crypto.createHash('sha1').update(buffer.subarray(off, end)).digest(), p * 20);
      }
      bytes += want;
    }
  } catch (err) {
    Atomics.store(stop, 0, 1);
    throw err;
  }
  return bytes;
}

export = { READ_BYTES, allocPageAligned, FileShrankError, hashNextRange };
