// Child processes of the swarm benchmark: spawned through `ip netns exec` (which execs the
// program, so the PID we hold is the program's), remembered so that every exit path can end
// them by PID, and reaped before CPU is read: the kernel adds a reaped child's CPU time (and
// that of the children it reaped) to our cutime/cstime, which is how CPU per system is counted.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLK_TCK = 100;
const live = new Set();

/** CPU seconds of every child reaped so far (user + system). */
export function childCpuSeconds() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17.
  return (Number(fields[13]) + Number(fields[14])) / CLK_TCK;
}

/**
 * Spawns `cmd args` and returns { child, exited } where exited resolves to
 * { code, signal, at } (at = Date.now() at exit). Output goes to `stdout` ('ignore' | 'pipe').
 */
export function start(cmd, args, { cwd, env, stdout = 'ignore', stderrTo } = {}) {
  const child = spawn(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', stdout, stderrTo === undefined ? 'ignore' : 'pipe'],
  });
  live.add(child);
  if (stderrTo !== undefined) child.stderr.on('data', (d) => stderrTo.push(String(d)));
  const exited = new Promise((resolve) => {
    child.on('error', (err) => {
      live.delete(child);
      resolve({ code: -1, signal: null, at: Date.now(), error: err.message });
    });
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal, at: Date.now() });
    });
  });
  return { child, exited };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has been reaped. */
export async function stop(proc, graceMs = 3000) {
  const { child, exited } = proc;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
  return exited;
}

/** Synchronous last resort for exit handlers: SIGKILL everything still running. */
export function killAllNow() {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
  }
  live.clear();
}

/** Runs a short command to completion; returns stdout ('' on failure). */
export function output(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout : '';
}

/** `unref`: a timer that must not keep the process alive (a timeout raced against work). */
export const sleep = (ms, unref = false) =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    if (unref) t.unref();
  });

/** Polls `check` every `everyMs` until it returns truthy or `timeoutMs` passes; throws `what`. */
export async function waitFor(what, check, { timeoutMs = 30_000, everyMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s: ${what}`);
    await sleep(everyMs);
  }
}
