/**
 * End to end: a real dist-tracker, dist-seed and three dist-get processes on loopback, and the
 * status page in headless Chromium (Debian's `chromium` package, driven by playwright-core;
 * no browser download). Set STATUS_SCREENSHOT=PATH to keep a screenshot of the page (that is
 * how docs/status-page.png is made).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import type { SwarmsResponse } from '@distributor/tracker';
import { freePort } from '../../../scripts/lib/ports.js';
import { spawnTracker } from './helpers.js';
import type { TrackerProcess } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SEED_BIN = new URL('../../seeder/bin/dist-seed.js', import.meta.url).pathname;
const GET_BIN = new URL('../../client/bin/dist-get.cjs', import.meta.url).pathname;
const EVIL_NAME = '<img src=x onerror=alert(1)>.bin';
const BIG_NAME = 'rollout.bin';
const BIG_SIZE = 8 * 1024 * 1024;

interface Spawned {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(bin: string, args: string[]): Spawned {
  const proc = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (c: Buffer) => {
    output = (output + c.toString()).slice(-8000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => resolve(code)),
  );
  return { proc, output: () => output, exited };
}

async function stop(p: Spawned): Promise<void> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  p.proc.kill('SIGTERM');
  const timer = setTimeout(() => p.proc.kill('SIGKILL'), 5000);
  await p.exited;
  clearTimeout(timer);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms: number) {
  const deadline = Date.now() + ms;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

describe('status page in headless Chromium', () => {
  const work = mkdtempSync(join(tmpdir(), 'dist-status-e2e-'));
  const files = join(work, 'files');
  let tracker: TrackerProcess | undefined;
  const processes: Spawned[] = [];
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    }
    mkdirSync(files);
    writeFileSync(join(files, BIG_NAME), randomBytes(BIG_SIZE));
    writeFileSync(join(files, EVIL_NAME), randomBytes(40_000));
    // spawnTracker waits for the info-level "listening" line.
    tracker = await spawnTracker(['--interval', '10', '--log-level', 'info']);
    processes.push(
      start(SEED_BIN, [
        files,
        '--tracker',
        tracker.url,
        '--port',
        String(await freePort()),
        '--bind',
        '127.0.0.1',
        '--state-dir',
        join(work, 'seed-state'),
        '--settle',
        '0.2',
        '--log-level',
        'warn',
      ]),
    );
  }, 30_000);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await Promise.all(processes.map(stop));
    await tracker?.stop(5000);
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it('shows the file, counts three completions live, and renders a hostile name as text', async () => {
    const base = tracker!.url;
    const published = await waitFor(
      'the seeder to publish both files',
      async () => {
        const res = await fetch(`${base}/api/swarms`);
        const body = (await res.json()) as SwarmsResponse;
        return body.swarms.length === 2 ? body : undefined;
      },
      20_000,
    );
    const big = published.swarms.find((s) => s.path === BIG_NAME)!;
    const evil = published.swarms.find((s) => s.path === EVIL_NAME)!;
    expect(big).toBeDefined();
    expect(evil).toBeDefined();

    context = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1400, height: 560 },
    });
    const page: Page = context.pages()[0] ?? (await context.newPage());
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });
    await page.goto(`${base}/`);
    const bigRow = page.locator(`tr.swarm[data-info-hash="${big.infoHash}"]`);
    await bigRow.waitFor({ timeout: 10_000 });
    expect(await bigRow.locator('.path').textContent()).toBe(BIG_NAME);
    expect(await bigRow.locator('td.completed').textContent()).toBe('0');

    for (let i = 0; i < 3; i++) {
      processes.push(
        start(GET_BIN, [
          BIG_NAME,
          '--tracker',
          base,
          '-o',
          join(work, `machine-${i}.bin`),
          '--port',
          String(await freePort()),
          '--bind',
          '127.0.0.1',
          '--seed-time',
          '60',
          '--quiet',
        ]),
      );
    }
    // The page polls; no reload happens, so the count has to arrive through the API.
    await page
      .locator(`tr.swarm[data-info-hash="${big.infoHash}"] td.completed`)
      .filter({ hasText: /^3$/ })
      .waitFor({ timeout: 45_000 })
      .catch((err: Error) => {
        const logs = processes.map((p) => p.output()).join('\n---\n');
        throw new Error(`${err.message}\nprocess output:\n${logs}`);
      });
    expect(navigations).toBe(1);
    expect(await page.locator('#total-completed').textContent()).toBe('3');

    const evilRow = page.locator(`tr.swarm[data-info-hash="${evil.infoHash}"]`);
    expect(await evilRow.locator('.path').textContent()).toBe(EVIL_NAME);
    expect(await page.locator('img').count()).toBe(0);
    expect(dialogs).toEqual([]);

    // A click opens the machine list (the seeder at least is always in it), without a reload.
    await bigRow.click();
    await page
      .locator(`tr.machines[data-info-hash="${big.infoHash}"] tr.machine`)
      .first()
      .waitFor({ timeout: 10_000 });
    expect(navigations).toBe(1);

    const screenshot = await page.screenshot({ fullPage: true });
    expect(screenshot.length).toBeGreaterThan(1000);
    if (process.env['STATUS_SCREENSHOT'])
      writeFileSync(process.env['STATUS_SCREENSHOT'], screenshot);
  }, 55_000);
});
