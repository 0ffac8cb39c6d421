// Network namespaces for benchmarks and interop tests: one namespace per host, all joined by a
// bridge that lives in a namespace of its own, so nothing is added to the root namespace and
// the machine's own networking is never touched. Addresses are in 198.18.0.0/15 only (RFC 2544
// benchmarking space). Links can be shaped with HTB on both ends of every veth pair: the
// host's end limits its upload, the bridge's end limits its download. This kernel has no netem,
// so links get a rate but no delay.
//
// Namespace names are PREFIX<pid>-<host>: cleanupStale() removes those whose creating process
// is gone (a run killed with SIGKILL), so a crashed run never blocks the next one.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** True when this process may create namespaces (root, or CAP_SYS_ADMIN + CAP_NET_ADMIN). */
export function haveNetAdmin() {
  if (typeof process.getuid === 'function' && process.getuid() === 0) return true;
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const eff = /CapEff:\s*([0-9a-f]+)/.exec(status)?.[1];
    if (eff === undefined) return false;
    const caps = BigInt(`0x${eff}`);
    const SYS_ADMIN = 1n << 21n;
    const NET_ADMIN = 1n << 12n;
    return (caps & SYS_ADMIN) !== 0n && (caps & NET_ADMIN) !== 0n;
  } catch {
    return false;
  }
}

/** Whether `ip netns` works here at all (root in a container may still lack it). */
export function netnsUsable() {
  if (!haveNetAdmin()) return false;
  const probe = `dsprobe${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { stdio: 'ignore' });
  if (add.status !== 0) return false;
  spawnSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  return true;
}

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    const stderr = String(err.stderr ?? '').trim();
    throw new Error(`${cmd} ${args.join(' ')} failed: ${stderr || err.message}`, { cause: err });
  }
}

function listNamespaces() {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (out.status !== 0) return [];
  return out.stdout
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter((name) => name !== undefined && name !== '');
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Deletes namespaces named PREFIX<pid>-… whose pid no longer runs. Returns how many. */
export function cleanupStale(prefix) {
  const pattern = new RegExp(`^${prefix}(\\d+)-`);
  let removed = 0;
  for (const name of listNamespaces()) {
    const pid = Number(pattern.exec(name)?.[1] ?? NaN);
    if (!Number.isInteger(pid) || alive(pid)) continue;
    deleteNamespace(name);
    removed++;
  }
  return removed;
}

function deleteNamespace(name) {
  // Killing what still runs inside first: a namespace with live processes would linger.
  const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' });
  for (const pid of (pids.stdout ?? '').split('\n').map(Number)) {
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
}

/** Address of host number `index` (0-based): 198.18.0.1, 198.18.0.2, … 198.18.x.y. */
export function hostAddress(index) {
  const n = index + 1;
  if (n > 254 * 254) throw new Error(`too many hosts (${index + 1}); at most ${254 * 254}`);
  return `198.18.${Math.floor(n / 254)}.${(n % 254) + 1}`;
}

function shape(ns, dev, rateMbit) {
  // One HTB class for everything; a short pfifo (~60 ms at 20 Mbit/s) instead of the veth's
  // 1000-packet default, which would add up to 600 ms of queueing per hop.
  const bytesPerSec = (rateMbit * 1e6) / 8;
  const quantum = Math.max(1514, Math.min(200000, Math.round(bytesPerSec / 10)));
  const limit = Math.max(20, Math.round((bytesPerSec * 0.06) / 1514));
  run('tc', ['-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '10']);
  run('tc', [
    '-n',
    ns,
    'class',
    'add',
    'dev',
    dev,
    'parent',
    '1:',
    'classid',
    '1:10',
    'htb',
    'rate',
    `${rateMbit}mbit`,
    'ceil',
    `${rateMbit}mbit`,
    'quantum',
    String(quantum),
  ]);
  run('tc', [
    '-n',
    ns,
    'qdisc',
    'add',
    'dev',
    dev,
    'parent',
    '1:10',
    'handle',
    '20:',
    'pfifo',
    'limit',
    String(limit),
  ]);
}

/** A host's eth0 byte counter, read inside its namespace. */
function interfaceBytes(host, direction) {
  const counter = `/sys/class/net/eth0/statistics/${direction}_bytes`;
  return Number(run('ip', ['netns', 'exec', host.ns, 'cat', counter]).trim());
}

/**
 * Creates `names.length` hosts on one bridge. Each host gets namespace PREFIX<pid>-<name>,
 * interface eth0 with hostAddress(i)/15, loopback up. `rateMbit` (optional) shapes both
 * directions of every link. Call destroy() when done (also safe to call twice).
 */
export function createNetwork({ prefix, names, rateMbit }) {
  const base = `${prefix}${process.pid}`;
  const bridgeNs = `${base}-br`;
  const created = [];
  const net = {
    bridgeNs,
    rateMbit,
    hosts: [],
    /** `ip netns exec` argv for running `cmd args…` on host `host`. */
    exec(host, cmd, args = []) {
      return ['ip', ['netns', 'exec', host.ns, cmd, ...args]];
    },
    /** Bytes sent by the host's interface (what left the host on its shaped link). */
    txBytes(host) {
      return interfaceBytes(host, 'tx');
    },
    rxBytes(host) {
      return interfaceBytes(host, 'rx');
    },
    destroy() {
      for (const name of created.splice(0).reverse()) deleteNamespace(name);
    },
  };
  try {
    run('ip', ['netns', 'add', bridgeNs]);
    created.push(bridgeNs);
    run('ip', ['-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge']);
    run('ip', ['-n', bridgeNs, 'link', 'set', 'br0', 'up']);
    names.forEach((name, i) => {
      const ns = `${base}-${name}`;
      const address = hostAddress(i);
      const port = `v${i}`;
      run('ip', ['netns', 'add', ns]);
      created.push(ns);
      run('ip', [
        '-n',
        bridgeNs,
        'link',
        'add',
        port,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        ns,
      ]);
      run('ip', ['-n', bridgeNs, 'link', 'set', port, 'master', 'br0', 'up']);
      run('ip', ['-n', ns, 'addr', 'add', `${address}/15`, 'dev', 'eth0']);
      run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      if (rateMbit !== undefined) {
        shape(ns, 'eth0', rateMbit);
        shape(bridgeNs, port, rateMbit);
      }
      net.hosts.push({ name, ns, address });
    });
  } catch (err) {
    net.destroy();
    throw err;
  }
  return net;
}
