import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Router } from 'express';
import express from 'express';
import { requireReadAccess } from '../auth.js';
import type { TrackerConfig } from '../config.js';
import type { RegistryEntry, SwarmTotals, TrackerStore } from '../store/types.js';
import type { HistoryPoint } from './completion-history.js';
import type { PeerStatus, SwarmStatusBoard } from './swarm-status.js';

/** One published file and how its rollout is going: the rows of `GET /api/swarms`. */
export interface SwarmSummary extends RegistryEntry {
  seeds: number;
  leechers: number;
  /** `completed` events seen (BEP 48 `downloaded`). */
  completed: number;
  /** Sum of the leechers' download rates, bytes/s. */
  downloadRate: number;
  /** Machines this tracker process has progress for. */
  trackedPeers: number;
  stuckCount: number;
  /** Up to 20 stuck machines. */
  stuck: PeerStatus[];
  history: HistoryPoint[];
}

export interface SwarmsResponse {
  generatedAt: number;
  interval: number;
  stuckAfterSec: number;
  /** Sums over the listed files. */
  totals: {
    files: number;
    seeds: number;
    leechers: number;
    completed: number;
    downloadRate: number;
    stuck: number;
  };
  /** The store's own totals, the numbers /metrics reports (they include unpublished swarms). */
  tracker: SwarmTotals & { files: number };
  swarms: SwarmSummary[];
}

export interface SwarmDetailResponse extends SwarmSummary {
  generatedAt: number;
  /** Live machines, most recently announced first (at most 1000). */
  peers: PeerStatus[];
}

const INFO_HASH = /^[0-9a-fA-F]{40}$/;
const MAX_STUCK_LISTED = 20;

/** Where the page's files are: packages/tracker/static, from both src/ and dist/status/. */
export const STATIC_DIR = fileURLToPath(new URL('../../static/', import.meta.url));

// The page builds its DOM with textContent only; the policy makes sure nothing else runs.
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async function summarise(
  entries: RegistryEntry[],
  store: TrackerStore,
  board: SwarmStatusBoard,
): Promise<SwarmSummary[]> {
  const stats = await store.scrape(entries.map((e) => e.infoHash));
  return entries.map((entry, i) => {
    const s = stats[i]!;
    const activity = board.activity(entry.infoHash, MAX_STUCK_LISTED);
    return {
      ...entry,
      seeds: s.complete,
      leechers: s.incomplete,
      completed: s.downloaded,
      downloadRate: activity.downloadRate,
      trackedPeers: activity.trackedPeers,
      stuckCount: activity.stuckCount,
      stuck: activity.stuck,
      history: activity.history,
    };
  });
}

/**
 * The live status page (`GET /`, `/static/*`) and the JSON it polls (`GET /api/swarms`,
 * `GET /api/swarms/:infoHash`). Read-only; open unless `privateStatus` is set, then the
 * publishing token is needed (as a Bearer header, or `?token=` so a browser can open it).
 */
export function statusRouter(
  config: TrackerConfig,
  store: TrackerStore,
  board: SwarmStatusBoard,
): Router {
  const router = express.Router();

  const requireToken = requireReadAccess(config);

  router.get('/', requireToken, (_req, res) => {
    const page = `${STATIC_DIR}index.html`;
    if (!existsSync(page)) {
      res.status(500).type('text/plain; charset=utf-8').send(`status page missing: ${page}\n`);
      return;
    }
    res.setHeader('Content-Security-Policy', PAGE_CSP);
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(page);
  });

  // The script and stylesheet hold no data, so they are served without a token.
  router.use(
    '/static',
    express.static(STATIC_DIR, { index: false, fallthrough: true, maxAge: 0, dotfiles: 'deny' }),
  );

  router.get('/api/swarms', requireToken, async (_req, res) => {
    const entries = await store.entries();
    entries.sort((a, b) => (a.root + '/' + a.path).localeCompare(b.root + '/' + b.path));
    const [swarms, tracker] = await Promise.all([summarise(entries, store, board), store.totals()]);
    const sum = (pick: (s: SwarmSummary) => number) => swarms.reduce((n, s) => n + pick(s), 0);
    const body: SwarmsResponse = {
      generatedAt: board.now(),
      interval: config.interval,
      stuckAfterSec: board.stuckAfterMs / 1000,
      totals: {
        files: swarms.length,
        seeds: sum((s) => s.seeds),
        leechers: sum((s) => s.leechers),
        completed: sum((s) => s.completed),
        downloadRate: sum((s) => s.downloadRate),
        stuck: sum((s) => s.stuckCount),
      },
      tracker: { ...tracker, files: entries.length },
      swarms,
    };
    res.setHeader('Cache-Control', 'no-store');
    res.json(body);
  });

  router.get('/api/swarms/:infoHash', requireToken, async (req, res) => {
    const infoHash = String(req.params['infoHash']);
    if (!INFO_HASH.test(infoHash)) {
      res.status(400).json({ error: 'the URL must end in a 40-digit hex info hash' });
      return;
    }
    const entry = await store.entry(infoHash.toLowerCase());
    if (!entry) {
      res.status(404).json({ error: `${infoHash} is not published` });
      return;
    }
    const [summary] = await summarise([entry], store, board);
    const body: SwarmDetailResponse = {
      ...summary!,
      generatedAt: board.now(),
      peers: board.peers(entry.infoHash),
    };
    res.setHeader('Cache-Control', 'no-store');
    res.json(body);
  });

  return router;
}
