import { isIPv4, isIPv6 } from 'node:net';
import { ipBytes } from '../announce/address.js';
import { locationProblem } from './location.js';

interface CidrRule {
  /** 4 or 16 network bytes. */
  network: Buffer;
  prefix: number;
  location: string;
}

/** A topology file that cannot be used; the message names the line and what to fix. */
export class TopologyFileError extends Error {}

/**
 * Where machines that cannot say so themselves (ctorrent, aria2c) sit: a list of
 * `CIDR zone/rack` lines. The longest matching prefix wins, so a /26 carved out of a /24 can
 * name a different rack. Blank lines and `#` comments are ignored. Example:
 *
 *     # zone/rack by subnet
 *     198.18.1.0/24   zone-a/rack-1
 *     198.18.2.0/24   zone-a/rack-2
 *     2001:db8:3::/48 zone-b/rack-7
 */
export class CidrMap {
  /** Rules by address length, longest prefix first. */
  private readonly v4: CidrRule[];
  private readonly v6: CidrRule[];

  constructor(rules: readonly CidrRule[]) {
    const byPrefix = (a: CidrRule, b: CidrRule) => b.prefix - a.prefix;
    this.v4 = rules.filter((r) => r.network.length === 4).sort(byPrefix);
    this.v6 = rules.filter((r) => r.network.length === 16).sort(byPrefix);
  }

  get size(): number {
    return this.v4.length + this.v6.length;
  }

  static parse(text: string, source = 'topology file'): CidrMap {
    const rules: CidrRule[] = [];
    text.split('\n').forEach((rawLine, i) => {
      const line = rawLine.replace(/#.*/, '').trim();
      if (!line) return;
      const where = `${source} line ${i + 1}`;
      const fields = line.split(/\s+/);
      if (fields.length !== 2) {
        throw new TopologyFileError(
          `${where}: expected "CIDR ZONE/RACK", got ${JSON.stringify(line)}`,
        );
      }
      const [cidr, location] = fields as [string, string];
      const why = locationProblem(location);
      if (why) throw new TopologyFileError(`${where}: location ${why}`);
      const slash = cidr.indexOf('/');
      const address = slash < 0 ? cidr : cidr.slice(0, slash);
      if (!isIPv4(address) && !isIPv6(address)) {
        throw new TopologyFileError(`${where}: ${JSON.stringify(address)} is not an IP address`);
      }
      const network = ipBytes(address)!;
      const bits = network.length * 8;
      const prefixText = slash < 0 ? String(bits) : cidr.slice(slash + 1);
      const prefix = Number(prefixText);
      if (!/^\d{1,3}$/.test(prefixText) || prefix > bits) {
        throw new TopologyFileError(`${where}: prefix length must be 0 to ${bits} in ${cidr}`);
      }
      rules.push({ network: masked(network, prefix), prefix, location });
    });
    return new CidrMap(rules);
  }

  /** The location of an address (4 or 16 bytes), or undefined when no rule matches. */
  lookup(ip: Uint8Array): string | undefined {
    const rules = ip.length === 4 ? this.v4 : ip.length === 16 ? this.v6 : [];
    for (const rule of rules) {
      if (matches(ip, rule.network, rule.prefix)) return rule.location;
    }
    return undefined;
  }
}

function masked(bytes: Buffer, prefix: number): Buffer {
  const out = Buffer.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    out[i]! &= keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

function matches(ip: Uint8Array, network: Buffer, prefix: number): boolean {
  const whole = prefix >> 3;
  for (let i = 0; i < whole; i++) if (ip[i] !== network[i]) return false;
  const rest = prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (ip[whole]! & mask) === network[whole];
}
