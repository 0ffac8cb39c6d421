import { spawnSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { makeTorrent, publish, request, spawnTracker } from './helpers.js';

const BIN = new URL('../bin/dist-tracker.js', import.meta.url).pathname;

function runCli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 15_000 });
}

describe('dist-tracker CLI', () => {
  it('--help lists every flag with its default', () => {
    const res = runCli(['--help']);
    expect(res.status).toBe(0);
    for (const [flag, def] of [
      ['--host', '"0.0.0.0"'],
      ['--port', '6969'],
      ['--interval', '30'],
      ['--min-interval', 'interval / 2'],
      ['--max-numwant', '200'],
      ['--store', '"memory"'],
      ['--token', '$DIST_TOKEN'],
      ['--open', 'false'],
      ['--public-url', 'http://<Host header'],
      ['--trust-proxy', 'false'],
      ['--log-level', '"info"'],
    ]) {
      const block = res.stdout.slice(res.stdout.indexOf(`${flag} `));
      const nextFlag = block.slice(2).search(/\n {2}--/);
      expect(block.slice(0, nextFlag < 0 ? undefined : nextFlag + 2)).toContain(`default: ${def}`);
    }
  });

  it.each([
    [['--bogus'], /Unknown argument: bogus/],
    [['--port', 'abc'], /--port must be an integer/],
    [['--port', '70000'], /--port must be an integer from 0 to 65535/],
    [['--interval', '0'], /--interval/],
    [['--store', 'redis://127.0.0.1:1/99'], /database must be a number from 0 to 15/],
    [['--store', 'mysql://db'], /--store must be "memory" or redis:/],
    [['--handout', 'nearest'], /Invalid values/],
    [['--handout-far-share', '2'], /--handout-far-share must be from 0 to 0.9/],
    [['--topology', '/nonexistent/topology.txt'], /cannot read --topology/],
    [['--public-url', 'nope'], /--public-url/],
    [['--log-level', 'loud'], /Invalid values/],
  ])('%j exits 2 with one clear line', (args, message) => {
    const port = args.includes('--port') ? [] : ['--port', '0'];
    const res = runCli([...args, '--host', '127.0.0.1', ...port]);
    expect(res.status).toBe(2);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^dist-tracker: /);
    expect(lines[0]).toMatch(message);
  });

  it('reports a port in use in one line and exits non-zero', async () => {
    const first = await spawnTracker([]);
    try {
      const res = runCli(['--host', '127.0.0.1', '--port', String(first.port)]);
      expect(res.status).not.toBe(0);
      expect(res.stderr.trim()).toBe(
        `dist-tracker: port ${first.port} on 127.0.0.1 is already in use; stop the other process or pick another --port`,
      );
    } finally {
      await first.stop();
    }
  });

  it('takes the token from DIST_TOKEN, and drains and exits 0 on SIGTERM', async () => {
    const tracker = await spawnTracker([], { DIST_TOKEN: 'from-env' });
    try {
      const t = makeTorrent('env.bin', 4);
      expect((await publish(tracker.url, { root: 'r', path: 'env.bin', ...t })).status).toBe(401);
      expect(
        (await publish(tracker.url, { root: 'r', path: 'env.bin', ...t }, 'from-env')).status,
      ).toBe(200);
      expect((await request(tracker.url, '/healthz')).status).toBe(200);
    } finally {
      expect(await tracker.stop()).toBe(0);
    }
  });
});
