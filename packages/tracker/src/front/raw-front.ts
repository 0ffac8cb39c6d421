import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionMemo, HotPath, HotReply } from '../announce/handler.js';
import { parseRequestHead } from './request-head.js';
import type { RequestHead } from './request-head.js';

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
 */
export interface RawFrontOptions {
  hotPath: HotPath;
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
}

export interface RawFront {
  /** Takes a newly accepted connection. */
  accept(socket: Socket): void;
  /** Shutting down: idle connections close now, busy ones after their response. */
  closeIdle(): void;
  /** Drain time is over: close everything still open. */
  destroyAll(): void;
}

const HEAD_END = Buffer.from('\r\n\r\n');
// Beyond this much unsent output, stop reading until the client reads what it asked for.
const MAX_UNSENT_BYTES = 64 * 1024;

export function createRawFront(options: RawFrontOptions): RawFront {
  const { hotPath, handOff } = options;
  const maxHeadBytes = options.maxHeadBytes ?? 16 * 1024;
  const headTimeoutMs = options.headTimeoutMs ?? 10_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 5_000;
  const sweepEveryMs = options.sweepEveryMs ?? 1_000;
  const open = new Set<RawConnection>();
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
    for (const connection of open) connection.checkTimeouts(now);
  };

  class RawConnection implements ConnectionMemo {
    ip?: Buffer | null;
    /** Bytes read but not yet answered: part of a head, or pipelined requests. */
    private pending: Buffer | null = null;
    private headStartedAt = 0;
    private lastActiveAt = performance.now();
    /** A response is on its way (the store answered asynchronously, or we are inside it). */
    private busy = false;
    private waitingForDrain = false;
    private readEnded = false;

    constructor(private readonly socket: Socket) {
      socket.on('data', this.onData);
      socket.on('end', this.onEnd);
      socket.on('error', this.onError);
      socket.on('close', this.onClose);
      open.add(this);
      sweeper ??= setInterval(sweep, sweepEveryMs).unref();
    }

    isIdle(): boolean {
      return !this.busy && this.pending === null;
    }

    end(): void {
      this.pending = null;
      this.socket.end();
    }

    destroy(): void {
      this.socket.destroy();
    }

    /** Closes the connection if it sat idle, or took too long to send a head. */
    checkTimeouts(now: number): void {
      if (this.busy) return; // the store has its own timeout and will answer
      if (this.pending !== null) {
        if (now - this.headStartedAt > headTimeoutMs) this.socket.destroy();
      } else if (now - this.lastActiveAt > idleTimeoutMs) {
        this.socket.destroy();
      }
    }

    private readonly onData = (chunk: Buffer): void => {
      if (this.pending === null) {
        this.pending = chunk;
        this.headStartedAt = performance.now();
      } else {
        this.pending = Buffer.concat([this.pending, chunk]);
      }
      this.process();
    };

    private readonly onEnd = (): void => {
      this.readEnded = true;
      // What is still pending can never become a whole request now.
      if (!this.busy && !this.waitingForDrain) this.end();
    };

    private readonly onError = (): void => {
      this.socket.destroy();
    };

    private readonly onClose = (): void => {
      open.delete(this);
    };

    private readonly onDrain = (): void => {
      this.waitingForDrain = false;
      this.socket.resume();
      this.process();
    };

    /** Answers every complete hot request in `pending`, in order, one at a time. */
    private process(): void {
      while (this.pending !== null && !this.busy && !this.waitingForDrain) {
        const buffered = this.pending;
        const end = buffered.indexOf(HEAD_END);
        if (end < 0) {
          // Too long for a head here: node:http answers it (a failure reason, or 431).
          if (buffered.length > maxHeadBytes) return this.giveUp();
          return;
        }
        const head =
          end <= maxHeadBytes ? parseRequestHead(buffered.toString('latin1', 0, end)) : null;
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
          { url: head.target, socket: this.socket, forwardedFor: head.forwardedFor, memo: this },
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

    private respond(head: RequestHead, status: number, body: Buffer): void {
      this.busy = false;
      this.lastActiveAt = performance.now();
      const socket = this.socket;
      if (!socket.writable) return;
      const close = !head.keepAlive || closing;
      const text =
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
        `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\n` +
        (close ? 'Connection: close\r\n' : head.http10 ? 'Connection: keep-alive\r\n' : '') +
        '\r\n';
      const out = Buffer.allocUnsafe(text.length + body.length);
      out.write(text, 0, 'latin1');
      body.copy(out, text.length);
      if (close) {
        this.pending = null;
        // Like node:http: once the response is out, the connection is gone, whatever the client does.
        socket.end(out, () => socket.destroy());
        return;
      }
      socket.write(out);
      if (socket.writableLength > MAX_UNSENT_BYTES && !this.waitingForDrain) {
        this.waitingForDrain = true;
        socket.pause();
        socket.once('drain', this.onDrain);
      }
    }

    /** Gives the connection, with every byte read so far, to node:http. */
    private giveUp(): void {
      const socket = this.socket;
      // Paused first: with no 'data' listener a flowing socket would drop what it reads.
      socket.pause();
      socket.removeListener('data', this.onData);
      socket.removeListener('end', this.onEnd);
      socket.removeListener('error', this.onError);
      socket.removeListener('close', this.onClose);
      socket.removeListener('drain', this.onDrain);
      open.delete(this);
      if (this.pending) socket.unshift(this.pending);
      this.pending = null;
      handOff(socket);
      socket.resume();
    }
  }

  return {
    accept(socket) {
      if (closing) {
        socket.destroy();
        return;
      }
      new RawConnection(socket);
    },
    closeIdle() {
      closing = true;
      for (const connection of open) if (connection.isIdle()) connection.end();
    },
    destroyAll() {
      for (const connection of open) connection.destroy();
      clearInterval(sweeper);
      sweeper = undefined;
    },
  };
}
