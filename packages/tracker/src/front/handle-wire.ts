import net from 'node:net';
import type { Server, Socket, SocketConstructorOpts } from 'node:net';
import { constants } from 'node:os';
import { getSystemErrorMap, types } from 'node:util';
import type { Wire, WireEvents } from './wire.js';

/*
 * Node's TCP handle binding, the layer `net.Socket` is built on. A `net.Socket` costs ~14 µs to
 * set up and tear down (two stream states, timers, async ids) and most BitTorrent clients open a
 * connection per announce: measured with a fixed reply and a new connection each time, a server
 * on bare handles used 30 µs of CPU per request, one on `net.Socket` 47 (docs/benchmarks.md).
 * The binding is internal (process.binding, DEP0111), so everything here is checked before use,
 * and where it is missing or different the tracker takes node's sockets as before.
 */

interface PeerName {
  address?: string;
}

interface TcpHandle {
  /** Called by node with the read's ArrayBuffer; the byte count is in streamBaseState. */
  onread: (buffer?: ArrayBuffer) => void;
  readonly writeQueueSize: number;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: WriteReq, data: Uint8Array): number;
  shutdown(req: ShutdownReq): number;
  close(): void;
  getpeername(out: PeerName): number;
  setNoDelay(enable: boolean): number;
}

interface WriteReq {
  handle: TcpHandle;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  /** Kept alive until an asynchronous write completes. */
  buffer?: Uint8Array | undefined;
  wire?: HandleWire | undefined;
}

interface ShutdownReq {
  handle: TcpHandle;
  oncomplete: (this: ShutdownReq, status: number) => void;
  wire?: HandleWire | undefined;
}

interface StreamBinding {
  WriteWrap: new () => WriteReq;
  ShutdownWrap: new () => ShutdownReq;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kLastWriteWasAsync: number;
}

interface ListenHandle {
  onconnection: (this: ListenHandle, status: number, client?: TcpHandle) => void;
}

/** The net.Server fields node's own accept path keeps (lib/net.js, onconnection). */
interface ServerInternals {
  _handle?: ListenHandle | null;
  _connections: number;
  allowHalfOpen?: boolean;
}

const HANDLE_METHODS = [
  'readStart',
  'readStop',
  'writeBuffer',
  'shutdown',
  'close',
  'getpeername',
  'setNoDelay',
] as const;

/** Node's stream binding, or null unless it and its TCP handle class are what this module expects. */
function loadStreamBinding(): StreamBinding | null {
  try {
    const load = (name: string) =>
      (process as unknown as { binding(name: string): unknown }).binding(name);
    const binding = load('stream_wrap') as Partial<StreamBinding>;
    const tcp = (load('tcp_wrap') as { TCP?: { prototype: Record<string, unknown> } }).TCP;
    const ok =
      tcp !== undefined &&
      HANDLE_METHODS.every((m) => typeof tcp.prototype[m] === 'function') &&
      typeof binding.WriteWrap === 'function' &&
      typeof binding.ShutdownWrap === 'function' &&
      types.isInt32Array(binding.streamBaseState) &&
      typeof binding.kReadBytesOrError === 'number' &&
      typeof binding.kArrayBufferOffset === 'number' &&
      typeof binding.kLastWriteWasAsync === 'number';
    return ok ? (binding as StreamBinding) : null;
  } catch {
    return null;
  }
}

const binding = loadStreamBinding();
const UV_EOF = [...getSystemErrorMap()].find(([, [name]]) => name === 'EOF')?.[0] ?? -4095;
const UV_ENOTCONN = -constants.errno.ENOTCONN;
// handle.shutdown() returns 1 when it finished at once and will not call oncomplete.
const SHUTDOWN_DONE_NOW = 1;
const ignoreRead = (): void => {};

/*
 * Shared completion callbacks that find their connection through the request, which lets go of
 * it as soon as it completes: no closure per write, and a request object node keeps a little
 * longer does not keep a finished connection's objects alive with it.
 */
function afterWrite(this: WriteReq, status: number): void {
  const wire = this.wire!;
  this.wire = undefined;
  this.buffer = undefined;
  wire.written(status);
}

function afterShutdown(this: ShutdownReq, status: number): void {
  const wire = this.wire!;
  this.wire = undefined;
  wire.shut(status);
}

/**
 * Has `server`, which must be listening, give its new TCP connections to `onWire` as bare
 * handles instead of making each a `net.Socket`. Returns false, changing nothing, where node's
 * internals are not what this expects; the server then goes on as before.
 */
export function divertAccepts(server: Server, onWire: (wire: Wire) => void): boolean {
  const internals = server as unknown as ServerInternals;
  const listenHandle = internals._handle;
  if (!binding || !listenHandle || typeof listenHandle.onconnection !== 'function') return false;
  if (typeof internals._connections !== 'number' || server.maxConnections) return false;
  const nodeOnConnection = listenHandle.onconnection;
  listenHandle.onconnection = function (status, client) {
    if (status !== 0 || !client) {
      nodeOnConnection.call(this, status, client);
      return;
    }
    onWire(new HandleWire(client, server, binding));
  };
  return true;
}

class HandleWire implements Wire {
  private events: WireEvents | undefined;
  private writesInFlight = 0;
  private drainWaiter: (() => void) | undefined;
  /** Our side has ended (shutdown asked for). */
  private ending = false;
  private closeWhenShut = false;
  private readEnded = false;
  /** Closed, or handed to node:http (the handle is the net.Socket's then): hands off either way. */
  private closed = false;

  constructor(
    private readonly handle: TcpHandle,
    private readonly server: Server,
    private readonly stream: StreamBinding,
  ) {
    handle.onread = this.onRead;
    // Responses go out in one write each; Nagle's algorithm could only delay them.
    handle.setNoDelay(true);
  }

  get remoteAddress(): string | undefined {
    // Read once per connection: the hot path keeps the parsed address in its connection memo.
    const name: PeerName = {};
    return this.handle.getpeername(name) === 0 ? name.address : undefined;
  }

  get writable(): boolean {
    return !this.ending && !this.closed;
  }

  get unsent(): number {
    return this.handle.writeQueueSize;
  }

  listen(events: WireEvents): void {
    this.events = events;
    if (this.handle.readStart() !== 0) this.destroy();
  }

  private readonly onRead = (buffer?: ArrayBuffer): void => {
    const state = this.stream.streamBaseState;
    const n = state[this.stream.kReadBytesOrError]!;
    if (n > 0) {
      this.events?.data(Buffer.from(buffer!, state[this.stream.kArrayBufferOffset]!, n));
    } else if (n === UV_EOF) {
      this.readEnded = true;
      if (this.ending) this.destroy();
      else this.events?.end();
    } else if (n < 0) {
      this.destroy();
    }
  };

  write(data: Buffer): void {
    if (this.closed) return;
    const req = new this.stream.WriteWrap();
    req.handle = this.handle;
    req.oncomplete = afterWrite;
    req.async = false;
    if (this.handle.writeBuffer(req, data) !== 0) {
      this.destroy();
      return;
    }
    if (this.stream.streamBaseState[this.stream.kLastWriteWasAsync]) {
      req.async = true;
      req.buffer = data;
      req.wire = this;
      this.writesInFlight++;
    }
  }

  /** An asynchronous write completed. */
  written(status: number): void {
    this.writesInFlight--;
    if (status < 0) {
      this.destroy();
    } else if (this.writesInFlight === 0 && this.drainWaiter) {
      const then = this.drainWaiter;
      this.drainWaiter = undefined;
      then();
    }
  }

  end(data?: Buffer): void {
    if (data) this.write(data);
    this.shutdown();
  }

  finish(data: Buffer): void {
    this.write(data);
    this.closeWhenShut = true;
    this.shutdown();
  }

  /** Sends our FIN once the kernel has taken every write (libuv queues it after them). */
  private shutdown(): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    const req = new this.stream.ShutdownWrap();
    req.handle = this.handle;
    req.oncomplete = afterShutdown;
    const err = this.handle.shutdown(req);
    if (err === 0) req.wire = this;
    else if (err === SHUTDOWN_DONE_NOW || err === UV_ENOTCONN) this.shut(0);
    else this.destroy();
  }

  /** Our FIN has gone out (or could not). */
  shut(status: number): void {
    // Like a net.Socket that does not allow half-open connections: once both sides have ended,
    // or the response was the last thing this connection was for, it is closed.
    if (status < 0 || this.closeWhenShut || this.readEnded) this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.drainWaiter = undefined;
    this.handle.onread = ignoreRead;
    this.handle.close();
    this.events?.close();
  }

  pause(): void {
    if (!this.closed) this.handle.readStop();
  }

  resume(): void {
    if (!this.closed) this.handle.readStart();
  }

  whenDrained(then: () => void): void {
    if (this.writesInFlight === 0) queueMicrotask(then);
    else this.drainWaiter = then;
  }

  handOver(unread: Buffer | null): Socket {
    const { handle, server } = this;
    handle.readStop();
    this.closed = true;
    this.events = undefined;
    this.drainWaiter = undefined;
    const internals = server as unknown as ServerInternals;
    // What node's accept does (lib/net.js, onconnection), so that node:http, server.close()
    // and the connection count see this connection as one of the server's own.
    const socket = new net.Socket({
      handle,
      readable: true,
      writable: true,
      allowHalfOpen: internals.allowHalfOpen ?? false,
    } as SocketConstructorOpts);
    internals._connections++;
    Object.assign(socket, { server, _server: server });
    socket.pause();
    if (unread) socket.unshift(unread);
    return socket;
  }
}
