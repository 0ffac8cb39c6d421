import { describe, expect, it } from '@jest/globals';
import { copyFile, mkdir, rename } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseMetainfo } from '@distributor/core';
import { startOrigin, waitForSwarm } from './helpers/origin.js';
import { makeFile, sha1OfFile, startGetProc, summaryOf, waitFor } from './helpers/procs.js';
import { faultFile } from './helpers/fault-file.js';

const SIZE = 32 * 1024 * 1024;
const CLIENTS = 4;
// An operator's retry loop around dist-get, bounded: a client whose version disappeared from
// the origin mid-download fails cleanly and the rerun fetches the new one.
const ATTEMPTS = 3;
const { tally, dir } = faultFile('file-replaced');

async function replaceWhileDownloading(inPlace: boolean) {
  const how = inPlace ? 'overwritten in place' : 'replaced by rename';
  const row = tally.scenario(
    `served file ${how} during downloads`,
    `the published file ${how} (same name, new content) while ${CLIENTS} dist-get run`,
    'every client ends with the old or the new file byte-identical and reports its info hash',
  );
  const files = join(dir(), inPlace ? 'files-a' : 'files-b');
  await mkdir(files);
  const path = join(files, 'payload.bin');
  const oldSha = await makeFile(path, SIZE);
  const staged = join(dir(), inPlace ? 'new-a.bin' : 'new-b.bin');
  const newSha = await makeFile(staged, SIZE);
  const origin = await startOrigin({
    filesDir: files,
    stateDir: join(dir(), inPlace ? 'state-a' : 'state-b'),
    name: 'payload.bin',
  });
  const { trackerUrl } = origin;
  const oldHash = origin.meta.infoHash;
  const outputs = Array.from({ length: CLIENTS }, (_, i) => join(dir(), `${inPlace}-out-${i}.bin`));
  const attempt = (i: number) =>
    startGetProc('payload.bin', {
      tracker: trackerUrl,
      output: outputs[i]!,
      seedTime: 1,
      peerTimeout: 4,
    });
  const first = outputs.map((_, i) => attempt(i));
  await waitForSwarm(trackerUrl, oldHash, 2);
  if (inPlace) await copyFile(staged, path);
  else await rename(staged, path);
  row.faults++;

  let newHash = '';
  await waitFor(
    'the new version to be published',
    async () => {
      const res = await fetch(`${trackerUrl}/serve?payload.bin`).catch(() => null);
      if (res?.status !== 200) return false;
      newHash = (await parseMetainfo(new Uint8Array(await res.arrayBuffer()))).infoHash;
      return newHash !== oldHash;
    },
    20_000,
    100,
  );

  /** One client's retry loop; resolves with the version it ended with and its reruns. */
  const client = async (i: number) => {
    const out = outputs[i]!;
    let proc = first[i]!;
    for (let n = 0; n < ATTEMPTS; n++) {
      if (n > 0) proc = attempt(i);
      const result = await proc.done;
      if (result.signal) row.crashes++;
      const sha = existsSync(out) ? await sha1OfFile(out) : null;
      // Whatever happened, the final path holds a whole version or nothing.
      if (sha !== null && sha !== oldSha && sha !== newSha) row.wrongBytes += SIZE;
      expect([null, oldSha, newSha]).toContain(sha);
      if (result.code === 0) {
        const reported = summaryOf(proc)?.['infoHash'];
        expect([oldHash, newHash]).toContain(reported);
        expect(sha).toBe(reported === oldHash ? oldSha : newSha);
        return { version: reported === oldHash ? 'old' : 'new', reruns: n };
      }
      // A failed attempt ends with one line saying why (after any --log-level warn lines),
      // and leaves no file behind.
      expect(result.stderr.trim().split('\n').pop()).toMatch(/^dist-get: /);
      expect(sha).toBeNull();
    }
    throw new Error(`client ${i} did not finish in ${ATTEMPTS} attempts`);
  };
  const results = await Promise.all(outputs.map((_, i) => client(i)));
  const ended = {
    old: results.filter((r) => r.version === 'old').length,
    new: results.filter((r) => r.version === 'new').length,
    reruns: results.reduce((n, r) => n + r.reruns, 0),
  };
  expect(ended.old + ended.new).toBe(CLIENTS);
  origin.seed.kill();
  origin.tracker.kill();
  row.note = `${ended.old} ended with the old version, ${ended.new} with the new; ${ended.reruns} needed a rerun`;
  process.stdout.write(`${how}: ${row.note}\n`);
  row.result = 'pass';
}

describe('the served file is replaced while clients download', () => {
  it('replaced by rename: old or new, never a mix', () => replaceWhileDownloading(false));
  it('overwritten in place: old or new, never a mix', () => replaceWhileDownloading(true));
});
