#!/usr/bin/env node
// pnpm bench:swarm — the headline benchmark (issue 6): one origin and N peers, each a network
// namespace on a shared bridge, every link shaped to RATE in both directions; the same file is
// put on all N peers by four systems in turn, on the same network, in the same invocation:
//   ours (dist-tracker + dist-seed → dist-get), HTTP fan-out (nginx → curl),
//   aria2c (+ opentracker), ctorrent (+ opentracker).
// All N downloaders start together. Per system: each peer's completion time, min/median/max,
// the lower bound T_min = max(S/U_origin, S/D_peer, N·S/(U_origin + N·U_peer)), max/T_min, the
// origin's upload in multiples of S (its interface's tx bytes) and the CPU seconds of every
// process the system ran. Every copy's checksum is verified.
// Needs root (network namespaces, tc). Writes docs/swarm-results.json, docs/swarm-chart.svg
// and the "Swarm" section of docs/benchmarks.md (--no-docs to skip).
//
//   node scripts/bench/swarm.js [--peers 8,16] [--size-mib 64] [--rate 20] [--runs 1]
//                               [--systems ours,http,aria2c,ctorrent] [--piece-length BYTES]
//                               [--no-docs] [--tracker-arg A]... [--seed-arg A]... [--get-arg A]...
// SWARM_TRACE=DIR keeps every dist-get's --json lines (time-stamped, with its spawn time) and its
// log lines for looking into a run (SWARM_GET_LOG_LEVEL=info: announces too); SWARM_PROFILE=DIR
// writes a V8 CPU profile per dist-get and dist-seed; SWARM_NODE_FLAGS adds node flags to them.
import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import {
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { choosePieceLength, parseMetainfo } from '../../packages/core/dist/index.js';
import { cleanupStale, createNetwork, netnsUsable } from '../lib/netns.js';
import { childCpuSeconds, killAllNow, sleep, stop } from './swarm/procs.js';
import { writeReport } from './swarm/report.js';
import { SYSTEMS, writeHook } from './swarm/systems.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const MIB = 1024 * 1024;
const PREFIX = 'dsb';

function parseArgs(argv) {
  const opts = {
    peers: [8, 16],
    sizeMib: 64,
    rate: 20,
    runs: 1,
    systems: ['ours', 'http', 'aria2c', 'ctorrent'],
    docs: true,
    delay: 0,
    pieceLength: 0,
    ourTrackerArgs: [],
    ourSeedArgs: [],
    ourGetArgs: [],
  };
  const list = (v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const next = argv[++i];
      if (next === undefined) usage(`${a} needs a value`);
      return next;
    };
    if (a === '--peers' || a === '-n') opts.peers = list(v()).map(Number);
    else if (a === '--size-mib') opts.sizeMib = Number(v());
    else if (a === '--rate') opts.rate = Number(v());
    else if (a === '--runs') opts.runs = Number(v());
    else if (a === '--systems') opts.systems = list(v());
    else if (a === '--delay') opts.delay = Number(v());
    else if (a === '--piece-length') opts.pieceLength = Number(v());
    else if (a === '--tracker-arg') opts.ourTrackerArgs.push(v());
    else if (a === '--seed-arg') opts.ourSeedArgs.push(v());
    else if (a === '--get-arg') opts.ourGetArgs.push(v());
    else if (a === '--no-docs') opts.docs = false;
    else if (a === '--help' || a === '-h') usage(null);
    else usage(`unknown argument ${a}`);
  }
  if (!opts.peers.every((n) => Number.isInteger(n) && n >= 1 && n <= 200))
    usage('--peers: integers 1..200');
  if (!(opts.sizeMib > 0)) usage('--size-mib must be > 0');
  if (!(opts.rate > 0)) usage('--rate (Mbit/s) must be > 0');
  if (!(Number.isInteger(opts.runs) && opts.runs >= 1)) usage('--runs must be an integer ≥ 1');
  for (const s of opts.systems)
    if (!(s in SYSTEMS)) usage(`unknown system ${s} (ours, http, aria2c, ctorrent)`);
  if (opts.delay > 0) {
    console.error(
      'swarm: --delay needs the netem qdisc, which this kernel lacks (HTB/TBF only); run without --delay',
    );
    process.exit(2);
  }
  return opts;
}

function usage(problem) {
  const text =
    'usage: node scripts/bench/swarm.js [--peers 8,16] [--size-mib 64] [--rate 20] [--runs 1]\n' +
    '         [--systems ours,http,aria2c,ctorrent] [--piece-length BYTES] [--no-docs]\n' +
    '         [--delay MS]   (refused here: needs netem, which this kernel lacks)\n' +
    '         [--tracker-arg A]... [--seed-arg A]... [--get-arg A]...   (extra flags for our CLIs)';
  if (problem === null) {
    console.log(text);
    process.exit(0);
  }
  console.error(`swarm: ${problem}\n${text}`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
if (!netnsUsable()) {
  console.error(
    'swarm: needs root (network namespaces and tc); run it as root, e.g. sudo pnpm bench:swarm',
  );
  process.exit(2);
}
for (const tool of [
  'tc',
  'curl',
  'ss',
  ...(opts.systems.includes('http') ? ['nginx'] : []),
  ...(opts.systems.some((s) => s === 'aria2c' || s === 'ctorrent')
    ? ['opentracker', 'mktorrent']
    : []),
  ...opts.systems.filter((s) => s === 'aria2c' || s === 'ctorrent'),
]) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0) {
    console.error(
      `swarm: ${tool} is not installed (Debian: apt-get install iproute2 curl nginx-light opentracker mktorrent aria2 ctorrent)`,
    );
    process.exit(2);
  }
}

// ---- cleanup on every exit path -------------------------------------------------------------
let net = null;
let work = null;
function cleanup() {
  killAllNow();
  if (net !== null) {
    net.destroy();
    net = null;
  }
  if (work !== null) {
    rmSync(work, { recursive: true, force: true });
    work = null;
  }
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`\nswarm: ${sig}, cleaning up`);
    cleanup();
    process.exit(0);
    process.exit(130);
  });
}
process.on('uncaughtException', (err) => {
  console.error(`swarm: ${err.stack ?? err}`);
  cleanup();
  process.exit(0);
  process.exit(1);
});

const stale = cleanupStale(PREFIX);
if (stale > 0) console.log(`removed ${stale} stale namespace(s) of earlier runs`);
const shm = existsSync('/dev/shm') ? '/dev/shm' : '/tmp';
// Work dirs of runs that were killed with SIGKILL (their namespaces went just above).
for (const name of readdirSync(shm)) {
  const pid = Number(new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1] ?? NaN);
  if (Number.isInteger(pid) && !isAlive(pid))
    rmSync(join(shm, name), { recursive: true, force: true });
}
function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

// ---- the file --------------------------------------------------------------------------------
work = mkdtempSync(join(shm, `${PREFIX}${process.pid}-`));
spawnSync('chmod', ['755', work]);
const SIZE = Math.round(opts.sizeMib * MIB);
const fileName = 'swarm.bin';
const source = join(work, 'source', fileName);
mkdirSync(dirname(source), { recursive: true });
{
  const fd = openSync(source, 'w');
  const chunk = Buffer.alloc(4 * MIB);
  for (let off = 0; off < SIZE; off += chunk.length) {
    randomFillSync(chunk);
    writeSync(fd, chunk, 0, Math.min(chunk.length, SIZE - off));
  }
  closeSync(fd);
}
const sourceSha = sha1File(source);

function sha1File(path) {
  const h = createHash('sha1');
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(4 * MIB);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

// The piece length every BitTorrent system uses: ours picks it from the size (core's policy);
// the others get the same, so that only the software differs.
// mktorrent takes 32 KiB at least.
const pieceLength =
  opts.pieceLength > 0 ? opts.pieceLength : Math.max(32 * 1024, choosePieceLength(SIZE));

// ---- one system on one network --------------------------------------------------------------
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function runSystem(system, ctx, n) {
  const runDir = join(work, `${system.name}-${n}-${ctx.round}`);
  mkdirSync(runDir, { recursive: true });
  const sctx = { ...ctx, work: runDir };
  const cpu0 = childCpuSeconds();
  const originProcs = await system.startOrigin(sctx);
  await sleep(500);
  const tx0 = net.txBytes(ctx.origin);
  const t0 = Date.now();
  const peers = ctx.peers.map((host) => {
    const dir = join(runDir, 'peers', host.name);
    mkdirSync(dir, { recursive: true });
    return { host, ...system.startPeer(sctx, host, dir) };
  });
  const timeoutMs = Math.round(ctx.tMin * 1000 * (1.5 * n + 6) + 60_000);
  const results = await Promise.all(
    peers.map((p) =>
      Promise.race([
        p.done.then(
          (at) => ({ at }),
          (err) => ({ error: err.message }),
        ),
        sleep(timeoutMs, true).then(() => ({ error: `not complete after ${timeoutMs / 1000} s` })),
      ]),
    ),
  );
  const wallEnd = Date.now();
  const tx1 = net.txBytes(ctx.origin);
  await Promise.all(peers.map((p) => stop(p.proc)));
  await Promise.all(originProcs.map((p) => stop(p)));
  const cpu = childCpuSeconds() - cpu0;
  const times = results.map((r) => (r.at === undefined ? null : (r.at - t0) / 1000));
  const errors = results.map((r) => r.error ?? null);
  const verified = peers.map((p, i) => {
    if (errors[i] !== null) return false;
    if (!existsSync(p.out)) {
      errors[i] = 'output file missing';
      return false;
    }
    const ok = sha1File(p.out) === sourceSha;
    if (!ok) errors[i] = 'checksum mismatch';
    return ok;
  });
  rmSync(runDir, { recursive: true, force: true });
  const ok = times.filter((t, i) => t !== null && verified[i]);
  const allOk = ok.length === n;
  const max = allOk ? Math.max(...ok) : null;
  return {
    system: system.name,
    label: system.label,
    peers: n,
    round: ctx.round,
    times,
    errors,
    verified: verified.filter(Boolean).length,
    min: ok.length ? Math.min(...ok) : null,
    median: ok.length ? median(ok) : null,
    max,
    ratio: max === null ? null : max / ctx.tMin,
    originUploadS: (tx1 - tx0) / SIZE,
    cpuSeconds: cpu,
    wallSeconds: (wallEnd - t0) / 1000,
  };
}

function fmt(x, digits = 1) {
  return x === null || x === undefined ? '—' : x.toFixed(digits);
}

function printResult(r) {
  const times = r.times.map((t) => (t === null ? 'FAIL' : t.toFixed(1))).join(' ');
  console.log(
    `  ${r.system.padEnd(9)} min ${fmt(r.min).padStart(6)}  median ${fmt(r.median).padStart(6)}  max ${fmt(r.max).padStart(6)} s` +
      `  max/T_min ${fmt(r.ratio, 2).padStart(5)}x  origin up ${fmt(r.originUploadS, 2)} S  CPU ${fmt(r.cpuSeconds)} s` +
      `  verified ${r.verified}/${r.peers}`,
  );
  console.log(`            peers: ${times}`);
  const errs = r.errors.filter((e) => e !== null);
  if (errs.length) console.log(`            errors: ${[...new Set(errs)].join('; ')}`);
}

// ---- main -------------------------------------------------------------------------------------
const rateBytes = (opts.rate * 1e6) / 8;
const all = [];
console.log(
  `swarm benchmark: ${opts.sizeMib} MiB, ${opts.rate} Mbit/s per link each way (HTB; no netem here, so no delay), ` +
    `piece length ${pieceLength / 1024} KiB, peers ${opts.peers.join(', ')}, runs ${opts.runs}, systems ${opts.systems.join(', ')}`,
);
// A shared torrent for aria2c and ctorrent, announcing to opentracker on the origin.
const hook = writeHook(work);
for (const n of opts.peers) {
  const names = ['origin', ...Array.from({ length: n }, (_, i) => `p${i + 1}`)];
  net = createNetwork({ prefix: PREFIX, names, rateMbit: opts.rate });
  const [origin, ...peers] = net.hosts;
  let btTorrentPath = '';
  let btInfoHash = '';
  if (opts.systems.some((s) => s === 'aria2c' || s === 'ctorrent')) {
    btTorrentPath = join(work, `bt-${n}.torrent`);
    const mk = spawnSync(
      'mktorrent',
      [
        '-a',
        `http://${origin.address}:6970/announce`,
        '-l',
        String(Math.log2(pieceLength)),
        '-n',
        fileName,
        '-o',
        btTorrentPath,
        source,
      ],
      { encoding: 'utf8' },
    );
    if (mk.status !== 0) throw new Error(`mktorrent failed: ${mk.stderr}`);
    btInfoHash = (await parseMetainfo(readFileSync(btTorrentPath))).infoHash;
  }
  const S = SIZE;
  const tMin = Math.max(S / rateBytes, S / rateBytes, (n * S) / (rateBytes + n * rateBytes));
  console.log(
    `\nN = ${n}: T_min = ${tMin.toFixed(1)} s (a perfect TCP transfer needs ~1.046x that: headers count on a shaped link)`,
  );
  for (let round = 0; round < opts.runs; round++) {
    // Rotating the order across runs spreads any drift of the shared machine over all systems.
    const order = opts.systems.map((_, i) => opts.systems[(i + round) % opts.systems.length]);
    for (const name of order) {
      const ctx = {
        net,
        origin,
        peers,
        round,
        fileName,
        pieceLength,
        tMin,
        btTorrentPath,
        btInfoHash,
        hook,
        ourTrackerArgs: opts.ourTrackerArgs,
        ourSeedArgs: opts.ourSeedArgs,
        ourGetArgs: opts.ourGetArgs,
        linkSource: (to) => linkSync(source, to),
      };
      let r;
      try {
        r = await runSystem(SYSTEMS[name], ctx, n);
      } catch (err) {
        killAllNow();
        r = {
          system: name,
          label: SYSTEMS[name].label,
          peers: n,
          round,
          times: peers.map(() => null),
          errors: [err.message],
          verified: 0,
          min: null,
          median: null,
          max: null,
          ratio: null,
          originUploadS: null,
          cpuSeconds: null,
        };
      }
      r.tMin = tMin;
      all.push(r);
      printResult(r);
    }
  }
  net.destroy();
  net = null;
}

// ---- summary ----------------------------------------------------------------------------------
console.log('\nsummary (max completion / T_min; median over runs):');
const summary = [];
for (const n of opts.peers) {
  const row = { peers: n, tMin: all.find((r) => r.peers === n)?.tMin };
  for (const s of opts.systems) {
    const rs = all.filter((r) => r.peers === n && r.system === s);
    const ratios = rs.map((r) => r.ratio).filter((x) => x !== null);
    row[s] = {
      ratio: ratios.length === rs.length && ratios.length ? median(ratios) : null,
      max: rs.every((r) => r.max !== null) ? median(rs.map((r) => r.max)) : null,
      median: rs.every((r) => r.median !== null) ? median(rs.map((r) => r.median)) : null,
      originUploadS: median(rs.map((r) => r.originUploadS ?? 0)),
      cpuSeconds: median(rs.map((r) => r.cpuSeconds ?? 0)),
    };
  }
  summary.push(row);
  console.log(
    `  N=${String(n).padEnd(3)} ` +
      opts.systems.map((s) => `${s} ${fmt(row[s].ratio, 2)}x`).join('   '),
  );
  if (opts.systems.includes('ours')) {
    const others = opts.systems.filter((s) => s !== 'ours' && row[s].max !== null);
    const ours = row.ours.max;
    if (ours !== null) {
      const verdict = others
        .map((s) => `${(row[s].max / ours).toFixed(2)}x faster than ${s}`)
        .join(', ');
      console.log(
        `         ours: ${row.ours.ratio <= 1.15 ? 'meets' : 'misses'} the 1.15x T_min target; ${verdict}`,
      );
    }
  }
}

const result = {
  date: new Date().toISOString(),
  sizeMib: opts.sizeMib,
  rateMbit: opts.rate,
  pieceLength,
  runs: opts.runs,
  systems: opts.systems,
  cpus: cpus().length,
  note: 'HTB rate shaping on both ends of every veth; this kernel has no netem, so no delay',
  summary,
  runsDetail: all,
};
if (opts.docs) {
  await writeReport(result, join(repo, 'docs'));
  console.log(
    '\nwrote docs/swarm-results.json, docs/swarm-chart.svg and the Swarm section of docs/benchmarks.md',
  );
}
cleanup();
process.exit(0);
