#!/usr/bin/env node
// `pnpm bench:tracker`: announce throughput and latency of dist-tracker against opentracker
// (Debian) and bittorrent-tracker (npm), in the same run, interleaved, on loopback.
//
// wrk (with tracker-announce.lua generating announces) runs on one core and the tracker under
// test on another (taskset), so the trackers compete for the same CPU. Scenarios: one torrent
// with 10,000 peers, and 10,000 torrents with 5 peers each; 64 keep-alive connections, and a
// new TCP connection per announce (what most BitTorrent clients do). Then dist-tracker's RSS
// with 100,000 peers.
//
// Options: --duration S (per measurement, default 4), --warmup S (default 3, then 2 s of new
// connections), --rounds N (default 2), --connections N (default 64), --only NAME[,NAME]
// (dist-tracker, opentracker, bittorrent-tracker). Needs a build (pnpm build) and: wrk,
// opentracker, taskset.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIST_TRACKER, cpuSeconds, freePort } from './lib/processes.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LUA = fileURLToPath(new URL('tracker-announce.lua', import.meta.url));

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const DURATION = Number(option('duration', '4'));
const WARMUP = Number(option('warmup', '3'));
const ROUNDS = Number(option('rounds', '2'));
const NEW_CONNECTION_WARMUP = 2;
const CONNECTIONS = Number(option('connections', '64'));
const ONLY = option('only', 'dist-tracker,opentracker,bittorrent-tracker,node-http-floor').split(
  ',',
);

function die(message) {
  process.stderr.write(`bench:tracker: ${message}\n`);
  process.exit(1);
}

for (const tool of ['wrk', 'taskset', ...(ONLY.includes('opentracker') ? ['opentracker'] : [])]) {
  if (spawnSync('which', [tool]).status !== 0)
    die(`${tool} is not installed (apt-get install ${tool})`);
}
try {
  readFileSync(join(ROOT, 'packages/tracker/dist/cli.js'));
} catch {
  die('packages/tracker is not built: run pnpm build first');
}

// Two cores or more: load generator on core 0, tracker on core 1. One core: no pinning.
const PINNED = cpus().length >= 2;
const LOADGEN_CPU = '0';
const TRACKER_CPU = '1';
const pin = (cpu, cmd, args) => (PINNED ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args]);

const SCENARIOS = [
  { name: '1 torrent x 10,000 peers', torrents: 1, peers: 10_000, offset: 100_000 },
  { name: '10,000 torrents x 5 peers', torrents: 10_000, peers: 5, offset: 0 },
];
const MODES = [
  { name: `keep-alive, ${CONNECTIONS} conns`, close: false },
  { name: `new connection per announce, ${CONNECTIONS} conns`, close: true },
];

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

function infoHashHex(index) {
  return 'b0'.repeat(16) + index.toString(16).padStart(8, '0');
}

async function waitReady(port, name) {
  const path =
    `/announce?info_hash=${'%B0'.repeat(16)}%FF%FF%FF%FF&peer_id=-BM0001-999999999999` +
    '&port=9999&uploaded=0&downloaded=0&left=0&compact=1';
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      const body = Buffer.from(await res.arrayBuffer()).toString('latin1');
      if (body.includes('8:interval')) return;
      if (body.includes('failure reason')) die(`${name} refused the benchmark announce: ${body}`);
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  die(`${name} did not start on port ${port}`);
}

async function startTracker(name, tmp) {
  const port = await freePort();
  let cmd;
  let args;
  if (name === 'dist-tracker') {
    [cmd, args] = pin(TRACKER_CPU, DIST_TRACKER, [
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--open',
      '--log-level',
      'warn',
    ]);
  } else if (name === 'opentracker') {
    // Debian's opentracker is built whitelist-only and reads the list after chroot.
    const hashes = [];
    for (let i = 0; i < 10_000; i++) hashes.push(infoHashHex(i));
    hashes.push(infoHashHex(100_000), infoHashHex(0xffffffff));
    writeFileSync(join(tmp, 'whitelist.txt'), `${hashes.join('\n')}\n`, { mode: 0o644 });
    chmodSync(tmp, 0o755);
    const udp = await freePort();
    [cmd, args] = pin(TRACKER_CPU, 'opentracker', [
      '-i',
      '127.0.0.1',
      '-p',
      String(port),
      '-P',
      String(udp),
      '-d',
      tmp,
      '-w',
      '/whitelist.txt',
      // It refuses to keep root privileges and drops to this user after the chroot.
      '-u',
      'nobody',
    ]);
  } else if (name === 'bittorrent-tracker') {
    [cmd, args] = pin(TRACKER_CPU, process.execPath, [
      join(ROOT, 'scripts/bench/bt-tracker-server.js'),
      String(port),
    ]);
  } else if (name === 'node-http-floor') {
    [cmd, args] = pin(TRACKER_CPU, process.execPath, [
      join(ROOT, 'scripts/bench/node-http-floor.js'),
      String(port),
    ]);
  } else {
    die(`unknown tracker ${name}`);
  }
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  child.on('exit', (code) => {
    children.delete(child);
    if (!stopping) die(`${name} exited early (${code}): ${stderr.trim()}`);
  });
  await waitReady(port, name);
  return { name, port, child, pid: child.pid };
}

let stopping = false;

function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function wrk(tracker, scenario, close, seconds, first = 0) {
  const [cmd, args] = pin(LOADGEN_CPU, 'wrk', [
    '-t1',
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    '--timeout',
    '5s',
    '-s',
    LUA,
    `http://127.0.0.1:${tracker.port}`,
    '--',
    String(scenario.torrents),
    String(scenario.peers),
    String(scenario.offset),
    close ? 'close' : 'keep',
    String(first),
  ]);
  const cpuBefore = cpuSeconds(tracker.pid);
  const out = execFileSync(cmd, args, { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const cpu = cpuSeconds(tracker.pid) - cpuBefore;
  const line = out.split('\n').find((l) => l.startsWith('WRK_RESULT '));
  if (!line) die(`wrk printed no result:\n${out}`);
  const r = JSON.parse(line.slice('WRK_RESULT '.length));
  // wrk counts a connection the server closes after answering as a read error; opentracker
  // closes every connection, so those are not failures.
  const errors = r.connect + r.write + r.status + r.timeout;
  return {
    rps: r.requests / (r.duration_us / 1e6),
    p50: r.p50_us / 1000,
    p99: r.p99_us / 1000,
    errors,
    perCpuSecond: cpu > 0 ? r.requests / cpu : NaN,
    requests: r.requests,
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const fmt = (n, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '–';

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), 'bench-tracker-'));
  const started = Date.now();
  console.log(
    `bench:tracker: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, ` +
      `${PINNED ? `wrk on core ${LOADGEN_CPU}, trackers on core ${TRACKER_CPU}` : 'no pinning (1 core)'}, ` +
      `${DURATION}s x ${ROUNDS} rounds per cell\n`,
  );
  const trackers = [];
  for (const name of ONLY) trackers.push(await startTracker(name, tmp));

  const results = new Map();
  for (const scenario of SCENARIOS) {
    // Fill the swarms, then run each tracker's new-connection path once before any round is
    // measured: the first seconds of it are JIT warm-up (measured on dist-tracker: the first
    // new-connection round after start had a p99 of 5.3-6.6 ms, the next ones 3.1-4.4 ms).
    for (const t of trackers) {
      wrk(t, scenario, false, WARMUP);
      wrk(t, scenario, true, NEW_CONNECTION_WARMUP);
    }
    for (const mode of MODES) {
      for (let round = 0; round < ROUNDS; round++) {
        // Rotate the order each round so no tracker always runs first or last.
        const order = trackers.map((_, i) => trackers[(i + round) % trackers.length]);
        for (const t of order) {
          const key = `${scenario.name}|${mode.name}|${t.name}`;
          const r = wrk(t, scenario, mode.close, DURATION);
          (results.get(key) ?? results.set(key, []).get(key)).push(r);
          process.stderr.write(
            `  ${scenario.name} | ${mode.name} | ${t.name}: ${fmt(r.rps)}/s, p99 ${fmt(r.p99, 2)} ms` +
              `${r.errors ? `, ${r.errors} errors` : ''}\n`,
          );
        }
      }
    }
  }

  const rows = [];
  for (const scenario of SCENARIOS) {
    for (const mode of MODES) {
      const cell = (name) => {
        const rs = results.get(`${scenario.name}|${mode.name}|${name}`);
        if (!rs) return null;
        return {
          rps: median(rs.map((r) => r.rps)),
          p99: median(rs.map((r) => r.p99)),
          perCpu: median(rs.map((r) => r.perCpuSecond)),
          errors: rs.reduce((a, r) => a + r.errors, 0),
        };
      };
      const ours = cell('dist-tracker');
      const ot = cell('opentracker');
      const bt = cell('bittorrent-tracker');
      const floor = cell('node-http-floor');
      rows.push({ scenario: scenario.name, mode: mode.name, ours, ot, bt, floor });
    }
  }

  console.log(
    '\n| scenario | connections | tracker | announces/s | p99 ms | announces per CPU-s | errors |',
  );
  console.log('|---|---|---|---:|---:|---:|---:|');
  for (const row of rows) {
    for (const [name, c] of [
      ['dist-tracker', row.ours],
      ['opentracker', row.ot],
      ['bittorrent-tracker', row.bt],
      ['node-http-floor', row.floor],
    ]) {
      if (!c) continue;
      console.log(
        `| ${row.scenario} | ${row.mode} | ${name} | ${fmt(c.rps)} | ${fmt(c.p99, 2)} | ${fmt(c.perCpu)} | ${c.errors} |`,
      );
    }
  }
  console.log(
    '\ndist-tracker ratios, by wall-clock throughput and (in brackets) by announces per CPU-second' +
      ' of the tracker process, which is steadier on a shared machine:\n',
  );
  console.log(
    '| scenario | connections | vs opentracker (target ≥ 0.9x) | vs bittorrent-tracker (target ≥ 3x) | vs node:http floor | dist-tracker p99 (target < 5 ms) |',
  );
  console.log('|---|---|---:|---:|---:|---:|');
  for (const row of rows) {
    if (!row.ours) continue;
    const vs = (c) =>
      c ? `${fmt(row.ours.rps / c.rps, 2)}x (${fmt(row.ours.perCpu / c.perCpu, 2)}x)` : '–';
    console.log(
      `| ${row.scenario} | ${row.mode} | ${vs(row.ot)} | ${vs(row.bt)} | ${vs(row.floor)} | ${fmt(row.ours.p99, 2)} ms |`,
    );
  }

  // Memory with 100,000 peers, on a fresh dist-tracker: 10 swarms x 10,000 peers.
  if (ONLY.includes('dist-tracker')) {
    const fresh = await startTracker('dist-tracker', tmp);
    const scenario = { torrents: 10, peers: 10_000, offset: 200_000 };
    let announced = 0;
    for (let i = 0; i < 10 && announced < 100_000; i++) {
      announced += wrk(fresh, scenario, false, 3, announced).requests;
    }
    const metrics = await (await fetch(`http://127.0.0.1:${fresh.port}/metrics`)).text();
    const gauge = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    const peers = gauge('dist_tracker_seeds') + gauge('dist_tracker_leechers');
    console.log(
      `\ndist-tracker RSS with ${fmt(peers)} peers in ${gauge('dist_tracker_swarms')} swarms ` +
        `(after ${fmt(announced)} announces): ${fmt(rssMiB(fresh.pid), 1)} MiB (target < 150 MiB)`,
    );
  }

  stopping = true;
  for (const t of children) t.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
  console.log(`\ntotal ${fmt((Date.now() - started) / 1000)} s`);
}

main().catch((err) => die(err.stack ?? String(err)));
