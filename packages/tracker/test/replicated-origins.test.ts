import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTracker, type Tracker } from '@distributor/tracker';
import { request, tempDir } from './helpers.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const DIST_SEED = join(here, '..', '..', 'seeder', 'bin', 'dist-seed.js');
const DIST_GET = join(here, '..', '..', 'client', 'bin', 'dist-get.cjs');

const SIZE = 192 * 1024 * 1024;
const CLIENTS = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];

interface Child {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(args: string[], onLine?: (line: string) => void): Child {
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let pending = '';
  proc.stdout!.on('data', (c: Buffer) => {
    output += c.toString();
    pending += c.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      onLine?.(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
  proc.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) =>
    proc.once('close', (code) => resolve(code)),
  );
  return { proc, output: () => output, exited };
}

function killByPid(child: Child | undefined): Promise<unknown> {
  if (!child) return Promise.resolve();
  const { proc } = child;
  if (proc.exitCode === null && proc.signalCode === null && proc.pid) {
    process.kill(proc.pid, 'SIGKILL');
  }
  return child.exited;
}

async function sha1Of(path: string): Promise<string> {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Replicated origins (issue 7): two dist-seed processes on two addresses serve the same file,
 * publish the same info hash, and both seed. One is killed when a client is about half way;
 * every client still completes with an identical file.
 */
describe('two origins, one killed half way', () => {
  const files = tempDir('dist-origins-');
  let tracker: Tracker;
  const origins: Child[] = [];
  const clients: Child[] = [];
  let sourceSha1 = '';

  beforeAll(async () => {
    // Same root name and path on both "hosts"; a hard link saves writing the file twice.
    for (const host of ['a', 'b']) mkdirSync(join(files.dir, host, 'isos'), { recursive: true });
    const source = join(files.dir, 'a', 'isos', 'image.bin');
    const chunk = randomBytes(8 * 1024 * 1024);
    const parts: Buffer[] = [];
    for (let i = 0; i < SIZE / chunk.length; i++) {
      // Vary each chunk so that pieces differ.
      parts.push(Buffer.concat([Buffer.from(`chunk ${i} `), chunk]).subarray(0, chunk.length));
    }
    writeFileSync(source, Buffer.concat(parts));
    linkSync(source, join(files.dir, 'b', 'isos', 'image.bin'));
    sourceSha1 = await sha1Of(source);
    tracker = await startTracker({ host: '127.0.0.1', port: 0, logLevel: 'silent' });
  }, 30_000);

  afterAll(async () => {
    await Promise.all([...clients, ...origins].map(killByPid));
    await tracker?.close();
    files.cleanup();
  });

  it('every client completes with an identical file', async () => {
    for (const [host, bind] of [
      ['a', '127.0.0.2'],
      ['b', '127.0.0.3'],
    ] as const) {
      origins.push(
        run([
          DIST_SEED,
          join(files.dir, host, 'isos'),
          '--tracker',
          tracker.url,
          '--port',
          '0',
          '--bind',
          bind,
          '--state-dir',
          join(files.dir, host, 'state'),
          '--log-level',
          'warn',
        ]),
      );
    }
    // Both origins must be seeding before the clients start: two seeds in the swarm.
    const infoHash = await waitForSeeds(2);

    let killedAt = -1;
    const onProgress = (line: string) => {
      if (killedAt >= 0) return;
      let msg: { type?: string; haveBytes?: number; length?: number };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.type === 'progress' && msg.length && msg.haveBytes! >= msg.length * 0.4) {
        killedAt = msg.haveBytes! / msg.length;
        void killByPid(origins[0]);
      }
    };
    for (const bind of CLIENTS) {
      clients.push(
        run(
          [
            DIST_GET,
            'image.bin',
            '--tracker',
            tracker.url,
            '-o',
            join(files.dir, `got-${bind}.bin`),
            '--bind',
            bind,
            '--port',
            '0',
            '--seed-time',
            '0',
            '--json',
          ],
          onProgress,
        ),
      );
    }
    const codes = await Promise.all(clients.map((c) => c.exited));
    const outputs = clients.map((c) => c.output().slice(-2000));
    expect({ codes, outputs }).toEqual({ codes: CLIENTS.map(() => 0), outputs });
    // The kill happened mid-download (not after every client was done).
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(1);
    expect(origins[0]!.proc.signalCode).toBe('SIGKILL');
    for (const bind of CLIENTS) {
      expect(await sha1Of(join(files.dir, `got-${bind}.bin`))).toBe(sourceSha1);
    }
    expect(infoHash).toMatch(/^[0-9a-f]{40}$/);
  }, 55_000);

  /** Waits (bounded) until the published file's swarm has `count` seeds; returns its hash. */
  async function waitForSeeds(count: number): Promise<string> {
    for (let i = 0; i < 300; i++) {
      const res = await request(tracker.url, '/torrents');
      const list = JSON.parse(res.body.toString()) as { infoHash: string; complete: number }[];
      if (list.length === 1 && list[0]!.complete >= count) return list[0]!.infoHash;
      if (list.length > 1) throw new Error(`origins published different files: ${res.body}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `origins did not both seed within 30 s: ${origins.map((o) => o.output()).join('\n')}`,
    );
  }
});
