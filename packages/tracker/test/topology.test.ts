import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeDict, getBytes } from '@distributor/core';
import {
  CidrMap,
  ConfigError,
  PEER4_RECORD,
  TopologyFileError,
  TopologyHandoutPolicy,
  ipBytes,
  locationProblem,
  resolveConfig,
  startTracker,
  type PeerSample,
  type Tracker,
} from '@distributor/tracker';
import { announcePath, request, tempDir } from './helpers.js';

/** A sample of IPv4 candidates 10.0.0.N with the given locations. */
function candidates(locations: string[]): PeerSample {
  const v4 = Buffer.alloc(locations.length * PEER4_RECORD);
  locations.forEach((_, i) => v4.set([10, 0, 0, i + 1], i * PEER4_RECORD));
  return { v4, v6: Buffer.alloc(0), locations4: locations, locations6: [] };
}

/** Locations of the handed-out peers, looked up by their last address byte. */
function pickedLocations(out: PeerSample, locations: string[]): string[] {
  const picked: string[] = [];
  for (let o = 0; o < out.v4.length; o += PEER4_RECORD) picked.push(locations[out.v4[o + 3]! - 1]!);
  return picked;
}

const address = Buffer.from([10, 9, 9, 9, 0x1a, 0xe1]);

describe('TopologyHandoutPolicy', () => {
  const policy = new TopologyHandoutPolicy({ farShare: 0.2 });

  it('draws a larger sample when it knows where the asker is, capped', () => {
    expect(policy.sampleRequest({ address, seed: false, numwant: 10, location: 'z/r' })).toEqual({
      count: 40,
      leechersOnly: false,
    });
    expect(policy.sampleRequest({ address, seed: true, numwant: 200, location: 'z/r' }).count).toBe(
      400,
    );
    expect(policy.sampleRequest({ address, seed: false, numwant: 10 }).count).toBe(10);
  });

  it('prefers the rack, mixing in a far share from other racks', () => {
    const locations = [
      ...Array<string>(20).fill('z1/r1'),
      ...Array<string>(10).fill('z1/r2'),
      ...Array<string>(10).fill('z2/r9'),
    ];
    for (let round = 0; round < 20; round++) {
      const out = policy.select(candidates(locations), {
        address,
        seed: false,
        numwant: 10,
        location: 'z1/r1',
      });
      const picked = pickedLocations(out, locations);
      expect(picked).toHaveLength(10);
      expect(picked.filter((l) => l === 'z1/r1')).toHaveLength(8);
      expect(picked.filter((l) => l !== 'z1/r1')).toHaveLength(2);
    }
  });

  it('hands a small rack all its peers plus a few far ones, not numwant far peers', () => {
    const locations = [...Array<string>(5).fill('z/r1'), ...Array<string>(6).fill('z/r2')];
    const far = (random: number) => {
      const rounding = new TopologyHandoutPolicy({ farShare: 0.2, random: () => random });
      const out = rounding.select(candidates(locations), {
        address,
        seed: false,
        numwant: 50,
        location: 'z/r1',
      });
      const picked = pickedLocations(out, locations);
      expect(picked.filter((l) => l === 'z/r1')).toHaveLength(5);
      return picked.filter((l) => l === 'z/r2').length;
    };
    // 5 near peers are 80 % of the handout, so 1.25 far peers make the 20 %: rounded at
    // random, 1 three times in four and 2 otherwise.
    expect(far(0)).toBe(1);
    expect(far(0.74)).toBe(1);
    expect(far(0.76)).toBe(2);
  });

  it('falls back to the same zone, then to the rest, when the rack is empty', () => {
    const locations = ['z1/r2', 'z1/r2', 'z2/r1', '', 'z2/r3'];
    const out = policy.select(candidates(locations), {
      address,
      seed: false,
      numwant: 50,
      location: 'z1/r1',
    });
    const picked = pickedLocations(out, locations);
    expect(picked.slice(0, 2)).toEqual(['z1/r2', 'z1/r2']);
    expect(picked.length).toBeGreaterThan(2);
    expect(picked.length).toBeLessThan(5);
  });

  it('always mixes in at least one far peer, even with a small numwant', () => {
    const locations = [...Array<string>(30).fill('z/r1'), 'z/r2'];
    for (let round = 0; round < 10; round++) {
      const out = policy.select(candidates(locations), {
        address,
        seed: false,
        numwant: 3,
        location: 'z/r1',
      });
      expect(pickedLocations(out, locations)).toContain('z/r2');
    }
  });

  it('hands an asker of unknown location numwant peers regardless of where they are', () => {
    const locations = Array.from({ length: 12 }, (_, i) => `z/r${i % 3}`);
    const out = policy.select(candidates(locations), { address, seed: false, numwant: 7 });
    expect(out.v4.length).toBe(7 * PEER4_RECORD);
  });

  it('with a far share of 0, keeps a rack to itself', () => {
    const strict = new TopologyHandoutPolicy({ farShare: 0 });
    const locations = ['z/r1', 'z/r1', 'z/r2'];
    const out = strict.select(candidates(locations), {
      address,
      seed: false,
      numwant: 10,
      location: 'z/r1',
    });
    expect(pickedLocations(out, locations)).toEqual(['z/r1', 'z/r1']);
    expect(() => new TopologyHandoutPolicy({ farShare: 1 })).toThrow(RangeError);
  });
});

describe('CidrMap (--topology file)', () => {
  const map = CidrMap.parse(
    [
      '# zone/rack by subnet',
      '198.18.1.0/24   zone-a/rack-1',
      '198.18.1.128/25 zone-a/rack-1b   # carved out of rack-1',
      '198.18.2.0/23   zone-b/rack-2',
      '',
      '2001:db8:3::/48 zone-c/rack-7',
      '10.1.2.3        zone-d/single',
    ].join('\n'),
  );

  it('finds the longest matching prefix', () => {
    expect(map.size).toBe(5);
    expect(map.lookup(ipBytes('198.18.1.5')!)).toBe('zone-a/rack-1');
    expect(map.lookup(ipBytes('198.18.1.200')!)).toBe('zone-a/rack-1b');
    expect(map.lookup(ipBytes('198.18.3.255')!)).toBe('zone-b/rack-2');
    expect(map.lookup(ipBytes('198.18.4.1')!)).toBeUndefined();
    expect(map.lookup(ipBytes('2001:db8:3:ffff::1')!)).toBe('zone-c/rack-7');
    expect(map.lookup(ipBytes('2001:db8:4::1')!)).toBeUndefined();
    expect(map.lookup(ipBytes('10.1.2.3')!)).toBe('zone-d/single');
    expect(map.lookup(ipBytes('10.1.2.4')!)).toBeUndefined();
  });

  it('names the line and the problem in a bad file', () => {
    expect(() => CidrMap.parse('198.18.1.0/24')).toThrow(/line 1: expected "CIDR ZONE\/RACK"/);
    expect(() => CidrMap.parse('\n198.18.1.0/33 z/r')).toThrow(/line 2: prefix length/);
    expect(() => CidrMap.parse('nonsense/8 z/r')).toThrow(TopologyFileError);
    expect(() => CidrMap.parse('10.0.0.0/8 rack-without-zone')).toThrow(/ZONE\/RACK/);
  });

  it('validates locations', () => {
    expect(locationProblem('zone-a/rack-1')).toBeUndefined();
    expect(locationProblem('a/b/c')).toMatch(/ZONE\/RACK/);
    expect(locationProblem('zone a/rack')).toMatch(/ZONE\/RACK/);
  });
});

describe('tracker with --handout topology', () => {
  let tracker: Tracker;
  const files = tempDir();
  const hash = 'ef'.repeat(20);

  beforeAll(async () => {
    const topologyFile = join(files.dir, 'topology.txt');
    writeFileSync(topologyFile, '127.0.0.0/30 dc1/rack-a\n127.0.1.0/24 dc1/rack-b\n');
    tracker = await startTracker({
      host: '127.0.0.1',
      port: 0,
      open: true,
      logLevel: 'silent',
      handout: 'topology',
      handoutFarShare: 0.2,
      topology: topologyFile,
    });
  });
  afterAll(async () => {
    await tracker.close();
    files.cleanup();
  });

  async function announce(peer: number, from: string, extra?: string): Promise<string[]> {
    const res = await request(
      tracker.url,
      announcePath({ infoHash: hash, peer, port: 7000 + peer, event: 'started', extra }),
      { localAddress: from },
    );
    const dict = decodeDict(res.body);
    const failure = getBytes(dict, 'failure reason');
    if (failure) throw new Error(Buffer.from(failure).toString());
    const peers = Buffer.from(getBytes(dict, 'peers')!);
    const out: string[] = [];
    for (let o = 0; o < peers.length; o += 6) out.push(`${peers[o + 2]}.${peers[o + 3]}`);
    return out.sort();
  }

  it('locates peers from location= or the topology file, and hands out the rack first', async () => {
    // rack-a by the topology file: 127.0.0.1 and 127.0.0.2.
    await announce(1, '127.0.0.1');
    await announce(2, '127.0.0.2');
    // rack-b by the topology file, and three more that say so themselves.
    await announce(3, '127.0.1.1');
    for (const n of [4, 5, 6]) await announce(n, `127.0.2.${n}`, 'location=dc1%2Frack-b');
    // 127.0.0.3 is in rack-a by the file; it is handed its 2 rack peers and one far peer
    // (a 20 % share of 3 rounds to at most one, and at least one is always mixed in).
    const picked = await announce(7, '127.0.0.3');
    expect(picked).toHaveLength(3);
    expect(picked.filter((p) => p === '0.1' || p === '0.2')).toHaveLength(2);
    // A rack-b peer (by its own location=) gets all four rack-b peers first.
    const b = await announce(8, '127.0.2.8', 'location=dc1%2Frack-b');
    expect(b.filter((p) => p === '1.1' || p.startsWith('2.'))).toHaveLength(4);
    expect(b.length).toBeLessThan(7);
  });

  it('answers a malformed location with a failure reason', async () => {
    await expect(announce(9, '127.0.0.1', 'location=no-rack')).rejects.toThrow(
      /location must be ZONE\/RACK/,
    );
  });

  it('rejects bad handout settings and unreadable topology files at startup', async () => {
    expect(() => resolveConfig({ handout: 'nearest' as never })).toThrow(ConfigError);
    expect(() => resolveConfig({ handoutFarShare: 0.95 })).toThrow(/far-share/);
    await expect(
      startTracker({ port: 0, logLevel: 'silent', topology: join(files.dir, 'missing') }),
    ).rejects.toThrow(/cannot read --topology/);
  });
});
