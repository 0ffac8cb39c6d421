#!/usr/bin/env node
// `node scripts/bench/status.js`: what the status page costs the announce hot path. Each round
// times, in the same process and interleaved, the announce work without the status board
// (parse the query + MemoryStore.announce: the reference) and with it (plus the recorder that
// feeds the status page), over 10,000 machines in one swarm; then the heap per tracked machine.
// Options: --announces N per measurement (default 200000), --rounds N (default 5).
// Run with --expose-gc for the heap figure. Needs a build (pnpm build).
import { escapeBytes } from '../../packages/core/dist/index.js';
import {
  ManualClock,
  MemoryStore,
  SwarmStatusBoard,
  announceRecorder,
  compactAddress,
  parseAnnounceQuery,
} from '../../packages/tracker/dist/index.js';

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? Number(process.argv[i + 1]) : fallback;
}
const ANNOUNCES = option('announces', 200_000);
const ROUNDS = option('rounds', 5);
const PEERS = 10_000;
const INFO_HASH = 'ab'.repeat(20);

const queries = [];
for (let i = 0; i < PEERS; i++) {
  const id = Buffer.alloc(20, 0x2d);
  id.writeUInt32BE(i, 16);
  queries.push(
    `info_hash=${escapeBytes(Buffer.from(INFO_HASH, 'hex'))}&peer_id=${escapeBytes(id)}` +
      `&port=${6881 + (i % 1000)}&uploaded=0&downloaded=${i * 1000}&left=${1_000_000 - i}` +
      `&compact=1&rate=${i}`,
  );
}

function run(withStatus) {
  const clock = new ManualClock();
  const store = new MemoryStore({ clock, peerTtlMs: 60_000 });
  const board = new SwarmStatusBoard({ clock, interval: 30 });
  const record = announceRecorder(board);
  const started = process.hrtime.bigint();
  for (let n = 0; n < ANNOUNCES; n++) {
    const raw = queries[n % PEERS];
    const query = parseAnnounceQuery(raw);
    const peer = n % PEERS;
    const ip = Buffer.from([10, 0, (peer >> 8) & 0xff, peer & 0xff]);
    const address = compactAddress(ip, query.port);
    const outcome = store.announce({
      infoHash: query.infoHashHex,
      peerId: query.peerId,
      address,
      seed: query.left === 0,
      event: query.event,
      want: 50,
      leechersOnly: false,
      requirePublished: false,
    });
    if (withStatus) record(query, address, outcome, undefined);
    if (n % 1000 === 0) clock.advance(10);
  }
  const ns = Number(process.hrtime.bigint() - started) / ANNOUNCES;
  void store.close();
  return ns;
}

const without = [];
const withBoard = [];
run(false);
run(true);
for (let r = 0; r < ROUNDS; r++) {
  without.push(run(false));
  withBoard.push(run(true));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const a = median(without);
const b = median(withBoard);
console.log(`announce work without status board: ${a.toFixed(0)} ns/announce (reference)`);
console.log(`announce work with status board:    ${b.toFixed(0)} ns/announce`);
console.log(`ratio with/without: ${(b / a).toFixed(2)}x (+${(b - a).toFixed(0)} ns/announce)`);

if (globalThis.gc) {
  const clock = new ManualClock();
  const board = new SwarmStatusBoard({ clock, interval: 30, maxPeers: 200_000 });
  const stats = { complete: 0, incomplete: 0, downloaded: 0 };
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 100_000; i++) {
    const id = Buffer.alloc(20);
    id.writeUInt32BE(i, 16);
    board.record({
      infoHash: INFO_HASH,
      peerId: id,
      address: Buffer.from([10, 0, (i >> 8) & 0xff, i & 0xff, 0x1a, 0xe1]),
      event: 'update',
      uploaded: 0,
      downloaded: i,
      left: 1000,
      stats,
    });
  }
  globalThis.gc();
  const perPeer = (process.memoryUsage().heapUsed - before) / 100_000;
  console.log(
    `heap per tracked machine: ${perPeer.toFixed(0)} bytes (${board.trackedPeers} machines)`,
  );
}
