import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMetainfo } from '@distributor/core';
import { freePort, patternBytes, served, tempDir, waitFor } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const DIST_SEED = join(here, '..', 'bin', 'dist-seed.js');
const tmp = tempDir('dist-seed-interop-');
const root = join(tmp.dir, 'isos');
let trackerPort: number;
let trackerUrl: string;
let seed: ChildProcess;
let seedExit: Promise<number | null>;
let seedLog = '';

const FILES: Record<string, Buffer> = {
  f: patternBytes(3_000_000, 1),
  'sub/dir/nested.iso': patternBytes(1_500_000, 2),
  'name with spaces.iso': patternBytes(700_000, 3),
  'ünïcødé-файл-文件.bin': patternBytes(900_000, 4),
};
const NAMES = Object.keys(FILES);
/** Big enough for a 32 KiB piece length: mktorrent 1.1 accepts no piece under 32 KiB. */
const MK_FILE = 'mk/big.bin';

/** Runs a command to completion, bounded by `timeoutMs`; kills it by PID on timeout. */
function run(
  cmd: string,
  args: string[],
  cwd: string,
  timeoutMs = 40_000,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.slice(-2000) });
    });
  });
}

beforeAll(async () => {
  for (const [name, data] of Object.entries(FILES)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), data);
  }
  mkdirSync(join(root, 'mk'));
  writeFileSync(join(root, MK_FILE), patternBytes(40_000_000, 5));
  trackerPort = await freePort();
  trackerUrl = `http://127.0.0.1:${trackerPort}`;
  // ctorrent ignores peers on its own address, so the seeder gets 127.0.0.2 (toolchain.md).
  seed = spawn(
    process.execPath,
    [
      DIST_SEED,
      root,
      '--with-tracker',
      '--tracker',
      trackerUrl,
      '--bind',
      '127.0.0.2',
      '--port',
      '0',
      '--state-dir',
      join(tmp.dir, 'state'),
      '--settle',
      '0.3',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  seed.stdout!.on('data', (c: Buffer) => (seedLog += c.toString()));
  seed.stderr!.on('data', (c: Buffer) => (seedLog += c.toString()));
  seedExit = new Promise((resolve) => seed.on('exit', (code) => resolve(code)));
  for (const name of [...NAMES, MK_FILE]) {
    await waitFor(`${name} published`, () => served(trackerUrl, name), 15_000, 200);
  }
});

afterAll(async () => {
  if (seed && seed.exitCode === null) {
    seed.kill('SIGKILL');
    await seedExit;
  }
  tmp.cleanup();
});

describe('interop with standard clients (dist-seed --with-tracker --bind 127.0.0.2)', () => {
  it('the original script, verbatim: wget /serve?NAME && ctorrent -e 0, for every name', async () => {
    // The four downloads run at once: ctorrent finishes in well under a second here but then
    // idles ~15 s before it announces 'stopped' and exits.
    const results = await Promise.all(
      NAMES.map(async (name, i) => {
        const dir = join(tmp.dir, `ctorrent-${i}`);
        mkdirSync(dir);
        const url = `http://127.0.0.1:${trackerPort}/serve?${name}`;
        const port = await freePort();
        const script = `wget -q -O f.torrent "${url}" && ctorrent -e 0 -p ${port} f.torrent`;
        const { code, output } = await run('sh', ['-c', script], dir);
        const got = readFileSync(join(dir, name.split('/').pop()!));
        return { name, code, output, same: Buffer.compare(got, FILES[name]!) === 0 };
      }),
    );
    for (const r of results)
      expect({ name: r.name, code: r.code, same: r.same }).toEqual({
        name: r.name,
        code: 0,
        same: true,
      });
  });

  it('aria2c downloads every name byte-identically', async () => {
    const results = await Promise.all(
      NAMES.map(async (name, i) => {
        const dir = join(tmp.dir, `aria2-${i}`);
        mkdirSync(dir);
        writeFileSync(join(dir, 'f.torrent'), (await served(trackerUrl, name))!);
        const port = String(await freePort());
        const { code } = await run(
          'aria2c',
          [
            '--seed-time=0',
            '--enable-dht=false',
            '--bt-enable-lpd=false',
            '--enable-peer-exchange=false',
            `--listen-port=${port}`,
            '--console-log-level=warn',
            '--summary-interval=0',
            '-d',
            dir,
            'f.torrent',
          ],
          dir,
        );
        const got = readFileSync(join(dir, name.split('/').pop()!));
        return { name, code, same: Buffer.compare(got, FILES[name]!) === 0 };
      }),
    );
    for (const r of results) expect(r).toEqual({ name: r.name, code: 0, same: true });
  });

  it("serves the same info hash as mktorrent's for the same file and piece length", async () => {
    const checked: string[] = [];
    for (const [i, name] of [MK_FILE, ...NAMES].entries()) {
      const ours = await parseMetainfo((await served(trackerUrl, name))!);
      // mktorrent 1.1 refuses piece lengths under 32 KiB (-l 15); our small files use 16 KiB.
      if (ours.pieceLength < 32 * 1024) continue;
      checked.push(name);
      const out = join(tmp.dir, `mk-${i}.torrent`);
      const mk = await run(
        'mktorrent',
        [
          '-l',
          String(Math.log2(ours.pieceLength)),
          '-a',
          'http://unused.example/announce',
          '-o',
          out,
          join(root, name),
        ],
        tmp.dir,
      );
      expect(mk.code).toBe(0);
      const theirs = await parseMetainfo(readFileSync(out));
      expect(ours.infoHash).toBe(theirs.infoHash);
    }
    expect(checked).toContain(MK_FILE);
  });

  it('SIGTERM withdraws the leases and exits 0', async () => {
    seed.kill('SIGTERM');
    expect(await seedExit).toBe(0);
    expect(seedLog).toContain('stopping: withdrawing leases');
  });
});
