import { execFileSync } from 'node:child_process';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface Host {
  ns: string;
  address: string;
  /** The veth end in the hub namespace: `ip link set down` on it cuts this host off. */
  hubLink: string;
}

/**
 * A private star network: one hub namespace with a bridge, and one namespace per host joined
 * to it by a veth pair, addressed in 198.18.0.0/24 (RFC 2544 benchmarking space). Names carry
 * the test's PID so that concurrent runs don't collide; `destroy()` deletes every namespace
 * (which deletes the veths too).
 */
export class StarNetwork {
  readonly hub: string;
  readonly hosts: Host[] = [];
  private readonly tag: string;

  constructor() {
    this.tag = String(process.pid % 100_000);
    this.hub = `dfh${this.tag}`;
    ip('netns', 'add', this.hub);
    ip('-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.hub, 'link', 'set', 'br0', 'up');
  }

  /** Adds host number `n` (1..250) at 198.18.0.n; `rateMbit` shapes its egress with tbf. */
  addHost(n: number, rateMbit?: number): Host {
    const ns = `df${n}h${this.tag}`;
    const inner = `df${n}i${this.tag}`;
    const outer = `df${n}o${this.tag}`;
    ip('netns', 'add', ns);
    const host = { ns, address: `198.18.0.${n}`, hubLink: outer };
    this.hosts.push(host);
    ip('link', 'add', inner, 'type', 'veth', 'peer', 'name', outer);
    ip('link', 'set', inner, 'netns', ns);
    ip('link', 'set', outer, 'netns', this.hub);
    ip('-n', this.hub, 'link', 'set', outer, 'master', 'br0');
    ip('-n', this.hub, 'link', 'set', outer, 'up');
    ip('-n', ns, 'addr', 'add', `${host.address}/24`, 'dev', inner);
    ip('-n', ns, 'link', 'set', inner, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    if (rateMbit) {
      execFileSync('ip', [
        'netns',
        'exec',
        ns,
        'tc',
        'qdisc',
        'add',
        'dev',
        inner,
        'root',
        'tbf',
        'rate',
        `${rateMbit}mbit`,
        'burst',
        '256kb',
        'latency',
        '100ms',
      ]);
    }
    return host;
  }

  setLink(host: Host, up: boolean): void {
    ip('-n', this.hub, 'link', 'set', host.hubLink, up ? 'up' : 'down');
  }

  destroy(): void {
    for (const ns of [...this.hosts.map((h) => h.ns), this.hub]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  }
}
