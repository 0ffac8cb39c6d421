import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import { PeerListener, PieceHasher, TrackerClient, generatePeerId } from '@distributor/core';
import type { AnnounceResponse, TorrentMeta } from '@distributor/core';
import { Announcer } from './announcer.js';
import { systemClock } from './clock.js';
import type { Clock } from './clock.js';
import { resolveConfig } from './config.js';
import type { ClientConfig, ClientOptions } from './config.js';
import { DownloadEngine } from './download-engine.js';
import type { BanEvent, EngineStats } from './download-engine.js';
import { InterruptedError, NoPeersError } from './errors.js';
import { LocalPieces } from './local-pieces.js';
import { silentLogger } from './logger.js';
import type { Logger } from './logger.js';
import { UnsafeNameError, outputPathFor, partPathsFor } from './output-path.js';
import { PartFile } from './part-file.js';
import { checkPieces, scanFile } from './piece-check.js';
import { resolveTorrent } from './resolve.js';
import { ResumeRecorder, bitGet, loadResumeRecord } from './resume-record.js';

/** dist-get's peer ids: Azureus-style "-DG" + version, so swarms can tell us from dist-seed. */
export const CLIENT_PEER_ID_PREFIX = '-DG0100-';

export type DownloadOptions = ClientOptions & {
  logger?: Logger;
  clock?: Clock;
};

export type DownloadPhase = 'resolving' | 'checking' | 'downloading' | 'seeding' | 'done';

export interface DownloadProgress extends EngineStats {
  phase: DownloadPhase;
  name: string;
  /** Seconds to completion at the current rate, or null when unknown. */
  etaSec: number | null;
  elapsedSec: number;
}

export interface DownloadSummary {
  name: string;
  path: string;
  infoHash: string;
  length: number;
  /** True when PATH already held the complete, correct file. */
  alreadyComplete: boolean;
  /** Bytes that were already present and verified (resume or complete file). */
  reused: number;
  /** Seconds from start until the file was in place. */
  elapsedSec: number;
  /** Bytes received per second over that time. */
  averageRate: number;
  received: number;
  fromOrigin: number;
  fromPeers: number;
  wasted: number;
  uploaded: number;
  seededSec: number;
  banned: number;
  hashFailures: number;
  listenPort: number;
}

/**
 * A running download: a promise of its summary (await it directly) that also emits events:
 * 'resolved' ({meta, path}), 'progress' (DownloadProgress, once a second), 'complete'
 * (DownloadSummary, as soon as the file is in place, before seeding), 'ban' (BanEvent),
 * 'listening' (port).
 */
export class DownloadHandle extends EventEmitter implements PromiseLike<DownloadSummary> {
  readonly result: Promise<DownloadSummary>;
  private stopRequested: ((err: Error) => void) | null = null;
  private pendingStop: Error | null = null;

  constructor(run: (handle: DownloadHandle) => Promise<DownloadSummary>) {
    super();
    this.result = run(this);
    // Unobserved rejections must not crash a host program that only listens to events.
    this.result.catch(() => undefined);
  }

  /**
   * Stops the download: `.part` and the resume record are kept and the promise rejects with
   * InterruptedError. While seeding, the promise resolves with the summary instead.
   */
  stop(reason?: string): void {
    const err = new InterruptedError(reason);
    if (this.stopRequested) this.stopRequested(err);
    else this.pendingStop = err;
  }

  /** @internal */
  onStop(fn: (err: Error) => void): void {
    this.stopRequested = fn;
    if (this.pendingStop) fn(this.pendingStop);
  }

  then<A = DownloadSummary, B = never>(
    onfulfilled?: ((value: DownloadSummary) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.result.then(onfulfilled, onrejected);
  }
}

/** Downloads one file from the swarm. The CLI is a thin wrapper around this. */
export function download(options: DownloadOptions): DownloadHandle {
  return new DownloadHandle((handle) => run(handle, options));
}

async function run(handle: DownloadHandle, options: DownloadOptions): Promise<DownloadSummary> {
  const config = resolveConfig(options);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const startedAt = clock.now();
  let stopError: Error | null = null;
  let wake: (() => void) | null = null;
  handle.onStop((err) => {
    stopError = err;
    wake?.();
  });
  const checkStopped = () => {
    if (stopError) throw stopError;
  };

  const { meta, announceUrls } = await resolveTorrent(config);
  checkStopped();
  const path = outputPathFor(meta.name, config.output, config.cwd);
  handle.emit('resolved', { meta, path });
  logger.info({ name: meta.name, infoHash: meta.infoHash, path }, 'resolved torrent');

  // One hash worker verifies ~1.7 GB/s of pieces, more than the wire delivers here; each extra
  // worker costs ~10 MB of RSS on every machine of the fleet.
  const hasher = new PieceHasher({ workers: 1 });
  const cleanup: (() => Promise<void>)[] = [async () => hasher.close()];
  const runCleanup = async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  };
  try {
    const state = await prepareStorage(config, meta, path, hasher, logger);
    cleanup.push(() => state.file.close());
    // Runs after the engine closed (cleanup runs in reverse): pieces verified while it was
    // closing reach the record before the process exits.
    cleanup.push(async () => state.recorder?.flush());
    checkStopped();
    return await swarm(handle, {
      config,
      meta,
      announceUrls,
      path,
      hasher,
      clock,
      logger,
      startedAt,
      state,
      cleanup,
      stopped: () => stopError,
      setWake: (fn) => {
        wake = fn;
      },
    });
  } finally {
    await runCleanup();
  }
}

interface StorageState {
  file: PartFile;
  pieces: LocalPieces;
  recorder: ResumeRecorder | null;
  alreadyComplete: boolean;
  reused: number;
}

/**
 * Recognises a complete file at PATH (verified, not trusted) and resumes from PATH.part: with a
 * resume record, the recorded pieces are re-hashed; without one, the whole part file is scanned.
 */
async function prepareStorage(
  config: ClientConfig,
  meta: TorrentMeta,
  path: string,
  hasher: PieceHasher,
  logger: Logger,
): Promise<StorageState> {
  const existing = await stat(path).catch(() => null);
  if (existing?.isFile() && existing.size === meta.length) {
    const good = await scanFile(hasher, path, meta);
    if (good.length === meta.pieceCount) {
      logger.info({ path }, 'file is already complete and correct');
      const file = await PartFile.openComplete(path, meta.length);
      const pieces = new LocalPieces(meta, file);
      for (const i of good) pieces.add(i);
      return { file, pieces, recorder: null, alreadyComplete: true, reused: meta.length };
    }
    logger.warn({ path }, 'existing file differs from the torrent; it will be replaced');
  } else if (existing?.isDirectory()) {
    throw new UnsafeNameError(meta.name, `${path} is a directory`);
  }

  const paths = partPathsFor(path);
  const { file, existed } = await PartFile.open(paths.part, path, meta.length);
  const pieces = new LocalPieces(meta, file);
  if (existed) {
    const record = await loadResumeRecord(paths.resume, meta);
    let good: number[];
    if (record) {
      const recorded: number[] = [];
      for (let i = 0; i < meta.pieceCount; i++) if (bitGet(record, i)) recorded.push(i);
      good = await checkPieces(hasher, file, meta, recorded);
      logger.info({ recorded: recorded.length, verified: good.length }, 'resuming');
    } else {
      good = await scanFile(hasher, paths.part, meta);
      logger.info({ verified: good.length }, 'resuming from a part file without a record');
    }
    for (const i of good) pieces.add(i);
  }
  const recorder = new ResumeRecorder(paths.resume, meta, pieces.bits);
  // The first write also proves early that the directory is writable.
  await recorder.save();
  return { file, pieces, recorder, alreadyComplete: false, reused: pieces.haveBytes };
}

interface SwarmContext {
  config: ClientConfig;
  meta: TorrentMeta;
  announceUrls: string[];
  path: string;
  hasher: PieceHasher;
  clock: Clock;
  logger: Logger;
  startedAt: number;
  state: StorageState;
  cleanup: (() => Promise<void>)[];
  stopped: () => Error | null;
  setWake: (fn: () => void) => void;
}

async function swarm(handle: DownloadHandle, ctx: SwarmContext): Promise<DownloadSummary> {
  const { config, meta, clock, logger, state } = ctx;
  const peerId = generatePeerId(CLIENT_PEER_ID_PREFIX);

  let engine: DownloadEngine | null = null;
  const makeListener = (port: number) => {
    const listener = new PeerListener({
      ...(config.bind ? { host: config.bind } : {}),
      port,
      peerId,
      accepts: (infoHash) => infoHash === meta.infoHash,
      onPeer: ({ transport, peerId: remoteId }) => {
        if (engine) engine.acceptIncoming(transport, remoteId);
        else transport.destroy();
      },
      maxConnections: config.maxPeers * 2,
      // The engine copies every block into its piece buffer during the request's callback.
      directBlocks: true,
    });
    listener.on('error', (err: Error) => logger.warn({ err: err.message }, 'peer listener error'));
    return listener;
  };
  const { listener, port: listenPort } = await listenWithFallback(
    makeListener,
    config.port,
    logger,
  );
  ctx.cleanup.push(() => listener.close());
  handle.emit('listening', listenPort);

  engine = new DownloadEngine({
    meta,
    peerId,
    pieces: state.pieces,
    file: state.file,
    recorder: state.recorder,
    hasher: ctx.hasher,
    clock,
    logger,
    maxPeers: config.maxPeers,
    memoryBudgetBytes: config.memoryBudgetBytes,
    originPeerIdPrefix: config.originPeerIdPrefix,
    listenPort,
    ...(config.bind ? { bind: config.bind } : {}),
  });
  const eng = engine;
  ctx.cleanup.push(() => eng.close());
  eng.addSelf({ ip: config.bind ?? '127.0.0.1', port: listenPort });
  eng.on('ban', (event: BanEvent) => handle.emit('ban', event));

  const tracker = new TrackerClient({
    url: config.tracker,
    retries: 2,
    timeoutMs: 10_000,
    ...(config.bind ? { localAddress: config.bind } : {}),
  });
  let lastAnnounce: AnnounceResponse | null = null;
  let urlIndex = 0;
  const announcer = new Announcer({
    clock,
    send: async (params) => {
      // Fall back through the torrent's announce URLs; stick with the first that answers.
      let lastError: unknown;
      for (let k = 0; k < ctx.announceUrls.length; k++) {
        const url = ctx.announceUrls[(urlIndex + k) % ctx.announceUrls.length]!;
        try {
          const res = await tracker.announce(
            {
              ...params,
              infoHash: meta.infoHash,
              peerId,
              port: listenPort,
              extra: {
                ...params.extra,
                // Our own measured rate, for the tracker's status page (docs/protocol.md).
                rate: Math.round(eng.stats().downloadRate),
                ...(config.location ? { location: config.location } : {}),
              },
            },
            url,
          );
          urlIndex = (urlIndex + k) % ctx.announceUrls.length;
          lastAnnounce = res;
          return res;
        } catch (err) {
          lastError = err;
          if ((err as { code?: string }).code === 'ETRACKERFAILURE') throw err;
        }
      }
      throw lastError;
    },
    stats: () => {
      const s = eng.stats();
      return { uploaded: s.uploaded, downloaded: s.received, left: meta.length - s.haveBytes };
    },
    connectedPeers: () => eng.peerCount,
    onPeers: (peers) => eng.addPeers(peers),
    onError: (err, event) => logger.warn({ err: err.message, event }, 'announce failed'),
  });

  let fatal: Error | null = null;
  let wakeUp: () => void = () => undefined;
  const waitForEvent = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = clock.setTimeout(resolve, ms);
      wakeUp = () => {
        clock.clearTimeout(t);
        resolve();
      };
      ctx.setWake(wakeUp);
    });
  eng.on('fatal', (err: Error) => {
    fatal ??= err;
    wakeUp();
  });
  eng.on('complete', () => wakeUp());

  let completedAt: number | null = state.alreadyComplete ? clock.now() : null;
  let phase: DownloadPhase = state.alreadyComplete ? 'seeding' : 'downloading';
  const progress = (): DownloadProgress => {
    const s = eng.stats();
    const left = meta.length - s.haveBytes;
    return {
      ...s,
      phase,
      name: meta.name,
      etaSec: left === 0 ? 0 : s.downloadRate > 0 ? left / s.downloadRate : null,
      elapsedSec: (clock.now() - ctx.startedAt) / 1000,
    };
  };

  try {
    try {
      const res = await announcer.start();
      logger.info({ peers: res.peers.length, interval: res.interval }, 'announced');
    } catch (err) {
      // A seeder-only run can live without the tracker; a download cannot find peers.
      if (!state.alreadyComplete) throw err;
      logger.warn({ err: (err as Error).message }, 'announce failed');
    }
    ctx.cleanup.push(() => bounded(announcer.stop(), 3000));
    eng.start();

    // Download phase.
    while (!eng.isComplete) {
      await waitForEvent(1000);
      const stop = ctx.stopped();
      if (stop) throw stop;
      if (fatal) throw fatal;
      if (eng.isComplete) break;
      handle.emit('progress', progress());
      const idleMs = clock.now() - eng.lastProgressAt;
      if (idleMs >= config.peerTimeoutSec * 1000) {
        throw new NoPeersError(
          eng.peerCount === 0
            ? `no peers to download from within ${config.peerTimeoutSec} s ` +
                '(is a seeder running and publishing this file?)'
            : `no data from ${eng.peerCount} connected peers within ${config.peerTimeoutSec} s`,
        );
      }
    }

    if (!state.alreadyComplete) {
      await state.recorder?.flush().catch(() => undefined);
      await state.file.commit();
      await state.recorder?.remove();
      completedAt = clock.now();
      logger.info({ path: ctx.path }, 'download complete');
      void announcer.completed();
    }
    const doneAt = completedAt ?? clock.now();
    const summary = (): DownloadSummary => {
      const s = eng.stats();
      const elapsedSec = Math.max(0.001, (doneAt - ctx.startedAt) / 1000);
      return {
        name: meta.name,
        path: ctx.path,
        infoHash: meta.infoHash,
        length: meta.length,
        alreadyComplete: state.alreadyComplete,
        reused: state.reused,
        elapsedSec,
        averageRate: s.received / elapsedSec,
        received: s.received,
        fromOrigin: s.fromOrigin,
        fromPeers: s.fromPeers,
        wasted: s.wasted,
        uploaded: s.uploaded,
        seededSec: (clock.now() - doneAt) / 1000,
        banned: s.banned,
        hashFailures: s.hashFailures,
        listenPort,
      };
    };
    handle.emit('complete', summary());

    // Seeding phase: until --seed-time passes or nobody needs us any more.
    phase = 'seeding';
    const seedUntil = doneAt + config.seedTimeSec * 1000;
    let lastScrapeAt = 0;
    while (clock.now() < seedUntil) {
      await waitForEvent(Math.min(1000, seedUntil - clock.now()));
      if (ctx.stopped()) break;
      handle.emit('progress', progress());
      if (eng.leecherCount() > 0) continue;
      // Nobody connected needs us; ask the tracker whether anyone still downloads (a leecher
      // may be about to connect). Scrape, at most every 2 s: announce counts go stale.
      if (clock.now() - lastScrapeAt < 2000) continue;
      lastScrapeAt = clock.now();
      const url = ctx.announceUrls[urlIndex]!;
      const leechers = await swarmLeechers(url, meta.infoHash, config.bind).catch(
        () => (lastAnnounce as AnnounceResponse | null)?.incomplete ?? 0,
      );
      if (leechers === 0 && eng.leecherCount() === 0) {
        logger.info('no leechers left; stopping seeding');
        break;
      }
    }
    phase = 'done';
    return summary();
  } catch (err) {
    if (!eng.isComplete) await state.recorder?.flush().catch(() => undefined);
    throw err;
  }
}

async function listenWithFallback(
  make: (port: number) => PeerListener,
  port: number,
  logger: Logger,
): Promise<{ listener: PeerListener; port: number }> {
  const listener = make(port);
  try {
    return { listener, port: (await listener.listen()).port };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw err;
    // Another dist-get (or dist-seed) on this machine holds the port: any port will do, the
    // tracker learns the real one from our announce.
    logger.warn({ port }, 'port in use; listening on a free port instead');
    const fallback = make(0);
    return { listener: fallback, port: (await fallback.listen()).port };
  }
}

/** BEP 48 scrape next to the announce URL: how many peers still download. */
async function swarmLeechers(announceUrl: string, infoHash: string, bind?: string) {
  const match = /^(.*)\/announce([^/]*)$/.exec(announceUrl);
  if (!match || match[2] !== '') throw new Error('announce URL has no scrape convention');
  const client = new TrackerClient({
    url: match[1]!,
    retries: 0,
    timeoutMs: 3000,
    ...(bind ? { localAddress: bind } : {}),
  });
  const stats = await client.scrape([infoHash]);
  return stats.get(infoHash)?.incomplete ?? 0;
}

/** Resolves with `promise`, or after `ms` regardless (for best-effort goodbyes). */
function bounded(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
    promise
      .finally(() => {
        clearTimeout(t);
        resolve();
      })
      .catch(() => undefined);
  });
}
