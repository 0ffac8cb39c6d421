#!/usr/bin/env node
// Per-announce cost of dist-tracker on the Redis store (issue 7), for the sizing note in
// docs/operations.md: announces/s and latency with wrk against --store memory (the reference,
// same run) and --store redis://, Redis CPU time per announce, and Redis memory per peer
// (INFO memory before and after filling swarms). Loopback only; a private redis-server on a
// free port, stopped by PID at the end.
//
// Options: --duration S (default 5), --connections N (default 64), --trackers N (Redis-backed
// tracker processes sharing the Redis, default 1). Needs a build (pnpm build), wrk, redis-server.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startRedis } from '../lib/redis-server.js';
import { DIST_TRACKER, children, cpuSeconds, start, waitFor } from './lib/processes.js';

const LUA = fileURLToPath(new URL('tracker-announce.lua', import.meta.url));

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const DURATION = Number(option('duration', '5'));
const CONNECTIONS = Number(option('connections', '64'));
const TRACKERS = Number(option('trackers', '1'));

function die(message) {
  process.stderr.write(`tracker-redis bench: ${message}\n`);
  process.exit(1);
}
for (const tool of ['wrk', 'redis-server']) {
  if (spawnSync('which', [tool]).status !== 0) die(`${tool} is not installed`);
}

let redis;
// Kills the trackers and the redis-server (by PID) however the bench ends: Ctrl-C exits through
// this 'exit' handler too. Resolves once redis-server is gone.
function cleanup() {
  for (const child of children) child.kill('SIGKILL');
  return redis?.kill();
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

function redisCli(port, ...args) {
  return execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
}

async function startTracker(store) {
  // The same command as bench:tracker runs (its shim's node flags included).
  const child = start(
    DIST_TRACKER,
    ['--host', '127.0.0.1', '--port', '0', '--open', '--store', store, '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const listening = await waitFor(
    'dist-tracker to listen',
    () => /"port":(\d+).*"msg":"dist-tracker listening"/.exec(child.output()),
    15_000,
    child,
  );
  return { port: Number(listening[1]), child };
}

function wrk(port, torrents, peers, offset, seconds) {
  const out = execFileSync(
    'wrk',
    [
      '-t1',
      `-c${CONNECTIONS}`,
      `-d${seconds}s`,
      '-s',
      LUA,
      `http://127.0.0.1:${port}/`,
      '--',
      String(torrents),
      String(peers),
      String(offset),
      'keep',
    ],
    { encoding: 'utf8' },
  );
  const m = /WRK_RESULT (\{.*\})/.exec(out);
  if (!m) die(`wrk printed no result: ${out}`);
  const r = JSON.parse(m[1]);
  return {
    rps: r.requests / (r.duration_us / 1e6),
    p50: r.p50_us / 1000,
    p99: r.p99_us / 1000,
    requests: r.requests,
  };
}

redis = await startRedis();
try {
  const url = redis.url;
  const memory = await startTracker('memory');
  const redisTrackers = [];
  for (let i = 0; i < TRACKERS; i++) redisTrackers.push(await startTracker(url));

  const scenarios = [
    { name: '1 torrent x 10,000 peers', torrents: 1, peers: 10_000, offset: 100_000 },
    { name: '10,000 torrents x 5 peers', torrents: 10_000, peers: 5, offset: 0 },
  ];
  console.log(
    `dist-tracker announces, wrk -c${CONNECTIONS} ${DURATION}s, ${TRACKERS} Redis-backed tracker(s)`,
  );
  for (const s of scenarios) {
    // Fill the swarms first so that the measured announces are re-announces into full swarms.
    wrk(memory.port, s.torrents, s.peers, s.offset, 2);
    for (const t of redisTrackers) wrk(t.port, s.torrents, s.peers, s.offset, 2);
    const mem = wrk(memory.port, s.torrents, s.peers, s.offset, DURATION);
    const cpu0 = cpuSeconds(redis.pid());
    const results = redisTrackers.map((t) => wrk(t.port, s.torrents, s.peers, s.offset, DURATION));
    const cpu1 = cpuSeconds(redis.pid());
    const total = results.reduce((n, r) => n + r.requests, 0);
    const rps = results.reduce((n, r) => n + r.rps, 0);
    const redisUsPerAnnounce = ((cpu1 - cpu0) / total) * 1e6;
    console.log(
      `${s.name}: memory ${mem.rps.toFixed(0)}/s (p50 ${mem.p50.toFixed(2)} ms) | ` +
        `redis ${rps.toFixed(0)}/s (p50 ${results[0].p50.toFixed(2)} ms, p99 ${results[0].p99.toFixed(2)} ms) ` +
        `ratio redis/memory ${(rps / mem.rps).toFixed(2)} | Redis CPU ${redisUsPerAnnounce.toFixed(1)} us/announce`,
    );
  }

  // Memory per peer: 100 swarms x 1,000 peers into an empty Redis database.
  redisCli(redis.port, 'FLUSHALL');
  const before = Number(/used_memory:(\d+)/.exec(redisCli(redis.port, 'INFO', 'memory'))[1]);
  wrk(redisTrackers[0].port, 100, 1000, 200_000, 4);
  const peers = Number(
    redisCli(
      redis.port,
      'EVAL',
      "local n=0 for _,k in ipairs(redis.call('KEYS','dist:*:all')) do n=n+redis.call('ZCARD',k) end return n",
      '0',
    ).trim(),
  );
  const after = Number(/used_memory:(\d+)/.exec(redisCli(redis.port, 'INFO', 'memory'))[1]);
  console.log(
    `Redis memory: ${peers} peers in 100 swarms use ${((after - before) / 1048576).toFixed(1)} MiB, ${((after - before) / peers).toFixed(0)} bytes per peer`,
  );
} finally {
  await cleanup();
  await redis.stop();
}
