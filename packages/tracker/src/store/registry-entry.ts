import type { PublishRequest, RegistryEntry } from './types.js';

/** The registry entry a publish makes: the request's fields without its torrent bytes. */
export function registryEntry(
  request: PublishRequest,
  publishedAt: number,
  expiresAt: number,
): RegistryEntry {
  return {
    infoHash: request.infoHash,
    root: request.root,
    path: request.path,
    name: request.name,
    length: request.length,
    pieceLength: request.pieceLength,
    mtimeMs: request.mtimeMs,
    publishedAt,
    expiresAt,
  };
}
