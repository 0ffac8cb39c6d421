import { describe, expect, it } from '@jest/globals';
import { PeerTable } from '@distributor/tracker';
import type { PeerRow } from '@distributor/tracker';

function row(n: number, v6 = false): PeerRow {
  const address = v6 ? Buffer.alloc(18, n) : Buffer.from([10, 0, 0, n, 0x1a, 0xe1]);
  return {
    key: `peer-${n}`,
    address,
    location: n % 2 ? `dc1/rack${n}` : null,
    left: n % 3 ? n * 1000 : null,
    uploaded: n * 10,
    downloaded: n * 20,
    rate: n * 1.5,
    rateReported: n % 2 === 0,
    firstSeenAt: 1_000 + n,
    lastAnnounceAt: 2_000 + n,
    lastProgressAt: 3_000 + n,
  };
}

describe('PeerTable', () => {
  it('keeps every field of every row across growth and removals', () => {
    const table = new PeerTable();
    for (let n = 1; n <= 40; n++) table.add(row(n, n % 5 === 0));
    for (const n of [1, 17, 40, 23]) expect(table.remove(`peer-${n}`)).toBe(true);
    expect(table.remove('peer-1')).toBe(false);
    expect(table.size).toBe(36);
    for (let n = 1; n <= 40; n++) {
      const slot = table.slotOf(`peer-${n}`);
      if ([1, 17, 40, 23].includes(n)) {
        expect(slot).toBeUndefined();
        continue;
      }
      expect(table.read(slot!)).toEqual({ ...row(n, n % 5 === 0), address: expect.anything() });
      expect(Buffer.from(table.read(slot!).address)).toEqual(row(n, n % 5 === 0).address);
    }
  });

  it('overwrites what an announce changes and keeps the first sighting', () => {
    const table = new PeerTable();
    const slot = table.add(row(3));
    table.write(slot, { ...row(4), address: Buffer.from([192, 168, 1, 2, 0, 80]) });
    const got = table.read(slot);
    expect(got.key).toBe('peer-3');
    expect(got.firstSeenAt).toBe(1_003);
    expect(got.lastAnnounceAt).toBe(2_004);
    expect(got.left).toBe(4_000);
    expect(Buffer.from(got.address)).toEqual(Buffer.from([192, 168, 1, 2, 0, 80]));
  });

  it('removes the machines silent since a cutoff, and lists the rest newest first', () => {
    const table = new PeerTable();
    for (let n = 1; n <= 10; n++) table.add(row(n));
    expect(table.removeSilentSince(2_004)).toBe(4);
    expect(table.slotsByRecency().map((s) => table.read(s).key)).toEqual(
      [10, 9, 8, 7, 6, 5].map((n) => `peer-${n}`),
    );
  });
});
