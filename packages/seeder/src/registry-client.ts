import { request } from 'node:http';

export interface PublishRequest {
  infoHash: string;
  root: string;
  path: string;
  mtimeMs: number;
  torrent: Uint8Array;
  ttlSec: number;
}

export interface RegistryClientOptions {
  url: string;
  token?: string;
  localAddress?: string;
  timeoutMs?: number;
}

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * The seeder's side of the tracker's publish API: PUT /torrents/:infoHash,
 * POST /torrents/renew, DELETE /torrents/:infoHash (leases; see docs/seeder.md).
 */
export class RegistryClient {
  private readonly url: string;

  constructor(private readonly options: RegistryClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
  }

  async publish(p: PublishRequest): Promise<void> {
    const body = {
      root: p.root,
      path: p.path,
      mtimeMs: p.mtimeMs,
      torrent: Buffer.from(p.torrent).toString('base64'),
      ttlSec: p.ttlSec,
    };
    const res = await this.send('PUT', `/torrents/${p.infoHash}`, body);
    if (res.status !== 200) throw this.failure('publish', p.path, res);
  }

  /** Renews leases; returns the info hashes the tracker no longer knows. */
  async renew(infoHashes: string[], ttlSec: number): Promise<string[]> {
    const res = await this.send('POST', '/torrents/renew', { infoHashes, ttlSec });
    if (res.status !== 200) throw this.failure('renew', `${infoHashes.length} leases`, res);
    const parsed = JSON.parse(res.body) as { missing?: unknown };
    return Array.isArray(parsed.missing) ? parsed.missing.map(String) : [];
  }

  /** Withdraws a lease; an unknown info hash (404) counts as withdrawn. */
  async withdraw(infoHash: string): Promise<void> {
    const res = await this.send('DELETE', `/torrents/${infoHash}`);
    if (res.status !== 204 && res.status !== 404) throw this.failure('withdraw', infoHash, res);
  }

  private failure(what: string, subject: string, res: { status: number; body: string }) {
    const hint =
      res.status === 401
        ? ' (wrong or missing --token / DIST_TOKEN)'
        : `: ${res.body.slice(0, 200)}`;
    return new RegistryError(`${what} ${subject} answered HTTP ${res.status}${hint}`, res.status);
  }

  private send(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: string }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = {};
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    if (this.options.token) headers['authorization'] = `Bearer ${this.options.token}`;
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.url}${path}`,
        {
          method,
          headers,
          timeout: this.options.timeoutMs ?? 10_000,
          ...(this.options.localAddress ? { localAddress: this.options.localAddress } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) =>
        reject(new RegistryError(`tracker ${this.url} unreachable: ${err.message}`)),
      );
      req.end(payload);
    });
  }
}
