import { describe, expect, it } from '@jest/globals';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startOrigin, waitForSwarm } from './helpers/origin.js';
import {
  differingBytes,
  errorLines,
  makeFile,
  sha1OfFile,
  sleep,
  startGetProc,
  startTrackerProc,
  waitFor,
} from './helpers/procs.js';
import { faultFile } from './helpers/fault-file.js';

const SIZE = 48 * 1024 * 1024;
const RENEW_SEC = 2;
const CLIENTS = 3;
const { tally, dir } = faultFile('tracker-restart');

describe('dist-tracker restart mid-swarm', () => {
  it('transfers continue, the registry is back within one renew interval, no client fails', async () => {
    const row = tally.scenario(
      'dist-tracker restart mid-swarm',
      `SIGKILL of dist-tracker (memory store) once ${CLIENTS} dist-get joined; restart 0.5 s later`,
      `all clients exit 0 byte-identical; registry back ≤ 1 renew interval (${RENEW_SEC} s)`,
    );
    const files = join(dir(), 'files');
    await mkdir(files);
    const source = join(files, 'payload.bin');
    const expected = await makeFile(source, SIZE);
    const origin = await startOrigin({
      filesDir: files,
      stateDir: join(dir(), 'state'),
      name: 'payload.bin',
      seedArgs: ['--renew-interval', String(RENEW_SEC), '--lease-ttl', '30'],
    });
    const { trackerUrl, trackerPort, meta } = origin;
    const outputs = Array.from({ length: CLIENTS }, (_, i) => join(dir(), `out-${i}.bin`));
    const clients = outputs.map((output) =>
      startGetProc('payload.bin', { tracker: trackerUrl, output, seedTime: 5 }),
    );
    // Every client has fetched the torrent and announced: from here on it needs no tracker.
    await waitForSwarm(trackerUrl, meta.infoHash, CLIENTS + 1);
    origin.tracker.kill('SIGKILL');
    await origin.tracker.done;
    row.faults++;
    const incompleteAtKill = clients.filter(
      (c) => !c.json().some((l) => l['type'] === 'complete'),
    ).length;
    await sleep(500);

    const restarted = await startTrackerProc(trackerPort);
    const back = Date.now();
    // Bounded by one renew interval plus the seeder's request time (a lease renewal answered
    // "missing" makes the seeder PUT it again at once).
    await waitFor(
      'the registry to list payload.bin again',
      async () => {
        const res = await fetch(`${trackerUrl}/torrents`).catch(() => null);
        if (!res?.ok) return false;
        const list = (await res.json()) as { infoHash: string }[];
        return list.some((t) => t.infoHash === meta.infoHash);
      },
      RENEW_SEC * 1000 + 1500,
      50,
    );
    const repopulatedMs = Date.now() - back;

    for (const [i, c] of clients.entries()) {
      const result = await c.done;
      if (result.code !== 0 || result.signal) row.crashes++;
      expect({ client: i, code: result.code, stderr: errorLines(result.stderr) }).toEqual({
        client: i,
        code: 0,
        stderr: [],
      });
      const got = await sha1OfFile(outputs[i]!);
      if (got !== expected) row.wrongBytes += await differingBytes(outputs[i]!, source);
      expect(got).toBe(expected);
    }
    // A client that arrives after the restart finds the file by name again.
    const late = startGetProc('payload.bin', {
      tracker: trackerUrl,
      output: join(dir(), 'late.bin'),
      seedTime: 0,
    });
    const lr = await late.done;
    if (lr.code !== 0) row.crashes++;
    expect({ code: lr.code, stderr: errorLines(lr.stderr) }).toEqual({ code: 0, stderr: [] });
    expect(await sha1OfFile(join(dir(), 'late.bin'))).toBe(expected);
    expect(restarted.proc.alive()).toBe(true);
    row.note =
      `registry repopulated ${repopulatedMs} ms after the restart; ` +
      `${incompleteAtKill} of ${CLIENTS} clients were mid-download at the kill`;
    process.stdout.write(`${row.note}\n`);
    row.result = 'pass';
  });
});
