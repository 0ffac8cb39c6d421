// The four systems of the swarm benchmark. Each one has startOrigin(ctx) (start what the origin
// runs, resolve once it serves the file; returns the processes) and startPeer(ctx, host, dir)
// (start one downloader; returns { proc, done } where done resolves to the wall-clock time
// (ms) the copy was complete, or rejects when the downloader gave up). The harness times,
// stops, reaps and verifies.
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { output, sleep, start, waitFor } from './procs.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const BIN = {
  tracker: join(repo, 'packages', 'tracker', 'bin', 'dist-tracker.js'),
  seed: join(repo, 'packages', 'seeder', 'bin', 'dist-seed.js'),
  get: join(repo, 'packages', 'client', 'bin', 'dist-get.cjs'),
};

const PEER_PORT = 6881;
const OUR_TRACKER_PORT = 6969;
const OPENTRACKER_PORT = 6970;
const HTTP_PORT = 8080;

/**
 * Node's own flags for our seeder and downloaders, for looking into their CPU use:
 * SWARM_PROFILE=DIR writes a V8 CPU profile per process into DIR/NAME (when the process exits,
 * which SIGTERM lets it do); SWARM_NODE_FLAGS adds flags (e.g. "--trace-deopt", whose output
 * SWARM_TRACE keeps for dist-get).
 */
function nodeFlags(name) {
  const flags = (process.env['SWARM_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
  const dir = process.env['SWARM_PROFILE'];
  if (!dir) return flags;
  const into = join(dir, name);
  mkdirSync(into, { recursive: true });
  return [...flags, '--cpu-prof', '--cpu-prof-dir', into];
}

function nsRun(ctx, host, cmd, args, opts) {
  const [c, a] = ctx.net.exec(host, cmd, args);
  return start(c, a, opts);
}

function curlIn(ctx, host, url) {
  const [c, a] = ctx.net.exec(host, 'curl', ['-sS', '--max-time', '5', url]);
  return output(c, a);
}

function listening(ctx, host, port) {
  const [c, a] = ctx.net.exec(host, 'ss', ['-Htln', `sport = :${port}`]);
  return output(c, a).trim() !== '';
}

/** Fails fast (with the process's stderr) if an origin process dies while we wait for it. */
function watchDeath(proc, name, stderr) {
  let dead = null;
  proc.exited.then((e) => {
    dead = `${name} exited (code ${e.code}, signal ${e.signal}): ${stderr.join('').trim().slice(-400)}`;
  });
  return () => {
    if (dead !== null) throw new Error(dead);
  };
}

/** done for downloaders that run a completion hook writing `date +%s%N` into DONE_FILE. */
function hookDone(proc, doneFile, name) {
  return new Promise((resolve, reject) => {
    let finished = false;
    const timer = setInterval(() => {
      if (!existsSync(doneFile)) return;
      const ns = readFileSync(doneFile, 'utf8').trim();
      if (ns === '') return;
      finished = true;
      clearInterval(timer);
      resolve(Number(BigInt(ns) / 1_000_000n));
    }, 50);
    proc.exited.then((e) => {
      setTimeout(() => {
        if (finished) return;
        clearInterval(timer);
        reject(new Error(`${name} exited before completing (code ${e.code}, signal ${e.signal})`));
      }, 200);
    });
  });
}

function writeHook(work) {
  const hook = join(work, 'done-hook.sh');
  writeFileSync(
    hook,
    '#!/bin/sh\ndate +%s%N > "$DONE_FILE.tmp" && mv "$DONE_FILE.tmp" "$DONE_FILE"\n',
  );
  chmodSync(hook, 0o755);
  return hook;
}

/** Percent-escapes every byte, for info_hash in a scrape URL. */
function escapeHex(hex) {
  return hex.replace(/../g, (b) => `%${b}`);
}

/** opentracker on the origin, whitelisting the benchmark torrent (Debian's is whitelist-only). */
async function startOpentracker(ctx, dir) {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'whitelist.txt'), `${ctx.btInfoHash}\n`);
  const stderr = [];
  const proc = nsRun(
    ctx,
    ctx.origin,
    'opentracker',
    [
      '-i',
      ctx.origin.address,
      '-p',
      String(OPENTRACKER_PORT),
      '-P',
      String(OPENTRACKER_PORT),
      '-d',
      dir,
      '-w',
      '/whitelist.txt',
    ],
    { stderrTo: stderr },
  );
  const dead = watchDeath(proc, 'opentracker', stderr);
  await waitFor(
    'opentracker listening',
    () => (dead(), listening(ctx, ctx.origin, OPENTRACKER_PORT)),
  );
  return proc;
}

/** Resolves once the tracker at `base` reports a seeder for the info hash. */
async function waitForSeed(ctx, base, infoHash, dead) {
  const url = `${base}/scrape?info_hash=${escapeHex(infoHash)}`;
  await waitFor(
    'origin seeder registered at the tracker',
    () => {
      dead();
      const body = curlIn(ctx, ctx.origin, url);
      return /8:completei([1-9]\d*)e/.test(body);
    },
    { timeoutMs: 60_000, everyMs: 250 },
  );
}

export const ours = {
  name: 'ours',
  label: 'dist-get (ours)',
  async startOrigin(ctx) {
    const root = join(ctx.work, 'ours-origin', 'files');
    mkdirSync(root, { recursive: true });
    ctx.linkSource(join(root, ctx.fileName));
    const trackerUrl = `http://${ctx.origin.address}:${OUR_TRACKER_PORT}`;
    const errT = [];
    const tracker = nsRun(
      ctx,
      ctx.origin,
      'node',
      [
        BIN.tracker,
        '--host',
        ctx.origin.address,
        '--port',
        String(OUR_TRACKER_PORT),
        '--log-level',
        'warn',
        ...ctx.ourTrackerArgs,
      ],
      { stderrTo: errT },
    );
    const deadT = watchDeath(tracker, 'dist-tracker', errT);
    await waitFor(
      'dist-tracker listening',
      () => (deadT(), listening(ctx, ctx.origin, OUR_TRACKER_PORT)),
    );
    const errS = [];
    const seed = nsRun(
      ctx,
      ctx.origin,
      'node',
      [
        ...nodeFlags('seed'),
        BIN.seed,
        root,
        '--tracker',
        trackerUrl,
        '--bind',
        ctx.origin.address,
        '--port',
        String(PEER_PORT),
        '--state-dir',
        join(ctx.work, 'ours-origin', 'state'),
        '--settle',
        '0.2',
        '--piece-length',
        String(ctx.pieceLength),
        '--log-level',
        'warn',
        ...ctx.ourSeedArgs,
      ],
      { stderrTo: errS },
    );
    const deadS = watchDeath(seed, 'dist-seed', errS);
    await waitFor(
      'dist-seed published the file',
      () => {
        deadT();
        deadS();
        return curlIn(ctx, ctx.origin, `${trackerUrl}/torrents`).includes(ctx.fileName);
      },
      { timeoutMs: 60_000, everyMs: 250 },
    );
    const torrents = JSON.parse(curlIn(ctx, ctx.origin, `${trackerUrl}/torrents`));
    const entry = torrents.find((t) => t.name === ctx.fileName);
    await waitForSeed(ctx, trackerUrl, entry.infoHash, () => (deadT(), deadS()));
    return [seed, tracker];
  },
  startPeer(ctx, host, dir) {
    const out = join(dir, ctx.fileName);
    const stderr = [];
    const proc = nsRun(
      ctx,
      host,
      'node',
      [
        ...nodeFlags(`get-${host.name}`),
        BIN.get,
        ctx.fileName,
        '--tracker',
        `http://${ctx.origin.address}:${OUR_TRACKER_PORT}`,
        '-o',
        out,
        '--bind',
        host.address,
        '--port',
        String(PEER_PORT),
        '--seed-time',
        '900',
        '--json',
        '--log-level',
        process.env['SWARM_GET_LOG_LEVEL'] ?? 'warn',
        ...ctx.ourGetArgs,
      ],
      { stdout: 'pipe', stderrTo: stderr },
    );
    const done = new Promise((resolve, reject) => {
      let buffered = '';
      let completeAt = null;
      const trace = process.env['SWARM_TRACE'];
      // SWARM_TRACE=DIR keeps each peer's JSON lines, stamped, for looking into a slow run, and
      // its log lines (pino's carry their own time; SWARM_GET_LOG_LEVEL=info for more of them).
      if (trace) {
        appendFileSync(join(trace, `${host.name}.jsonl`), `${Date.now()} spawned\n`);
        proc.child.stderr?.on('data', (d) => appendFileSync(join(trace, `${host.name}.log`), d));
      }
      proc.child.stdout.on('data', (d) => {
        if (trace) appendFileSync(join(trace, `${host.name}.jsonl`), `${Date.now()} ${String(d)}`);
        buffered += String(d);
        let nl;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (completeAt === null && line.includes('"complete"')) {
            try {
              if (JSON.parse(line).type === 'complete') {
                completeAt = Date.now();
                resolve(completeAt);
              }
            } catch {
              // not JSON: ignore
            }
          }
        }
      });
      proc.exited.then((e) => {
        if (completeAt !== null) return;
        if (e.code === 0) resolve(e.at);
        else
          reject(
            new Error(
              `dist-get on ${host.name} exited ${e.code ?? e.signal}: ${stderr.join('').trim().slice(-300)}`,
            ),
          );
      });
    });
    return { proc, done, out };
  },
};

export const http = {
  name: 'http',
  label: 'HTTP fan-out (nginx → curl)',
  async startOrigin(ctx) {
    const dir = join(ctx.work, 'http-origin');
    const root = join(dir, 'root');
    mkdirSync(root, { recursive: true });
    for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
      mkdirSync(join(dir, sub), { recursive: true });
    ctx.linkSource(join(root, ctx.fileName));
    const conf = join(dir, 'nginx.conf');
    writeFileSync(
      conf,
      `daemon off;
user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server { listen ${ctx.origin.address}:${HTTP_PORT}; root ${root}; }
}
`,
    );
    const stderr = [];
    const proc = nsRun(ctx, ctx.origin, 'nginx', ['-p', dir, '-c', conf], { stderrTo: stderr });
    const dead = watchDeath(proc, 'nginx', stderr);
    await waitFor('nginx listening', () => (dead(), listening(ctx, ctx.origin, HTTP_PORT)));
    return [proc];
  },
  startPeer(ctx, host, dir) {
    const out = join(dir, ctx.fileName);
    const stderr = [];
    const proc = nsRun(
      ctx,
      host,
      'curl',
      ['-sS', '--fail', '-o', out, `http://${ctx.origin.address}:${HTTP_PORT}/${ctx.fileName}`],
      { stderrTo: stderr },
    );
    const done = proc.exited.then((e) => {
      if (e.code === 0) return e.at;
      throw new Error(
        `curl on ${host.name} exited ${e.code ?? e.signal}: ${stderr.join('').trim()}`,
      );
    });
    return { proc, done, out };
  },
};

const ARIA_COMMON = [
  '--enable-dht=false',
  '--enable-dht6=false',
  '--bt-enable-lpd=false',
  `--listen-port=${PEER_PORT}`,
  '--seed-ratio=0.0',
  '--console-log-level=warn',
  '--summary-interval=0',
  '--file-allocation=none',
];

/**
 * The origin side both third-party BitTorrent systems share: a directory holding a link to the
 * source file, and opentracker on the origin.
 */
async function btOrigin(ctx, name) {
  const dir = join(ctx.work, `${name}-origin`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, ctx.fileName);
  ctx.linkSource(file);
  const tracker = await startOpentracker(ctx, join(ctx.work, `${name}-ot`));
  return { dir, file, tracker };
}

/** Waits until the origin's seed is registered on opentracker; fails early if it dies. */
async function seeding(ctx, seed, label, stderr) {
  const dead = watchDeath(seed, label, stderr);
  await waitForSeed(ctx, `http://${ctx.origin.address}:${OPENTRACKER_PORT}`, ctx.btInfoHash, dead);
}

export const aria2c = {
  name: 'aria2c',
  label: 'aria2c + opentracker',
  async startOrigin(ctx) {
    const { dir, tracker } = await btOrigin(ctx, 'aria2');
    const stderr = [];
    const seed = nsRun(
      ctx,
      ctx.origin,
      'aria2c',
      [...ARIA_COMMON, '--check-integrity=true', `--dir=${dir}`, ctx.btTorrentPath],
      { stderrTo: stderr },
    );
    await seeding(ctx, seed, 'aria2c (origin)', stderr);
    return [seed, tracker];
  },
  startPeer(ctx, host, dir) {
    const doneFile = join(dir, 'done');
    const proc = nsRun(
      ctx,
      host,
      'aria2c',
      [...ARIA_COMMON, `--dir=${dir}`, `--on-bt-download-complete=${ctx.hook}`, ctx.btTorrentPath],
      { env: { DONE_FILE: doneFile } },
    );
    return {
      proc,
      done: hookDone(proc, doneFile, `aria2c on ${host.name}`),
      out: join(dir, ctx.fileName),
    };
  },
};

export const ctorrent = {
  name: 'ctorrent',
  label: 'ctorrent + opentracker',
  async startOrigin(ctx) {
    const { dir, file, tracker } = await btOrigin(ctx, 'ctorrent');
    // -f: the origin's copy is the source itself, no need to hash it again
    const seed = nsRun(
      ctx,
      ctx.origin,
      'ctorrent',
      [
        '-f',
        '-e',
        '100',
        '-p',
        String(PEER_PORT),
        '-s',
        file,
        '-b',
        join(dir, 'bf'),
        ctx.btTorrentPath,
      ],
      { cwd: dir },
    );
    await seeding(ctx, seed, 'ctorrent (origin)', []);
    return [seed, tracker];
  },
  startPeer(ctx, host, dir) {
    const doneFile = join(dir, 'done');
    const out = join(dir, ctx.fileName);
    const proc = nsRun(
      ctx,
      host,
      'ctorrent',
      [
        '-e',
        '1',
        '-p',
        String(PEER_PORT),
        '-s',
        out,
        '-b',
        join(dir, 'bf'),
        '-X',
        ctx.hook,
        ctx.btTorrentPath,
      ],
      { cwd: dir, env: { DONE_FILE: doneFile } },
    );
    return { proc, done: hookDone(proc, doneFile, `ctorrent on ${host.name}`), out };
  },
};

export const SYSTEMS = { ours, http, aria2c, ctorrent };
export { writeHook, sleep };
