import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { TrackerConfig } from '../config.js';
import type { HandoutPolicy } from '../handout/policy.js';
import type { CidrMap } from '../topology/cidr-map.js';
import type { TrackerMetrics } from '../metrics.js';
import type { AnnounceOutcome, SwarmStats, TrackerStore } from '../store/types.js';
import type { AnnounceObserver } from '../status/announce-recorder.js';
import { compactAddress, ipBytes } from './address.js';
import { QueryFailure, parseAnnounceQuery, parseScrapeQuery } from './query.js';
import type { QueryLimits } from './query.js';
import {
  encodeCompactAnnounce,
  encodeDictAnnounce,
  encodeFailure,
  encodeScrape,
} from './response.js';

export interface HotPathContext {
  config: TrackerConfig;
  store: TrackerStore;
  policy: HandoutPolicy;
  metrics: TrackerMetrics;
  logger: Logger;
  /** Sees every answered announce (the status page's per-machine progress). */
  onAnnounce?: AnnounceObserver;
  /** Locates peers that send no `location=` (issue 7). */
  topology?: CidrMap | undefined;
}

/** What the announce and scrape handlers need of a request, whichever HTTP front parsed it. */
export interface HotRequest {
  /** The request target, e.g. `/announce?info_hash=...`. */
  url: string;
  /** The connection the request came on: a net.Socket, or the raw front's bare handle. */
  client: { readonly remoteAddress: string | undefined };
  /** The X-Forwarded-For header, read only under --trust-proxy. */
  forwardedFor: string | undefined;
  /** Lives as long as the connection: a keep-alive client's address is parsed once. */
  memo: ConnectionMemo;
}

export interface ConnectionMemo {
  /** The remote address's bytes; undefined until parsed, null if it has none. */
  ip?: Buffer | null | undefined;
}

/** Sends the one response a hot request gets; called exactly once. */
export type HotReply = (status: number, body: Buffer) => void;

/** Handles /announce and /scrape; returns false for any other target. */
export type HotPath = (request: HotRequest, reply: HotReply) => boolean;

const httpMemos = new WeakMap<Socket, ConnectionMemo>();

function send(res: ServerResponse, status: number, body: Buffer): void {
  // Flat header arrays skip node's header-object bookkeeping; trackers need no Date header.
  res.sendDate = false;
  res.writeHead(status, ['Content-Type', 'text/plain', 'Content-Length', String(body.length)]);
  res.end(body);
}

/** Serves the hot path from node:http, for connections the raw front hands over. */
export function nodeHttpHotPath(hotPath: HotPath) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const forwarded = req.headers['x-forwarded-for'];
    let memo = httpMemos.get(req.socket);
    if (!memo) httpMemos.set(req.socket, (memo = {}));
    return hotPath(
      {
        url: req.url ?? '',
        client: req.socket,
        forwardedFor: typeof forwarded === 'string' ? forwarded : undefined,
        memo,
      },
      // hotPath replies through its `once`, so nothing has been sent on `res` before this.
      (status, body) => send(res, status, body),
    );
  };
}

function queryOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
}

/**
 * The announce and scrape handlers run on node:http directly, ahead of express: express's
 * router and response helpers cost about 85 µs per request, several times the work of an
 * announce itself (see docs/benchmarks.md).
 */
export function createHotPath(ctx: HotPathContext) {
  const { config, store, policy, metrics, logger, onAnnounce, topology } = ctx;
  const withLocations = policy.wantsLocations === true;
  const limits: QueryLimits = {
    maxQueryLength: 4096,
    maxScrapeHashes: config.maxScrapeHashes,
  };
  const jitterSpan = Math.floor(config.interval * config.intervalJitter);

  const fail = (reply: HotReply, reason: string, kind: 'bad_request' | 'unpublished') => {
    metrics.failed(kind);
    reply(200, encodeFailure(reason));
  };

  function peerIp(req: HotRequest, claimed: string | undefined): Buffer | null | string {
    if (config.trustProxy) {
      if (claimed !== undefined) return ipBytes(claimed) ?? 'ip is not an IP address';
      const forwarded = req.forwardedFor;
      if (forwarded !== undefined) {
        const first = forwarded.split(',')[0]!.trim();
        const bytes = ipBytes(first);
        if (bytes) return bytes;
      }
    }
    let bytes = req.memo.ip;
    if (bytes === undefined) {
      const remote = req.client.remoteAddress;
      bytes = req.memo.ip = remote ? ipBytes(remote) : null;
    }
    return bytes;
  }

  /**
   * Synchronous whenever the store answers synchronously (the memory store does): deferring
   * the response by even one microtask halved node:http's announce throughput when measured
   * (docs/benchmarks.md), so the hot path awaits only a store that really is asynchronous.
   */
  function announce(req: HotRequest, reply: HotReply): Promise<void> | undefined {
    const started = performance.now();
    const query = parseAnnounceQuery(queryOf(req.url), limits);
    if (query instanceof QueryFailure) {
      fail(reply, query.reason, 'bad_request');
      return;
    }
    const ip = peerIp(req, query.ip);
    if (typeof ip === 'string' || !ip) {
      fail(reply, ip || 'cannot tell your address', 'bad_request');
      return;
    }

    const numwant = Math.min(query.numwant ?? config.defaultNumwant, config.maxNumwant);
    const address = compactAddress(ip, query.port);
    const location = query.location ?? topology?.lookup(ip);
    const asker = { address, seed: query.left === 0, numwant, location };
    const sampling =
      query.event === 'stopped' ? { count: 0, leechersOnly: false } : policy.sampleRequest(asker);

    const storeFailed = (err: unknown) => {
      logger.error({ err }, 'store failed during announce');
      metrics.failed('store_error');
      reply(503, encodeFailure('tracker store unavailable; retry later'));
    };
    const answer = (outcome: AnnounceOutcome) => {
      if (!outcome.published) {
        return fail(
          reply,
          `unregistered torrent: ${query.infoHashHex} is not published on this tracker`,
          'unpublished',
        );
      }
      const answered = {
        complete: outcome.complete,
        incomplete: outcome.incomplete,
        downloaded: outcome.downloaded,
        interval:
          config.interval + (jitterSpan > 0 ? Math.floor(Math.random() * (jitterSpan + 1)) : 0),
        minInterval: config.minInterval,
        peers: policy.select(outcome.peers, asker),
      };
      reply(
        200,
        query.compact
          ? encodeCompactAnnounce(answered)
          : encodeDictAnnounce(answered, query.noPeerId),
      );
      metrics.announced(query.event);
      metrics.observe('announce', (performance.now() - started) / 1000);
      if (onAnnounce) {
        try {
          onAnnounce(query, address, outcome, location);
        } catch (err) {
          logger.warn({ err }, 'status recording failed');
        }
      }
    };

    let outcome: AnnounceOutcome | Promise<AnnounceOutcome>;
    try {
      outcome = store.announce({
        infoHash: query.infoHashHex,
        peerId: query.peerId,
        peerKey: query.peerKey,
        address,
        seed: asker.seed,
        event: query.event,
        want: sampling.count,
        leechersOnly: sampling.leechersOnly,
        requirePublished: !config.open,
        location,
        withLocations,
      });
    } catch (err) {
      storeFailed(err);
      return;
    }
    if (outcome instanceof Promise) {
      return outcome.then(answer, storeFailed);
    }
    answer(outcome);
  }

  async function scrape(req: HotRequest, reply: HotReply): Promise<void> {
    const started = performance.now();
    const hashes = parseScrapeQuery(queryOf(req.url), limits);
    if (hashes instanceof QueryFailure) return fail(reply, hashes.reason, 'bad_request');
    let stats: Map<string, SwarmStats>;
    try {
      if (hashes.length === 0) {
        stats = await store.allSwarms(config.maxScrapeHashes);
        if (!config.open) {
          for (const hash of [...stats.keys()]) {
            if (!(await store.entry(hash))) stats.delete(hash);
          }
        }
      } else {
        const found = await store.scrape(hashes);
        stats = new Map();
        for (let i = 0; i < hashes.length; i++) {
          // A closed tracker does not confirm or deny swarms it does not serve.
          if (!config.open && !(await store.entry(hashes[i]!))) continue;
          stats.set(hashes[i]!, found[i]!);
        }
      }
    } catch (err) {
      logger.error({ err }, 'store failed during scrape');
      metrics.failed('store_error');
      return reply(503, encodeFailure('tracker store unavailable; retry later'));
    }
    reply(200, encodeScrape(stats));
    metrics.scrapes.inc();
    metrics.observe('scrape', (performance.now() - started) / 1000);
  }

  /** Routes /announce and /scrape; returns false for anything else. */
  const hotPath: HotPath = (req, reply) => {
    const isAnnounce = isHotTarget(req.url, '/announce');
    if (!isAnnounce && !isHotTarget(req.url, '/scrape')) return false;
    // A handler that throws after it replied must not reply twice.
    let replied = false;
    const once: HotReply = (status, body) => {
      if (replied) return;
      replied = true;
      reply(status, body);
    };
    const internalError = (err: unknown) => {
      logger.error({ err }, 'announce/scrape handler failed');
      once(500, encodeFailure('internal tracker error'));
    };
    if (isAnnounce) {
      try {
        announce(req, once)?.catch(internalError);
      } catch (err) {
        internalError(err);
      }
    } else {
      scrape(req, once).catch(internalError);
    }
    return true;
  };
  return hotPath;
}

/** The request targets the hot path answers: `/announce` and `/scrape`, with or without a query. */
export function takesTarget(url: string): boolean {
  return isHotTarget(url, '/announce') || isHotTarget(url, '/scrape');
}

/** True for `/announce` and `/announce?...` (likewise `/scrape`), nothing else. */
function isHotTarget(url: string, path: '/announce' | '/scrape'): boolean {
  return (
    url.startsWith(path) && (url.length === path.length || url.charCodeAt(path.length) === 0x3f)
  );
}
