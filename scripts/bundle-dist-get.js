#!/usr/bin/env node
// Part of `pnpm build`, after tsc: bundles dist-get into one ES module,
// packages/client/dist/bundle/dist-get.js, which the `dist-get` command runs.
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
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deferredModules } from './lib/deferred-modules.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}packages/client/dist/bundle`;
mkdirSync(outDir, { recursive: true });

await build({
  entryPoints: [`${root}packages/client/dist/cli.js`],
  outfile: `${outDir}/dist-get.js`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  alias: { 'cross-fetch-ponyfill': `${root}scripts/lib/global-fetch.js` },
  plugins: [deferredModules(['string-width'])],
  // CommonJS dependencies (pino, ...) call require(); an ES module bundle has none of its own.
  banner: {
    js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
  },
});

// Core starts its hash workers from CommonJS files beside its own module
// (`new URL('./hash-worker.cjs', import.meta.url)`), which inside the bundle is the bundle.
const coreDist = `${root}packages/core/dist`;
for (const file of readdirSync(coreDist).filter((f) => f.endsWith('.cjs'))) {
  copyFileSync(`${coreDist}/${file}`, `${outDir}/${file}`);
}
