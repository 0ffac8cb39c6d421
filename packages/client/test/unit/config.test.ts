import { describe, expect, it } from '@jest/globals';
import { DistError, NotFoundError, TrackerUnreachableError } from '@distributor/core';
import {
  CLIENT_DEFAULTS,
  ConfigError,
  DiskError,
  EXIT_CODES,
  InterruptedError,
  NoPeersError,
  UnsafeNameError,
  exitCodeFor,
  resolveConfig,
} from '@distributor/client';

describe('resolveConfig', () => {
  it('applies defaults, with DIST_TRACKER as the tracker fallback', () => {
    const c = resolveConfig({ name: 'a.iso' }, {});
    expect(c.tracker).toBe('http://localhost:6969');
    expect(c.source).toEqual({ kind: 'name', name: 'a.iso' });
    expect(c.seedTimeSec).toBe(60);
    expect(c.maxPeers).toBe(50);
    expect(c.port).toBe(CLIENT_DEFAULTS.port);
    expect(resolveConfig({ name: 'a' }, { DIST_TRACKER: 'http://t:1/' }).tracker).toBe(
      'http://t:1',
    );
    expect(
      resolveConfig({ name: 'a', tracker: 'http://x:2' }, { DIST_TRACKER: 'http://t:1' }).tracker,
    ).toBe('http://x:2');
  });

  it('accepts each source form', () => {
    expect(resolveConfig({ latest: true }, {}).source).toEqual({ kind: 'latest' });
    expect(resolveConfig({ latest: 'isos' }, {}).source).toEqual({ kind: 'latest', root: 'isos' });
    expect(resolveConfig({ torrent: 'x.torrent' }, {}).source).toEqual({
      kind: 'torrent',
      location: 'x.torrent',
    });
  });

  it.each([
    [{}, 'say what to download'],
    [{ name: 'a', torrent: 'b' }, 'only one'],
    [{ name: 'a', tracker: 'ftp://x' }, 'http'],
    [{ name: 'a', tracker: 'not a url' }, 'not a URL'],
    [{ name: 'a', seedTimeSec: -1 }, 'seed-time'],
    [{ name: 'a', port: 70000 }, 'port'],
    [{ name: 'a', maxPeers: 0 }, 'max-peers'],
    [{ name: 'a', bind: 'localhost' }, 'not an IP'],
    [{ name: 'a', peerTimeoutSec: 0 }, 'peer-timeout'],
  ])('rejects %j', (options, message) => {
    expect(() => resolveConfig(options, {})).toThrow(ConfigError);
    expect(() => resolveConfig(options, {})).toThrow(message);
  });
});

describe('exitCodeFor', () => {
  it('gives each failure an operator handles differently its own status', () => {
    const cases: [unknown, number][] = [
      [new ConfigError('x'), EXIT_CODES.usage],
      [new NotFoundError('a.iso'), EXIT_CODES.notFound],
      [new TrackerUnreachableError('http://t', 'refused'), EXIT_CODES.trackerUnreachable],
      [new NoPeersError('none'), EXIT_CODES.noPeers],
      [new DiskError('/x', Object.assign(new Error('full'), { code: 'ENOSPC' })), EXIT_CODES.disk],
      [new UnsafeNameError('..', 'bad'), EXIT_CODES.badTorrent],
      [new InterruptedError(), EXIT_CODES.interrupted],
      [new DistError('EWHATEVER', 'x'), EXIT_CODES.failure],
      [new Error('plain'), EXIT_CODES.failure],
    ];
    for (const [err, code] of cases) expect(exitCodeFor(err)).toBe(code);
    expect(new Set(Object.values(EXIT_CODES)).size).toBe(Object.values(EXIT_CODES).length);
  });

  it('explains a full disk in the message', () => {
    const err = new DiskError('/data/a.iso', Object.assign(new Error('x'), { code: 'ENOSPC' }));
    expect(err.message).toBe(
      'cannot write /data/a.iso: disk full (free some space, or choose another place with -o)',
    );
  });
});
