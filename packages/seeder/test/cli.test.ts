import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listTorrents, patternBytes, tempDir, testTracker, waitFor } from './helpers.js';

const DIST_SEED = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'dist-seed.js');

function runSeed(args: string[], timeoutMs = 20_000) {
  const child = spawn(process.execPath, [DIST_SEED, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    }),
  );
  return { child, exited, out: () => stdout, err: () => stderr };
}

describe('dist-seed CLI', () => {
  it('--help lists every flag with its default', async () => {
    const run = runSeed(['--help']);
    expect(await run.exited).toBe(0);
    for (const flag of [
      '--tracker',
      '--port',
      '--bind',
      '--state-dir',
      '--token',
      '--with-tracker',
      '--piece-length',
      '--settle',
      '--renew-interval',
      '--lease-ttl',
      '--scan-interval',
      '--log-level',
    ]) {
      expect(run.out()).toContain(flag);
    }
    expect(run.out()).toContain('[default: 6881]');
  });

  it('fails with one clear line for a bad piece length', async () => {
    const tmp = tempDir();
    try {
      const run = runSeed([
        tmp.dir,
        '--piece-length',
        '1000',
        '--state-dir',
        join(tmp.dir, '..', 'x'),
      ]);
      expect(await run.exited).not.toBe(0);
      expect(run.err().trim().split('\n')).toHaveLength(1);
      expect(run.err()).toMatch(/--piece-length 1000/);
    } finally {
      tmp.cleanup();
    }
  });

  it('fails with one clear line for a missing directory', async () => {
    const tmp = tempDir();
    try {
      const run = runSeed([
        join(tmp.dir, 'nope'),
        '--port',
        '0',
        '--state-dir',
        join(tmp.dir, 's'),
      ]);
      expect(await run.exited).not.toBe(0);
      expect(run.err()).toMatch(/no such directory/);
    } finally {
      tmp.cleanup();
    }
  });

  it('SIGTERM withdraws the leases from the tracker and exits 0', async () => {
    const tmp = tempDir();
    const tracker = await testTracker();
    try {
      const root = join(tmp.dir, 'files');
      mkdirSync(root);
      writeFileSync(join(root, 'a.bin'), patternBytes(200_000));
      const run = runSeed([
        root,
        '--tracker',
        tracker.url,
        '--bind',
        '127.0.0.1',
        '--port',
        '0',
        '--state-dir',
        join(tmp.dir, 'state'),
        '--settle',
        '0.2',
      ]);
      try {
        await waitFor(
          'published',
          async () => (await listTorrents(tracker.url)).length === 1,
          10_000,
        );
        run.child.kill('SIGTERM');
        expect(await run.exited).toBe(0);
        expect(await listTorrents(tracker.url)).toEqual([]);
      } finally {
        if (run.child.exitCode === null) run.child.kill('SIGKILL');
      }
    } finally {
      await tracker.close();
      tmp.cleanup();
    }
  });
});
