import { createHash } from 'node:crypto';
import parseTorrent from 'parse-torrent';
import { decodeDict, encode, getBytes, getInt, isDict } from './bencode.js';
import { MetainfoError } from './errors.js';
import { isValidPieceLength, pieceCount } from './piece-length.js';

/** A parsed, validated single-file torrent. */
export interface TorrentMeta {
  /** SHA-1 of the bencoded info dict, 40 lowercase hex digits. */
  infoHash: string;
  name: string;
  length: number;
  pieceLength: number;
  pieceCount: number;
  lastPieceLength: number;
  /** Concatenated 20-byte SHA-1 digests, one per piece. */
  pieces: Uint8Array;
  /** Announce URLs, primary first (BEP 12 tiers flattened). */
  announce: string[];
  private: boolean;
}

export interface BuildTorrentOptions {
  name: string;
  length: number;
  pieceLength: number;
  /** Concatenated 20-byte piece digests. */
  pieces: Uint8Array;
  announce?: string;
  createdBy?: string;
  /** Seconds since the epoch; omitted when undefined so builds can be reproducible. */
  creationDate?: number;
}

const NAME_MAX_BYTES = 255;

/** Why `name` is not a safe single path component, or null when it is. */
export function unsafeNameReason(name: string): string | null {
  if (name.length === 0) return 'name is empty';
  if (name === '.' || name === '..') return `name ${JSON.stringify(name)} is a directory reference`;
  if (name.includes('/') || name.includes('\\')) return 'name contains a path separator';
  if (name.includes('\0')) return 'name contains a NUL byte';
  if (name.includes('\uFFFD')) return 'name is not valid UTF-8';
  if (Buffer.byteLength(name) > NAME_MAX_BYTES) return 'name is longer than 255 bytes';
  return null;
}

/**
 * The info dict holds exactly {length, name, piece length, pieces}: nothing that varies between
 * origins (no dates, no `private` flag), so the same file hashed anywhere has the same info hash,
 * and it equals mktorrent's for the same name and piece length.
 */
export function buildInfoDict(opts: BuildTorrentOptions): Record<string, unknown> {
  validateShape(opts.name, opts.length, opts.pieceLength, opts.pieces);
  return {
    length: opts.length,
    name: Buffer.from(opts.name, 'utf8'),
    'piece length': opts.pieceLength,
    pieces: opts.pieces,
  };
}

export function infoHashOf(info: Record<string, unknown>): string {
  return createHash('sha1').update(encode(info)).digest('hex');
}

/** Builds .torrent bytes for a single file. */
export function buildTorrent(opts: BuildTorrentOptions): { torrent: Uint8Array; infoHash: string } {
  const info = buildInfoDict(opts);
  const torrent: Record<string, unknown> = { info };
  if (opts.announce) torrent['announce'] = opts.announce;
  torrent['created by'] = opts.createdBy ?? 'distributor';
  if (opts.creationDate !== undefined) torrent['creation date'] = opts.creationDate;
  return { torrent: encode(torrent), infoHash: infoHashOf(info) };
}

/** Returns the same torrent with its announce URL replaced; the info hash is unchanged. */
export function withAnnounce(torrentBytes: Uint8Array, announce: string): Uint8Array {
  const dict = decodeDict(torrentBytes);
  dict['announce'] = new TextEncoder().encode(announce);
  delete dict['announce-list'];
  return encode(dict);
}

/**
 * Parses untrusted .torrent bytes. The strict decoder runs first (so hostile input fails fast
 * with a typed error), then parse-torrent does the torrent-level parsing, and finally the result
 * is checked against what a single-file download needs to be safe.
 */
export async function parseMetainfo(data: Uint8Array): Promise<TorrentMeta> {
  let dict;
  try {
    dict = decodeDict(data, { maxDepth: 8 });
  } catch (err) {
    throw new MetainfoError(`not a torrent file: ${(err as Error).message}`);
  }
  const info = dict['info'];
  if (!isDict(info)) throw new MetainfoError('torrent has no info dictionary');
  if (info['files'] !== undefined) {
    throw new MetainfoError('multi-file torrents are not supported; publish single files');
  }
  const length = getInt(info, 'length');
  const pieceLength = getInt(info, 'piece length');
  const pieces = getBytes(info, 'pieces');
  const nameBytes = getBytes(info, 'name.utf-8') ?? getBytes(info, 'name');
  if (length === undefined) throw new MetainfoError('info.length is missing or not an integer');
  if (pieceLength === undefined) throw new MetainfoError('info["piece length"] is missing');
  if (!pieces) throw new MetainfoError('info.pieces is missing or not a byte string');
  if (!nameBytes) throw new MetainfoError('info.name is missing or not a byte string');
  const name = new TextDecoder().decode(nameBytes);
  validateShape(name, length, pieceLength, pieces);

  let parsed: Awaited<ReturnType<typeof parseTorrent>>;
  try {
    parsed = await parseTorrent(data);
  } catch (err) {
    throw new MetainfoError(`not a torrent file: ${(err as Error).message}`);
  }
  if (!parsed.infoHash || parsed.length !== length || parsed.pieceLength !== pieceLength) {
    throw new MetainfoError('torrent could not be parsed consistently');
  }
  const count = pieceCount(length, pieceLength);
  return {
    infoHash: parsed.infoHash,
    name,
    length,
    pieceLength,
    pieceCount: count,
    lastPieceLength: length - (count - 1) * pieceLength,
    pieces: Uint8Array.from(pieces),
    announce: [...new Set(parsed.announce ?? [])],
    private: Boolean(parsed.private),
  };
}

function validateShape(name: string, length: number, pieceLength: number, pieces: Uint8Array) {
  const why = unsafeNameReason(name);
  if (why) throw new MetainfoError(`unsafe torrent name ${JSON.stringify(name)}: ${why}`);
  if (!Number.isSafeInteger(length) || length <= 0) {
    throw new MetainfoError(`invalid length ${length}: must be a positive integer`);
  }
  if (!isValidPieceLength(pieceLength)) {
    throw new MetainfoError(`invalid piece length ${pieceLength}: must be a power of two ≥ 16 KiB`);
  }
  if (pieces.length % 20 !== 0) throw new MetainfoError('info.pieces is not a multiple of 20');
  const expected = pieceCount(length, pieceLength);
  if (pieces.length / 20 !== expected) {
    throw new MetainfoError(
      `info.pieces holds ${pieces.length / 20} hashes; length needs ${expected}`,
    );
  }
}

/** The expected SHA-1 digest of piece `index`. */
export function pieceHash(meta: Pick<TorrentMeta, 'pieces'>, index: number): Uint8Array {
  return meta.pieces.subarray(index * 20, index * 20 + 20);
}
