import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DistError, unsafeNameReason } from '@distributor/core';

/** The torrent's name cannot be used as a file name (it would escape the output directory). */
export class UnsafeNameError extends DistError {
  constructor(name: string, reason: string) {
    super('EUNSAFENAME', `refusing torrent name ${JSON.stringify(name)}: ${reason}`);
  }
}

/**
 * Where the download goes. Without -o: the torrent's name in `cwd`. With -o naming an existing
 * directory: the torrent's name inside it. Otherwise -o is the file path itself (the user chose
 * it, so it may be anywhere). The torrent name is checked in every case: it comes from the
 * network and must be exactly one safe path component.
 */
export function outputPathFor(torrentName: string, output: string | undefined, cwd: string) {
  const reason = unsafeNameReason(torrentName) ?? controlCharReason(torrentName);
  if (reason) throw new UnsafeNameError(torrentName, reason);
  if (output === undefined) return join(resolve(cwd), torrentName);
  const target = resolve(cwd, output);
  if (output.endsWith('/') || isDirectory(target)) return join(target, torrentName);
  return target;
}

/** Companion files of a download. */
export function partPathsFor(path: string) {
  return { part: `${path}.part`, resume: `${path}.part.resume` };
}

function controlCharReason(name: string): string | null {
  // A newline or escape sequence in a file name garbles logs and terminals on every machine.
  return /[\x00-\x1f\x7f]/.test(name) ? 'name contains control characters' : null;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
