#!/usr/bin/env node
// A committed shim, so that pnpm links the command before the first build. It runs the one-file
// bundle that `pnpm build` makes (scripts/bundle-dist-get.js), unless a tsc build is newer than
// the bundle (tsc run alone), when it runs tsc's output instead. CommonJS, like the bundle: an ES
// module shim would set up node's ES module loader for nothing (~7 ms of CPU on every machine).
'use strict';
const { statSync } = require('node:fs');
const { join } = require('node:path');
const { runBundle } = require('./run-bundle.cjs');

const mtime = (path) => statSync(join(__dirname, path), { throwIfNoEntry: false })?.mtimeMs;
const bundle = mtime('../dist/bundle/dist-get.cjs');
const fresh =
  bundle !== undefined &&
  bundle >= (mtime('../dist/.tsbuildinfo') ?? 0) &&
  bundle >= (mtime('../../core/dist/.tsbuildinfo') ?? 0);
if (fresh) runBundle(join(__dirname, '../dist/bundle/dist-get.cjs'));
else import('../dist/cli.js');
