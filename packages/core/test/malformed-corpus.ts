import { buildTorrent, encode } from '@distributor/core';

/**
 * Hostile and broken inputs for the bencode and metainfo decoders. Each entry is a name and the
 * bytes; every one must be rejected with a typed error, quickly, without crashing.
 */
export function malformedCorpus(): [string, Buffer][] {
  const b = (s: string) => Buffer.from(s, 'latin1');
  const good = buildTorrent({
    name: 'file.bin',
    length: 40000,
    pieceLength: 16384,
    pieces: Buffer.alloc(60, 7),
  }).torrent;
  const goodStr = Buffer.from(good).toString('latin1');
  const torrentWith = (info: Record<string, unknown>) => Buffer.from(encode({ info }));
  const validInfo = {
    length: 40000,
    name: Buffer.from('file.bin'),
    'piece length': 16384,
    pieces: Buffer.alloc(60, 7),
  };
  const corpus: [string, Buffer][] = [
    ['empty input', b('')],
    ['lone d', b('d')],
    ['lone l', b('l')],
    ['lone i', b('i')],
    ['lone e', b('e')],
    ['lone colon', b(':')],
    ['garbage byte', b('x')],
    ['unterminated int', b('i12')],
    ['int without digits', b('ie')],
    ['int with letters', b('i1a2e')],
    ['int leading zero', b('i007e')],
    ['negative zero', b('i-0e')],
    ['double minus', b('i--1e')],
    ['float', b('i1.5e')],
    ['int too large', b('i99999999999999999999e')],
    ['string length leading zero', b('01:a')],
    ['negative string length', b('-1:a')],
    ['string length with letters', b('1a:x')],
    ['huge declared length', b('4294967296:abc')],
    ['declared length past end', b('10:abc')],
    ['very long length digits', b('1'.repeat(40) + ':x')],
    ['truncated dict', b('d3:foo')],
    ['truncated list', b('li1ei2e')],
    ['dict with int key', b('di1e3:fooe')],
    ['dict with list key', b('dle3:fooe')],
    ['dict missing value', b('d3:fooe')],
    ['unsorted dict keys', b('d1:bi1e1:ai1ee')],
    ['duplicate dict keys', b('d1:ai1e1:ai1ee')],
    ['trailing garbage', b('de garbage')],
    ['two top-level values', b('i1ei2e')],
    ['nesting 10,000 deep lists', b('l'.repeat(10000) + 'e'.repeat(10000))],
    ['nesting 10,000 deep dicts', b('d1:a'.repeat(10000) + 'i1e' + 'e'.repeat(10000))],
    ['unbalanced deep open', b('l'.repeat(100000))],
    ['top level is a list', b('li1ee')],
    ['top level is an int', b('i42e')],
    ['top level is a string', b('4:spam')],
    ['no info dict', b('d8:announce3:urle')],
    ['info is a list', b('d4:infoli1eee')],
    ['info is a string', b('d4:info3:abce')],
    ['truncated torrent', Buffer.from(good.subarray(0, good.length - 5))],
    ['torrent with trailing byte', Buffer.concat([good, b('x')])],
    ['torrent cut in pieces', b(goodStr.slice(0, goodStr.indexOf('pieces') + 10))],
    ['missing length', torrentWith({ ...validInfo, length: undefined })],
    ['length is a string', torrentWith({ ...validInfo, length: Buffer.from('40000') })],
    ['negative length', torrentWith({ ...validInfo, length: -1 })],
    ['zero length', torrentWith({ ...validInfo, length: 0, pieces: Buffer.alloc(0) })],
    ['missing piece length', torrentWith({ ...validInfo, 'piece length': undefined })],
    ['piece length not power of two', torrentWith({ ...validInfo, 'piece length': 20000 })],
    ['piece length too small', torrentWith({ ...validInfo, 'piece length': 8192 })],
    ['piece length negative', torrentWith({ ...validInfo, 'piece length': -16384 })],
    ['pieces missing', torrentWith({ ...validInfo, pieces: undefined })],
    ['pieces not multiple of 20', torrentWith({ ...validInfo, pieces: Buffer.alloc(59) })],
    ['too few pieces', torrentWith({ ...validInfo, pieces: Buffer.alloc(40) })],
    ['too many pieces', torrentWith({ ...validInfo, pieces: Buffer.alloc(80) })],
    ['pieces is an int', torrentWith({ ...validInfo, pieces: 5 })],
    ['missing name', torrentWith({ ...validInfo, name: undefined })],
    ['empty name', torrentWith({ ...validInfo, name: Buffer.alloc(0) })],
    ['name ../x', torrentWith({ ...validInfo, name: Buffer.from('../x') })],
    ['name ..', torrentWith({ ...validInfo, name: Buffer.from('..') })],
    ['name .', torrentWith({ ...validInfo, name: Buffer.from('.') })],
    ['name a/b', torrentWith({ ...validInfo, name: Buffer.from('a/b') })],
    ['name /etc/passwd', torrentWith({ ...validInfo, name: Buffer.from('/etc/passwd') })],
    ['name with backslash', torrentWith({ ...validInfo, name: Buffer.from('a\\b') })],
    ['name with NUL', torrentWith({ ...validInfo, name: Buffer.from('a\0b') })],
    ['name invalid UTF-8', torrentWith({ ...validInfo, name: Buffer.from([0xff, 0xfe]) })],
    ['name too long', torrentWith({ ...validInfo, name: Buffer.from('a'.repeat(300)) })],
    ['name is an int', torrentWith({ ...validInfo, name: 7 })],
    ['multi-file torrent', torrentWith({ ...validInfo, files: [{ length: 1, path: [b('a')] }] })],
  ];
  return corpus;
}
