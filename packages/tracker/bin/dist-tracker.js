#!/usr/bin/env -S node --max-semi-space-size=4 --no-allocation-site-pretenuring --single-threaded-gc
// A committed shim, so that pnpm links the command before the first build.
import '../dist/cli.js';
