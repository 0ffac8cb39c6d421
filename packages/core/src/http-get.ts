import http from 'node:http';
import https from 'node:https';

export interface HttpGetOptions {
  /** Local address to send from (multi-homed hosts, tests on 127.0.0.x). */
  localAddress?: string;
  timeoutMs?: number;
  /** Responses larger than this are cut off with an error. */
  maxBytes?: number;
  headers?: Record<string, string>;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One GET with a hard deadline and a size cap; rejects on network errors. */
export function httpGet(url: string, options: HttpGetOptions = {}): Promise<HttpResponse> {
  const { timeoutMs = 10_000, maxBytes = 16 * 1024 * 1024 } = options;
  const target = new URL(url);
  const lib = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : null;
  if (!lib) return Promise.reject(new Error(`unsupported URL scheme ${target.protocol}`));
  return new Promise((resolve, reject) => {
    const req = lib.get(
      target,
      {
        headers: options.headers,
        timeout: timeoutMs,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            req.destroy(new Error(`response larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    // The socket timeout only covers idleness; the deadline covers a slow trickle too.
    const deadline = setTimeout(
      () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.on('close', () => clearTimeout(deadline));
  });
}
