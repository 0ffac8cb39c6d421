import { describe, expect, it } from '@jest/globals';
import {
  decode,
  decodeCompactPeers4,
  encodeCompactPeers4,
  encodeCompactPeers6,
  parseAnnounceResponse,
  parseScrapeResponse,
  TrackerFailureError,
} from '@distributor/core';
import {
  PEER4_RECORD,
  PEER6_RECORD,
  compactAddress,
  encodeCompactAnnounce,
  encodeDictAnnounce,
  encodeFailure,
  encodeScrape,
  ipBytes,
} from '@distributor/tracker';
import { peerId } from './helpers.js';

function records4(peers: { ip: string; port: number; id: number }[]): Buffer {
  return Buffer.concat(peers.map((p) => Buffer.concat([encodeCompactPeers4([p]), peerId(p.id)])));
}

describe('compact addresses', () => {
  it('encodes IPv4, IPv4-mapped IPv6 and IPv6 like core does', () => {
    expect(compactAddress(ipBytes('10.1.2.3')!, 6881)).toEqual(
      encodeCompactPeers4([{ ip: '10.1.2.3', port: 6881 }]),
    );
    expect(compactAddress(ipBytes('::ffff:10.1.2.3')!, 80)).toEqual(
      encodeCompactPeers4([{ ip: '10.1.2.3', port: 80 }]),
    );
    expect(compactAddress(ipBytes('fd00::1')!, 443)).toEqual(
      encodeCompactPeers6([{ ip: 'fd00::1', port: 443 }]),
    );
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.256',
      '1.2.3.4.5',
      'host.example',
      '01234.1.1.1',
      '::g',
    ]) {
      expect(ipBytes(bad)).toBeNull();
    }
  });
});

describe('announce replies', () => {
  const peers4 = [
    { ip: '10.0.0.1', port: 6881, id: 1 },
    { ip: '192.168.255.254', port: 65535, id: 2 },
  ];
  const v6 = Buffer.concat([encodeCompactPeers6([{ ip: 'fd00::2', port: 7000 }]), peerId(3)]);
  const reply = {
    complete: 3,
    incomplete: 7,
    downloaded: 11,
    interval: 31,
    minInterval: 15,
    peers: { v4: records4(peers4), v6 },
  };

  it('compact form decodes with core to the same peers, counts and intervals', () => {
    const body = encodeCompactAnnounce(reply);
    expect(() => decode(body)).not.toThrow(); // strict: canonical, sorted keys
    const parsed = parseAnnounceResponse(body);
    expect(parsed).toMatchObject({ interval: 31, minInterval: 15, complete: 3, incomplete: 7 });
    expect(parsed.peers).toEqual([
      { ip: '10.0.0.1', port: 6881 },
      { ip: '192.168.255.254', port: 65535 },
      { ip: 'fd00::2', port: 7000 },
    ]);
  });

  it('compact form with no peers has an empty peers string and no peers6', () => {
    const body = encodeCompactAnnounce({
      ...reply,
      peers: { v4: Buffer.alloc(0), v6: Buffer.alloc(0) },
    });
    expect(body.toString('latin1')).toContain('5:peers0:e');
    expect(body.toString('latin1')).not.toContain('peers6');
    expect(decodeCompactPeers4((decode(body) as Record<string, Uint8Array>)['peers']!)).toEqual([]);
  });

  it('dictionary form carries peer ids unless no_peer_id', () => {
    const withIds = parseAnnounceResponse(encodeDictAnnounce(reply, false));
    expect(withIds.peers.map((p) => p.peerId)).toEqual([
      peerId(1).toString('hex'),
      peerId(2).toString('hex'),
      peerId(3).toString('hex'),
    ]);
    expect(withIds.peers[2]).toMatchObject({ ip: 'fd00::2', port: 7000 });
    const bare = parseAnnounceResponse(encodeDictAnnounce(reply, true));
    expect(bare.peers.every((p) => p.peerId === undefined)).toBe(true);
    expect(bare.peers).toHaveLength(3);
    expect(reply.peers.v4.length).toBe(2 * PEER4_RECORD);
    expect(reply.peers.v6.length).toBe(PEER6_RECORD);
  });

  it('failure replies decode as a failure reason, including non-ASCII text', () => {
    expect(() => parseAnnounceResponse(encodeFailure('nope: café'))).toThrow(
      new TrackerFailureError('nope: café'),
    );
  });
});

describe('scrape replies', () => {
  it('encodes raw-hash keys in sorted order that core parses back', () => {
    const stats = new Map([
      ['ff'.repeat(20), { complete: 1, incomplete: 2, downloaded: 3 }],
      ['00'.repeat(20), { complete: 4, incomplete: 5, downloaded: 6 }],
    ]);
    const body = encodeScrape(stats);
    expect(() => decode(body)).not.toThrow();
    const parsed = parseScrapeResponse(body);
    expect(parsed.get('ff'.repeat(20))).toEqual({ complete: 1, incomplete: 2, downloaded: 3 });
    expect(parsed.get('00'.repeat(20))).toEqual({ complete: 4, incomplete: 5, downloaded: 6 });
    expect(encodeScrape(new Map()).toString()).toBe('d5:filesdee');
  });
});
