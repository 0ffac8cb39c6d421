import { describe, expect, it } from '@jest/globals';
import { PipelineDepthPolicy } from '@distributor/client';

describe('PipelineDepthPolicy', () => {
  const policy = new PipelineDepthPolicy();

  it('starts new peers at 64 outstanding blocks', () => {
    expect(policy.depth(0, false)).toBe(64);
  });

  it('keeps at least 64 blocks for a fast peer and grows with its rate, up to the cap', () => {
    expect(policy.depth(10 * 1024 * 1024, true)).toBeGreaterThanOrEqual(64);
    expect(policy.depth(100 * 1024 * 1024, true)).toBeGreaterThan(policy.depth(10e6, true));
    expect(policy.depth(10 * 1024 * 1024 * 1024, true)).toBe(512);
  });

  it('shrinks the queue of a slow peer, but never below the minimum', () => {
    expect(policy.depth(64 * 1024, true)).toBe(8);
    expect(policy.depth(0, true)).toBe(8);
    expect(policy.depth(1024 * 1024, true)).toBe(32);
  });
});
