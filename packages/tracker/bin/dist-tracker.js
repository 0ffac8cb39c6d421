#!/usr/bin/env node
// A committed shim, so that pnpm links the command before the first build.
import '../dist/cli.js';
