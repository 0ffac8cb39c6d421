import { describe, expect, it } from '@jest/globals';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startOrigin, waitForHashCache, waitForSwarm } from './helpers/origin.js';
import {
  differingBytes,
  errorLines,
  makeFile,
  sha1OfFile,
  startGetProc,
  startSeedProc,
  waitFor,
} from './helpers/procs.js';
import type { Proc } from './helpers/procs.js';
import { faultFile } from './helpers/fault-file.js';

const SIZE = 48 * 1024 * 1024;
const { tally, dir } = faultFile('kill-seed');

describe('kill -9 of dist-seed mid-swarm', () => {
  it('the swarm completes without the origin; the restart republishes from its cache', async () => {
    const row = tally.scenario(
      'kill -9 of dist-seed mid-swarm, then restart',
      'SIGKILL of dist-seed the moment the first of 3 dist-get completes',
      'both finish byte-identical from the peer; restart publishes without hashing again',
    );
    const files = join(dir(), 'files');
    const stateDir = join(dir(), 'state');
    await mkdir(files);
    const source = join(files, 'payload.bin');
    const expected = await makeFile(source, SIZE);
    const origin = await startOrigin({ filesDir: files, stateDir, name: 'payload.bin' });
    const { trackerUrl, meta } = origin;
    const outputs = ['a', 'b', 'c'].map((n) => join(dir(), `out-${n}`, 'payload.bin'));
    for (const o of outputs) await mkdir(join(o, '..'));

    // A starts first; B and C a little later, so that when A completes (and holds every
    // piece), they are still downloading. The origin dies at that moment.
    const a = startGetProc('payload.bin', {
      tracker: trackerUrl,
      output: outputs[0]!,
      seedTime: 30,
    });
    await waitForHashCache(stateDir);
    await waitForSwarm(trackerUrl, meta.infoHash, 2);
    const bc: Proc[] = outputs
      .slice(1)
      .map((output) => startGetProc('payload.bin', { tracker: trackerUrl, output, seedTime: 30 }));
    const clients = [a, ...bc];
    await waitFor(
      'one client to complete',
      () => clients.some((c) => c.json().some((l) => l['type'] === 'complete')),
      30_000,
      10,
    );
    origin.seed.kill('SIGKILL');
    const incompleteAtKill = clients.filter(
      (c) => !c.json().some((l) => l['type'] === 'complete'),
    ).length;
    const killed = await origin.seed.done;
    expect(killed.signal).toBe('SIGKILL');
    row.faults++;

    for (const [i, p] of clients.entries()) {
      const result = await p.done;
      if (result.code !== 0 || result.signal) row.crashes++;
      expect({ client: i, code: result.code, stderr: errorLines(result.stderr) }).toEqual({
        client: i,
        code: 0,
        stderr: [],
      });
      const out = outputs[i]!;
      const got = await sha1OfFile(out);
      if (got !== expected) row.wrongBytes += await differingBytes(out, source);
      expect(got).toBe(expected);
    }

    // Restart over the same state directory: the cache says the file is already hashed.
    const restarted = startSeedProc([files], { tracker: trackerUrl, stateDir });
    await restarted.waitForJson('published', (l) => l['msg'] === 'published', 20_000);
    await restarted.waitForJson('seeding', (l) => l['msg'] === 'seeding', 20_000);
    const hashedLines = restarted.json().filter((l) => l['msg'] === 'hashed');
    expect(hashedLines).toEqual([]);
    // The first run did log its hashing, so the check above can tell the two apart.
    expect(origin.seed.json().some((l) => l['msg'] === 'hashed')).toBe(true);
    // And it serves again: a fresh client completes with the origin back.
    const d = startGetProc('payload.bin', {
      tracker: trackerUrl,
      output: join(dir(), 'out-d.bin'),
      seedTime: 0,
    });
    const dr = await d.done;
    if (dr.code !== 0) row.crashes++;
    expect(dr.code).toBe(0);
    expect(await sha1OfFile(join(dir(), 'out-d.bin'))).toBe(expected);
    row.note = `${incompleteAtKill} of 3 clients were still downloading at the kill`;
    process.stdout.write(`${row.note}\n`);
    row.result = 'pass';
  });
});
