#!/usr/bin/env node
// pnpm bench:seed — one seeder, one aria2c downloader on loopback, a 1 GiB file.
// Our dist-seed against aria2c seeding the same file to the same downloader, alternated in the
// same run (the machine is shared and noisy): MB/s, seeder CPU-seconds, and the ratios.
// Env: BENCH_SIZE_MIB (default 1024), BENCH_ROUNDS (default 5). Time runs from the downloader's
// start to aria2c's download-complete hook (announce, connect and transfer), CPU-seconds are
// the seeder process's utime+stime over the same span.
import { randomFillSync } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
  closeSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrackerClient, parseMetainfo, withAnnounce } from '../../packages/core/dist/index.js';
import { startTracker } from '../../packages/tracker/dist/index.js';
import { children, cpuSeconds, freePort, start, stop, waitFor } from './lib/processes.js';

const here = dirname(fileURLToPath(import.meta.url));
const DIST_SEED = join(here, '..', '..', 'packages', 'seeder', 'bin', 'dist-seed.js');
const SIZE = Number(process.env.BENCH_SIZE_MIB ?? 1024) * 1024 * 1024;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const work = mkdtempSync(join(tmpdir(), 'bench-seed-'));
let tracker;
async function main() {
  const srcDir = join(work, 'src');
  mkdirSync(srcDir);
  const file = join(srcDir, 'big.bin');
  process.stdout.write(`writing ${SIZE / 2 ** 20} MiB test file...\n`);
  const fd = openSync(file, 'w');
  const chunk = Buffer.allocUnsafe(8 * 2 ** 20);
  for (let done = 0; done < SIZE; done += chunk.length) {
    randomFillSync(chunk);
    writeSync(fd, chunk, 0, Math.min(chunk.length, SIZE - done));
  }
  closeSync(fd);

  // Every run gets a fresh open tracker (the aria2c reference seeder announces a torrent it did
  // not publish), so that no peer left over from an earlier run is handed out.
  async function freshTracker() {
    const t = await startTracker({ host: '127.0.0.1', port: 0, open: true, logLevel: 'silent' });
    const client = new TrackerClient({ url: t.url, retries: 0 });
    t.seeds = async (infoHash) => (await client.scrape([infoHash])).get(infoHash)?.complete ?? 0;
    return t;
  }
  tracker = await freshTracker();
  const seed = start(process.execPath, [
    DIST_SEED,
    srcDir,
    '--tracker',
    tracker.url,
    '--bind',
    '127.0.0.1',
    '--port',
    '0',
    '--state-dir',
    join(work, 'state'),
    '--settle',
    '0.2',
    '--log-level',
    'warn',
  ]);
  const t0 = Date.now();
  const torrent = await waitFor(
    'publish',
    async () => {
      const res = await fetch(`${tracker.url}/serve?big.bin`);
      return res.status === 200 ? new Uint8Array(await res.arrayBuffer()) : null;
    },
    120_000,
  );
  console.log(`hashed and published in ${((Date.now() - t0) / 1000).toFixed(2)} s`);
  const { infoHash } = await parseMetainfo(torrent);
  await stop(seed);
  await tracker.close();
  tracker = undefined;

  const ariaCommon = [
    '--enable-dht=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=false',
    '--console-log-level=warn',
    '--summary-interval=0',
    '--file-allocation=none',
  ];

  async function download(round, who, torrentPath) {
    const dir = join(work, `dl-${who}-${round}`);
    mkdirSync(dir);
    const hook = join(work, 'hook.sh');
    writeFileSync(hook, '#!/bin/sh\ndate +%s%N > "$(dirname "$3")/done"\n', { mode: 0o755 });
    const startedNs = BigInt(Date.now()) * 1_000_000n;
    const dl = start('aria2c', [
      ...ariaCommon,
      '--seed-time=0',
      `--listen-port=${await freePort()}`,
      `--on-bt-download-complete=${hook}`,
      '-d',
      dir,
      torrentPath,
    ]);
    const doneFile = join(dir, 'done');
    await waitFor(
      `${who} download`,
      () => existsSync(doneFile) && readFileSync(doneFile, 'utf8').trim(),
      120_000,
    ).catch((err) => {
      throw new Error(`${err.message}\naria2c downloader said:\n${dl.output().slice(-2000)}`);
    });
    const doneNs = BigInt(readFileSync(doneFile, 'utf8').trim());
    const downloaderCpu = cpuSeconds(dl.pid);
    await stop(dl);
    const seconds = Number(doneNs - startedNs) / 1e9;
    rmSync(dir, { recursive: true, force: true });
    return { seconds, downloaderCpu };
  }

  async function runOurs(round) {
    tracker = await freshTracker();
    const torrentPath = join(work, `ours-${round}.torrent`);
    writeFileSync(torrentPath, withAnnounce(torrent, `${tracker.url}/announce`));
    const s = start(process.execPath, [
      DIST_SEED,
      srcDir,
      '--tracker',
      tracker.url,
      '--bind',
      '127.0.0.1',
      '--port',
      String(await freePort()),
      '--state-dir',
      join(work, 'state'),
      '--settle',
      '0.2',
      '--log-level',
      'warn',
    ]);
    await waitFor(
      'our seeder announced',
      async () => (await tracker.seeds(infoHash)) === 1,
      30_000,
    );
    const cpu0 = cpuSeconds(s.pid);
    const { seconds, downloaderCpu } = await download(round, 'ours', torrentPath);
    const cpu = cpuSeconds(s.pid) - cpu0;
    await stop(s);
    await tracker.close();
    tracker = undefined;
    return { seconds, cpu, downloaderCpu };
  }

  async function runAria(round) {
    tracker = await freshTracker();
    const torrentPath = join(work, `aria-${round}.torrent`);
    writeFileSync(torrentPath, withAnnounce(torrent, `${tracker.url}/announce`));
    const s = start('aria2c', [
      ...ariaCommon,
      '--seed-time=100000',
      '--bt-seed-unverified=true',
      '--check-integrity=false',
      `--listen-port=${await freePort()}`,
      '-d',
      srcDir,
      torrentPath,
    ]);
    await waitFor(
      'aria2c seeder announced',
      async () => (await tracker.seeds(infoHash)) === 1,
      30_000,
    ).catch((err) => {
      throw new Error(`${err.message}\n${s.output()}`);
    });
    const cpu0 = cpuSeconds(s.pid);
    const { seconds, downloaderCpu } = await download(round, 'aria2c', torrentPath);
    const cpu = cpuSeconds(s.pid) - cpu0;
    await stop(s);
    await tracker.close();
    tracker = undefined;
    return { seconds, cpu, downloaderCpu };
  }

  const ours = [];
  const aria = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate which seeder goes first, so neither always runs on a warmer machine.
    let o;
    let a;
    if (round % 2 === 1) {
      o = await runOurs(round);
      a = await runAria(round);
    } else {
      a = await runAria(round);
      o = await runOurs(round);
    }
    ours.push(o);
    aria.push(a);
    const mbs = (r) => (SIZE / 1e6 / r.seconds).toFixed(0);
    console.log(
      `round ${round}: dist-seed ${mbs(o)} MB/s, ${o.cpu.toFixed(2)} CPU-s | ` +
        `aria2c seed ${mbs(a)} MB/s, ${a.cpu.toFixed(2)} CPU-s | ` +
        `rate ratio ${(a.seconds / o.seconds).toFixed(2)}x | ` +
        `downloader CPU ${o.downloaderCpu.toFixed(2)} / ${a.downloaderCpu.toFixed(2)} s`,
    );
  }
  const med = (rows, key) => median(rows.map((r) => r[key]));
  const oS = med(ours, 'seconds');
  const aS = med(aria, 'seconds');
  const oC = med(ours, 'cpu');
  const aC = med(aria, 'cpu');
  const roundRatios = ours.map((o, i) => aria[i].seconds / o.seconds);
  console.log(`\nmedian of ${ROUNDS}, ${SIZE / 2 ** 20} MiB, one aria2c downloader on loopback:`);
  console.log(
    `  dist-seed      ${(SIZE / 1e6 / oS).toFixed(0)} MB/s   seeder CPU ${oC.toFixed(2)} s   ` +
      `downloader CPU ${med(ours, 'downloaderCpu').toFixed(2)} s`,
  );
  console.log(
    `  aria2c seeding ${(SIZE / 1e6 / aS).toFixed(0)} MB/s   seeder CPU ${aC.toFixed(2)} s   ` +
      `downloader CPU ${med(aria, 'downloaderCpu').toFixed(2)} s`,
  );
  console.log(`  rate ratio dist-seed / aria2c = ${(aS / oS).toFixed(2)}x (target >= 1.0x)`);
  console.log(`  median of per-round rate ratios = ${median(roundRatios).toFixed(2)}x`);
  console.log(`  CPU  ratio dist-seed / aria2c = ${(oC / aC).toFixed(2)}x`);
}

main()
  .catch((err) => {
    console.error(`bench:seed failed: ${err.message}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const child of children) await stop(child);
    await tracker?.close();
    rmSync(work, { recursive: true, force: true });
  });
