import { afterEach, describe, expect, it } from '@jest/globals';
import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectPeer, generatePeerId, parseMetainfo } from '@distributor/core';
import type { Seeder } from '@distributor/seeder';
import {
  listTorrents,
  patternBytes,
  served,
  sleep,
  tempDir,
  testSeeder,
  testTracker,
  waitFor,
} from './helpers.js';
import type { TestTracker } from './helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(extra: Parameters<typeof testSeeder>[3] = {}) {
  const tmp = tempDir();
  cleanups.push(tmp.cleanup);
  const root = join(tmp.dir, 'isos');
  const stateDir = join(tmp.dir, 'state');
  mkdirSync(root);
  const tracker = await testTracker();
  cleanups.push(() => tracker.close());
  const seeder = await testSeeder(tracker.url, [root], stateDir, extra);
  cleanups.push(() => seeder.stop());
  return { tmp, root, stateDir, tracker, seeder };
}

async function infoHashServed(tracker: TestTracker, name: string): Promise<string | null> {
  const torrent = await served(tracker.url, name);
  return torrent ? (await parseMetainfo(torrent)).infoHash : null;
}

/** Whether the seeder completes a handshake for `infoHash`. */
async function seeds(seeder: Seeder, infoHash: string): Promise<boolean> {
  try {
    const t = await connectPeer({
      host: '127.0.0.1',
      port: seeder.port,
      infoHash,
      peerId: generatePeerId(),
      timeoutMs: 2000,
    });
    t.destroy();
    return true;
  } catch {
    return false;
  }
}

describe('file lifecycle', () => {
  it('serves a dropped file within settle time + hash time + 1 s', async () => {
    const { root, tracker, seeder } = await setup();
    writeFileSync(join(root, 'drop.bin'), patternBytes(3_000_000));
    const started = Date.now();
    const hash = await waitFor('drop.bin served', () => infoHashServed(tracker, 'drop.bin'), 4000);
    console.log(`dropped file served after ${Date.now() - started} ms (settle 500 ms)`);
    expect(await seeds(seeder, hash)).toBe(true);
  });

  it('publishes a file written slowly over 5 s once, complete', async () => {
    const { root, tracker } = await setup({ settleMs: 1500 });
    const path = join(root, 'slow.bin');
    const content = patternBytes(10 * 100_000, 7);
    const seen = new Set<string>();
    const watch = async () => {
      for (const row of await listTorrents(tracker.url)) {
        if (row.path === 'slow.bin') seen.add(`${row.infoHash}:${row.length}`);
      }
    };
    for (let i = 0; i < 10; i++) {
      appendFileSync(path, content.subarray(i * 100_000, (i + 1) * 100_000));
      await watch();
      expect(seen.size).toBe(0);
      await sleep(500);
    }
    const torrent = await waitFor('slow.bin served', () => served(tracker.url, 'slow.bin'), 5000);
    const meta = await parseMetainfo(torrent);
    expect(meta.length).toBe(content.length);
    await sleep(1000);
    await watch();
    expect([...seen]).toEqual([`${meta.infoHash}:${content.length}`]);
  });

  it('publishes a modified file as a new torrent and withdraws and stops seeding the old', async () => {
    const { root, tracker, seeder } = await setup();
    const path = join(root, 'mod.bin');
    writeFileSync(path, patternBytes(500_000, 1));
    const oldHash = await waitFor('mod.bin v1', () => infoHashServed(tracker, 'mod.bin'), 5000);
    writeFileSync(path, patternBytes(500_000, 2));
    const newHash = await waitFor(
      'mod.bin v2',
      async () => {
        const h = await infoHashServed(tracker, 'mod.bin');
        return h && h !== oldHash ? h : null;
      },
      5000,
    );
    expect(newHash).not.toBe(oldHash);
    const rows = await listTorrents(tracker.url);
    expect(rows.map((r) => r.infoHash)).toEqual([newHash]);
    expect(await seeds(seeder, oldHash)).toBe(false);
    expect(await seeds(seeder, newHash)).toBe(true);
  });

  it('withdraws a deleted file (404) and a renamed one moves', async () => {
    const { root, tracker, seeder } = await setup();
    writeFileSync(join(root, 'gone.bin'), patternBytes(100_000, 3));
    writeFileSync(join(root, 'moving.bin'), patternBytes(100_000, 4));
    const hash = await waitFor('gone.bin', () => infoHashServed(tracker, 'gone.bin'), 5000);
    await waitFor('moving.bin', () => infoHashServed(tracker, 'moving.bin'), 5000);
    rmSync(join(root, 'gone.bin'));
    renameSync(join(root, 'moving.bin'), join(root, 'moved.bin'));
    await waitFor(
      'gone.bin 404',
      async () => (await served(tracker.url, 'gone.bin')) === null,
      3000,
    );
    await waitFor('moved.bin', () => infoHashServed(tracker, 'moved.bin'), 5000);
    expect(await served(tracker.url, 'moving.bin')).toBeNull();
    expect(await seeds(seeder, hash)).toBe(false);
  });

  it('serves files in directories created with mkdir -p, and ignores temp files', async () => {
    const { root, tracker } = await setup();
    for (let i = 0; i < 5; i++) {
      const dir = join(root, `new${i}`, 'a', 'b');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'deep.bin'), patternBytes(50_000, 10 + i));
      writeFileSync(join(dir, 'deep.bin.part'), patternBytes(50_000, 20 + i));
      writeFileSync(join(dir, '.hidden'), patternBytes(50_000, 30 + i));
      writeFileSync(join(dir, 'empty'), '');
    }
    for (let i = 0; i < 5; i++) {
      await waitFor(
        `new${i}/a/b/deep.bin`,
        () => served(tracker.url, `new${i}/a/b/deep.bin`),
        5000,
      );
    }
    const rows = await listTorrents(tracker.url);
    expect(rows.map((r) => r.path).sort()).toEqual(
      [0, 1, 2, 3, 4].map((i) => `new${i}/a/b/deep.bin`),
    );
  });

  it('does not follow symlinks that leave the root', async () => {
    const { tmp, root, tracker } = await setup();
    const outside = join(tmp.dir, 'secret.bin');
    writeFileSync(outside, patternBytes(10_000, 5));
    const { symlinkSync } = await import('node:fs');
    symlinkSync(outside, join(root, 'link-out.bin'));
    writeFileSync(join(root, 'real.bin'), patternBytes(10_000, 6));
    symlinkSync(join(root, 'real.bin'), join(root, 'link-in.bin'));
    await waitFor('link-in.bin', () => served(tracker.url, 'link-in.bin'), 5000);
    expect(await served(tracker.url, 'link-out.bin')).toBeNull();
  });

  it('repopulates a restarted tracker within one renew interval', async () => {
    const { root, seeder, tracker } = await setup({ renewIntervalMs: 1000 });
    writeFileSync(join(root, 'a.bin'), patternBytes(100_000, 8));
    writeFileSync(join(root, 'b.bin'), patternBytes(100_000, 9));
    await waitFor(
      'both published',
      async () => (await listTorrents(tracker.url)).length === 2,
      5000,
    );
    const port = tracker.port;
    await tracker.close();
    cleanups.pop(); // the seeder's stop stays registered; this tracker is closed already
    cleanups.pop();
    cleanups.push(() => seeder.stop());
    const restarted = await testTracker(port);
    cleanups.push(() => restarted.close());
    const started = Date.now();
    expect(await listTorrents(restarted.url)).toEqual([]);
    await waitFor(
      'registry back',
      async () => (await listTorrents(restarted.url)).length === 2,
      2500,
    );
    console.log(`registry repopulated ${Date.now() - started} ms after the tracker restart`);
  });
});
