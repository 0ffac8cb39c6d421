// The one-file bundle that the `dist-get` command runs (scripts/bundle-dist-get.js, part of
// `pnpm build`): what it leaves out of start-up, and that the command still works from it.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** packages/client/dist/bundle/dist-get.cjs, from packages/client/dist-test/integration. */
const BUNDLE = join(here, '..', '..', 'dist', 'bundle', 'dist-get.cjs');
const RUN_BUNDLE = join(here, '..', '..', 'bin', 'run-bundle.cjs');

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BUNDLE, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('dist-get bundle', () => {
  const source = readFileSync(BUNDLE, 'utf8');

  it('carries no fetch polyfill: node 20 has fetch built in', () => {
    // esbuild heads every bundled module with a comment naming its path.
    expect(source).not.toMatch(/^\/\/ node_modules\/\.pnpm\/node-fetch@/m);
    expect(source).not.toMatch(/^\/\/ node_modules\/\.pnpm\/web-streams-polyfill@/m);
  });

  it('evaluates string-width at its first call, not at start-up', () => {
    // A module that esbuild initialises lazily is wrapped in __esm(); one run at load is not.
    const bodies = [...source.matchAll(/^var (init_string_width\d*) = __esm\(/gm)].map((m) => m[1]);
    expect(bodies.length).toBeGreaterThanOrEqual(1);
    expect(source).not.toMatch(/^var segmenter = new Intl\.Segmenter\(\);/m);
  });

  it('compiles from a code cache that V8 accepts, and runs from it', () => {
    // A plain node, as the command runs: V8 rejects a cache made under other flags (jest's).
    const script = `
      const { compileBundle, runCompiled } = require(${JSON.stringify(RUN_BUNDLE)});
      const bundle = ${JSON.stringify(BUNDLE)};
      const compiled = compileBundle(bundle);
      process.stderr.write('rejected=' + compiled.cachedDataRejected + '\\n');
      process.argv = [process.argv[0], bundle, '--version'];
      runCompiled(compiled, bundle);`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('rejected=false\n');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('keeps no ES module syntax: where the bundle is comes from its own file name', () => {
    expect(source).not.toMatch(/\bimport\.meta\b/);
    // Core's hash worker is found beside the bundle.
    expect(readFileSync(join(dirname(BUNDLE), 'hash-worker.cjs'), 'utf8')).toMatch(/sha1/);
  });

  it('still lays out --help in columns (string-width at work)', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {6}--seed-time +seconds to seed after completion/m);
    expect(r.stdout).toMatch(/^ {2}130 +interrupted/m);
  });
});
