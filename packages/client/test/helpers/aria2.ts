import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdir, copyFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { TrackerClient } from '@distributor/core';

/** A free TCP port on `host` (bound, then released). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** `mktorrent -a ANNOUNCE -l LOG2(pieceLength) -o OUT FILE`: a torrent made by a third party. */
export function mktorrent(file: string, out: string, announce: string, pieceLength: number) {
  const r = spawnSync('mktorrent', [
    '-a',
    announce,
    '-l',
    String(Math.log2(pieceLength)),
    '-o',
    out,
    file,
  ]);
  if (r.status !== 0) throw new Error(`mktorrent failed: ${r.stderr.toString()}`);
}

export interface Aria2Seeder {
  process: ChildProcess;
  address: string;
  port: number;
  stop(): void;
}

/**
 * aria2c seeding `file` (copied into its own directory) from `address`, announcing the
 * external IP so that the tracker hands out the right address. Stop it with `stop()` (by PID).
 */
export async function startAria2Seeder(
  torrent: string,
  file: string,
  workDir: string,
  address: string,
): Promise<Aria2Seeder> {
  const seedDir = join(workDir, `aria2-${address}`);
  await mkdir(seedDir, { recursive: true });
  await copyFile(file, join(seedDir, basename(file)));
  const port = await freePort(address);
  const child = spawn(
    'aria2c',
    [
      `--dir=${seedDir}`,
      '--seed-ratio=0.0',
      '--check-integrity=true',
      `--listen-port=${port}`,
      `--interface=${address}`,
      `--bt-external-ip=${address}`,
      '--disable-ipv6=true',
      '--enable-dht=false',
      '--enable-dht6=false',
      '--bt-enable-lpd=false',
      '--enable-peer-exchange=false',
      '--console-log-level=error',
      '--summary-interval=0',
      '--quiet=true',
      torrent,
    ],
    { stdio: 'ignore' },
  );
  return {
    process: child,
    address,
    port,
    stop() {
      if (child.exitCode === null && child.pid) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    },
  };
}

/** Waits (bounded) until the tracker counts `seeds` complete peers for the info hash. */
export async function waitForSeeds(trackerUrl: string, infoHash: string, seeds: number) {
  const client = new TrackerClient({ url: trackerUrl, retries: 0 });
  for (let i = 0; i < 200; i++) {
    const stats = await client.scrape([infoHash]).catch(() => null);
    if ((stats?.get(infoHash)?.complete ?? 0) >= seeds) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tracker never saw ${seeds} seeds for ${infoHash}`);
}
