import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ResumeRecorder,
  bitGet,
  bitSet,
  emptyBitfield,
  loadResumeRecord,
} from '@distributor/client';
import { removeDir, tempDir } from '../helpers/fixtures.js';

const meta = {
  infoHash: 'ab'.repeat(20),
  length: 20 * 262144 - 5,
  pieceLength: 262144,
  pieceCount: 20,
};
let dir: string;

beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await removeDir(dir);
});

describe('bitfield helpers', () => {
  it('use BEP 3 bit order (high bit is piece 0)', () => {
    const bits = emptyBitfield(10);
    expect(bits.length).toBe(2);
    bitSet(bits, 0);
    bitSet(bits, 9);
    expect([...bits]).toEqual([0x80, 0x40]);
    expect(bitGet(bits, 9)).toBe(true);
    bitSet(bits, 9, false);
    expect(bitGet(bits, 9)).toBe(false);
  });
});

describe('ResumeRecorder', () => {
  it('persists marked pieces and reads them back', async () => {
    const path = join(dir, 'a.part.resume');
    const recorder = new ResumeRecorder(path, meta);
    for (const i of [0, 3, 19]) recorder.markHave(i);
    await recorder.flush();
    const bits = await loadResumeRecord(path, meta);
    expect(bits).not.toBeNull();
    const held = [...Array(20).keys()].filter((i) => bitGet(bits!, i));
    expect(held).toEqual([0, 3, 19]);
  });

  it('coalesces a burst of marks into a record that holds all of them', async () => {
    const path = join(dir, 'burst.part.resume');
    const recorder = new ResumeRecorder(path, meta);
    for (let i = 0; i < 20; i++) recorder.markHave(i);
    await recorder.flush();
    const bits = (await loadResumeRecord(path, meta))!;
    expect([...Array(20).keys()].every((i) => bitGet(bits, i))).toBe(true);
  });

  it('flush() cuts short the wait between records (completion waits on it)', async () => {
    const path = join(dir, 'wake.part.resume');
    const recorder = new ResumeRecorder(path, meta);
    recorder.markHave(0);
    await recorder.flush();
    // Timers that never fire unless advanced: the write loop now sleeps until they do.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    try {
      recorder.markHave(1);
      await new Promise((resolve) => setImmediate(resolve));
      expect(jest.getTimerCount()).toBe(1);
      await recorder.flush();
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
    const bits = (await loadResumeRecord(path, meta))!;
    expect(bitGet(bits, 1)).toBe(true);
  });

  it('ignores records of another torrent, a corrupt record, or none', async () => {
    const path = join(dir, 'b.part.resume');
    const recorder = new ResumeRecorder(path, meta);
    recorder.markHave(1);
    await recorder.flush();
    expect(await loadResumeRecord(path, { ...meta, infoHash: 'cd'.repeat(20) })).toBeNull();
    expect(
      await loadResumeRecord(path, { ...meta, pieceLength: 524288, pieceCount: 10 }),
    ).toBeNull();
    await writeFile(path, '{"version":1,"infoHash":');
    expect(await loadResumeRecord(path, meta)).toBeNull();
    expect(await loadResumeRecord(join(dir, 'missing'), meta)).toBeNull();
  });

  it('writes atomically: the file on disk is always a complete JSON record', async () => {
    const path = join(dir, 'c.part.resume');
    const recorder = new ResumeRecorder(path, meta);
    recorder.markHave(0);
    await recorder.flush();
    for (let i = 1; i < 20; i++) {
      recorder.markHave(i);
      // Whatever moment we look at, the record parses.
      const text = await readFile(path, 'utf8');
      expect(() => JSON.parse(text)).not.toThrow();
    }
    await recorder.flush();
    recorder.flushSync();
    expect(await loadResumeRecord(path, meta)).not.toBeNull();
    await recorder.remove();
    expect(await loadResumeRecord(path, meta)).toBeNull();
  });

  it('reports an unwritable location as a disk error', async () => {
    const recorder = new ResumeRecorder(join(dir, 'no-such-dir', 'x.part.resume'), meta);
    await expect(recorder.save()).rejects.toMatchObject({ code: 'EDISK' });
  });
});
