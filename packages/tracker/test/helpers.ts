import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTorrent, choosePieceLength, escapeBytes, pieceCount } from '@distributor/core';

export function tempDir(prefix = 'dist-tracker-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A 20-byte peer id made from a number, so tests can tell peers apart. */
export function peerId(n: number): Buffer {
  const id = Buffer.alloc(20, 0x2d);
  id.write('-TT0001-', 0, 'latin1');
  id.writeUInt32BE(n >>> 0, 16);
  return id;
}

/** A small, valid single-file torrent whose content is derived from `seed`. */
export function makeTorrent(
  name: string,
  seed = 1,
  length = 100_000,
): { torrent: Uint8Array; infoHash: string } {
  const pieceLength = choosePieceLength(length);
  const count = pieceCount(length, pieceLength);
  const pieces = Buffer.alloc(count * 20);
  for (let i = 0; i < count; i++) {
    createHash('sha1')
      .update(`${seed}:${i}`)
      .digest()
      .copy(pieces, i * 20);
  }
  return buildTorrent({ name, length, pieceLength, pieces });
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request with a raw path (no URL normalisation), from an optional local address. */
export function request(
  base: string,
  path: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    localAddress?: string;
    agent?: http.Agent;
  } = {},
): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        localAddress: options.localAddress,
        agent: options.agent ?? false,
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
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
    req.on('timeout', () => req.destroy(new Error(`timeout on ${path.slice(0, 80)}`)));
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

export interface AnnounceArgs {
  infoHash: string;
  peer: number;
  port: number;
  left?: number;
  event?: string;
  numwant?: number;
  compact?: 0 | 1;
  extra?: string;
}

export function announcePath(a: AnnounceArgs): string {
  const parts = [
    `info_hash=${escapeBytes(Buffer.from(a.infoHash, 'hex'))}`,
    `peer_id=${escapeBytes(peerId(a.peer))}`,
    `port=${a.port}`,
    'uploaded=0',
    'downloaded=0',
    `left=${a.left ?? 1000}`,
    `compact=${a.compact ?? 1}`,
  ];
  if (a.event) parts.push(`event=${a.event}`);
  if (a.numwant !== undefined) parts.push(`numwant=${a.numwant}`);
  if (a.extra) parts.push(a.extra);
  return `/announce?${parts.join('&')}`;
}

export function randomHash(n: number): string {
  return createHash('sha1').update(`hash-${n}`).digest('hex');
}

/** Publishes a torrent through the HTTP API. */
export async function publish(
  base: string,
  entry: { root: string; path: string; torrent: Uint8Array; infoHash: string; mtimeMs?: number },
  token?: string,
  ttlSec = 90,
): Promise<RawResponse> {
  return request(base, `/torrents/${entry.infoHash}`, {
    method: 'PUT',
    headers: {
      'Content-Type': 'application/json',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({
      root: entry.root,
      path: entry.path,
      mtimeMs: entry.mtimeMs ?? 1_730_000_000_000,
      torrent: Buffer.from(entry.torrent).toString('base64'),
      ttlSec,
    }),
  });
}

export interface TrackerProcess {
  url: string;
  port: number;
  proc: import('node:child_process').ChildProcess;
  stderr: () => string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null if killed). */
  stop: (graceMs?: number) => Promise<number | null>;
}

const BIN = new URL('../bin/dist-tracker.js', import.meta.url).pathname;

/** Runs the dist-tracker CLI on a free port and waits for its "listening" log line (so the
 * log level must be info or lower). */
export async function spawnTracker(
  args: string[],
  env: Record<string, string> = {},
): Promise<TrackerProcess> {
  const { spawn } = await import('node:child_process');
  const proc = spawn(process.execPath, [BIN, '--host', '127.0.0.1', '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => resolve(code)),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tracker did not start: ${err}`)), 15_000);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"port":(\d+).*"msg":"dist-tracker listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`tracker exited with ${code}: ${err}`));
    });
  });
  proc.stdout!.resume();
  const stop = async (graceMs = 10_000) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return { url: `http://127.0.0.1:${port}`, port, proc, stderr: () => err, stop };
}

/** A Prometheus gauge's value from /metrics text. */
export function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`metric ${name} not found`);
  return Number(m[1]);
}
