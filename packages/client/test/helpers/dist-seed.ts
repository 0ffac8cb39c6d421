import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrackerClient } from '@distributor/core';

const here = dirname(fileURLToPath(import.meta.url));
/** packages/seeder/bin/dist-seed.js, from packages/client/dist-test/helpers. */
export const DIST_SEED = join(here, '..', '..', '..', 'seeder', 'bin', 'dist-seed.js');

export interface DistSeed {
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `dist-seed DIR` as a child process; `stop()` kills it by PID. */
export function startDistSeed(
  dirs: string[],
  options: { tracker: string; stateDir: string; extra?: string[] },
): DistSeed {
  const child = spawn(
    process.execPath,
    [
      DIST_SEED,
      ...dirs,
      '--tracker',
      options.tracker,
      '--port',
      '0',
      '--bind',
      '127.0.0.1',
      '--state-dir',
      options.stateDir,
      '--settle',
      '0.1',
      '--log-level',
      'warn',
      ...(options.extra ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        process.kill(child.pid, 'SIGKILL');
      }
      await exited;
    },
  };
}

/** Waits (bounded) until the tracker serves a torrent for `name`. */
export async function waitForPublished(trackerUrl: string, name: string, timeoutMs = 30_000) {
  const client = new TrackerClient({ url: trackerUrl, retries: 0 });
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    try {
      return await client.fetchTorrent(name);
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${name} was not published on ${trackerUrl} within ${timeoutMs} ms`);
}
