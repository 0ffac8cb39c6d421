import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/**
 * Checks an `Authorization: Bearer TOKEN` header in constant time. Both sides are hashed first
 * so the comparison takes the same time whatever the lengths (timingSafeEqual needs equal sizes).
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const sent = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim() ?? '';
  const a = createHash('sha256').update(sent).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b) && sent.length > 0;
}

function queryToken(req: Request): string {
  const q = req.originalUrl.indexOf('?');
  if (q < 0) return '';
  return new URLSearchParams(req.originalUrl.slice(q + 1)).get('token') ?? '';
}

/**
 * Middleware for read-only views (the status page, its API, the /torrents list): open unless
 * `privateStatus` is set, then the publishing token is needed, as a Bearer header or as
 * `?token=` so that a browser can open the page.
 */
export function requireReadAccess(config: { privateStatus: boolean; token?: string | undefined }) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!config.privateStatus) return next();
    const token = queryToken(req);
    const header = token ? `Bearer ${token}` : req.headers.authorization;
    if (config.token && bearerMatches(header, config.token)) return next();
    res.setHeader('WWW-Authenticate', 'Bearer');
    res.status(401).json({
      error: 'this view is private: send Authorization: Bearer TOKEN or add ?token=TOKEN',
    });
  };
}
