import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionMemo, HotPath, HotReply } from '../announce/handler.js';
import { BatchQueue } from './batch-queue.js';
import { ConnectionList } from './connection-list.js';
import { parseRequestHead } from './request-head.js';
import type { RequestHead } from './request-head.js';
import { SocketWire } from './socket-wire.js';
import type { Wire } from './wire.js';

/**
 * Announces and scrapes straight off the socket, ahead of node:http.
 *
 * node:http costs ~18 µs per request and far more per new connection (an IncomingMessage, a
 * ServerResponse and parser bookkeeping for every one), several times the tracker's own work on
 * an announce; most BitTorrent clients open a connection per announce. So the front reads plain
 * `GET /announce` and `GET /scrape` heads itself and writes the responses in one buffer. The
 * first request it is not sure of (any other target or method, a body, an odd header, a head
 * over the size limit) hands the connection, with every byte read so far, to node:http, which
 * then serves it and everything after it exactly as before (docs/protocol.md).
 *
 * Under load the front answers in batches: connections with new bytes wait (up to `coalesceMs`,
 * or until `coalesceMax` of them do), then all their requests are answered, then all responses
 * are written. Interleaving one request's tracker work with one write at a time made every
 * write wake the client's side afresh; batched, a tracker on one core served ~1.4x as many
 * announces with a new connection each (docs/benchmarks.md). A millisecond is nothing to a
 * client that announces every 30 s.
 */
export interface RawFrontOptions {
  hotPath: HotPath;
  /**
   * The request targets `hotPath` takes. Only a request for one of these waits for a batch;
   * anything else is dealt with as it arrives, so a connection is handed to node:http before
   * the client's end of stream can reach it.
   */
  takes: (target: string) => boolean;
  /** node:http's own connection listener: it takes the connections the front gives up. */
  handOff: (socket: Socket) => void;
  /** Largest request head read here (node:http's default maxHeaderSize is 16 KiB). */
  maxHeadBytes?: number;
  /** A request head must be complete this long after its first byte (node: headersTimeout). */
  headTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this (node: keepAliveTimeout). */
  idleTimeoutMs?: number;
  /** How often connections are checked against those two limits. */
  sweepEveryMs?: number;
  /** Longest wait to gather connections with new requests into one batch. */
  coalesceMs?: number;
  /** A batch runs at once when this many connections wait. */
  coalesceMax?: number;
}

export interface RawFront {
  /** Takes a connection node's server accepted. */
  accept(socket: Socket): void;
  /** Takes a connection as a bare handle (divertAccepts in handle-wire.ts). */
  acceptWire(wire: Wire): void;
  /** Resolves once no connection is left here (handed over or closed). */
  whenEmpty(): Promise<void>;
  /** Shutting down: idle connections close now, busy ones after their response. */
  closeIdle(): void;
  /** Drain time is over: close everything still open. */
  destroyAll(): void;
}

const HEAD_END = Buffer.from('\r\n\r\n');
// Beyond this much unsent output, stop reading until the client reads what it asked for.
const MAX_UNSENT_BYTES = 64 * 1024;

export function createRawFront(options: RawFrontOptions): RawFront {
  const { hotPath, handOff, takes } = options;
  const maxHeadBytes = options.maxHeadBytes ?? 16 * 1024;
  const headTimeoutMs = options.headTimeoutMs ?? 10_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 5_000;
  const sweepEveryMs = options.sweepEveryMs ?? 1_000;
  const batch = new BatchQueue<RawConnection>(
    (connections) => {
      for (const connection of connections) connection.process();
      for (const connection of connections) connection.send();
    },
    options.coalesceMax ?? 32,
    options.coalesceMs ?? 1,
  );
  const open = new ConnectionList<RawConnection>();
  let emptyWaiters: (() => void)[] = [];
  const forget = (connection: RawConnection) => {
    open.delete(connection);
    if (open.size > 0 || emptyWaiters.length === 0) return;
    const waiters = emptyWaiters;
    emptyWaiters = [];
    for (const resolve of waiters) resolve();
  };
  let closing = false;
  // One sweep a second over all connections instead of a timer per socket: timers re-armed on
  // every read and write cost more than the sweep, and connections here live milliseconds.
  let sweeper: NodeJS.Timeout | undefined;
  const sweep = () => {
    if (open.size === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
      return;
    }
    const now = performance.now();
    open.forEach((connection) => connection.checkTimeouts(now));
  };

  class RawConnection implements ConnectionMemo {
    ip?: Buffer | null;
    listIndex = -1;
    /** Bytes read but not yet answered: part of a head, or pipelined requests. */
    private pending: Buffer | null = null;
    private headStartedAt = 0;
    private lastActiveAt = performance.now();
    /** A response is on its way (the store answered asynchronously, or we are inside it). */
    private busy = false;
    private waitingForDrain = false;
    private readEnded = false;
    /** In the batch queue, or inside the running batch. */
    private queued = false;
    /** Responses waiting for the batch's writes, and what to do after them. */
    private outbox: Buffer[] = [];
    private outboxBytes = 0;
    private closeAfterSend = false;
    private endAfterSend = false;
    /** Handed over to node:http or closed: nothing more to do here. */
    private gone = false;
    /** The head at the start of `pending`, parsed when it arrived. */
    private parsed: { end: number; head: RequestHead } | null = null;

    constructor(private readonly wire: Wire) {
      wire.listen({ data: this.onData, end: this.onEnd, close: this.onClose });
      open.add(this);
      sweeper ??= setInterval(sweep, sweepEveryMs).unref();
    }

    isIdle(): boolean {
      return !this.busy && this.pending === null;
    }

    end(): void {
      this.pending = null;
      if (this.outbox.length > 0) this.endAfterSend = true;
      else this.wire.end();
    }

    destroy(): void {
      this.wire.destroy();
    }

    /** Closes the connection if it sat idle, or took too long to send a head. */
    checkTimeouts(now: number): void {
      if (this.busy) return; // the store has its own timeout and will answer
      if (this.pending !== null) {
        if (now - this.headStartedAt > headTimeoutMs) this.wire.destroy();
      } else if (now - this.lastActiveAt > idleTimeoutMs) {
        this.wire.destroy();
      }
    }

    private readonly onData = (chunk: Buffer): void => {
      if (this.pending === null) {
        this.pending = chunk;
        this.headStartedAt = performance.now();
      } else {
        this.pending = Buffer.concat([this.pending, chunk]);
      }
      // The response on its way, or the drain, goes on with what is pending.
      if (this.busy || this.waitingForDrain) return;
      if (this.canWait()) this.schedule();
      else this.process();
    };

    /** True when `pending` is one whole request for the hot path. */
    private canWait(): boolean {
      const buffered = this.pending!;
      const end = buffered.indexOf(HEAD_END);
      if (end < 0 || end > maxHeadBytes || end + 4 !== buffered.length) return false;
      const head = parseRequestHead(buffered.toString('latin1', 0, end));
      if (!head || !takes(head.target)) return false;
      this.parsed = { end, head };
      return true;
    }

    private readonly onEnd = (): void => {
      this.readEnded = true;
      // Once what is pending has been answered, the rest can never become a whole request.
      this.schedule();
    };

    private readonly onClose = (): void => {
      this.gone = true;
      this.takeOutbox();
      forget(this);
    };

    private readonly onDrain = (): void => {
      this.waitingForDrain = false;
      this.wire.resume();
      this.schedule();
    };

    private schedule(): void {
      if (this.queued || this.gone) return;
      this.queued = true;
      batch.add(this);
    }

    /** Answers every complete hot request in `pending`, in order, one at a time. */
    process(): void {
      if (this.gone) return;
      while (this.pending !== null && !this.busy && !this.waitingForDrain) {
        // The rest waits until the batch's writes have taken what is queued (send()).
        if (this.outboxBytes > MAX_UNSENT_BYTES) return;
        const buffered = this.pending;
        const parsed = this.parsed;
        this.parsed = null;
        const end = parsed ? parsed.end : buffered.indexOf(HEAD_END);
        if (end < 0) {
          // Too long for a head here: node:http answers it (a failure reason, or 431).
          if (buffered.length > maxHeadBytes) return this.giveUp();
          return;
        }
        const head = parsed
          ? parsed.head
          : end <= maxHeadBytes
            ? parseRequestHead(buffered.toString('latin1', 0, end))
            : null;
        if (!head) return this.giveUp();

        this.pending = end + 4 < buffered.length ? buffered.subarray(end + 4) : null;
        this.headStartedAt = performance.now();
        this.busy = true;
        let inside = true;
        const reply: HotReply = (status, body) => {
          this.respond(head, status, body);
          if (!inside) this.process();
        };
        const taken = hotPath(
          { url: head.target, client: this.wire, forwardedFor: head.forwardedFor, memo: this },
          reply,
        );
        inside = false;
        if (!taken) {
          this.busy = false;
          this.pending = buffered;
          return this.giveUp();
        }
      }
      if (this.readEnded && !this.busy && !this.waitingForDrain) this.end();
    }

    /** Writes the responses the batch made, then closes if one of them said so. */
    send(): void {
      this.queued = false;
      if (this.gone) return;
      const wire = this.wire;
      const full = this.outboxBytes > MAX_UNSENT_BYTES;
      const out = this.takeOutbox();
      if (out) {
        if (this.closeAfterSend) {
          // Like node:http: once the response is out, the connection is gone, whatever the client does.
          wire.finish(out);
          return;
        }
        if (this.endAfterSend) {
          wire.end(out);
          return;
        }
        wire.write(out);
        if (wire.unsent > MAX_UNSENT_BYTES && !this.waitingForDrain) {
          this.waitingForDrain = true;
          wire.pause();
          wire.whenDrained(this.onDrain);
        }
      }
      // process() stopped at a full outbox: go on with the requests after it.
      if (full && !this.waitingForDrain) this.schedule();
    }

    /** The queued responses as one buffer (null if none), leaving the outbox empty. */
    private takeOutbox(): Buffer | null {
      const { outbox, outboxBytes } = this;
      if (outbox.length === 0) return null;
      this.outbox = [];
      this.outboxBytes = 0;
      return outbox.length === 1 ? outbox[0]! : Buffer.concat(outbox, outboxBytes);
    }

    private respond(head: RequestHead, status: number, body: Buffer): void {
      this.busy = false;
      this.lastActiveAt = performance.now();
      if (!this.wire.writable || this.gone) return;
      const close = !head.keepAlive || closing;
      const text =
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
        `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\n` +
        (close ? 'Connection: close\r\n' : head.http10 ? 'Connection: keep-alive\r\n' : '') +
        '\r\n';
      const out = Buffer.allocUnsafe(text.length + body.length);
      out.write(text, 0, 'latin1');
      body.copy(out, text.length);
      this.outbox.push(out);
      this.outboxBytes += out.length;
      if (close) {
        this.pending = null;
        this.closeAfterSend = true;
      }
      this.schedule();
    }

    /** Gives the connection, with every byte read so far, to node:http. */
    private giveUp(): void {
      this.gone = true;
      // Answers to earlier requests go out before node:http answers the later ones.
      const answered = this.takeOutbox();
      if (answered) this.wire.write(answered);
      const socket = this.wire.handOver(this.pending);
      this.pending = null;
      forget(this);
      handOff(socket);
      socket.resume();
    }
  }

  const acceptWire = (wire: Wire) => {
    if (closing) {
      wire.destroy();
      return;
    }
    new RawConnection(wire);
  };

  return {
    accept: (socket) => acceptWire(new SocketWire(socket)),
    acceptWire,
    whenEmpty() {
      if (open.size === 0) return Promise.resolve();
      return new Promise((resolve) => emptyWaiters.push(resolve));
    },
    closeIdle() {
      closing = true;
      open.forEach((connection) => {
        if (connection.isIdle()) connection.end();
      });
    },
    destroyAll() {
      batch.clear();
      open.forEach((connection) => connection.destroy());
      clearInterval(sweeper);
      sweeper = undefined;
    },
  };
}
