// The interop matrix (issue 6): every downloader (dist-get, ctorrent, aria2c, transmission-cli)
// against every seeder (dist-seed, aria2c, transmission-cli), all through dist-tracker, each
// cell byte-identical. Runs in network namespaces (transmission-cli ignores loopback peers;
// ctorrent ignores peers sharing its address), so it needs root; without it, it is skipped
// with a message. Every cell has its own file, so a downloader can only get it from the
// seeder of its column, and all 12 cells run at once, each bounded by CELL_TIMEOUT_MS.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMetainfo } from '@distributor/core';
import { cleanupStale, createNetwork, netnsUsable } from '../../../../scripts/lib/netns.js';
import type { NetHost, Network } from '../../../../scripts/lib/netns.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const BIN = {
  tracker: join(repo, 'packages', 'tracker', 'bin', 'dist-tracker.js'),
  seed: join(repo, 'packages', 'seeder', 'bin', 'dist-seed.js'),
  get: join(repo, 'packages', 'client', 'bin', 'dist-get.cjs'),
};
const DOWNLOADERS = ['dist-get', 'ctorrent', 'aria2c', 'transmission-cli'] as const;
const SEEDERS = ['dist-seed', 'aria2c', 'transmission-cli'] as const;
type Downloader = (typeof DOWNLOADERS)[number];
type Seeder = (typeof SEEDERS)[number];
const FILE_SIZE = 1024 * 1024 + 12345; // a short last piece, too
const PIECE_LOG2 = 15; // 32 KiB, mktorrent's smallest
const TRACKER_PORT = 6969;
const SEED_PORT = 6881;
const CELL_TIMEOUT_MS = 40_000;
/** aria2c, seeding or downloading: no DHT or local discovery (our tracker only), little output. */
const ARIA2_QUIET = [
  '--enable-dht=false',
  '--enable-dht6=false',
  '--bt-enable-lpd=false',
  '--console-log-level=warn',
  '--summary-interval=0',
];
const PREFIX = 'dsm';

const tools = ['ip', 'tc', 'curl', 'ctorrent', 'aria2c', 'transmission-cli', 'mktorrent'];
const missingTool = tools.find(
  (t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0,
);
const skipReason = !netnsUsable()
  ? 'needs root to create network namespaces (run the tests as root, as CI does)'
  : missingTool !== undefined
    ? `${missingTool} is not installed (see scripts/test.sh for the Debian packages)`
    : null;
if (skipReason !== null) console.warn(`interop matrix skipped: ${skipReason}`);
const describeMatrix = skipReason === null ? describe : describe.skip;

interface Cell {
  downloader: Downloader;
  seeder: Seeder;
  ok: boolean;
  seconds: number;
  detail: string;
}

const children = new Set<ChildProcess>();
let net: Network | undefined;
let work = '';

function spawnIn(host: NetHost, cmd: string, args: string[], cwd?: string): ChildProcess {
  const [c, a] = net!.exec(host, cmd, args);
  const child = spawn(c, a, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString();
  });
  child.on('exit', () => children.delete(child));
  (child as ChildProcess & { stderrText: () => string }).stderrText = () => stderr;
  children.add(child);
  return child;
}

function stderrOf(child: ChildProcess): string {
  return ((child as ChildProcess & { stderrText?: () => string }).stderrText?.() ?? '').trim();
}

function runIn(host: NetHost, cmd: string, args: string[]): string {
  const [c, a] = net!.exec(host, cmd, args);
  const r = spawnSync(c, a, { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout : '';
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const sha1 = (path: string) => createHash('sha1').update(readFileSync(path)).digest('hex');

function mktorrent(file: string, out: string, announce: string): void {
  const r = spawnSync('mktorrent', ['-a', announce, '-l', String(PIECE_LOG2), '-o', out, file], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`mktorrent failed: ${r.stderr}`);
}

/** transmission-cli's config dir: no DHT, LPD, uTP, PEX or port mapping; one per process. */
function transmissionConfig(dir: string, port: number): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'settings.json'),
    JSON.stringify({
      'dht-enabled': false,
      'lpd-enabled': false,
      'utp-enabled': false,
      'pex-enabled': false,
      'port-forwarding-enabled': false,
      'peer-port': port,
      'rpc-enabled': false,
      'ratio-limit-enabled': false,
      'idle-seeding-limit-enabled': false,
      'rename-partial-files': true,
      'incomplete-dir-enabled': false,
      'message-level': 1,
    }),
  );
  return dir;
}

describeMatrix('interop matrix: downloaders × seeders through dist-tracker', () => {
  const cells: Cell[] = [];
  const seedProcs: ChildProcess[] = [];
  let trackerUrl = '';

  beforeAll(async () => {
    cleanupStale(PREFIX);
    work = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
    spawnSync('chmod', ['755', work]);
    net = createNetwork({
      prefix: PREFIX,
      names: ['tracker', 's-dist', 's-aria', 's-trans', 'd-dist', 'd-ctor', 'd-aria', 'd-trans'],
    });
    const host = (name: string) => net!.hosts.find((h) => h.name === name)!;
    const trackerHost = host('tracker');
    trackerUrl = `http://${trackerHost.address}:${TRACKER_PORT}`;
    // --open: the third-party seeders' torrents are made by mktorrent, not published.
    const tracker = spawnIn(trackerHost, 'node', [
      BIN.tracker,
      '--host',
      trackerHost.address,
      '--port',
      String(TRACKER_PORT),
      '--open',
      '--interval',
      '5',
      '--log-level',
      'warn',
    ]);
    seedProcs.push(tracker);
    await waitFor(
      'dist-tracker to listen',
      () => runIn(trackerHost, 'curl', ['-s', `${trackerUrl}/healthz`]) !== '',
      15_000,
    );

    // One file per cell, so a downloader can get it only from its column's seeder.
    const files = new Map<string, { path: string; sha: string; torrent: string }>();
    for (const seeder of SEEDERS) {
      const dir = join(work, 'seed', seeder);
      mkdirSync(dir, { recursive: true });
      for (const downloader of DOWNLOADERS) {
        const name = `cell-${seeder}-${downloader}.bin`;
        const path = join(dir, name);
        writeFileSync(path, randomBytes(FILE_SIZE));
        const torrent = join(work, `${name}.torrent`);
        if (seeder !== 'dist-seed') mktorrent(path, torrent, `${trackerUrl}/announce`);
        files.set(`${seeder}/${downloader}`, { path, sha: sha1(path), torrent });
      }
    }

    // Seeders.
    const sDist = host('s-dist');
    seedProcs.push(
      spawnIn(sDist, 'node', [
        BIN.seed,
        join(work, 'seed', 'dist-seed'),
        '--tracker',
        trackerUrl,
        '--bind',
        sDist.address,
        '--port',
        String(SEED_PORT),
        '--state-dir',
        join(work, 'dist-seed-state'),
        '--settle',
        '0.2',
        '--log-level',
        'warn',
      ]),
    );
    DOWNLOADERS.forEach((downloader, i) => {
      const port = SEED_PORT + 1 + i;
      const aria = files.get(`aria2c/${downloader}`)!;
      seedProcs.push(
        spawnIn(host('s-aria'), 'aria2c', [
          `--dir=${join(work, 'seed', 'aria2c')}`,
          '--check-integrity=true',
          '--seed-ratio=0.0',
          `--listen-port=${port}`,
          ...ARIA2_QUIET,
          aria.torrent,
        ]),
      );
      const trans = files.get(`transmission-cli/${downloader}`)!;
      seedProcs.push(
        spawnIn(host('s-trans'), 'transmission-cli', [
          '-g',
          transmissionConfig(join(work, 'tr-seed', downloader), port),
          '-w',
          join(work, 'seed', 'transmission-cli'),
          '-p',
          String(port),
          trans.torrent,
        ]),
      );
    });
    // dist-seed publishes once the files settled and are hashed; the served torrents are
    // what the third-party downloaders of that column use.
    await waitFor(
      'dist-seed to publish its files',
      () => {
        const list = runIn(trackerHost, 'curl', ['-s', `${trackerUrl}/torrents`]);
        return DOWNLOADERS.every((d) => list.includes(`cell-dist-seed-${d}.bin`));
      },
      20_000,
    );
    for (const downloader of DOWNLOADERS) {
      const f = files.get(`dist-seed/${downloader}`)!;
      const name = `cell-dist-seed-${downloader}.bin`;
      runIn(trackerHost, 'curl', ['-s', '--fail', '-o', f.torrent, `${trackerUrl}/serve?${name}`]);
      if (!existsSync(f.torrent)) throw new Error(`GET /serve?${name} gave no torrent`);
    }

    // transmission-cli takes 10-20 s to announce after it starts; waiting for every seeder to
    // be registered keeps the cells' own timeouts about the transfers, not about start-up.
    const pending = new Set<string>();
    for (const seeder of ['aria2c', 'transmission-cli'] as const) {
      for (const downloader of DOWNLOADERS) {
        const meta = await parseMetainfo(
          readFileSync(files.get(`${seeder}/${downloader}`)!.torrent),
        );
        pending.add(meta.infoHash);
      }
    }
    const registeredBy = Date.now() + 40_000;
    while (pending.size > 0 && Date.now() < registeredBy) {
      for (const hash of [...pending]) {
        const escaped = hash.replace(/../g, (b) => `%${b}`);
        const body = runIn(trackerHost, 'curl', [
          '-s',
          `${trackerUrl}/scrape?info_hash=${escaped}`,
        ]);
        if (/8:completei[1-9]\d*e/.test(body)) pending.delete(hash);
      }
      if (pending.size > 0) await sleep(250);
    }

    // All 12 cells at once, each with its own port on its downloader's host.
    const runs: Promise<Cell>[] = [];
    DOWNLOADERS.forEach((downloader, r) => {
      const dHost = host(
        {
          'dist-get': 'd-dist',
          ctorrent: 'd-ctor',
          aria2c: 'd-aria',
          'transmission-cli': 'd-trans',
        }[downloader],
      );
      SEEDERS.forEach((seeder, c) => {
        const f = files.get(`${seeder}/${downloader}`)!;
        const outDir = join(work, 'get', downloader, seeder);
        mkdirSync(outDir, { recursive: true });
        const name = `cell-${seeder}-${downloader}.bin`;
        const out = join(outDir, name);
        const port = 7000 + 10 * r + c;
        runs.push(runCell(downloader, seeder, dHost, f, out, outDir, port));
      });
    });
    cells.push(...(await Promise.all(runs)));
  }, 120_000);

  async function runCell(
    downloader: Downloader,
    seeder: Seeder,
    dHost: NetHost,
    f: { path: string; sha: string; torrent: string },
    out: string,
    outDir: string,
    port: number,
  ): Promise<Cell> {
    const started = Date.now();
    let child: ChildProcess;
    if (downloader === 'dist-get') {
      const source =
        seeder === 'dist-seed' ? [`cell-${seeder}-${downloader}.bin`] : ['--torrent', f.torrent];
      child = spawnIn(dHost, 'node', [
        BIN.get,
        ...source,
        '--tracker',
        trackerUrl,
        '-o',
        out,
        '--bind',
        dHost.address,
        '--port',
        String(port),
        '--seed-time',
        '0',
        '--peer-timeout',
        '30',
        '--quiet',
      ]);
    } else if (downloader === 'ctorrent') {
      child = spawnIn(
        dHost,
        'ctorrent',
        ['-e', '0', '-p', String(port), '-s', out, '-b', join(outDir, 'bf'), f.torrent],
        outDir,
      );
    } else if (downloader === 'aria2c') {
      child = spawnIn(dHost, 'aria2c', [
        `--dir=${outDir}`,
        '--seed-time=0',
        `--listen-port=${port}`,
        ...ARIA2_QUIET,
        f.torrent,
      ]);
    } else {
      child = spawnIn(dHost, 'transmission-cli', [
        '-g',
        transmissionConfig(join(outDir, 'config'), port),
        '-w',
        outDir,
        '-p',
        String(port),
        f.torrent,
      ]);
    }
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let detail = '';
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      // transmission-cli keeps seeding; the others exit once complete. Either way, the cell
      // is done when the output has all its bytes (transmission writes NAME.part until then).
      await Promise.race([
        waitForComplete(out, f.sha, () => settled),
        exited.then(async (code) => {
          await sleep(200);
          if (!(existsSync(out) && sha1(out) === f.sha)) {
            throw new Error(`${downloader} exited ${code}: ${stderrOf(child).slice(-300)}`);
          }
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`not complete after ${CELL_TIMEOUT_MS / 1000} s`)),
            CELL_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (err) {
      detail = (err as Error).message;
    } finally {
      settled = true;
      clearTimeout(timer);
      await stopChild(child);
    }
    const ok = existsSync(out) && sha1(out) === f.sha;
    if (!ok && detail === '') detail = existsSync(out) ? 'content differs' : 'no output file';
    return { downloader, seeder, ok, seconds: (Date.now() - started) / 1000, detail };
  }

  async function waitForComplete(out: string, sha: string, stop: () => boolean): Promise<void> {
    const deadline = Date.now() + CELL_TIMEOUT_MS;
    while (Date.now() < deadline && !stop()) {
      try {
        if (existsSync(out) && readFileSync(out).length === FILE_SIZE && sha1(out) === sha) return;
      } catch {
        // being renamed or written: look again
      }
      await sleep(200);
    }
  }

  afterAll(async () => {
    await Promise.all([...children].map((c) => stopChild(c)));
    net?.destroy();
    net = undefined;
    if (work !== '') rmSync(work, { recursive: true, force: true });
    if (cells.length > 0) {
      const width = 18;
      const lines = [
        'interop matrix (rows: downloader, columns: seeder; all through dist-tracker)',
        ['downloader \\ seeder'.padEnd(22), ...SEEDERS.map((s) => s.padEnd(width))].join(''),
      ];
      for (const d of DOWNLOADERS) {
        const row = SEEDERS.map((s) => {
          const cell = cells.find((x) => x.downloader === d && x.seeder === s)!;
          return (cell.ok ? `ok ${cell.seconds.toFixed(1)} s` : 'FAIL').padEnd(width);
        });
        lines.push([d.padEnd(22), ...row].join(''));
      }
      for (const cell of cells.filter((x) => !x.ok)) {
        lines.push(`  ${cell.downloader} ← ${cell.seeder}: ${cell.detail}`);
      }
      console.log(lines.join('\n'));
    }
  }, 30_000);

  for (const downloader of DOWNLOADERS) {
    for (const seeder of SEEDERS) {
      it(`${downloader} downloads from ${seeder}, byte-identical`, () => {
        const cell = cells.find((x) => x.downloader === downloader && x.seeder === seeder);
        expect(cell).toBeDefined();
        expect(cell!.detail).toBe('');
        expect(cell!.ok).toBe(true);
      });
    }
  }
});

if (skipReason !== null) {
  describe('interop matrix', () => {
    it.skip(`skipped: ${skipReason}`, () => undefined);
  });
}
