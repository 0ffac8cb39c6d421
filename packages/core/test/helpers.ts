import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary directory removed by the returned cleanup function. */
export function tempDir(prefix = 'dist-core-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random content, so failures reproduce. */
export function patternBytes(length: number, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

export function writeFile(path: string, length: number, seed = 1): void {
  writeFileSync(path, patternBytes(length, seed));
}

/** Info hash that transmission-show reports for a .torrent file. */
export function transmissionShowHash(torrentPath: string): string {
  const out = execFileSync('transmission-show', [torrentPath], { encoding: 'utf8' });
  const match = /Hash( v1)?:\s*([0-9a-f]{40})/i.exec(out);
  if (!match) throw new Error(`transmission-show printed no hash:\n${out}`);
  return match[2]!.toLowerCase();
}
