#!/usr/bin/env node
// Part of `pnpm build`, after tsc: bundles dist-get into one CommonJS file,
// packages/client/dist/bundle/dist-get.cjs, which the `dist-get` command runs
// (packages/client/bin/run-bundle.cjs), and writes V8's code cache for it beside it.
//
// Why: dist-get starts on every machine of a fleet at once, and node spends most of a short
// run's start-up resolving and compiling the ~150 modules of dist-get and its dependencies.
// One file halves it (`dist-get --help`: 0.15 CPU-s instead of 0.31), which on a machine that
// also seeds to its neighbours is CPU taken from the swarm. Nothing is minified: stack traces
// keep their names and lines.
//
// Two more cuts in what runs at load (`dist-get --version`: 0.145 CPU-s -> 0.10; node alone
// takes 0.05): parse-torrent's fetch ponyfill becomes node's own fetch (scripts/lib/global-fetch.js),
// and string-width is evaluated when --help first needs it (scripts/lib/deferred-modules.js).
//
// CommonJS rather than an ES module because node 20 keeps no code cache for ES modules, and one
// for a script saves compiling the bundle at every start (`dist-get --version`: 0.10 CPU-s ->
// 0.08; the ES module loader it no longer sets up is part of that).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deferredModules } from './lib/deferred-modules.js';

const MAKE_CACHE = `
const { writeFileSync } = require('node:fs');
const { compileBundle, runCompiled } = require('./packages/client/bin/run-bundle.cjs');
const [bundle, cache, ...args] = process.argv.slice(1);
process.argv = [process.argv[0], bundle, ...args];
const script = compileBundle(bundle);
// --version exits from inside the run.
process.on('exit', () => writeFileSync(cache, script.createCachedData()));
runCompiled(script, bundle);
`;

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}packages/client/dist/bundle`;
// All of it is made here: nothing of an earlier layout may linger.
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

await build({
  entryPoints: [`${root}packages/client/dist/cli.js`],
  outfile: `${outDir}/dist-get.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  alias: { 'cross-fetch-ponyfill': `${root}scripts/lib/global-fetch.js` },
  plugins: [deferredModules(['string-width'])],
  // The one ES module-only value used: where the bundle is (core finds its hash worker by it).
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
});

// Core starts its hash workers from CommonJS files beside its own module
// (`new URL('./hash-worker.cjs', import.meta.url)`), which inside the bundle is the bundle.
const coreDist = `${root}packages/core/dist`;
for (const file of readdirSync(coreDist).filter((f) => f.endsWith('.cjs'))) {
  copyFileSync(`${coreDist}/${file}`, `${outDir}/${file}`);
}

// The code cache: V8 writes it after a run, so it holds every function that start-up compiled.
const cache = `${outDir}/dist-get.cjs.code-cache`;
const made = spawnSync(
  process.execPath,
  ['-e', MAKE_CACHE, `${outDir}/dist-get.cjs`, cache, '--version'],
  { cwd: root, encoding: 'utf8', timeout: 60_000 },
);
if (made.status !== 0) {
  process.stderr.write(`bundle-dist-get: writing the code cache failed: ${made.stderr}\n`);
  process.exit(1);
}
