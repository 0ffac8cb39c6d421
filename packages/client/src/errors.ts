import { DistError } from '@distributor/core';

/** Nothing arrived from any peer for `--peer-timeout` seconds. */
export class NoPeersError extends DistError {
  constructor(detail: string) {
    super('ENOPEERS', detail);
  }
}

/** The download was stopped (SIGINT, SIGTERM or `handle.stop()`); `.part` and record are kept. */
export class InterruptedError extends DistError {
  constructor(detail = 'interrupted; run the same command again to resume') {
    super('EINTERRUPTED', detail);
  }
}
