// Child-process plumbing shared by the loopback benchmarks (bench:get, bench:seed,
// bench:tracker, tracker-redis): start a process with its output captured, stop it (TERM, then
// KILL), read its CPU time, wait for a condition, find a free port. Every started child is
// tracked, so a benchmark can stop them all on the way out.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// freePort lives with the other helpers shared by tests and benchmarks (scripts/lib).
export { freePort } from '../../lib/ports.js';

const CLK_TCK = 100;

/**
 * The installed dist-tracker command, as operators run it: its shim passes the node flags the bin
 * asks for (a smaller young generation, docs/operations.md) and execs, keeping the PID.
 */
export const DIST_TRACKER = fileURLToPath(
  new URL('../../../node_modules/.bin/dist-tracker', import.meta.url),
);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Children started by start() that have not exited yet. */
export const children = new Set();

export function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let output = '';
  // Only the streams that are piped (`opts.stdio` may inherit or ignore one) are captured.
  child.stdout?.on('data', (c) => (output += c));
  child.stderr?.on('data', (c) => (output += c));
  child.output = () => output;
  child.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  children.add(child);
  child.exited.then(() => children.delete(child));
  return child;
}

export async function stop(child) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await child.exited;
  clearTimeout(timer);
}

/** utime + stime of a live process, in seconds. */
export function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/**
 * Polls `probe` until it returns something truthy. With `child`, fails at once (with the
 * child's output) when that process exits first.
 */
export async function waitFor(what, probe, timeoutMs, child) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`bench: ${what}: the process exited: ${child.output().slice(-2000)}`);
    }
    try {
      const v = await probe();
      if (v) return v;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  const output = child ? `; its output: ${child.output().slice(-2000)}` : '';
  throw new Error(`bench: timed out waiting for ${what}${output}`);
}
