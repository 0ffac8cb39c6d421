import { describe, expect, it } from '@jest/globals';
import { BatchQueue } from '@distributor/tracker';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('BatchQueue', () => {
  it('runs a full batch at once and a partial one after the delay', async () => {
    const runs: number[][] = [];
    const queue = new BatchQueue<number>((items) => runs.push([...items]), 3, 20);
    queue.add(1);
    queue.add(2);
    expect(runs).toEqual([]);
    queue.add(3);
    expect(runs).toEqual([[1, 2, 3]]);
    queue.add(4);
    expect(runs).toEqual([[1, 2, 3]]);
    await sleep(60);
    expect(runs).toEqual([[1, 2, 3], [4]]);
  });

  it('puts what is added during a run into the next batch, never a nested one', async () => {
    const runs: number[][] = [];
    const queue = new BatchQueue<number>(
      (items) => {
        runs.push([...items]);
        if (items[0] === 1) for (const n of [5, 6, 7]) queue.add(n);
      },
      2,
      10,
    );
    queue.add(1);
    queue.add(2);
    expect(runs).toEqual([[1, 2]]);
    await sleep(50);
    expect(runs).toEqual([
      [1, 2],
      [5, 6, 7],
    ]);
  });

  it('keeps going after a run that throws', async () => {
    const runs: number[][] = [];
    const queue = new BatchQueue<number>(
      (items) => {
        runs.push([...items]);
        if (items[0] === 1) {
          queue.add(3);
          throw new Error('boom');
        }
      },
      2,
      10,
    );
    queue.add(1);
    expect(() => queue.add(2)).toThrow('boom');
    await sleep(50);
    expect(runs).toEqual([[1, 2], [3]]);
  });

  it('drops what waits on clear, and checks its limits', async () => {
    const runs: number[][] = [];
    const queue = new BatchQueue<number>((items) => runs.push([...items]), 5, 10);
    queue.add(1);
    queue.clear();
    await sleep(40);
    expect(runs).toEqual([]);
    expect(() => new BatchQueue(() => undefined, 0, 1)).toThrow(RangeError);
    expect(() => new BatchQueue(() => undefined, 1, -1)).toThrow(RangeError);
  });
});
