#!/usr/bin/env node
// A committed shim, so that pnpm links the command before the first build. It runs the one-file
// bundle that `pnpm build` makes (scripts/bundle-dist-get.js: half the start-up CPU), unless a
// tsc build is newer than the bundle (tsc run alone), when it runs tsc's output instead.
import { statSync } from 'node:fs';

const mtime = (path) =>
  statSync(new URL(path, import.meta.url), { throwIfNoEntry: false })?.mtimeMs;
const bundle = mtime('../dist/bundle/dist-get.js');
const fresh =
  bundle !== undefined &&
  bundle >= (mtime('../dist/.tsbuildinfo') ?? 0) &&
  bundle >= (mtime('../../core/dist/.tsbuildinfo') ?? 0);
await import(fresh ? '../dist/bundle/dist-get.js' : '../dist/cli.js');
