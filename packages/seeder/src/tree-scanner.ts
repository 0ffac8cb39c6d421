import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { isIgnoredName, isIgnoredPath } from './ignore-rules.js';
import type { FileIdentity } from './hash-cache.js';

/** A watched directory, published under `name` (its base name). */
export interface Root {
  name: string;
  dir: string;
  /** realpath of dir, to decide whether a symlink stays inside. */
  realDir: string;
}

export type Inspection =
  | { kind: 'file'; identity: FileIdentity }
  | { kind: 'dir' }
  | { kind: 'skip'; reason: string }
  | { kind: 'gone' };

/** Root-relative path with '/' separators, the name the file is published under. */
export function relPath(root: Root, absPath: string): string {
  return relative(root.dir, absPath).split(sep).join('/');
}

function inside(realDir: string, target: string): boolean {
  return target === realDir || target.startsWith(realDir + sep);
}

/**
 * What a path is, for publishing. Symlinks are followed only when their target stays inside the
 * root (a link to /etc/shadow must not be served), and symlinked directories are not descended
 * into (loops, and the same file published twice).
 */
export async function inspect(root: Root, absPath: string): Promise<Inspection> {
  const rel = relPath(root, absPath);
  if (rel === '' || rel.startsWith('..')) return { kind: 'skip', reason: 'outside the root' };
  if (isIgnoredPath(rel)) return { kind: 'skip', reason: 'ignored name' };
  try {
    const l = await lstat(absPath);
    if (l.isDirectory()) return { kind: 'dir' };
    let st = l;
    if (l.isSymbolicLink()) {
      const target = await realpath(absPath);
      if (!inside(root.realDir, target)) return { kind: 'skip', reason: 'symlink leaves the root' };
      st = await stat(absPath);
      if (st.isDirectory()) return { kind: 'skip', reason: 'symlinked directory' };
    }
    if (!st.isFile()) return { kind: 'skip', reason: 'not a regular file' };
    return { kind: 'file', identity: { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino } };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'gone' };
    return { kind: 'skip', reason: (err as Error).message };
  }
}

/**
 * Every candidate file path under `dir` (absolute), skipping ignored names. Bounded by the tree
 * itself: symlinked directories are not followed, so there are no loops.
 */
export async function listFiles(dir: string, out: string[] = []): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (isIgnoredName(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await listFiles(path, out);
    else if (entry.isFile() || entry.isSymbolicLink()) out.push(path);
  }
  return out;
}
