import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { createHotPath, nodeHttpHotPath, takesTarget } from './announce/handler.js';
import { encodeFailure } from './announce/response.js';
import { createApp } from './app.js';
import { divertAccepts } from './front/handle-wire.js';
import { createRawFront } from './front/raw-front.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { ConfigError, resolveConfig } from './config.js';
import type { TrackerConfig, TrackerOptions } from './config.js';
import type { HandoutPolicy } from './handout/policy.js';
import { RandomHandoutPolicy } from './handout/random-policy.js';
import { TopologyHandoutPolicy } from './handout/topology-policy.js';
import { CidrMap } from './topology/cidr-map.js';
import { TrackerMetrics } from './metrics.js';
import { MemoryStore } from './store/memory-store.js';
// Type only: ioredis stays unloaded unless createStore imports the Redis store.
import type { RedisStore } from './store/redis-store.js';
import { announceRecorder } from './status/announce-recorder.js';
import { SwarmStatusBoard } from './status/swarm-status.js';
import type { TrackerStore } from './store/types.js';

/** The tracker could not listen (port taken, bad address, no permission). */
export class ListenError extends Error {}

export interface Tracker {
  /** Base URL local clients can use, e.g. http://127.0.0.1:6969. */
  url: string;
  port: number;
  config: TrackerConfig;
  store: TrackerStore;
  logger: Logger;
  /** Stops accepting, lets in-flight requests finish (up to drainTimeoutMs), then releases all. */
  close(): Promise<void>;
}

/**
 * Creates the store a config names. The Redis store (and ioredis) is loaded only when asked
 * for: a tracker on the memory store is some 10 MiB smaller without it.
 */
export async function createStore(config: TrackerConfig, clock: Clock): Promise<TrackerStore> {
  const peerTtlMs = 2 * config.interval * 1000;
  if (config.store === 'memory') return new MemoryStore({ clock, peerTtlMs });
  const { RedisStore } = await import('./store/redis-store.js');
  return new RedisStore({
    url: config.store,
    clock,
    peerTtlMs,
    commandTimeoutMs: config.storeTimeoutMs,
  });
}

/** The handout policy a config names. */
export function createHandoutPolicy(config: TrackerConfig): HandoutPolicy {
  return config.handout === 'topology'
    ? new TopologyHandoutPolicy({ farShare: config.handoutFarShare })
    : new RandomHandoutPolicy();
}

function loadTopology(path: string): CidrMap | undefined {
  if (!path) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read --topology ${path}: ${(err as Error).message}`);
  }
  try {
    return CidrMap.parse(text, path);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

function localUrl(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '') return `http://127.0.0.1:${port}`;
  if (host === '::') return `http://[::1]:${port}`;
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

/** Starts dist-tracker; resolves once it listens. */
export async function startTracker(options: TrackerOptions = {}): Promise<Tracker> {
  const {
    store: storeOption,
    clock = systemClock,
    handoutPolicy,
    bareHandles = true,
    ...rest
  } = options;
  const config = resolveConfig({
    ...rest,
    ...(typeof storeOption === 'string' ? { store: storeOption } : {}),
  });
  const logger = pino({ level: config.logLevel, base: { service: 'dist-tracker' } });
  const ownStore = typeof storeOption !== 'object';
  const topology = loadTopology(config.topology);
  const store = typeof storeOption === 'object' ? storeOption : await createStore(config, clock);
  // createStore made a Redis store unless asked for memory, which needs no wait. Start even
  // when Redis is away: announces fail fast and /healthz says so until it returns.
  if (ownStore && config.store !== 'memory') {
    await (store as RedisStore).ready(5000).catch((err: unknown) => {
      logger.warn({ err: (err as Error).message }, 'starting without Redis; will keep retrying');
    });
  }
  const metrics = new TrackerMetrics(store);
  const policy = handoutPolicy ?? createHandoutPolicy(config);
  const board = new SwarmStatusBoard({ clock, interval: config.interval });
  const app = createApp(config, store, metrics, logger, board);
  const hotPath = createHotPath({
    config,
    store,
    policy,
    metrics,
    logger,
    onAnnounce: announceRecorder(board),
    topology,
  });

  const hotPathOnHttp = nodeHttpHotPath(hotPath);
  const server = http.createServer((req, res) => {
    if (!hotPathOnHttp(req, res)) app(req, res);
  });
  const front = createRawFront({
    hotPath,
    takes: takesTarget,
    handOff: takeOverConnections(server),
  });
  server.on('connection', front.accept);
  // Slow or stuck clients must not hold sockets forever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) =>
    answerClientError(err, socket),
  );

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(
          new ListenError(
            `port ${config.port} on ${config.host} is already in use; stop the other process or pick another --port`,
          ),
        );
      } else if (err.code === 'EADDRNOTAVAIL') {
        reject(
          new ListenError(`cannot listen on ${config.host}: no such local address; check --host`),
        );
      } else if (err.code === 'EACCES') {
        reject(
          new ListenError(`not allowed to listen on port ${config.port}; pick a port above 1023`),
        );
      } else {
        reject(err);
      }
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(config.port, config.host);
  }).catch(async (err: unknown) => {
    if (ownStore) await store.close();
    throw err;
  });

  const port = (server.address() as AddressInfo).port;
  const handles = bareHandles && divertAccepts(server, front.acceptWire);
  // Both sweeps give the event loop back every few ms; one still running is not started again.
  let sweeping = false;
  const sweep = async () => {
    await store.sweep().catch((err: unknown) => logger.warn({ err }, 'store sweep failed'));
    await board.sweep().catch((err: unknown) => logger.warn({ err }, 'status sweep failed'));
  };
  const sweeper = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    void sweep().finally(() => (sweeping = false));
  }, config.interval * 1000);
  sweeper.unref();
  logger.info(
    {
      host: config.host,
      port,
      open: config.open,
      interval: config.interval,
      store: config.store.replace(/\/\/[^@/]*@/, '//***@'),
      handout: policy.name,
      connections: handles ? 'bare handles' : 'node sockets',
    },
    'dist-tracker listening',
  );

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(sweeper);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      front.closeIdle();
      const deadline = setTimeout(() => {
        server.closeAllConnections();
        front.destroyAll();
      }, config.drainTimeoutMs);
      // Connections on bare handles are the front's alone: the server does not count them.
      await Promise.all([closed, front.whenEmpty()]);
      clearTimeout(deadline);
      if (ownStore) await store.close();
      metrics.registry.clear();
      logger.info('dist-tracker stopped');
    })());

  return { url: localUrl(config.host, port), port, config, store, logger, close };
}

/**
 * Detaches node:http's own connection listener, so that the raw front sees every connection
 * first; returns it, for the connections the front hands over. node:http keeps doing everything
 * else (listening, timeouts, connection tracking for close()).
 */
function takeOverConnections(server: http.Server): (socket: Socket) => void {
  const listeners = server.listeners('connection');
  if (listeners.length !== 1) {
    throw new Error(`expected node:http's one connection listener, found ${listeners.length}`);
  }
  const listener = listeners[0] as (socket: Socket) => void;
  server.removeListener('connection', listener);
  return (socket) => listener.call(server, socket);
}

/**
 * Requests node's parser rejects (headers over 16 KiB, garbage) never reach a handler. An
 * announce or scrape still gets what BitTorrent clients understand, a bencoded failure reason;
 * anything else gets a plain 4xx.
 */
function answerClientError(
  err: NodeJS.ErrnoException & { rawPacket?: Buffer },
  socket: Socket,
): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const head = err.rawPacket?.subarray(0, 32).toString('latin1') ?? '';
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  if (/^[A-Z]+ \/(announce|scrape)[?\s]/.test(head)) {
    const body = encodeFailure(tooLarge ? 'request too large' : 'malformed HTTP request');
    socket.end(
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.toString('latin1')}`,
      'latin1',
    );
    return;
  }
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
}
