#!/usr/bin/env node
// `pnpm bench:racks` (issue 7): rack-aware vs random peer handout, in one run, on a simulated
// datacenter of network namespaces: 2 racks x 6 machines, each rack a Linux bridge (fast,
// unshaped veth links inside a rack), the racks joined by one slow shared link (tbf on both
// ends). The origin (dist-tracker + dist-seed) sits in rack 1. For each handout policy, all 12
// machines run dist-get at once; the bench reads the inter-rack link's interface counters
// (bytes that crossed between racks) and the time until the last machine has the file.
//
// Addresses are in 198.18.0.0/15 only (rack 1: 198.18.1.0/24, rack 2: 198.18.2.0/24, one L2
// segment 198.18.0.0/16). Every namespace is deleted on exit, on failure and on Ctrl-C.
// Needs root (network namespaces); exits 2 otherwise. Needs a build (pnpm build).
//
// Options: --size MIB (default 32), --link-mbit N (inter-rack link, default 20),
// --rounds N (each policy N times, alternating; default 1), --far-share F (default 0.2).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = {
  tracker: join(ROOT, 'packages/tracker/bin/dist-tracker.js'),
  seed: join(ROOT, 'packages/seeder/bin/dist-seed.js'),
  get: join(ROOT, 'packages/client/bin/dist-get.cjs'),
};

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const SIZE_MIB = Number(option('size', '32'));
const LINK_MBIT = Number(option('link-mbit', '20'));
const ROUNDS = Number(option('rounds', '1'));
const FAR_SHARE = option('far-share', '0.2');
const RACKS = 2;
const PER_RACK = 6;
const ROUND_TIMEOUT_MS = 240_000;

function die(message, code = 1) {
  process.stderr.write(`bench:racks: ${message}\n`);
  process.exit(code);
}

if (process.getuid?.() !== 0) {
  die('needs root to create network namespaces (run it as root, e.g. sudo pnpm bench:racks)', 2);
}
for (const tool of ['ip', 'tc']) {
  if (spawnSync('which', [tool]).status !== 0)
    die(`${tool} is not installed (apt-get install iproute2)`);
}
for (const bin of Object.values(BIN)) {
  if (!existsSync(bin.replace(/bin\/dist-\w+\.js$/, 'dist/cli.js'))) {
    die(`${bin} is not built: run pnpm build first`);
  }
}

// Namespace names carry our PID so that concurrent benches (and engineers) never collide.
const TAG = `rk${process.pid % 100000}`;
const namespaces = [];
const children = new Set();
const work = mkdtempSync(join(tmpdir(), 'bench-racks-'));

function sh(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
function ipns(ns, ...args) {
  return sh('ip', ['-n', ns, ...args]);
}

let cleanedUp = false;
function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  // Deleting a namespace deletes the veths and bridges inside it.
  for (const ns of namespaces.reverse()) spawnSync('ip', ['netns', 'del', ns]);
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    process.stderr.write(`bench:racks: ${signal}, cleaning up\n`);
    process.exit(130);
  });
}
process.on('uncaughtException', (err) => {
  process.stderr.write(`bench:racks: ${err.stack ?? err}\n`);
  process.exit(1);
});

function addNamespace(name) {
  sh('ip', ['netns', 'add', name]);
  namespaces.push(name);
  ipns(name, 'link', 'set', 'lo', 'up');
}

/** Machine namespace `ns` with address `ip`, plugged into the bridge of rack namespace `sw`. */
function plug(ns, sw, port, ip) {
  sh('ip', ['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', sw]);
  ipns(ns, 'addr', 'add', `${ip}/16`, 'dev', 'eth0');
  ipns(ns, 'link', 'set', 'eth0', 'up');
  ipns(sw, 'link', 'set', port, 'master', 'br0');
  ipns(sw, 'link', 'set', port, 'up');
}

function buildDatacenter() {
  const racks = [];
  for (let r = 1; r <= RACKS; r++) {
    const sw = `${TAG}-sw${r}`;
    addNamespace(sw);
    ipns(sw, 'link', 'add', 'br0', 'type', 'bridge');
    ipns(sw, 'link', 'set', 'br0', 'up');
    const machines = [];
    for (let m = 1; m <= PER_RACK; m++) {
      const ns = `${TAG}-r${r}m${m}`;
      addNamespace(ns);
      const ip = `198.18.${r}.${m}`;
      plug(ns, sw, `p${m}`, ip);
      machines.push({ ns, ip, rack: r, location: `dc1/rack-${r}` });
    }
    racks.push({ sw, machines });
  }
  // The origin: tracker + seeder on one more machine in rack 1.
  const origin = { ns: `${TAG}-origin`, ip: '198.18.1.100' };
  addNamespace(origin.ns);
  plug(origin.ns, racks[0].sw, 'porigin', origin.ip);
  // The slow shared link between the racks: one veth, rate-limited on both ends' egress.
  sh('ip', [
    'link',
    'add',
    'xrack',
    'netns',
    racks[0].sw,
    'type',
    'veth',
    'peer',
    'name',
    'xrack',
    'netns',
    racks[1].sw,
  ]);
  for (const { sw } of racks) {
    ipns(sw, 'link', 'set', 'xrack', 'master', 'br0');
    ipns(sw, 'link', 'set', 'xrack', 'up');
    sh('ip', [
      'netns',
      'exec',
      sw,
      'tc',
      'qdisc',
      'add',
      'dev',
      'xrack',
      'root',
      'tbf',
      'rate',
      `${LINK_MBIT}mbit`,
      'burst',
      '64kb',
      'latency',
      '100ms',
    ]);
  }
  return { racks, origin, machines: racks.flatMap((r) => r.machines) };
}

/** Bytes sent over the inter-rack link from each rack's end (index 0: rack 1 to rack 2). */
function crossRackBytes(dc) {
  return dc.racks.map(({ sw }) => {
    const [link] = JSON.parse(ipns(sw, '-s', '-j', 'link', 'show', 'dev', 'xrack'));
    return link.stats64.tx.bytes;
  });
}

function run(ns, args, onLine) {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  let pending = '';
  child.stdout.on('data', (c) => {
    output += c;
    pending += c;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      onLine?.(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
  child.stderr.on('data', (c) => (output += c));
  child.exited = new Promise((resolve) => child.once('close', (code) => resolve(code)));
  child.output = () => output;
  return child;
}

async function stop(child) {
  if (!child) return;
  if (child.exitCode === null && child.signalCode === null && child.pid) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await child.exited;
  children.delete(child);
}

async function sha1Of(path) {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitForSeed(dc, trackerUrl) {
  for (let i = 0; i < 300; i++) {
    try {
      const out = sh('ip', [
        'netns',
        'exec',
        dc.origin.ns,
        'curl',
        '-s',
        '--max-time',
        '2',
        `${trackerUrl}/torrents`,
      ]);
      const list = JSON.parse(out);
      if (list.length === 1 && list[0].complete >= 1) return;
    } catch {
      // Not up yet.
    }
    await sleep(100);
  }
  throw new Error('the origin did not publish and seed within 30 s');
}

async function round(dc, handout, file, sourceSha1) {
  const trackerUrl = `http://${dc.origin.ip}:6969`;
  const tracker = run(dc.origin.ns, [
    BIN.tracker,
    '--host',
    dc.origin.ip,
    '--port',
    '6969',
    '--handout',
    handout,
    '--handout-far-share',
    FAR_SHARE,
    '--topology',
    file.topology,
    '--log-level',
    'warn',
  ]);
  const seed = run(dc.origin.ns, [
    BIN.seed,
    file.dir,
    '--tracker',
    trackerUrl,
    '--bind',
    dc.origin.ip,
    '--port',
    '6881',
    '--state-dir',
    file.state,
    '--log-level',
    'warn',
  ]);
  const clients = [];
  try {
    await waitForSeed(dc, trackerUrl);
    const before = crossRackBytes(dc);
    const started = performance.now();
    let done = 0;
    let lastDoneMs = 0;
    const allDone = new Promise((resolve) => {
      for (const m of dc.machines) {
        const out = join(work, `${handout}-${m.ns}.bin`);
        m.out = out;
        const child = run(
          m.ns,
          [
            BIN.get,
            'image.bin',
            '--tracker',
            trackerUrl,
            '-o',
            out,
            '--bind',
            m.ip,
            '--port',
            '6881',
            '--seed-time',
            '600',
            '--json',
            '--location',
            m.location,
          ],
          (line) => {
            if (!line.includes('"type":"complete"')) return;
            lastDoneMs = performance.now() - started;
            if (++done === dc.machines.length) resolve();
          },
        );
        clients.push(child);
        void child.exited.then((code) => {
          if (code !== 0 && done < dc.machines.length) {
            process.stderr.write(
              `bench:racks: ${m.ns} exited ${code}: ${child.output().slice(-500)}\n`,
            );
          }
        });
      }
    });
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), ROUND_TIMEOUT_MS);
    });
    const outcome = await Promise.race([allDone, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      throw new Error(
        `${handout}: only ${done} of ${dc.machines.length} machines finished in ${ROUND_TIMEOUT_MS / 1000} s`,
      );
    }
    const after = crossRackBytes(dc);
    const directions = after.map((n, i) => n - before[i]);
    const crossed = directions.reduce((a, b) => a + b, 0);
    await Promise.all(clients.map(stop));
    for (const m of dc.machines) {
      if ((await sha1Of(m.out)) !== sourceSha1) throw new Error(`${m.ns} got a different file`);
      rmSync(m.out, { force: true });
    }
    return { crossed, directions, seconds: lastDoneMs / 1000 };
  } finally {
    await Promise.all(clients.map(stop));
    await stop(seed);
    await stop(tracker);
  }
}

const dc = buildDatacenter();
const file = {
  dir: join(work, 'isos'),
  state: join(work, 'state'),
  topology: join(work, 'topology.txt'),
};
mkdirSync(file.dir);
const bytes = SIZE_MIB * 1024 * 1024;
writeFileSync(join(file.dir, 'image.bin'), randomBytes(bytes));
const sourceSha1 = await sha1Of(join(file.dir, 'image.bin'));
// ctorrent-style peers (and dist-seed) send no location: the tracker's CIDR map places them.
writeFileSync(file.topology, '198.18.1.0/24 dc1/rack-1\n198.18.2.0/24 dc1/rack-2\n');

console.log(
  `bench:racks: ${RACKS} racks x ${PER_RACK} machines, origin in rack 1, ${SIZE_MIB} MiB file, ` +
    `inter-rack link ${LINK_MBIT} Mbit/s (tbf), far share ${FAR_SHARE}`,
);
const results = { random: [], topology: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const handout of r % 2 === 0 ? ['random', 'topology'] : ['topology', 'random']) {
    const res = await round(dc, handout, file, sourceSha1);
    results[handout].push(res);
    console.log(
      `  ${handout.padEnd(8)} cross-rack ${(res.crossed / 1048576).toFixed(1)} MiB ` +
        `(${(res.crossed / bytes).toFixed(2)}x the file, ${(res.crossed / bytes / RACKS).toFixed(2)}x per rack; ` +
        `rack 1->2 ${(res.directions[0] / 1048576).toFixed(1)} MiB, rack 2->1 ${(res.directions[1] / 1048576).toFixed(1)} MiB), ` +
        `last machine done after ${res.seconds.toFixed(1)} s`,
    );
  }
}
const mean = (xs, pick) => xs.reduce((n, x) => n + pick(x), 0) / xs.length;
const summary = (xs) => ({
  crossed: mean(xs, (x) => x.crossed),
  // Rack 2 has no origin: what it pulled over the link is its cost of getting the file.
  intoRack2: mean(xs, (x) => x.directions[0]),
  seconds: mean(xs, (x) => x.seconds),
});
const rnd = summary(results.random);
const top = summary(results.topology);
console.log(
  `summary: cross-rack bytes topology/random ${(top.crossed / rnd.crossed).toFixed(2)}; ` +
    `rack 2 pulled ${(top.intoRack2 / bytes).toFixed(2)}x the file across with topology ` +
    `(${(rnd.intoRack2 / bytes).toFixed(2)}x with random; target <= 1.5x, ideal 1x); ` +
    `time to last machine topology/random ${(top.seconds / rnd.seconds).toFixed(2)} (target <= 1.0)`,
);
cleanup();
process.exit(0);
