import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startTracker } from '@distributor/tracker';
import {
  lastJson,
  makeFile,
  removeDir,
  runDistGet,
  sha1OfFile,
  tempDir,
} from '../helpers/fixtures.js';
import type { Running } from '../helpers/fixtures.js';
import { startDistSeed, waitForPublished } from '../helpers/dist-seed.js';
import type { DistSeed } from '../helpers/dist-seed.js';

const SIZE = 32 * 1024 * 1024;
const CLIENTS = 8;
let dir: string;
let source: string;
let tracker: Awaited<ReturnType<typeof startTracker>>;
let seed: DistSeed;
const running: Running[] = [];

beforeAll(async () => {
  dir = await tempDir();
  const root = join(dir, 'files');
  await mkdir(root);
  source = await makeFile(join(root, 'swarm.bin'), SIZE);
  tracker = await startTracker({ host: '127.0.0.1', port: 0, logLevel: 'silent' });
  seed = startDistSeed([root], {
    tracker: tracker.url,
    stateDir: join(dir, 'state'),
    extra: ['--piece-length', String(256 * 1024)],
  });
  await waitForPublished(tracker.url, 'swarm.bin');
});

afterAll(async () => {
  for (const r of running) r.kill();
  await seed?.stop();
  await tracker?.close();
  await removeDir(dir);
});

describe('a swarm of 8 dist-get processes and one dist-seed on loopback', () => {
  it('gives 8 identical copies while the seeder uploads less than 3x the file', async () => {
    const runs = Array.from({ length: CLIENTS }, (_, i) =>
      runDistGet(
        [
          'swarm.bin',
          '--tracker',
          tracker.url,
          '-o',
          `copy-${i}.bin`,
          '--port',
          '0',
          '--bind',
          '127.0.0.1',
          '--json',
        ],
        { cwd: dir },
      ),
    );
    running.push(...runs);
    const results = await Promise.all(runs.map((r) => r.done));
    const expected = await sha1OfFile(source);
    const lines: string[] = [];
    let fromOrigin = 0;
    for (const [i, r] of results.entries()) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(await sha1OfFile(join(dir, `copy-${i}.bin`))).toBe(expected);
      const s = lastJson(r.stdout);
      fromOrigin += s['fromOrigin'] as number;
      lines.push(
        `  client ${i}: from origin ${String(s['fromOrigin'])} B, from peers ` +
          `${String(s['fromPeers'])} B, uploaded ${String(s['uploaded'])} B`,
      );
    }
    // The origin is the peer whose id carries dist-seed's prefix; what the clients received
    // from it is what it uploaded (less blocks lost in flight, which no client counted).
    process.stdout.write(
      `swarm of ${CLIENTS} dist-get + dist-seed: seeder uploaded ${fromOrigin} B = ` +
        `${(fromOrigin / SIZE).toFixed(2)}x the file (${SIZE} B)\n${lines.join('\n')}\n`,
    );
    expect(fromOrigin).toBeLessThan(3 * SIZE);
    // Peers fed each other: uploads while downloading, over incoming and outgoing connections.
    expect(CLIENTS * SIZE - fromOrigin).toBeGreaterThan(SIZE);
  });
});
