import type { Socket } from 'node:net';
import type { Wire, WireEvents } from './wire.js';

/** A `Wire` over a `net.Socket`: any connection node's own server accepted. */
export class SocketWire implements Wire {
  private events: WireEvents | undefined;
  private drainWaiter: (() => void) | undefined;

  constructor(private readonly socket: Socket) {}

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get writable(): boolean {
    return this.socket.writable;
  }

  get unsent(): number {
    return this.socket.writableLength;
  }

  listen(events: WireEvents): void {
    this.events = events;
    this.socket.on('data', events.data);
    this.socket.on('end', events.end);
    this.socket.on('error', this.onError);
    this.socket.on('close', events.close);
  }

  private readonly onError = (): void => {
    this.socket.destroy();
  };

  write(data: Buffer): void {
    this.socket.write(data);
  }

  end(data?: Buffer): void {
    if (data) this.socket.end(data);
    else this.socket.end();
  }

  finish(data: Buffer): void {
    const socket = this.socket;
    socket.end(data, () => socket.destroy());
  }

  destroy(): void {
    this.socket.destroy();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  whenDrained(then: () => void): void {
    this.drainWaiter = then;
    this.socket.once('drain', then);
  }

  handOver(unread: Buffer | null): Socket {
    const socket = this.socket;
    // Paused first: with no 'data' listener a flowing socket would drop what it reads.
    socket.pause();
    const events = this.events;
    if (events) {
      socket.removeListener('data', events.data);
      socket.removeListener('end', events.end);
      socket.removeListener('close', events.close);
    }
    socket.removeListener('error', this.onError);
    if (this.drainWaiter) socket.removeListener('drain', this.drainWaiter);
    if (unread) socket.unshift(unread);
    return socket;
  }
}
