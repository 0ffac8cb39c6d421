import { unsafeNameReason } from '@distributor/core';
import type { RegistryEntry } from './store/types.js';

const MAX_PATH_LENGTH = 4096;

/** Why `path` is not a safe relative path (`sub/file.iso`), or null when it is. */
export function unsafePathReason(path: string): string | null {
  if (path.length === 0) return 'path is empty';
  if (path.length > MAX_PATH_LENGTH) return `path is longer than ${MAX_PATH_LENGTH} characters`;
  if (path.startsWith('/')) return 'path is absolute';
  for (const segment of path.split('/')) {
    if (segment === '') return 'path has an empty component';
    const why = unsafeNameReason(segment);
    if (why) return `path component ${JSON.stringify(segment)}: ${why}`;
  }
  return null;
}

/** The name a file is published under everywhere: `ROOT/path`. */
export function fullName(entry: Pick<RegistryEntry, 'root' | 'path'>): string {
  return `${entry.root}/${entry.path}`;
}

export type Resolution =
  | { kind: 'found'; entry: RegistryEntry }
  | { kind: 'ambiguous'; candidates: string[] }
  | { kind: 'unknown' };

/**
 * Finds the file a `/serve?NAME` request means. NAME is tried as a path relative to a root
 * (`sub/file.iso`), then as `ROOT/path`, then, when it has no slash, as a bare file name. When
 * the matches are different files, the request is ambiguous; when they are versions of the
 * same file (a new hash published before the old one was withdrawn), the newest wins.
 */
export function resolveName(entries: readonly RegistryEntry[], name: string): Resolution {
  let matches = entries.filter((e) => e.path === name);
  if (matches.length === 0) matches = entries.filter((e) => fullName(e) === name);
  if (matches.length === 0 && !name.includes('/')) {
    matches = entries.filter((e) => e.path === name || e.path.endsWith(`/${name}`));
  }
  if (matches.length === 0) return { kind: 'unknown' };
  const names = [...new Set(matches.map(fullName))].sort();
  if (names.length > 1) return { kind: 'ambiguous', candidates: names };
  return { kind: 'found', entry: newest(matches)! };
}

/** The most recently modified entry (then the most recently published). */
export function newest(entries: readonly RegistryEntry[]): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  for (const e of entries) {
    if (
      !best ||
      e.mtimeMs > best.mtimeMs ||
      (e.mtimeMs === best.mtimeMs && e.publishedAt > best.publishedAt)
    ) {
      best = e;
    }
  }
  return best;
}
