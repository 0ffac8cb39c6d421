import type { AnnounceQuery } from '../announce/query.js';
import type { AnnounceOutcome } from '../store/types.js';
import { parseExtraParams } from './extra-params.js';
import type { SwarmStatusBoard } from './swarm-status.js';

/** Called by the announce hot path after each answered announce of a served swarm. */
export type AnnounceObserver = (
  query: AnnounceQuery,
  address: Uint8Array,
  outcome: AnnounceOutcome,
  rawQuery: string,
  /** Where the peer is: its `location=`, else what the topology file says. */
  location: string | undefined,
) => void;

/** Feeds answered announces into the status board. */
export function announceRecorder(board: SwarmStatusBoard): AnnounceObserver {
  return (query, address, outcome, rawQuery, location) => {
    const extra = parseExtraParams(rawQuery);
    board.record({
      infoHash: query.infoHashHex,
      peerId: query.peerId,
      peerKey: query.peerKey,
      address,
      event: query.event,
      uploaded: query.uploaded,
      downloaded: query.downloaded,
      left: query.left,
      rate: extra.rate,
      location,
      stats: outcome,
    });
  };
}
