/**
 * Splits the bytes a peer sends into BEP 3 messages in front of bittorrent-protocol's parser,
 * so that `piece` messages (id 7) can be handed over as a view of the bytes they arrived in
 * instead of going through the Wire.
 *
 * Why: on 1 GiB over loopback dist-get was CPU-bound, and the Wire's receive path was most of
 * it: it joins every socket chunk to its leftover bytes (a new buffer per chunk, 4 % of the
 * main thread) and keeps each block alive as a slice of those joined buffers until the piece
 * is copied, so the heap churned ~70 full GCs per GiB (14 %). Here a block whose bytes are in
 * one chunk is passed as a view of that chunk; one that spans chunks is assembled in a single
 * reused stage buffer. Nothing is allocated per block.
 *
 * Every other message (and a piece message the sink declines, or one longer than the stage)
 * is reassembled whole into a buffer of its own and handed to `forward` in order, so the Wire
 * still does the protocol: handshake, bitfield, have, choke, extensions.
 */
export interface FramerSink {
  /**
   * Bytes for the Wire: whole messages (or the handshake), in order, at most one call per
   * `push` (a seeder receives ~64 K requests per GiB; one Wire write each would cost more than
   * the Wire's own per-chunk join). The framer never reuses them.
   */
  forward(bytes: Buffer): void;
  /**
   * A piece message's payload. `data` is valid only during the call (it is a view of the
   * socket chunk or of the stage buffer): copy what you keep. Return false to have the message
   * forwarded to the Wire instead.
   */
  block(index: number, offset: number, data: Uint8Array): boolean;
  /** The peer broke the framing; the framer stops and ignores anything after. */
  violation(reason: string): void;
}

export interface MessageFramerOptions {
  /** Largest message length a peer may announce (WireTransport's bound). */
  maxMessageLength: number;
  /** Largest piece payload delivered through `block`; longer ones go to the Wire. */
  maxBlockLength?: number;
}

const HANDSHAKE = 0;
const HEADER = 1;
const MESSAGE = 2;
const BLOCK = 3;
const PASSTHROUGH = 4;
const STOPPED = 5;

/** length(4) + id(1) + index(4) + begin(4): all a piece message has before its payload. */
const PIECE_HEADER = 13;

export class MessageFramer {
  private readonly sink: FramerSink;
  private readonly maxMessageLength: number;
  private readonly maxBlockLength: number;
  private state = HANDSHAKE;
  /** Message header bytes gathered so far (a header may be split across chunks). */
  private readonly header = Buffer.alloc(PIECE_HEADER);
  private headerFill = 0;
  /** The handshake, or a non-piece message, being reassembled. */
  private message: Buffer | null = null;
  private messageFill = 0;
  /** A block spanning chunks is gathered here; one per connection, reused. */
  private stage: Uint8Array | null = null;
  private blockLength = 0;
  private blockFill = 0;
  /** Messages for the Wire from the current push, forwarded together at its end. */
  private readonly out: Buffer[] = [];
  private outBytes = 0;
  private violation: string | null = null;

  constructor(sink: FramerSink, options: MessageFramerOptions) {
    this.sink = sink;
    this.maxMessageLength = options.maxMessageLength;
    this.maxBlockLength = options.maxBlockLength ?? 16 * 1024;
  }

  /**
   * Consumes `chunk[start, end)`. The chunk may be reused by the caller after this returns
   * (a socket `onread` buffer): nothing keeps a reference to it.
   */
  push(chunk: Uint8Array, start = 0, end = chunk.length): void {
    let pos = start;
    while (pos < end && this.state !== STOPPED) {
      switch (this.state) {
        case HANDSHAKE:
          pos = this.readHandshake(chunk, pos, end);
          break;
        case HEADER:
          pos = this.readHeader(chunk, pos, end);
          break;
        case MESSAGE:
          pos = this.readMessage(chunk, pos, end);
          break;
        case BLOCK:
          pos = this.readBlock(chunk, pos, end);
          break;
        default:
          // PASSTHROUGH: not the BitTorrent handshake. The Wire ends the connection; let it
          // see the bytes.
          this.emit(Buffer.from(chunk.subarray(pos, end)));
          pos = end;
      }
    }
    this.flush();
    if (this.violation !== null) {
      const reason = this.violation;
      this.violation = null;
      this.sink.violation(reason);
    }
  }

  /** Stops parsing (the connection is gone). */
  stop(): void {
    this.state = STOPPED;
    this.message = null;
    this.out.length = 0;
  }

  private emit(bytes: Buffer): void {
    // The sink may have stopped us from inside block() (it banned the peer): forward nothing.
    if (this.state === STOPPED) return;
    this.out.push(bytes);
    this.outBytes += bytes.length;
  }

  private flush(): void {
    const { out } = this;
    if (out.length === 0) return;
    const bytes = out.length === 1 ? out[0]! : Buffer.concat(out, this.outBytes);
    out.length = 0;
    this.outBytes = 0;
    this.sink.forward(bytes);
  }

  private readHandshake(chunk: Uint8Array, pos: number, end: number): number {
    if (this.message === null) {
      const pstrlen = chunk[pos]!;
      if (pstrlen !== 19) {
        this.state = PASSTHROUGH;
        return pos;
      }
      // pstrlen byte + "BitTorrent protocol" + reserved(8) + info hash(20) + peer id(20).
      this.message = Buffer.allocUnsafe(1 + 19 + 48);
      this.messageFill = 0;
    }
    pos = this.fillMessage(chunk, pos, end);
    if (this.messageFill === this.message.length) this.flushMessage();
    return pos;
  }

  private readHeader(chunk: Uint8Array, pos: number, end: number): number {
    const h = this.header;
    while (pos < end && this.headerFill < 4) h[this.headerFill++] = chunk[pos++]!;
    if (this.headerFill < 4) return pos;
    const length = h.readUInt32BE(0);
    if (length === 0) {
      this.headerFill = 0;
      this.emit(Buffer.alloc(4)); // keep-alive: the Wire resets its idle timers
      return pos;
    }
    if (length > this.maxMessageLength) {
      // Stop, but first forward the messages before it (at the end of this push).
      this.state = STOPPED;
      this.violation = `message length ${length} exceeds ${this.maxMessageLength}`;
      return end;
    }
    if (this.headerFill === 4) {
      if (pos === end) return pos;
      h[this.headerFill++] = chunk[pos++]!;
    }
    const isBlock = h[4] === 7 && length > 9 && length - 9 <= this.maxBlockLength;
    if (!isBlock) return this.startMessage(length, pos);
    while (pos < end && this.headerFill < PIECE_HEADER) h[this.headerFill++] = chunk[pos++]!;
    if (this.headerFill < PIECE_HEADER) return pos;
    this.state = BLOCK;
    this.blockLength = length - 9;
    this.blockFill = 0;
    return pos;
  }

  private startMessage(length: number, pos: number): number {
    this.message = Buffer.allocUnsafe(4 + length);
    this.header.copy(this.message, 0, 0, this.headerFill);
    this.messageFill = this.headerFill;
    this.headerFill = 0;
    this.state = MESSAGE;
    // choke, unchoke, interested, ...: the header was the whole message.
    if (this.messageFill === this.message.length) this.flushMessage();
    return pos;
  }

  private readMessage(chunk: Uint8Array, pos: number, end: number): number {
    pos = this.fillMessage(chunk, pos, end);
    if (this.messageFill === this.message!.length) this.flushMessage();
    return pos;
  }

  private fillMessage(chunk: Uint8Array, pos: number, end: number): number {
    const message = this.message!;
    const n = Math.min(end - pos, message.length - this.messageFill);
    message.set(chunk.subarray(pos, pos + n), this.messageFill);
    this.messageFill += n;
    return pos + n;
  }

  private flushMessage(): void {
    const message = this.message!;
    this.message = null;
    this.state = HEADER;
    this.emit(message);
  }

  private readBlock(chunk: Uint8Array, pos: number, end: number): number {
    const need = this.blockLength - this.blockFill;
    if (this.blockFill === 0 && end - pos >= need) {
      // The common case (a 64 KiB read holds several 16 KiB blocks): no copy at all here.
      this.deliver(chunk.subarray(pos, pos + need));
      return pos + need;
    }
    this.stage ??= new Uint8Array(this.maxBlockLength);
    const n = Math.min(need, end - pos);
    this.stage.set(chunk.subarray(pos, pos + n), this.blockFill);
    this.blockFill += n;
    if (this.blockFill === this.blockLength) this.deliver(this.stage.subarray(0, this.blockLength));
    return pos + n;
  }

  private deliver(data: Uint8Array): void {
    const h = this.header;
    this.headerFill = 0;
    this.state = HEADER;
    if (this.sink.block(h.readUInt32BE(5), h.readUInt32BE(9), data)) return;
    const message = Buffer.allocUnsafe(PIECE_HEADER + data.length);
    h.copy(message, 0, 0, PIECE_HEADER);
    message.set(data, PIECE_HEADER);
    this.emit(message);
  }
}
