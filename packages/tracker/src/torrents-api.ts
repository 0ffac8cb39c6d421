import type { NextFunction, Request, Response, Router } from 'express';
import express from 'express';
import { parseMetainfo } from '@distributor/core';
import { unsafeNameReason } from '@distributor/core';
import { bearerMatches, requireReadAccess } from './auth.js';
import type { TrackerConfig } from './config.js';
import { unsafePathReason } from './names.js';
import type { TrackerStore } from './store/types.js';

export const DEFAULT_LEASE_TTL_SEC = 90;
const MAX_LEASE_TTL_SEC = 7 * 86_400;
const INFO_HASH = /^[0-9a-fA-F]{40}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

class BadRequest extends Error {}

function jsonError(res: Response, status: number, error: string): void {
  res.status(status).json({ error });
}

function ttlOf(value: unknown): number {
  if (value === undefined) return DEFAULT_LEASE_TTL_SEC;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_LEASE_TTL_SEC) {
    throw new BadRequest(`ttlSec must be an integer from 1 to ${MAX_LEASE_TTL_SEC}`);
  }
  return value as number;
}

function bodyObject(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequest('body must be a JSON object (Content-Type: application/json)');
  }
  return body as Record<string, unknown>;
}

/**
 * The seeder's publishing API (the tracker/seeder contract in docs/protocol.md): PUT publishes
 * or renews one file, POST /torrents/renew extends many leases in one request, DELETE
 * withdraws, GET lists.
 */
export function torrentsRouter(config: TrackerConfig, store: TrackerStore): Router {
  const router = express.Router();
  // A 1 TiB file at 16 MiB pieces has a 1.3 MB pieces string; base64 adds a third.
  const json = express.json({ limit: '8mb' });

  const requireToken = (req: Request, res: Response, next: NextFunction) => {
    if (!config.token || bearerMatches(req.headers.authorization, config.token)) return next();
    res.setHeader('WWW-Authenticate', 'Bearer');
    jsonError(res, 401, 'missing or wrong token: send Authorization: Bearer TOKEN (see --token)');
  };

  router.get('/torrents', requireReadAccess(config), async (_req, res) => {
    const entries = await store.entries();
    entries.sort((a, b) => (a.root + a.path).localeCompare(b.root + b.path));
    const stats = await store.scrape(entries.map((e) => e.infoHash));
    res.json(entries.map((e, i) => ({ ...e, ...stats[i]! })));
  });

  router.post('/torrents/renew', requireToken, json, async (req, res) => {
    const body = bodyObject(req);
    const hashes = body['infoHashes'];
    if (!Array.isArray(hashes) || hashes.length > 100_000) {
      throw new BadRequest('infoHashes must be an array of at most 100000 hex info hashes');
    }
    for (const h of hashes) {
      if (typeof h !== 'string' || !INFO_HASH.test(h)) {
        throw new BadRequest(`not a hex info hash: ${JSON.stringify(h).slice(0, 60)}`);
      }
    }
    const ttlSec = ttlOf(body['ttlSec']);
    res.json(await store.renew([...new Set(hashes.map((h: string) => h.toLowerCase()))], ttlSec));
  });

  router.put('/torrents/:infoHash', requireToken, json, async (req, res) => {
    const infoHash = String(req.params['infoHash']);
    if (!INFO_HASH.test(infoHash))
      throw new BadRequest('the URL must end in a 40-digit hex info hash');
    const body = bodyObject(req);
    const { root, path, mtimeMs, torrent } = body;
    if (typeof root !== 'string') throw new BadRequest('root must be a string');
    const rootWhy = unsafeNameReason(root);
    if (rootWhy) throw new BadRequest(`unsafe root: ${rootWhy}`);
    if (typeof path !== 'string') throw new BadRequest('path must be a string');
    const pathWhy = unsafePathReason(path);
    if (pathWhy) throw new BadRequest(`unsafe path: ${pathWhy}`);
    if (typeof mtimeMs !== 'number' || !Number.isFinite(mtimeMs) || mtimeMs < 0) {
      throw new BadRequest('mtimeMs must be a non-negative number');
    }
    if (typeof torrent !== 'string' || torrent.length === 0 || !BASE64.test(torrent)) {
      throw new BadRequest('torrent must be the .torrent file in base64');
    }
    const ttlSec = ttlOf(body['ttlSec']);
    const bytes = Buffer.from(torrent, 'base64');
    let meta;
    try {
      meta = await parseMetainfo(bytes);
    } catch (err) {
      throw new BadRequest((err as Error).message);
    }
    if (meta.infoHash !== infoHash.toLowerCase()) {
      throw new BadRequest(
        `info hash mismatch: the torrent is ${meta.infoHash}, the URL says ${infoHash}`,
      );
    }
    await store.publish(
      {
        infoHash: meta.infoHash,
        root,
        path,
        name: meta.name,
        length: meta.length,
        pieceLength: meta.pieceLength,
        mtimeMs,
        torrent: bytes,
      },
      ttlSec,
    );
    res.json({ infoHash: meta.infoHash, expiresInSec: ttlSec });
  });

  router.delete('/torrents/:infoHash', requireToken, async (req, res) => {
    const infoHash = String(req.params['infoHash']);
    if (!INFO_HASH.test(infoHash))
      throw new BadRequest('the URL must end in a 40-digit hex info hash');
    if (await store.withdraw(infoHash.toLowerCase())) res.status(204).end();
    else jsonError(res, 404, `${infoHash} is not published`);
  });

  // Turns validation failures and body-parser errors into the contract's JSON errors.
  router.use('/torrents', (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (err instanceof BadRequest) return jsonError(res, 400, err.message);
    const status = (err as { status?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return jsonError(res, status, (err as Error).message);
    }
    next(err);
  });

  return router;
}
