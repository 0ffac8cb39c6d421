import type { AnnounceQuery } from '../announce/query.js';
import type { AnnounceOutcome } from '../store/types.js';
import { parseRate } from './extra-params.js';
import type { SwarmStatusBoard } from './swarm-status.js';

/** Called by the announce hot path after each answered announce of a served swarm. */
export type AnnounceObserver = (
  query: AnnounceQuery,
  address: Uint8Array,
  outcome: AnnounceOutcome,
  /** Where the peer is: its `location=`, else what the topology file says. */
  location: string | undefined,
) => void;

/** Feeds answered announces into the status board. */
export function announceRecorder(board: SwarmStatusBoard): AnnounceObserver {
  return (query, address, outcome, location) => {
    board.record({
      infoHash: query.infoHashHex,
      peerId: query.peerId,
      peerKey: query.peerKey,
      address,
      event: query.event,
      uploaded: query.uploaded,
      downloaded: query.downloaded,
      left: query.left,
      rate: parseRate(query.rawRate),
      location,
      stats: outcome,
    });
  };
}
