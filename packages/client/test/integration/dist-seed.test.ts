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

const PIECE = 256 * 1024;
let dir: string;
let root: string;
let tracker: Awaited<ReturnType<typeof startTracker>>;
let seed: DistSeed;
const running: Running[] = [];
const files = [
  ['one-byte.bin', 1],
  ['one-piece.bin', PIECE],
  ['hundred.bin', 100 * 1024 * 1024],
] as const;

beforeAll(async () => {
  dir = await tempDir();
  root = join(dir, 'isos');
  await mkdir(join(root, 'sub'), { recursive: true });
  for (const [name, size] of files) await makeFile(join(root, name), size);
  // Closed tracker (the default): it tracks only what dist-seed published.
  tracker = await startTracker({ host: '127.0.0.1', port: 0, logLevel: 'silent' });
  seed = startDistSeed([root], {
    tracker: tracker.url,
    stateDir: join(dir, 'state'),
    extra: ['--piece-length', String(PIECE)],
  });
  for (const [name] of files) await waitForPublished(tracker.url, name);
});

afterAll(async () => {
  for (const r of running) r.kill();
  await seed?.stop();
  await tracker?.close();
  await removeDir(dir);
});

function get(args: string[]) {
  const r = runDistGet(
    ['--tracker', tracker.url, '--port', '0', '--seed-time', '0', '--json', ...args],
    { cwd: dir },
  );
  running.push(r);
  return r.done;
}

describe('dist-get from dist-seed (by name, through /serve?NAME)', () => {
  it.each(files)('%s (%d bytes): byte-identical, all from the origin', async (name, size) => {
    const out = join(dir, `got-${name}`);
    const result = await get([name, '-o', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await sha1OfFile(out)).toBe(await sha1OfFile(join(root, name)));
    const summary = lastJson(result.stdout);
    expect(summary['fromOrigin']).toBe(size);
    expect(summary['fromPeers']).toBe(0);
  });

  it('--torrent URL fetches the .torrent over HTTP (here from /serve?NAME)', async () => {
    const out = join(dir, 'by-url.bin');
    const url = `${tracker.url}/serve?${encodeURIComponent('one-piece.bin')}`;
    const result = await get(['--torrent', url, '-o', out]);
    expect(result.code).toBe(0);
    expect(await sha1OfFile(out)).toBe(await sha1OfFile(join(root, 'one-piece.bin')));
  });

  it('--latest [ROOT] fetches the most recently modified file', async () => {
    await makeFile(join(root, 'sub', 'newest.bin'), 3 * PIECE + 17);
    await waitForPublished(tracker.url, 'newest.bin');
    const out = join(dir, 'latest.bin');
    const result = await get(['--latest', 'isos', '-o', out]);
    expect(result.code).toBe(0);
    expect(await sha1OfFile(out)).toBe(await sha1OfFile(join(root, 'sub', 'newest.bin')));
    // Without ROOT: the newest file over all roots.
    const anyRoot = await get(['--latest', '-o', join(dir, 'latest-any.bin')]);
    expect(anyRoot.code).toBe(0);
    expect(lastJson(anyRoot.stdout)['name']).toBe('newest.bin');
  });
});
