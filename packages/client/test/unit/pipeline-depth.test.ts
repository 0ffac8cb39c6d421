import { describe, expect, it } from '@jest/globals';
import { PipelineDepthPolicy } from '@distributor/client';

describe('PipelineDepthPolicy', () => {
  const policy = new PipelineDepthPolicy();

  it('starts new peers at 4 outstanding blocks, more as soon as one proves fast', () => {
    expect(policy.depth(0, false)).toBe(4);
    // One of 16 connections into a 20 Mbit/s downlink: about one 64 KiB piece, not four.
    expect(policy.depth(150_000, false)).toBe(5);
    // Its rate counts over at least a quarter second: four blocks back in the first round trip
    // make eight, so a fast peer's depth grows with every round trip.
    expect(policy.depth((4 * 16 * 1024) / 0.25, false)).toBe(8);
    expect(policy.depth(100 * 1024 * 1024, false)).toBe(512);
    // A new peer's rate so far counts over twice the horizon: 8 MiB/s is 256 blocks, then 128.
    expect(policy.depth(8 * 1024 * 1024, false)).toBe(256);
    expect(policy.depth(8 * 1024 * 1024, true)).toBe(128);
  });

  it('gives a fast peer at least 64 blocks and grows with its rate, up to the cap', () => {
    expect(policy.depth(4 * 1024 * 1024, true)).toBe(64);
    expect(policy.depth(10 * 1024 * 1024, true)).toBeGreaterThanOrEqual(64);
    expect(policy.depth(100 * 1024 * 1024, true)).toBeGreaterThan(policy.depth(10e6, true));
    expect(policy.depth(10 * 1024 * 1024 * 1024, true)).toBe(512);
  });

  it('keeps a quarter of a second of a slow peer, but never fewer than 4 blocks', () => {
    // One of 16 connections into a 20 Mbit/s downlink: ~0.15 MB/s.
    expect(policy.depth(150_000, true)).toBe(4);
    expect(policy.depth(300_000, true)).toBe(5);
    expect(policy.depth(0, true)).toBe(4);
    expect(policy.depth(1024 * 1024, true)).toBe(16);
  });

  it('takes its limits from the options', () => {
    const custom = new PipelineDepthPolicy({ initial: 64, min: 8, max: 100, horizonSec: 1 });
    expect(custom.depth(0, false)).toBe(64);
    expect(custom.depth(0, true)).toBe(8);
    expect(custom.depth(1024 * 1024, true)).toBe(64);
    expect(custom.depth(1024 * 1024 * 1024, true)).toBe(100);
  });
});
