import { describe, expect, it } from '@jest/globals';
import { escapeBytes } from '@distributor/core';
import {
  QueryFailure,
  parseAnnounceQuery,
  parseScrapeQuery,
  percentDecodeBytes,
} from '@distributor/tracker';
import { peerId } from './helpers.js';

const HASH = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex');
const base = `info_hash=${escapeBytes(HASH)}&peer_id=${escapeBytes(peerId(1))}&port=6881`;

function ok(query: string) {
  const parsed = parseAnnounceQuery(query);
  if (parsed instanceof QueryFailure) throw new Error(`unexpected failure: ${parsed.reason}`);
  return parsed;
}

function reason(query: string): string {
  const parsed = parseAnnounceQuery(query);
  if (!(parsed instanceof QueryFailure)) throw new Error(`expected a failure for ${query}`);
  return parsed.reason;
}

describe('percentDecodeBytes', () => {
  it('decodes every byte value, + as space, and rejects broken escapes', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(percentDecodeBytes(escapeBytes(all))).toEqual(all);
    expect(percentDecodeBytes('a+b%20c')).toEqual(Buffer.from('a b c'));
    expect(percentDecodeBytes('%4')).toBeNull();
    expect(percentDecodeBytes('%zz')).toBeNull();
    expect(percentDecodeBytes('é')).toEqual(Buffer.from('é', 'utf8'));
  });
});

describe('parseAnnounceQuery', () => {
  it('parses a typical client announce', () => {
    const q = ok(
      `${base}&uploaded=10&downloaded=20&left=30&event=started&numwant=80&compact=1&key=x`,
    );
    expect(q.infoHashHex).toBe(HASH.toString('hex'));
    expect(q.peerId).toEqual(peerId(1));
    expect(q).toMatchObject({
      port: 6881,
      uploaded: 10,
      downloaded: 20,
      left: 30,
      event: 'started',
      numwant: 80,
      compact: true,
      noPeerId: false,
    });
  });

  it('accepts 40-digit hex ids, defaults, compact=0 and no_peer_id', () => {
    const q = ok(
      `info_hash=${HASH.toString('hex')}&peer_id=${peerId(2).toString('hex')}&port=1&compact=0&no_peer_id=1`,
    );
    expect(q.infoHashHex).toBe(HASH.toString('hex'));
    expect(q.peerId).toEqual(peerId(2));
    expect(q).toMatchObject({ uploaded: 0, downloaded: 0, left: undefined, event: 'update' });
    expect(q.numwant).toBeUndefined();
    expect(q.compact).toBe(false);
    expect(q.noPeerId).toBe(true);
  });

  it('maps the event names clients send', () => {
    for (const [sent, event] of [
      ['started', 'started'],
      ['completed', 'completed'],
      ['stopped', 'stopped'],
      ['empty', 'update'],
      ['paused', 'update'],
      ['', 'update'],
    ]) {
      expect(ok(`${base}&event=${sent}`).event).toBe(event);
    }
  });

  it('explains what is wrong', () => {
    expect(reason('peer_id=x&port=1')).toBe('missing info_hash');
    expect(reason(`info_hash=${escapeBytes(HASH)}&port=1`)).toBe('missing peer_id');
    expect(reason(`info_hash=abc&peer_id=x&port=1`)).toBe('info_hash must be 20 bytes, got 3');
    expect(reason(`info_hash=${'z'.repeat(40)}&peer_id=x`)).toBe(
      'info_hash of 40 characters must be hex',
    );
    expect(reason(`info_hash=%zz&peer_id=x`)).toBe('info_hash has a malformed percent-escape');
    expect(reason(`${base.replace('port=6881', 'port=0')}`)).toMatch(/^port must be/);
    expect(reason(`${base}&numwant=-1`)).toMatch(/^numwant must be/);
    expect(reason(`${base}&left=1e9`)).toMatch(/^left must be/);
    expect(reason(`${base}&event=bogus`)).toMatch(/^event must be/);
    for (const inherited of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(reason(`${base}&event=${inherited}`)).toMatch(/^event must be/);
    }
    expect(reason(`${base}&uploaded=x`)).toBe('uploaded must be a non-negative integer');
    expect(reason(`${base}&downloaded=-2`)).toBe('downloaded must be a non-negative integer');
    expect(reason(`${base}&port=6882`)).toBe('port given more than once');
    expect(reason(`${base}&left=1&left=2`)).toBe('left given more than once');
    expect(reason(`${base}&x=${'a'.repeat(5000)}`)).toMatch(/^query string longer than/);
  });

  it('never throws, whatever the input', () => {
    const alphabet = ['%', '&', '=', '+', 'a', '0', 'é', '\0', 'info_hash', 'port', '%4', '%ff'];
    let seed = 7;
    for (let i = 0; i < 2000; i++) {
      let q = '';
      for (let j = 0; j < 12; j++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        q += alphabet[seed % alphabet.length];
      }
      expect(() => parseAnnounceQuery(q)).not.toThrow();
      expect(() => parseScrapeQuery(q)).not.toThrow();
    }
  });
});

describe('parseScrapeQuery', () => {
  it('takes zero, one or several info hashes, collapsing duplicates', () => {
    expect(parseScrapeQuery('')).toEqual([]);
    const h = escapeBytes(HASH);
    const other = 'ff'.repeat(20);
    expect(parseScrapeQuery(`info_hash=${h}`)).toEqual([HASH.toString('hex')]);
    expect(parseScrapeQuery(`info_hash=${h}&info_hash=${other}&info_hash=${h}`)).toEqual([
      HASH.toString('hex'),
      other,
    ]);
  });

  it('rejects a malformed hash and too many hashes', () => {
    expect(parseScrapeQuery('info_hash=abc')).toBeInstanceOf(QueryFailure);
    const many = Array.from({ length: 3 }, (_, i) => `info_hash=${String(i).repeat(40)}`).join('&');
    const limited = parseScrapeQuery(many, { maxQueryLength: 4096, maxScrapeHashes: 2 });
    expect(limited).toBeInstanceOf(QueryFailure);
  });
});
