import { describe, expect, it } from '@jest/globals';
import { Announcer } from '@distributor/client';
import type { Clock } from '@distributor/client';
import type { AnnounceResponse } from '@distributor/core';

/** A clock whose timers fire only when the test advances time. */
class ManualClock implements Clock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.nextId++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (id: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== id);
  };
  async advance(ms: number) {
    const end = this.t + ms;
    for (let guard = 0; guard < 1000; guard++) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      for (let k = 0; k < 10; k++) await Promise.resolve();
    }
    this.t = end;
  }
  get pending() {
    return this.timers.length;
  }
}

function setup(opts: { peers: () => number; interval?: number; minInterval?: number }) {
  const clock = new ManualClock();
  const sent: { event?: string; at: number; numwant?: number }[] = [];
  const found: number[] = [];
  const errors: string[] = [];
  let fail = false;
  const announcer = new Announcer({
    clock,
    send: async (params) => {
      sent.push({ event: params.event, at: clock.now(), numwant: params.numwant });
      if (fail) throw new Error('tracker down');
      const res: AnnounceResponse = {
        interval: opts.interval ?? 300,
        peers: [{ ip: '10.0.0.2', port: 6881 }],
      };
      if (opts.minInterval !== undefined) res.minInterval = opts.minInterval;
      return res;
    },
    stats: () => ({ uploaded: 0, downloaded: 0, left: 100 }),
    connectedPeers: opts.peers,
    onPeers: (p) => found.push(p.length),
    onError: (err) => errors.push(err.message),
  });
  return { clock, sent, found, errors, announcer, setFail: (f: boolean) => (fail = f) };
}

describe('Announcer', () => {
  it('announces started, then at the tracker interval when it has enough peers', async () => {
    const { clock, sent, found, announcer } = setup({ peers: () => 10, interval: 300 });
    await announcer.start();
    expect(sent).toEqual([{ event: 'started', at: 0, numwant: undefined }]);
    expect(found).toEqual([1]);
    await clock.advance(299_000);
    expect(sent).toHaveLength(1);
    await clock.advance(1_000);
    expect(sent.map((s) => [s.event, s.at])).toEqual([
      ['started', 0],
      ['empty', 300_000],
    ]);
  });

  it('re-announces early with doubling delays while it has few peers', async () => {
    const { clock, sent, announcer } = setup({ peers: () => 1, interval: 300 });
    await announcer.start();
    await clock.advance(60_000);
    expect(sent.map((s) => s.at)).toEqual([0, 5_000, 15_000, 35_000]);
  });

  it('never re-announces more often than min interval', async () => {
    const { clock, sent, announcer } = setup({ peers: () => 0, interval: 300, minInterval: 20 });
    await announcer.start();
    await clock.advance(41_000);
    expect(sent.map((s) => s.at)).toEqual([0, 20_000, 40_000]);
  });

  it('sends completed and stopped, and stops its timer', async () => {
    const { clock, sent, announcer } = setup({ peers: () => 10 });
    await announcer.start();
    await announcer.completed();
    await announcer.stop();
    expect(sent.map((s) => s.event)).toEqual(['started', 'completed', 'stopped']);
    expect(sent[2]!.numwant).toBe(0);
    expect(clock.pending).toBe(0);
    await clock.advance(1_000_000);
    expect(sent).toHaveLength(3);
  });

  it('rejects a failed start, and survives failed periodic announces', async () => {
    const { clock, sent, errors, announcer, setFail } = setup({ peers: () => 10, interval: 10 });
    setFail(true);
    await expect(announcer.start()).rejects.toThrow('tracker down');
    setFail(false);
    await announcer.start();
    setFail(true);
    await clock.advance(10_000);
    expect(errors).toEqual(['tracker down']);
    setFail(false);
    await clock.advance(10_000);
    expect(sent.length).toBe(4);
  });
});
