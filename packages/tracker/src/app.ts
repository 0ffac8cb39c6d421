import type { NextFunction, Request, Response } from 'express';
import express from 'express';
import type { Logger } from 'pino';
import type { TrackerConfig } from './config.js';
import type { TrackerMetrics } from './metrics.js';
import { serveRouter } from './serve.js';
import type { TrackerStore } from './store/types.js';
import { torrentsRouter } from './torrents-api.js';
import { statusRouter } from './status/status-api.js';
import type { SwarmStatusBoard } from './status/swarm-status.js';

/** Everything except the announce/scrape hot path: registry, /serve, operations. */
export function createApp(
  config: TrackerConfig,
  store: TrackerStore,
  metrics: TrackerMetrics,
  logger: Logger,
  board?: SwarmStatusBoard,
): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', false);

  app.use((req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      metrics.observe('other', (performance.now() - started) / 1000);
      logger.debug(
        { method: req.method, url: req.originalUrl.slice(0, 200), status: res.statusCode },
        'request',
      );
    });
    next();
  });

  app.get('/healthz', async (_req, res) => {
    const health = await store.health();
    if (health.ok) res.json({ status: 'ok', store: health.store });
    else res.status(503).json({ status: 'unhealthy', store: health.store, error: health.error });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use(serveRouter(config, store));
  app.use(torrentsRouter(config, store));
  if (board) app.use(statusRouter(config, store, board));

  app.use((req, res) => {
    res
      .status(404)
      .type('text/plain; charset=utf-8')
      .send(`no such endpoint: ${req.method} ${req.path.slice(0, 200)}\n`);
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res
        .status(status)
        .type('text/plain; charset=utf-8')
        .send(`bad request: ${(err as Error).message}\n`);
      return;
    }
    logger.error({ err, url: req.originalUrl.slice(0, 200) }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(500).type('text/plain; charset=utf-8').send('internal tracker error\n');
  });

  return app;
}
