/**
 * Exit statuses of dist-get, one per failure an operator handles differently. Documented in
 * `dist-get --help` and docs/client.md; scripts across a fleet branch on them.
 */
export const EXIT_CODES = {
  ok: 0,
  /** Anything unexpected (a bug, or an error with no better category). */
  failure: 1,
  /** Bad command line or configuration. */
  usage: 2,
  /** The tracker does not publish that name or root (HTTP 404), or the .torrent file is missing. */
  notFound: 3,
  /** The tracker could not be reached, or refused us. */
  trackerUnreachable: 4,
  /** No data from any peer within --peer-timeout. */
  noPeers: 5,
  /** The output cannot be written: disk full, permission denied, read-only, no such directory. */
  disk: 6,
  /** The torrent is invalid or unsafe (e.g. its name is not one safe path component). */
  badTorrent: 7,
  /** Interrupted by SIGINT/SIGTERM; PATH.part and its resume record were kept. */
  interrupted: 130,
} as const;

const BY_CODE: Record<string, number> = {
  ECONFIG: EXIT_CODES.usage,
  ENOTFOUND: EXIT_CODES.notFound,
  ETRACKERUNREACHABLE: EXIT_CODES.trackerUnreachable,
  ETRACKERFAILURE: EXIT_CODES.trackerUnreachable,
  EBADANNOUNCE: EXIT_CODES.trackerUnreachable,
  ENOPEERS: EXIT_CODES.noPeers,
  EDISK: EXIT_CODES.disk,
  EMETAINFO: EXIT_CODES.badTorrent,
  EBENCODE: EXIT_CODES.badTorrent,
  EUNSAFENAME: EXIT_CODES.badTorrent,
  ETORRENTREAD: EXIT_CODES.badTorrent,
  EINTERRUPTED: EXIT_CODES.interrupted,
};

export function exitCodeFor(err: unknown): number {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? (BY_CODE[code] ?? EXIT_CODES.failure) : EXIT_CODES.failure;
}

/** Help text listing the codes, for `dist-get --help`. */
export const EXIT_CODES_HELP = [
  'Exit status:',
  '  0    downloaded (and seeded) successfully',
  '  1    unexpected error',
  '  2    bad command line',
  '  3    unknown name or root (tracker answered 404), or .torrent file missing',
  '  4    tracker unreachable or refused the request',
  '  5    no data from any peer within --peer-timeout',
  '  6    cannot write the output (disk full, permission denied, read-only)',
  '  7    invalid or unsafe torrent',
  '  130  interrupted; PATH.part and PATH.part.resume kept, rerun to resume',
].join('\n');
