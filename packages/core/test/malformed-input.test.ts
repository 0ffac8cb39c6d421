import { describe, expect, it } from '@jest/globals';
import { DistError, decode, parseMetainfo } from '@distributor/core';
import { malformedCorpus } from './malformed-corpus.js';

const corpus = malformedCorpus();

describe('malformed bencode and torrent corpus', () => {
  it('has at least 50 entries', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(50);
  });

  it.each(corpus)('%s → typed error within 100 ms', async (_name, input) => {
    const started = performance.now();
    let error: unknown;
    try {
      await parseMetainfo(input);
    } catch (err) {
      error = err;
    }
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(DistError);
    expect((error as DistError).code).toMatch(/^E(BENCODE|METAINFO)$/);
    // A guard against pathological decoding (a hang or quadratic blow-up), not a speed claim.
    expect(elapsed).toBeLessThan(100);
  });

  it('decode() alone rejects every input that is not canonical bencode', () => {
    const raw = corpus.filter(
      ([name]) => !/name|piece|pieces|length|info|top level|multi/.test(name),
    );
    for (const [, input] of raw) {
      expect(() => decode(input)).toThrow(DistError);
    }
  });
});
