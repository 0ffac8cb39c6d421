import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { isValidPieceLength } from '@distributor/core';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface SeederConfig {
  /** Watched roots; each is published under its base name (ROOT in /serve_last_updated?ROOT). */
  dirs: string[];
  /** Base URL of the tracker to publish to and announce at. */
  tracker: string;
  /** Peer wire port; 0 picks a free one. */
  port: number;
  /** Local address to listen on and to send tracker requests from; '' means all / default. */
  bind: string;
  /** Hash cache location; never inside a watched root. */
  stateDir: string;
  /** Shared publish token of the tracker ('' = none). */
  token: string;
  /** Run dist-tracker in this process, listening where `tracker` points. */
  withTracker: boolean;
  /** Fixed piece length in bytes; 0 lets core's policy choose per file size. */
  pieceLength: number;
  /** A file is published once its size and mtime have not changed for this long. */
  settleMs: number;
  /** Full rescan of every root, to catch what the file watcher missed. */
  scanIntervalMs: number;
  /** Lease renewal period (POST /torrents/renew). */
  renewIntervalMs: number;
  /** Lease TTL asked of the tracker. */
  leaseTtlSec: number;
  /** Upload slots shared by all torrents. */
  uploadSlots: number;
  /**
   * Super-seeding: while the swarm lacks some piece, give every piece to one peer before any
   * piece to a second (see super-seed-policy.ts).
   */
  superSeed: boolean;
  /** Peer connections at once. */
  maxConnections: number;
  /** Files kept open for serving. */
  maxOpenFiles: number;
  /** Drop peers silent this long. */
  idleTimeoutMs: number;
  logLevel: LogLevel;
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_STATE_HOME'] || join(homedir(), '.local', 'state');
  return join(base, 'distributor');
}

export const DEFAULT_CONFIG: Omit<SeederConfig, 'dirs' | 'stateDir'> = {
  tracker: 'http://localhost:6969',
  port: 6881,
  bind: '',
  token: '',
  withTracker: false,
  pieceLength: 0,
  settleMs: 2000,
  scanIntervalMs: 60_000,
  renewIntervalMs: 30_000,
  leaseTtlSec: 90,
  uploadSlots: 32,
  superSeed: true,
  maxConnections: 500,
  maxOpenFiles: 128,
  idleTimeoutMs: 120_000,
  logLevel: 'info',
};

export class ConfigError extends Error {
  readonly code = 'ECONFIG';
}

const positive = (n: number) => Number.isFinite(n) && n > 0;

/** Applies defaults and validates; throws ConfigError with one line saying what to fix. */
export function resolveConfig(options: Partial<SeederConfig> & { dirs: string[] }): SeederConfig {
  const defined = Object.fromEntries(
    Object.entries(options).filter(([, v]) => v !== undefined),
  ) as Partial<SeederConfig>;
  const c: SeederConfig = {
    ...DEFAULT_CONFIG,
    stateDir: defaultStateDir(),
    ...defined,
    dirs: options.dirs.map((d) => resolve(d)),
  };
  c.stateDir = resolve(c.stateDir);
  c.tracker = c.tracker.replace(/\/+$/, '');
  if (c.dirs.length === 0) throw new ConfigError('no directory to seed: pass at least one DIR');
  const names = new Map<string, string>();
  for (const dir of c.dirs) {
    const name = basename(dir);
    if (!name) throw new ConfigError(`cannot seed ${dir}: a root needs a base name`);
    const clash = names.get(name);
    if (clash) {
      throw new ConfigError(`roots ${clash} and ${dir} share the name ${name}: rename one`);
    }
    names.set(name, dir);
    if (c.stateDir === dir || c.stateDir.startsWith(dir + '/')) {
      throw new ConfigError(`--state-dir ${c.stateDir} is inside seeded ${dir}: move it out`);
    }
  }
  let url: URL;
  try {
    url = new URL(c.tracker);
  } catch {
    throw new ConfigError(`--tracker ${c.tracker} is not a URL (e.g. http://tracker:6969)`);
  }
  if (url.protocol !== 'http:') {
    throw new ConfigError(`--tracker ${c.tracker}: only http:// trackers are supported`);
  }
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535) {
    throw new ConfigError(`--port ${c.port} is not a TCP port (0-65535)`);
  }
  if (c.pieceLength !== 0 && !isValidPieceLength(c.pieceLength)) {
    throw new ConfigError(
      `--piece-length ${c.pieceLength}: must be a power of two between 16 KiB and 16 MiB`,
    );
  }
  for (const key of [
    'settleMs',
    'scanIntervalMs',
    'renewIntervalMs',
    'leaseTtlSec',
    'uploadSlots',
    'maxConnections',
    'maxOpenFiles',
    'idleTimeoutMs',
  ] as const) {
    if (!positive(c[key])) throw new ConfigError(`${key} must be a positive number, got ${c[key]}`);
  }
  if (c.renewIntervalMs >= c.leaseTtlSec * 1000) {
    throw new ConfigError('renew interval must be shorter than the lease TTL');
  }
  if (!LOG_LEVELS.includes(c.logLevel)) {
    throw new ConfigError(`log level ${c.logLevel} is not one of ${LOG_LEVELS.join(', ')}`);
  }
  return c;
}
