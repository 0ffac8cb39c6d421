import type { Socket } from 'node:net';

/** What a connection tells the raw front. */
export interface WireEvents {
  data(chunk: Buffer): void;
  /** The client's end of stream. */
  end(): void;
  /** The connection is gone: closed by either side, failed, or destroyed. */
  close(): void;
}

/**
 * One client connection as the raw front uses it: bytes in, bytes out, half and full close.
 * Two kinds exist: a `net.Socket` (socket-wire.ts) and node's bare TCP handle (handle-wire.ts),
 * which skips the socket's stream machinery on connections that live for one announce.
 */
export interface Wire {
  /** The client's address, e.g. `127.0.0.1` or `::1`. */
  readonly remoteAddress: string | undefined;
  /** False once the connection is ending or gone. */
  readonly writable: boolean;
  /** Bytes written but not yet taken by the kernel. */
  readonly unsent: number;
  listen(events: WireEvents): void;
  write(data: Buffer): void;
  /** Writes `data` (if any), then ends our side; closes once the client's side ends too. */
  end(data?: Buffer): void;
  /** Writes `data`, then closes whatever the client does (node:http's Connection: close). */
  finish(data: Buffer): void;
  destroy(): void;
  /** Stops reading until resume(). */
  pause(): void;
  resume(): void;
  /** Calls `then` once everything written so far has been taken by the kernel. */
  whenDrained(then: () => void): void;
  /**
   * Stops all events here and returns the connection as a paused `net.Socket` for node:http,
   * with `unread` put back in front of whatever the client sends next.
   */
  handOver(unread: Buffer | null): Socket;
}
