import { describe, expect, it } from '@jest/globals';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BIN,
  differingBytes,
  errorLines,
  makeFile,
  sha1OfFile,
  sleep,
  startGetProc,
  startProc,
  startSeedProc,
} from './helpers/procs.js';
import type { Proc } from './helpers/procs.js';
import { StarNetwork } from './helpers/netns.js';
import { faultFile } from './helpers/fault-file.js';

const SIZE = 24 * 1024 * 1024;
// Each host's uplink is shaped so that a download lasts seconds, long enough to cut a link
// in the middle of it.
const RATE_MBIT = 40;
const isRoot = process.getuid?.() === 0;
let net: StarNetwork | null = null;
const { tally, dir } = faultFile('link-cut', () => net?.destroy());

const haveBytes = (p: Proc) => {
  const lines = p.json().filter((l) => l['type'] === 'progress' || l['type'] === 'complete');
  const last = lines[lines.length - 1];
  if (!last) return 0;
  return last['type'] === 'complete' ? SIZE : (last['haveBytes'] as number);
};

describe('a peer link cut and restored (network namespaces)', () => {
  it('the download continues from the other peer and completes identical', async () => {
    const row = tally.scenario(
      'origin link cut and restored (netns)',
      `ip link set down on the origin's veth for 2 s while B downloads from origin + peer A`,
      'B keeps receiving from A during the cut; exits 0 byte-identical',
    );
    if (!isRoot) {
      row.result = 'skipped';
      row.note = 'not root: cannot create network namespaces';
      process.stdout.write('SKIPPED link-cut scenario: needs root for network namespaces\n');
      return;
    }
    net = new StarNetwork();
    const origin = net.addHost(1, RATE_MBIT);
    const a = net.addHost(2, RATE_MBIT);
    const b = net.addHost(3, RATE_MBIT);
    const files = join(dir(), 'files');
    await mkdir(files);
    const source = join(files, 'payload.bin');
    const expected = await makeFile(source, SIZE);
    const trackerUrl = `http://${origin.address}:6969`;
    startProc(
      'dist-tracker',
      BIN.tracker,
      ['--host', origin.address, '--port', '6969', '--log-level', 'warn'],
      { netns: origin.ns },
    );
    const seed = startSeedProc([files], {
      tracker: trackerUrl,
      stateDir: join(dir(), 'state'),
      bind: origin.address,
      netns: origin.ns,
    });
    await seed.waitForJson('published', (l) => l['msg'] === 'published', 30_000);

    // A starts first and stays to seed, so B has a second source that is ahead of it.
    const getA = startGetProc('payload.bin', {
      tracker: trackerUrl,
      output: join(dir(), 'a.bin'),
      bind: a.address,
      netns: a.ns,
      seedTime: 60,
    });
    await getA.waitForJson('A at 40%', (l) => (l['haveBytes'] as number) >= SIZE * 0.4, 30_000);
    const getB = startGetProc('payload.bin', {
      tracker: trackerUrl,
      output: join(dir(), 'b.bin'),
      bind: b.address,
      netns: b.ns,
      seedTime: 0,
      peerTimeout: 30,
    });
    await getB.waitForJson('B at 10%', (l) => (l['haveBytes'] as number) >= SIZE * 0.1, 30_000);

    net.setLink(origin, false);
    row.faults++;
    const atCut = haveBytes(getB);
    await sleep(2000);
    const atRestore = haveBytes(getB);
    net.setLink(origin, true);

    for (const [get, out] of [
      [getB, 'b.bin'],
      [getA, 'a.bin'],
    ] as const) {
      // A seeds until B is done, then has nobody left to serve and exits.
      const result = await get.done;
      if (result.code !== 0 || result.signal) row.crashes++;
      expect({ out, code: result.code, stderr: errorLines(result.stderr) }).toEqual({
        out,
        code: 0,
        stderr: [],
      });
      const got = await sha1OfFile(join(dir(), out));
      if (got !== expected) row.wrongBytes += await differingBytes(join(dir(), out), source);
      expect(got).toBe(expected);
    }
    // Progress during the cut came from A: the origin was unreachable.
    expect(atRestore).toBeGreaterThan(atCut);
    row.note = `B had ${(atCut / 2 ** 20).toFixed(1)} MiB at the cut, ${(
      atRestore /
      2 ** 20
    ).toFixed(1)} MiB when the link came back`;
    process.stdout.write(`${row.note}\n`);
    row.result = 'pass';
  });
});
