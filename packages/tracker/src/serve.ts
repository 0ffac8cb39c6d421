import type { Request, Response, Router } from 'express';
import express from 'express';
import { withAnnounce } from '@distributor/core';
import type { TrackerConfig } from './config.js';
import { fullName, newest, resolveName, unsafePathReason } from './names.js';
import type { TrackerStore, RegistryEntry } from './store/types.js';

const HOST_HEADER = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

function text(res: Response, status: number, line: string): void {
  res.status(status).type('text/plain; charset=utf-8').send(`${line}\n`);
}

/** The raw query string, percent-decoded: the original tool's `/serve?NAME` form. */
function rawQueryName(req: Request): string | null {
  const url = req.originalUrl;
  const q = url.indexOf('?');
  if (q < 0) return '';
  try {
    return decodeURIComponent(url.slice(q + 1));
  } catch {
    return null;
  }
}

/** Base URL peers should announce to: --public-url, else what the client itself used. */
function announceBase(config: TrackerConfig, req: Request): string {
  if (config.publicUrl) return config.publicUrl;
  const host = req.headers.host;
  if (host && HOST_HEADER.test(host)) return `http://${host}`;
  const local = req.socket.localAddress ?? '127.0.0.1';
  const addr = local.includes(':') ? `[${local}]` : local;
  return `http://${addr}:${req.socket.localPort ?? 80}`;
}

/** `/serve?NAME`, `/serve_last_updated[?ROOT]`. */
export function serveRouter(config: TrackerConfig, store: TrackerStore): Router {
  const router = express.Router();

  const sendTorrent = async (req: Request, res: Response, entry: RegistryEntry) => {
    const torrent = await store.torrent(entry.infoHash);
    if (!torrent) return text(res, 404, `${fullName(entry)} is no longer published`);
    const body = withAnnounce(torrent, `${announceBase(config, req)}/announce`);
    res
      .status(200)
      .type('application/x-bittorrent')
      .setHeader('X-Info-Hash', entry.infoHash)
      .send(Buffer.from(body));
  };

  router.get('/serve', async (req, res) => {
    const name = rawQueryName(req);
    if (name === null) return text(res, 400, 'bad percent-encoding in the name');
    if (name === '') return text(res, 400, 'usage: /serve?NAME (a published file name or path)');
    const why = unsafePathReason(name);
    if (why) return text(res, 400, `bad name: ${why}`);
    const found = resolveName(await store.entries(), name);
    if (found.kind === 'unknown') return text(res, 404, `${name} is not published`);
    if (found.kind === 'ambiguous') {
      return text(res, 409, `${name} is ambiguous; ask for one of: ${found.candidates.join(' ')}`);
    }
    await sendTorrent(req, res, found.entry);
  });

  router.get('/serve_last_updated', async (req, res) => {
    const root = rawQueryName(req);
    if (root === null) return text(res, 400, 'bad percent-encoding in the root');
    if (root !== '') {
      const why = unsafePathReason(root);
      if (why || root.includes('/'))
        return text(res, 400, `bad root name: ${why ?? 'has a slash'}`);
    }
    const entries = await store.entries();
    const latest = newest(root ? entries.filter((e) => e.root === root) : entries);
    if (!latest) {
      return text(res, 404, root ? `nothing is published under ${root}` : 'nothing is published');
    }
    await sendTorrent(req, res, latest);
  });

  return router;
}
