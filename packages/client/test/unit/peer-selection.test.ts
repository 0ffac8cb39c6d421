import { describe, expect, it } from '@jest/globals';
import { PeerSelectionPolicy, peerKey } from '@distributor/client';

const peers = Array.from({ length: 10 }, (_, i) => ({ ip: '10.0.0.1', port: 7000 + i }));

describe('PeerSelectionPolicy', () => {
  it('returns at most `slots` distinct peers, skipping busy, self and banned ones', () => {
    const policy = new PeerSelectionPolicy({ random: () => 0.5 });
    policy.addSelf(peers[0]!);
    policy.ban(peers[1]!);
    const busy = new Set([peerKey(peers[2]!)]);
    const chosen = policy.select([...peers, ...peers], 20, (k) => busy.has(k));
    const ports = chosen.map((p) => p.port).sort();
    expect(ports).toEqual([7003, 7004, 7005, 7006, 7007, 7008, 7009]);
    expect(policy.select(peers, 3, () => false)).toHaveLength(3);
    expect(policy.select(peers, 0, () => false)).toEqual([]);
  });

  it('skips the listening address of a peer that dialled us, until that connection is gone', () => {
    const policy = new PeerSelectionPolicy({ random: () => 0.5 });
    const ports = () =>
      policy
        .select(peers, 20, () => false)
        .map((p) => p.port)
        .sort();
    policy.incomingFrom(peers[3]!);
    // Two connections claiming one address (one may be lying): both must go before we dial it.
    policy.incomingFrom(peers[5]!);
    policy.incomingFrom(peers[5]!);
    expect(ports()).not.toContain(7003);
    expect(ports()).not.toContain(7005);
    expect(ports()).toHaveLength(8);
    policy.incomingGone(peers[3]!);
    policy.incomingGone(peers[5]!);
    expect(ports()).toContain(7003);
    expect(ports()).not.toContain(7005);
    policy.incomingGone(peers[5]!);
    expect(ports()).toHaveLength(10);
    // Another port on the same host is another peer.
    policy.incomingFrom({ ip: '10.0.0.1', port: 9999 });
    expect(ports()).toHaveLength(10);
  });

  it('shuffles candidates', () => {
    let seed = 1;
    const policy = new PeerSelectionPolicy({
      random: () => (seed = (seed * 48271) % 2147483647) / 2147483647,
    });
    const orders = new Set<string>();
    for (let k = 0; k < 10; k++) {
      orders.add(
        policy
          .select(peers, 10, () => false)
          .map((p) => p.port)
          .join(','),
      );
    }
    expect(orders.size).toBeGreaterThan(1);
  });

  it('backs off exponentially from peers that failed to connect', () => {
    let now = 0;
    const policy = new PeerSelectionPolicy({ now: () => now, baseBackoffMs: 1000 });
    const peer = peers[4]!;
    policy.connectFailed(peer);
    expect(policy.select([peer], 1, () => false)).toEqual([]);
    now = 1000;
    expect(policy.select([peer], 1, () => false)).toEqual([peer]);
    policy.connectFailed(peer);
    now = 2500;
    expect(policy.select([peer], 1, () => false)).toEqual([]);
    now = 3000;
    expect(policy.select([peer], 1, () => false)).toEqual([peer]);
    policy.connected(peer);
    policy.connectFailed(peer);
    now = 4000;
    expect(policy.select([peer], 1, () => false)).toEqual([peer]);
  });

  it('bans by address and port, not by IP alone (many peers share one host)', () => {
    const policy = new PeerSelectionPolicy();
    policy.ban(peers[0]!);
    expect(policy.isBanned(peers[0]!)).toBe(true);
    expect(policy.isBanned(peers[1]!)).toBe(false);
    expect(peerKey({ ip: '::1', port: 80 })).toBe('[::1]:80');
  });
});
