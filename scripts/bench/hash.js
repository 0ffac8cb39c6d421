#!/usr/bin/env node
// pnpm bench:hash — piece hashing throughput of our hasher against mktorrent -t 2 and sha1sum
// (and create-torrent), measured in the same invocation, interleaved, median of N runs.
// Usage: pnpm bench:hash [--size-mib 1024] [--runs 3] [--dir /tmp]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomFillSync } from 'node:crypto';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '3' },
    dir: { type: 'string', default: tmpdir() },
    'skip-create-torrent': { type: 'boolean', default: false },
  },
});
const sizeMiB = Number(values['size-mib']);
const runs = Number(values.runs);
const size = sizeMiB * 1024 * 1024;
const pieceLength = 1024 * 1024; // what the policy picks for 1 GiB; mktorrent -l 20
const work = mkdtempSync(join(values.dir, 'dist-bench-hash-'));
const file = join(work, 'bench.bin');
const here = new URL('.', import.meta.url).pathname;

function requireTool(tool) {
  if (spawnSync('which', [tool]).status !== 0) {
    console.error(
      `bench:hash needs ${tool} (apt-get install ${tool === 'sha1sum' ? 'coreutils' : tool})`,
    );
    process.exit(2);
  }
}
requireTool('mktorrent');
requireTool('sha1sum');

// GNU time reports the child's CPU seconds and peak RSS, so external tools are measured like ours.
const haveGnuTime = spawnSync('/usr/bin/time', ['-f', '%e', 'true']).status === 0;

function timeCommand(cmd, args) {
  const started = performance.now();
  const argv = haveGnuTime ? ['-f', 'TIME %U %S %M', cmd, ...args] : args;
  const res = spawnSync(haveGnuTime ? '/usr/bin/time' : cmd, argv, {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error(`${cmd} failed: ${res.stderr}`);
  const seconds = (performance.now() - started) / 1000;
  const m = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(res.stderr);
  if (!m) return { seconds };
  return { seconds, cpuSeconds: Number(m[1]) + Number(m[2]), maxRssMB: Number(m[3]) / 1024 };
}

function timeNode(which) {
  const out = execFileSync(
    process.execPath,
    [join(here, 'hash-one.js'), which, file, String(pieceLength)],
    {
      encoding: 'utf8',
    },
  );
  return JSON.parse(out.trim().split('\n').pop());
}

const implementations = {
  ours: () => timeNode('ours'),
  'mktorrent -t 2': () => {
    rmSync(join(work, 'mk.torrent'), { force: true });
    return timeCommand('mktorrent', ['-t', '2', '-l', '20', '-o', join(work, 'mk.torrent'), file]);
  },
  sha1sum: () => timeCommand('sha1sum', [file]),
};
if (!values['skip-create-torrent'])
  implementations['create-torrent'] = () => timeNode('create-torrent');

try {
  console.log(`generating ${sizeMiB} MiB of random data in ${work} ...`);
  const fd = openSync(file, 'w');
  const chunk = Buffer.allocUnsafe(16 * 1024 * 1024);
  for (let written = 0; written < size; written += chunk.length) {
    randomFillSync(chunk);
    writeSync(fd, chunk, 0, Math.min(chunk.length, size - written));
  }
  closeSync(fd);
  spawnSync('cat', [file], { stdio: 'ignore' }); // warm the page cache so every run reads from memory

  const results = Object.fromEntries(Object.keys(implementations).map((k) => [k, []]));
  for (let run = 1; run <= runs; run++) {
    for (const [name, fn] of Object.entries(implementations)) {
      const r = fn();
      results[name].push(r);
      console.log(
        `run ${run} ${name.padEnd(16)} ${(size / r.seconds / 1e6).toFixed(0).padStart(6)} MB/s`,
      );
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary = {};
  for (const [name, rs] of Object.entries(results)) {
    summary[name] = {
      mbps: size / median(rs.map((r) => r.seconds)) / 1e6,
      maxRssMB: rs[0].maxRssMB === undefined ? null : Math.max(...rs.map((r) => r.maxRssMB)),
      cpuSeconds: rs[0].cpuSeconds === undefined ? null : median(rs.map((r) => r.cpuSeconds)),
    };
  }
  const ours = summary.ours.mbps;
  console.log(`\n${sizeMiB} MiB, piece length ${pieceLength}, median of ${runs} (page cache warm)`);
  console.log('| implementation | MB/s | ours / it | peak RSS MB | CPU s | MB per CPU-s |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, s] of Object.entries(summary)) {
    const rss = s.maxRssMB === null ? '–' : s.maxRssMB.toFixed(0);
    const cpu = s.cpuSeconds === null ? '–' : s.cpuSeconds.toFixed(2);
    const perCpu = s.cpuSeconds === null ? '–' : (size / s.cpuSeconds / 1e6).toFixed(0);
    console.log(
      `| ${name} | ${s.mbps.toFixed(0)} | ${(ours / s.mbps).toFixed(2)}x | ${rss} | ${cpu} | ${perCpu} |`,
    );
  }
  const target = ours / summary['mktorrent -t 2'].mbps;
  console.log(
    `\ntarget ≥ 1.0x mktorrent -t 2: ${target.toFixed(2)}x ${target >= 1 ? 'MET' : 'NOT MET'}; ` +
      `peak RSS ≤ 200 MB: ${summary.ours.maxRssMB.toFixed(0)} MB ${summary.ours.maxRssMB <= 200 ? 'MET' : 'NOT MET'}`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
