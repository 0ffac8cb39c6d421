/**
 * Piece-length policy. A piece is the unit a peer can verify and re-share, so smaller pieces
 * let a new copy start feeding others sooner; but every piece costs 20 bytes in the .torrent,
 * one bit in every bitfield, one `have` message to every peer and one hash check. Aiming at
 * 1,000–2,000 pieces keeps the .torrent under 40 KiB and the per-piece overhead negligible while
 * still giving a swarm thousands of independent units to trade. The bounds follow BEP 3 practice:
 * 16 KiB is one request block (a smaller piece would split nothing), and 16 MiB keeps a single
 * piece's verification latency and memory small.
 */
export const MIN_PIECE_LENGTH = 16 * 1024;
export const MAX_PIECE_LENGTH = 16 * 1024 * 1024;
export const TARGET_MAX_PIECES = 2000;

export function choosePieceLength(fileSize: number): number {
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) {
    throw new RangeError(`invalid file size: ${fileSize}`);
  }
  let pieceLength = MIN_PIECE_LENGTH;
  while (pieceLength < MAX_PIECE_LENGTH && pieceLength * TARGET_MAX_PIECES < fileSize) {
    pieceLength *= 2;
  }
  return pieceLength;
}

export function isValidPieceLength(pieceLength: number): boolean {
  return (
    Number.isSafeInteger(pieceLength) &&
    pieceLength >= MIN_PIECE_LENGTH &&
    pieceLength <= 1024 * 1024 * 1024 &&
    (pieceLength & (pieceLength - 1)) === 0
  );
}

export function pieceCount(length: number, pieceLength: number): number {
  return Math.ceil(length / pieceLength);
}

/** Length of piece `index`: all pieces are `pieceLength` except possibly the last. */
export function pieceSize(index: number, length: number, pieceLength: number): number {
  const start = index * pieceLength;
  return Math.min(pieceLength, length - start);
}
