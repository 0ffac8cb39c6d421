import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTorrent, hashFile, parseMetainfo } from '@distributor/core';
import type { TorrentMeta } from '@distributor/core';

const here = dirname(fileURLToPath(import.meta.url));
/** packages/client/bin/dist-get.cjs, from packages/client/dist-test/helpers. */
export const DIST_GET = join(here, '..', '..', 'bin', 'dist-get.cjs');

export async function tempDir(prefix = 'dist-get-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** A file of `size` random bytes, written in 4 MiB chunks. */
export async function makeFile(path: string, size: number): Promise<string> {
  const handle = await open(path, 'w');
  try {
    for (let done = 0; done < size;) {
      const n = Math.min(4 * 1024 * 1024, size - done);
      await handle.write(randomBytes(n), 0, n, done);
      done += n;
    }
  } finally {
    await handle.close();
  }
  return path;
}

export async function makeTorrent(
  path: string,
  options: { name: string; pieceLength?: number; announce?: string },
): Promise<{ torrent: Uint8Array; meta: TorrentMeta }> {
  const hashed = await hashFile(
    path,
    options.pieceLength ? { pieceLength: options.pieceLength } : {},
  );
  const { torrent } = buildTorrent({
    name: options.name,
    length: hashed.length,
    pieceLength: hashed.pieceLength,
    pieces: hashed.pieces,
    ...(options.announce ? { announce: options.announce } : {}),
  });
  return { torrent, meta: await parseMetainfo(torrent) };
}

export async function sha1OfFile(path: string): Promise<string> {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  done: Promise<RunResult>;
  /** Resolves with the first stdout JSON line that satisfies `pred`. */
  waitForJson(
    pred: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Kills the process if still running (by its PID, which we started). */
  kill(signal?: NodeJS.Signals): void;
}

/** Starts `dist-get ARGS` as a child process; every test must `kill()` it in a finally. */
export function runDistGet(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Running {
  const child = spawn(process.execPath, [DIST_GET, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: {
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    pending += chunk.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      for (const w of [...watchers]) {
        if (w.pred(parsed)) {
          watchers.splice(watchers.indexOf(w), 1);
          w.resolve(parsed);
        }
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<RunResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    done,
    waitForJson(pred, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('timed out waiting for JSON line')),
          timeoutMs,
        );
        watchers.push({
          pred,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        void done.then(() => {
          clearTimeout(timer);
          reject(new Error(`dist-get exited before the expected line; stderr: ${stderr}`));
        });
      });
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try {
          process.kill(child.pid, signal);
        } catch {
          // already gone
        }
      }
    },
  };
}

/** The last JSON line of a run (the summary, with --json). */
export function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n').filter(Boolean);
  return JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown>;
}
