import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MessageFramer } from '@distributor/core';

const MAX = 1024 * 1024 + 16;
const HANDSHAKE = Buffer.concat([
  Buffer.from([19]),
  Buffer.from('BitTorrent protocol'),
  Buffer.alloc(8),
  Buffer.alloc(20, 0xaa),
  Buffer.alloc(20, 0xbb),
]);

type Event =
  | { kind: 'forward'; bytes: Buffer }
  | { kind: 'block'; index: number; offset: number; data: Buffer }
  | { kind: 'violation'; reason: string };

/**
 * Feeds `stream` split at `cuts` through one reused buffer that is scribbled over after each
 * push, as a socket `onread` buffer is: anything the framer kept a reference to would show up
 * as 0xEE in the recorded events.
 */
function run(
  stream: Buffer,
  cuts: number[],
  accept: (index: number) => boolean = () => true,
  maxMessageLength = MAX,
): Event[] {
  const events: Event[] = [];
  const framer = new MessageFramer(
    {
      forward: (bytes) => events.push({ kind: 'forward', bytes }),
      block: (index, offset, data) => {
        if (!accept(index)) return false;
        events.push({ kind: 'block', index, offset, data: Buffer.from(data) });
        return true;
      },
      violation: (reason) => events.push({ kind: 'violation', reason }),
    },
    { maxMessageLength },
  );
  const reused = Buffer.alloc(stream.length + 7);
  const points = [...new Set([0, ...cuts.map((c) => c % (stream.length + 1)), stream.length])];
  points.sort((a, b) => a - b);
  for (let i = 1; i < points.length; i++) {
    const part = stream.subarray(points[i - 1], points[i]);
    // Offset the data inside the reused buffer, as a subarray of a bigger read would be.
    const at = i % 7;
    part.copy(reused, at);
    framer.push(reused, at, at + part.length);
    reused.fill(0xee);
  }
  return events;
}

/**
 * What the Wire got (forwards are batched per push, so their boundaries vary), and the blocks
 * in order, one line each: deep equality on many 16 KiB buffers is slow in Jest.
 */
function summary(events: Event[]): { wire: string; blocks: string[]; violations: string[] } {
  const wire: Buffer[] = [];
  const blocks: string[] = [];
  const violations: string[] = [];
  for (const e of events) {
    if (e.kind === 'forward') wire.push(e.bytes);
    else if (e.kind === 'block') blocks.push(`${e.index} ${e.offset} ${e.data.toString('base64')}`);
    else violations.push(e.reason);
  }
  return { wire: Buffer.concat(wire).toString('base64'), blocks, violations };
}

function message(id: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(1 + payload.length, 0);
  header[4] = id;
  return Buffer.concat([header, payload]);
}

function piece(index: number, offset: number, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(index, 0);
  head.writeUInt32BE(offset, 4);
  return message(7, Buffer.concat([head, data]));
}

const KEEP_ALIVE = Buffer.alloc(4);

/** A message a peer may send, and what the framer should turn it into. */
const anyMessage = fc.oneof(
  fc.constant({ bytes: KEEP_ALIVE, block: null as null | { index: number; offset: number } }),
  fc
    .record({
      id: fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 8, 9, 20),
      payload: fc.uint8Array({ maxLength: 300 }),
    })
    .map(({ id, payload }) => ({ bytes: message(id, payload), block: null })),
  fc
    .record({
      index: fc.nat({ max: 4000 }),
      offset: fc.nat({ max: 1 << 20 }),
      length: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom(16 * 1024, 16 * 1024 - 1)),
      seed: fc.integer({ min: 0, max: 255 }),
    })
    .map(({ index, offset, length, seed }) => {
      const data = Buffer.alloc(length);
      for (let i = 0; i < length; i++) data[i] = (seed + i * 31) & 0xff;
      return { bytes: piece(index, offset, data), block: { index, offset } };
    }),
  // Longer than a block: not the framer's business, the Wire gets it.
  fc
    .integer({ min: 16 * 1024 + 1, max: 20 * 1024 })
    .map((length) => ({ bytes: piece(1, 0, Buffer.alloc(length, 3)), block: null })),
);

describe('MessageFramer', () => {
  it('delivers blocks and forwards every other message whole, however the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.array(anyMessage, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.boolean(),
        (messages, cuts, declineOdd) => {
          const stream = Buffer.concat([HANDSHAKE, ...messages.map((m) => m.bytes)]);
          const accept = (index: number) => !declineOdd || index % 2 === 0;
          const expected: Event[] = [{ kind: 'forward', bytes: HANDSHAKE }];
          for (const m of messages) {
            if (m.block && accept(m.block.index)) {
              expected.push({ kind: 'block', ...m.block, data: m.bytes.subarray(13) });
            } else {
              expected.push({ kind: 'forward', bytes: m.bytes });
            }
          }
          expect(summary(run(stream, cuts, accept))).toEqual(summary(expected));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('parses a stream fed one byte at a time', () => {
    const block = Buffer.alloc(16 * 1024, 9);
    const stream = Buffer.concat([
      HANDSHAKE,
      KEEP_ALIVE,
      message(4, Buffer.alloc(4)),
      piece(2, 16384, block),
    ]);
    const cuts = Array.from({ length: stream.length }, (_, i) => i);
    expect(summary(run(stream, cuts))).toEqual(
      summary([
        { kind: 'forward', bytes: HANDSHAKE },
        { kind: 'forward', bytes: KEEP_ALIVE },
        { kind: 'forward', bytes: message(4, Buffer.alloc(4)) },
        { kind: 'block', index: 2, offset: 16384, data: block },
      ]),
    );
  });

  it('reports an announced length over the bound once and stops', () => {
    const tooLong = Buffer.alloc(4);
    tooLong.writeUInt32BE(MAX + 1, 0);
    const stream = Buffer.concat([
      HANDSHAKE,
      message(1, Buffer.alloc(0)),
      tooLong,
      piece(0, 0, Buffer.alloc(10)),
    ]);
    for (const cuts of [[70, 73, 75], [], [68, 69, 70, 71, 72, 73, 74, 75, 76]]) {
      expect(summary(run(stream, cuts))).toEqual(
        summary([
          { kind: 'forward', bytes: HANDSHAKE },
          { kind: 'forward', bytes: message(1, Buffer.alloc(0)) },
          { kind: 'violation', reason: `message length ${MAX + 1} exceeds ${MAX}` },
        ]),
      );
    }
  });

  it('forwards nothing more once the sink stops it from inside a block', () => {
    const forwarded: Buffer[] = [];
    let blocks = 0;
    const framer: MessageFramer = new MessageFramer(
      {
        forward: (bytes) => forwarded.push(bytes),
        block: () => {
          blocks++;
          framer.stop(); // as WireTransport.destroy() does when the engine bans the peer
          return false;
        },
        violation: () => {
          throw new Error('no violation expected');
        },
      },
      { maxMessageLength: MAX },
    );
    framer.push(HANDSHAKE);
    framer.push(
      Buffer.concat([
        message(4, Buffer.alloc(4)),
        piece(0, 0, Buffer.alloc(100)),
        piece(0, 100, Buffer.alloc(100)),
      ]),
    );
    expect(blocks).toBe(1);
    expect(forwarded).toEqual([HANDSHAKE]);
  });

  it('hands a stream that is not BitTorrent to the Wire as it is', () => {
    const stream = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const events = run(stream, [3, 10]);
    expect(events.every((e) => e.kind === 'forward')).toBe(true);
    expect(
      Buffer.concat(events.map((e) => (e.kind === 'forward' ? e.bytes : Buffer.alloc(0)))),
    ).toEqual(stream);
  });

  it('survives garbage after the handshake: never throws, never invents bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (garbage, cuts) => {
          const events = run(Buffer.concat([HANDSHAKE, garbage]), cuts, () => true, 2048);
          let bytes = 0;
          let violations = 0;
          for (const e of events) {
            if (e.kind === 'forward') bytes += e.bytes.length;
            else if (e.kind === 'block') bytes += 13 + e.data.length;
            else violations++;
          }
          expect(bytes).toBeLessThanOrEqual(HANDSHAKE.length + garbage.length);
          expect(violations).toBeLessThanOrEqual(1);
          // Nothing after a violation but the flush of what came before it in the same push.
          const after = events.slice(events.findIndex((e) => e.kind === 'violation') + 1);
          if (violations === 1) expect(after.filter((e) => e.kind !== 'forward')).toEqual([]);
          if (violations === 1) expect(after.length).toBeLessThanOrEqual(1);
          // A forwarded message never exceeds what the Wire may be asked to buffer.
          for (const e of events)
            if (e.kind === 'forward') expect(e.bytes.length).toBeLessThanOrEqual(2048 + 4);
        },
      ),
      { numRuns: 300 },
    );
  });
});
