import type { Clock } from './clock.js';
import type { TrackerStore } from './store/types.js';
import type { HandoutPolicy } from './handout/policy.js';
import { parseRedisUrl } from './store/redis-url.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Everything dist-tracker can be told. The CLI and `startTracker` only fill this in. */
export interface TrackerConfig {
  /** Address to listen on. */
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /**
   * Base announce interval in seconds. 30 s suits datacenter swarms: see docs/protocol.md
   * ("Why 30 seconds"). Peers that stay silent for 2x this are forgotten.
   */
  interval: number;
  /** `min interval` sent to clients, in seconds. */
  minInterval: number;
  /** Up to this fraction of `interval` is added at random to each answer, to de-synchronise. */
  intervalJitter: number;
  /** Peers handed out when the client sends no `numwant`. */
  defaultNumwant: number;
  /** Largest `numwant` honoured; bigger requests are clamped to it. */
  maxNumwant: number;
  /** `memory`, or (issue 7) `redis://HOST:PORT`. */
  store: string;
  /** Shared secret for publishing; empty means publishing is open. */
  token: string;
  /** Serve any info hash, not only published ones. */
  open: boolean;
  /** Base URL written into served torrents instead of the request's Host header. */
  publicUrl: string;
  /** Honour a client-sent `ip=` and X-Forwarded-For (only behind a proxy you control). */
  trustProxy: boolean;
  logLevel: LogLevel;
  /** Most info hashes answered by one scrape. */
  maxScrapeHashes: number;
  /** Grace period for in-flight requests on SIGTERM, in milliseconds. */
  drainTimeoutMs: number;
  /** The status page and /api/swarms need the token too (they are open by default). */
  privateStatus: boolean;
  /** Peer handout policy (issue 7): `random`, or `topology` (same rack, then zone, then rest). */
  handout: HandoutName;
  /** Share of a topology handout taken from farther racks/zones, 0 to 0.9. */
  handoutFarShare: number;
  /** File of `CIDR zone/rack` lines locating peers that send no `location=`; '' for none. */
  topology: string;
  /** Longest wait for one Redis command before an announce is answered with a failure. */
  storeTimeoutMs: number;
}

export const HANDOUTS = ['random', 'topology'] as const;
export type HandoutName = (typeof HANDOUTS)[number];

export const DEFAULT_CONFIG: TrackerConfig = {
  host: '0.0.0.0',
  port: 6969,
  interval: 30,
  minInterval: 15,
  intervalJitter: 0.1,
  defaultNumwant: 50,
  maxNumwant: 200,
  store: 'memory',
  token: '',
  open: false,
  publicUrl: '',
  trustProxy: false,
  logLevel: 'info',
  maxScrapeHashes: 1000,
  drainTimeoutMs: 10_000,
  privateStatus: false,
  handout: 'random',
  handoutFarShare: 0.2,
  topology: '',
  storeTimeoutMs: 1000,
};

/** Options of `startTracker`: a partial config plus things only a program can pass. */
export interface TrackerOptions extends Partial<Omit<TrackerConfig, 'store'>> {
  /** `memory`, a store URL, or a ready store instance (shared between trackers in tests). */
  store?: string | TrackerStore;
  /** Time source; tests pass a ManualClock. */
  clock?: Clock;
  /** Peer handout policy; random by default. */
  handoutPolicy?: HandoutPolicy;
  /**
   * Take new connections as bare TCP handles where node allows it (front/handle-wire.ts);
   * false keeps every connection a net.Socket. Default true.
   */
  bareHandles?: boolean;
}

export class ConfigError extends Error {}

/** Applies defaults and validates; throws ConfigError with one line saying what to fix. */
export function resolveConfig(options: Partial<TrackerConfig> = {}): TrackerConfig {
  const defined = Object.fromEntries(
    Object.entries(options).filter(([, v]) => v !== undefined),
  ) as Partial<TrackerConfig>;
  const c: TrackerConfig = { ...DEFAULT_CONFIG, ...defined };
  // A min interval given without an interval should not exceed the default interval, and an
  // interval given alone should bring its own min interval along.
  if (options.interval !== undefined && options.minInterval === undefined) {
    c.minInterval = Math.max(1, Math.floor(c.interval / 2));
  }
  const int = (name: keyof TrackerConfig, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError(`--${kebab(name)} must be an integer from ${min} to ${max}, got ${v}`);
    }
  };
  if (typeof c.host !== 'string' || c.host.length === 0) {
    throw new ConfigError('--host must be an address to listen on, e.g. 0.0.0.0');
  }
  int('port', c.port, 0, 65535);
  int('interval', c.interval, 1, 86_400);
  int('minInterval', c.minInterval, 1, c.interval);
  if (!(c.intervalJitter >= 0 && c.intervalJitter <= 1)) {
    throw new ConfigError(`--interval-jitter must be between 0 and 1, got ${c.intervalJitter}`);
  }
  int('maxNumwant', c.maxNumwant, 1, 10_000);
  int('defaultNumwant', c.defaultNumwant, 0, c.maxNumwant);
  int('maxScrapeHashes', c.maxScrapeHashes, 1, 100_000);
  int('drainTimeoutMs', c.drainTimeoutMs, 0, 600_000);
  if (c.store !== 'memory') {
    if (!/^redis:\/\//.test(c.store)) {
      throw new ConfigError(`--store must be "memory" or redis://HOST:PORT[/DB], got ${c.store}`);
    }
    try {
      parseRedisUrl(c.store);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  }
  if (!HANDOUTS.includes(c.handout)) {
    throw new ConfigError(`--handout must be one of ${HANDOUTS.join(', ')}, got ${c.handout}`);
  }
  if (!(c.handoutFarShare >= 0 && c.handoutFarShare <= 0.9)) {
    throw new ConfigError(`--handout-far-share must be from 0 to 0.9, got ${c.handoutFarShare}`);
  }
  if (typeof c.topology !== 'string') throw new ConfigError('--topology must be a file path');
  int('storeTimeoutMs', c.storeTimeoutMs, 10, 60_000);
  if (c.publicUrl) {
    let url: URL;
    try {
      url = new URL(c.publicUrl);
    } catch {
      throw new ConfigError(`--public-url is not a URL: ${c.publicUrl}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError(`--public-url must be http:// or https://, got ${c.publicUrl}`);
    }
    c.publicUrl = c.publicUrl.replace(/\/+$/, '');
  }
  if (!LOG_LEVELS.includes(c.logLevel)) {
    throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${c.logLevel}`);
  }
  if (typeof c.token !== 'string') throw new ConfigError('--token must be a string');
  if (c.privateStatus && !c.token) {
    throw new ConfigError('--private-status needs a --token (or DIST_TOKEN) to check');
  }
  return c;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`);
}
