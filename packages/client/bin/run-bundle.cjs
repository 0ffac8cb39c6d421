// Runs the CommonJS dist-get bundle from V8's code cache, which `pnpm build` writes beside it
// (FILE.code-cache) after a `--version` run: V8 then skips compiling the ~700 KB of source and
// every function that start-up calls, ~20 ms of CPU on each machine of a fleet starting at once.
// A cache V8 rejects (another node, other V8 flags, a changed bundle) only costs that time back.
'use strict';
const { readFileSync } = require('node:fs');
const { createRequire, wrap } = require('node:module');
const { dirname } = require('node:path');
const { Script } = require('node:vm');

/** Compiles the bundle at `file` (an absolute path), from its code cache when V8 takes it. */
function compileBundle(file) {
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.code-cache`);
  } catch {
    // not built yet, or removed: compile from source
  }
  return new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
}

/** Runs a compiled bundle as the CommonJS module at `file`. */
function runCompiled(script, file) {
  const bundleModule = { exports: {} };
  const { exports } = bundleModule;
  script
    .runInThisContext()
    .call(exports, exports, createRequire(file), bundleModule, file, dirname(file));
}

function runBundle(file) {
  runCompiled(compileBundle(file), file);
}

module.exports = { compileBundle, runCompiled, runBundle };
