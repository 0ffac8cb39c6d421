import { isIP } from 'node:net';
import { isValidPort } from '@distributor/core';

/** Where the torrent comes from: a published name, the newest file, or a given .torrent. */
export type TorrentSource =
  | { kind: 'name'; name: string }
  | { kind: 'latest'; root?: string }
  | { kind: 'torrent'; location: string };

/** Everything a download needs, with defaults applied and validated (see `resolveConfig`). */
export interface ClientConfig {
  source: TorrentSource;
  /** Base URL of the dist-tracker that serves torrents (`/serve?NAME`). */
  tracker: string;
  /** Output file; default: the torrent's name in `cwd`. An existing directory gets the name. */
  output?: string;
  cwd: string;
  /** Seconds to keep seeding after completion while leechers remain; 0 exits at once. */
  seedTimeSec: number;
  /** Port to accept incoming peer connections on; 0 picks a free one. */
  port: number;
  /** Local address to listen on and to send tracker requests and peer connections from. */
  bind?: string;
  /** `zone/rack` sent to the tracker (`location=`) for rack-aware peer handout (issue 7). */
  location?: string;
  maxPeers: number;
  /** Give up with "no peers" when nothing has been received for this long. */
  peerTimeoutSec: number;
  /** A peer whose id starts with this counts as the origin in the final byte accounting. */
  originPeerIdPrefix: string;
  /** Upper bound on piece buffers in flight (being filled, hashed or written). */
  memoryBudgetBytes: number;
  quiet: boolean;
  json: boolean;
  logLevel: 'silent' | 'error' | 'warn' | 'info' | 'debug';
}

export const DEFAULT_TRACKER = 'http://localhost:6969';

/** The tracker's location format: `zone/rack`, each part 1-64 of A-Z a-z 0-9 . _ -. */
const LOCATION = /^[A-Za-z0-9._-]{1,64}\/[A-Za-z0-9._-]{1,64}$/;

export const CLIENT_DEFAULTS = {
  seedTimeSec: 60,
  port: 6881,
  maxPeers: 50,
  peerTimeoutSec: 60,
  // dist-seed's peer ids start with "-DS" (core's PEER_ID_PREFIX); dist-get uses "-DG".
  originPeerIdPrefix: '-DS',
  memoryBudgetBytes: 8 * 1024 * 1024,
  quiet: false,
  json: false,
  logLevel: 'warn',
} as const;

export type ClientOptions = Partial<Omit<ClientConfig, 'source'>> & {
  source?: TorrentSource;
  /** Shorthands for `source`; exactly one of name, latest, torrent, source. */
  name?: string;
  latest?: string | true;
  torrent?: string;
};

/** A configuration problem: the CLI maps it to the usage exit code. */
export class ConfigError extends Error {
  readonly code = 'ECONFIG';
}

/** Applies defaults (environment: DIST_TRACKER, DIST_LOCATION) and validates; throws ConfigError. */
export function resolveConfig(
  options: ClientOptions,
  env: NodeJS.ProcessEnv = process.env,
): ClientConfig {
  const source = resolveSource(options);
  const tracker = (options.tracker ?? env['DIST_TRACKER'] ?? DEFAULT_TRACKER).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(tracker);
  } catch {
    throw new ConfigError(`--tracker ${JSON.stringify(tracker)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`--tracker must be an http(s) URL, got ${tracker}`);
  }
  const config: ClientConfig = {
    source,
    tracker,
    cwd: options.cwd ?? process.cwd(),
    seedTimeSec: options.seedTimeSec ?? CLIENT_DEFAULTS.seedTimeSec,
    port: options.port ?? CLIENT_DEFAULTS.port,
    maxPeers: options.maxPeers ?? CLIENT_DEFAULTS.maxPeers,
    peerTimeoutSec: options.peerTimeoutSec ?? CLIENT_DEFAULTS.peerTimeoutSec,
    originPeerIdPrefix: options.originPeerIdPrefix ?? CLIENT_DEFAULTS.originPeerIdPrefix,
    memoryBudgetBytes: options.memoryBudgetBytes ?? CLIENT_DEFAULTS.memoryBudgetBytes,
    quiet: options.quiet ?? CLIENT_DEFAULTS.quiet,
    json: options.json ?? CLIENT_DEFAULTS.json,
    logLevel: options.logLevel ?? CLIENT_DEFAULTS.logLevel,
  };
  if (options.output !== undefined) {
    if (options.output === '') throw new ConfigError('-o needs a path');
    config.output = options.output;
  }
  const location = options.location ?? env['DIST_LOCATION'];
  if (location !== undefined && location !== '') {
    if (!LOCATION.test(location)) {
      throw new ConfigError(
        `--location must be ZONE/RACK (letters, digits, . _ -), got ${JSON.stringify(location)}`,
      );
    }
    config.location = location;
  }
  if (options.bind !== undefined) {
    if (isIP(options.bind) === 0) {
      throw new ConfigError(`--bind ${options.bind} is not an IP address`);
    }
    config.bind = options.bind;
  }
  if (!Number.isFinite(config.seedTimeSec) || config.seedTimeSec < 0) {
    throw new ConfigError(`--seed-time must be ≥ 0 seconds, got ${config.seedTimeSec}`);
  }
  if (config.port !== 0 && !isValidPort(config.port)) {
    throw new ConfigError(`--port must be 0..65535, got ${config.port}`);
  }
  if (!Number.isInteger(config.maxPeers) || config.maxPeers < 1 || config.maxPeers > 1000) {
    throw new ConfigError(`--max-peers must be 1..1000, got ${config.maxPeers}`);
  }
  if (!Number.isFinite(config.peerTimeoutSec) || config.peerTimeoutSec <= 0) {
    throw new ConfigError(`--peer-timeout must be > 0 seconds, got ${config.peerTimeoutSec}`);
  }
  if (config.memoryBudgetBytes < 1024 * 1024) {
    throw new ConfigError('memory budget must be at least 1 MiB');
  }
  return config;
}

function resolveSource(options: ClientOptions): TorrentSource {
  const given: TorrentSource[] = [];
  if (options.source) given.push(options.source);
  if (options.name !== undefined) given.push({ kind: 'name', name: options.name });
  if (options.latest !== undefined) {
    given.push(
      options.latest === true || options.latest === ''
        ? { kind: 'latest' }
        : { kind: 'latest', root: options.latest },
    );
  }
  if (options.torrent !== undefined) given.push({ kind: 'torrent', location: options.torrent });
  if (given.length === 0)
    throw new ConfigError('say what to download: NAME, --latest or --torrent');
  if (given.length > 1) throw new ConfigError('give only one of NAME, --latest and --torrent');
  const source = given[0]!;
  if (source.kind === 'name' && source.name.trim() === '') throw new ConfigError('NAME is empty');
  if (source.kind === 'torrent' && source.location === '') {
    throw new ConfigError('--torrent needs a file or URL');
  }
  return source;
}
