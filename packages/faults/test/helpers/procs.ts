import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** packages/, seen from packages/faults/dist-test/helpers. */
const PACKAGES = join(here, '..', '..', '..');
export const BIN = {
  tracker: join(PACKAGES, 'tracker', 'bin', 'dist-tracker.js'),
  seed: join(PACKAGES, 'seeder', 'bin', 'dist-seed.js'),
  get: join(PACKAGES, 'client', 'bin', 'dist-get.cjs'),
} as const;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function tempDir(prefix = 'dist-faults-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** A free TCP port on `host` (bound, then released). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Writes `size` random bytes to `path` and returns their SHA-1. */
export async function makeFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha1');
  const handle = await open(path, 'w');
  try {
    for (let done = 0; done < size;) {
      const chunk = randomBytes(Math.min(4 * 1024 * 1024, size - done));
      hash.update(chunk);
      await handle.write(chunk, 0, chunk.length, done);
      done += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

export async function sha1OfFile(path: string): Promise<string | null> {
  const hash = createHash('sha1');
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
      hash.update(chunk as Buffer);
    }
  } catch {
    return null;
  }
  return hash.digest('hex');
}

/** Counts the bytes at which two files differ (the "wrong bytes" of the reliability table). */
export async function differingBytes(a: string, b: string): Promise<number> {
  const [x, y] = await Promise.all([readFile(a), readFile(b)]);
  let n = Math.abs(x.length - y.length);
  const len = Math.min(x.length, y.length);
  for (let i = 0; i < len; i++) if (x[i] !== y[i]) n++;
  return n;
}

/** Polls `pred` every `stepMs` until it holds; throws `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  pred: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  stepMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 100_000; i++) {
    if (await pred()) return;
    if (Date.now() > deadline) break;
    await sleep(stepMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Resident memory of a process in KiB (Linux), or null once it is gone. */
export async function rssKiB(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+)/.exec(status);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A child process we started; `kill` only ever signals its own PID. */
export interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
  done: Promise<ProcResult>;
  stdout(): string;
  stderr(): string;
  alive(): boolean;
  /** JSON lines printed so far on stdout (pino logs of tracker/seeder, --json of dist-get). */
  json(): Record<string, unknown>[];
  waitForJson(
    what: string,
    pred: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): void;
}

const started = new Set<Proc>();

/**
 * Starts `node BIN ARGS` (inside network namespace `netns` when given: `ip netns exec` execs
 * node, so the PID stays the one we signal).
 */
export function startProc(
  name: string,
  bin: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; netns?: string } = {},
): Proc {
  const command = options.netns ? 'ip' : process.execPath;
  const argv = options.netns
    ? ['netns', 'exec', options.netns, process.execPath, bin, ...args]
    : [bin, ...args];
  const child = spawn(command, argv, {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let pending = '';
  const lines: Record<string, unknown>[] = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    pending += chunk.toString();
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // progress text, not JSON
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const done = new Promise<ProcResult>((resolve) =>
    child.on('close', (code, signal) => {
      started.delete(proc);
      resolve({ code, signal, stdout: out, stderr: err });
    }),
  );
  const proc: Proc = {
    name,
    child,
    pid: child.pid ?? -1,
    done,
    stdout: () => out,
    stderr: () => err,
    alive: () => child.exitCode === null && child.signalCode === null,
    json: () => lines,
    async waitForJson(what, pred, timeoutMs = 20_000) {
      let found: Record<string, unknown> | undefined;
      await waitFor(
        `${name}: ${what}`,
        () => {
          found = lines.find(pred);
          if (!found && !proc.alive()) {
            throw new Error(`${name} exited before ${what}; stderr: ${err.slice(-500)}`);
          }
          return found !== undefined;
        },
        timeoutMs,
        25,
      );
      return found!;
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.alive() && child.pid) {
        try {
          process.kill(child.pid, signal);
        } catch {
          // exited in between
        }
      }
    },
  };
  started.add(proc);
  return proc;
}

/** Kills (SIGKILL, by PID) every process this test file started and waits for them. */
export async function killAll(): Promise<void> {
  const procs = [...started];
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.done));
}

export async function startTrackerProc(
  port: number,
  args: string[] = [],
  options: { host?: string; netns?: string } = {},
): Promise<{ proc: Proc; url: string }> {
  const host = options.host ?? '127.0.0.1';
  const proc = startProc(
    'dist-tracker',
    BIN.tracker,
    ['--host', host, '--port', String(port), '--log-level', 'info', ...args],
    options.netns ? { netns: options.netns } : {},
  );
  const url = `http://${host}:${port}`;
  if (!options.netns) {
    await waitFor(
      'dist-tracker to answer /healthz',
      async () => {
        if (!proc.alive()) throw new Error(`dist-tracker exited: ${proc.stderr()}`);
        return fetch(`${url}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
      },
      15_000,
    );
  }
  return { proc, url };
}

export function startSeedProc(
  dirs: string[],
  options: {
    tracker: string;
    stateDir: string;
    bind?: string;
    netns?: string;
    extra?: string[];
  },
): Proc {
  return startProc(
    'dist-seed',
    BIN.seed,
    [
      ...dirs,
      '--tracker',
      options.tracker,
      '--port',
      '0',
      '--bind',
      options.bind ?? '127.0.0.1',
      '--state-dir',
      options.stateDir,
      '--settle',
      '0.1',
      '--log-level',
      'info',
      ...(options.extra ?? []),
    ],
    options.netns ? { netns: options.netns } : {},
  );
}

/** `dist-get NAME -o OUT --json` from `bind`; extra args after the defaults. */
export function startGetProc(
  name: string,
  options: {
    tracker: string;
    output: string;
    seedTime?: number;
    peerTimeout?: number;
    bind?: string;
    netns?: string;
    cwd?: string;
    extra?: string[];
  },
): Proc {
  return startProc(
    'dist-get',
    BIN.get,
    [
      name,
      '--tracker',
      options.tracker,
      '-o',
      options.output,
      '--port',
      '0',
      '--bind',
      options.bind ?? '127.0.0.1',
      '--seed-time',
      String(options.seedTime ?? 0),
      '--peer-timeout',
      String(options.peerTimeout ?? 20),
      '--json',
      '--log-level',
      'warn',
      ...(options.extra ?? []),
    ],
    {
      ...(options.netns ? { netns: options.netns } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
    },
  );
}

/**
 * stderr lines that are not warnings: dist-get logs recoverable trouble (a tracker briefly
 * refusing an announce) at warn level; anything else on stderr means something failed.
 */
export function errorLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => {
      try {
        return ((JSON.parse(line) as { level?: number }).level ?? 50) >= 50;
      } catch {
        return true;
      }
    });
}

/** The `--json` summary line of a finished dist-get, if it printed one. */
export function summaryOf(proc: Proc): Record<string, unknown> | undefined {
  return proc.json().find((l) => l['type'] === 'summary');
}

/** Fetches the .torrent the tracker serves for `name` (bounded wait until it is published). */
export async function waitPublished(trackerUrl: string, name: string, timeoutMs = 30_000) {
  let body: Uint8Array | null = null;
  await waitFor(
    `${name} to be published on ${trackerUrl}`,
    async () => {
      const res = await fetch(`${trackerUrl}/serve?${encodeURIComponent(name)}`).catch(() => null);
      if (res?.status === 200) body = new Uint8Array(await res.arrayBuffer());
      return body !== null;
    },
    timeoutMs,
    100,
  );
  return body!;
}
