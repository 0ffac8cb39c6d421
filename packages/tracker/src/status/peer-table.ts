import type { PeerStatus } from './swarm-status.js';

/** One machine as stored: the status view's fields, with the raw key and address bytes. */
export type PeerRow = Pick<
  PeerStatus,
  | 'location'
  | 'left'
  | 'uploaded'
  | 'downloaded'
  | 'rate'
  | 'rateReported'
  | 'firstSeenAt'
  | 'lastAnnounceAt'
  | 'lastProgressAt'
> & {
  /** Raw peer id as a latin1 string (the map key). */
  key: string;
  address: Uint8Array;
};

const ADDRESS_BYTES = 18; // the longest compact address, BEP 7

// The number columns by name, walked by grow() and remove() so that neither keeps a list of its
// own. Per-announce reads and writes name each field directly rather than look columns up.
const FLOAT_COLUMNS = [
  'left',
  'uploaded',
  'downloaded',
  'rate',
  'firstSeenAt',
  'lastAnnounceAt',
  'lastProgressAt',
] as const;
const BYTE_COLUMNS = ['rateReported', 'addressLength'] as const;

/**
 * The status board's machines of one swarm, as columns: one typed-array slot per machine and a
 * map from peer id to slot. A status page must hold 100,000 machines inside the tracker's
 * memory budget; as one object per machine (numbers boxed, an address array and a hex id each)
 * that cost ~500 bytes a machine, as columns ~150. Removal moves the last slot into the hole.
 */
export class PeerTable {
  private readonly slots = new Map<string, number>();
  private keys: string[] = [];
  private locations: (string | null)[] = [];
  // NaN in `left` stands for "the client did not say".
  private left = new Float64Array(0);
  private uploaded = new Float64Array(0);
  private downloaded = new Float64Array(0);
  private rate = new Float64Array(0);
  private firstSeenAt = new Float64Array(0);
  private lastAnnounceAt = new Float64Array(0);
  private lastProgressAt = new Float64Array(0);
  private rateReported = new Uint8Array(0);
  private addressLength = new Uint8Array(0);
  private addresses = new Uint8Array(0);

  get size(): number {
    return this.keys.length;
  }

  slotOf(key: string): number | undefined {
    return this.slots.get(key);
  }

  /** Adds a machine; returns its slot. */
  add(row: PeerRow): number {
    const slot = this.keys.length;
    // 1.5x, not 2x: at 100,000 machines the unused tail is what doubling would waste.
    if (slot === this.left.length) this.grow(Math.max(8, Math.ceil(slot * 1.5)));
    this.keys.push(row.key);
    this.slots.set(row.key, slot);
    this.firstSeenAt[slot] = row.firstSeenAt;
    this.write(slot, row);
    return slot;
  }

  /**
   * Overwrites what changes with each announce (everything but the key and first sight). Also
   * how `add` fills in a new slot's location: assigning one past the end appends.
   */
  write(slot: number, row: Omit<PeerRow, 'key' | 'firstSeenAt'>): void {
    this.locations[slot] = row.location;
    this.left[slot] = row.left ?? NaN;
    this.uploaded[slot] = row.uploaded;
    this.downloaded[slot] = row.downloaded;
    this.rate[slot] = row.rate;
    this.rateReported[slot] = row.rateReported ? 1 : 0;
    this.lastAnnounceAt[slot] = row.lastAnnounceAt;
    this.lastProgressAt[slot] = row.lastProgressAt;
    const address = row.address;
    const length = Math.min(address.length, ADDRESS_BYTES);
    this.addressLength[slot] = length;
    // Compact addresses always fit; a view is made only for one that would not.
    this.addresses.set(
      length === address.length ? address : address.subarray(0, length),
      slot * ADDRESS_BYTES,
    );
  }

  read(slot: number): PeerRow {
    const left = this.left[slot]!;
    const at = slot * ADDRESS_BYTES;
    return {
      key: this.keys[slot]!,
      address: this.addresses.slice(at, at + this.addressLength[slot]!),
      location: this.locations[slot]!,
      left: Number.isNaN(left) ? null : left,
      uploaded: this.uploaded[slot]!,
      downloaded: this.downloaded[slot]!,
      rate: this.rate[slot]!,
      rateReported: this.rateReported[slot] === 1,
      firstSeenAt: this.firstSeenAt[slot]!,
      lastAnnounceAt: this.lastAnnounceAt[slot]!,
      lastProgressAt: this.lastProgressAt[slot]!,
    };
  }

  /** Fields the per-announce update and the summaries need, without building a row. */
  leftAt(slot: number): number | null {
    const left = this.left[slot]!;
    return Number.isNaN(left) ? null : left;
  }
  downloadedAt(slot: number): number {
    return this.downloaded[slot]!;
  }
  rateAt(slot: number): number {
    return this.rate[slot]!;
  }
  lastAnnounceAtOf(slot: number): number {
    return this.lastAnnounceAt[slot]!;
  }
  lastProgressAtOf(slot: number): number {
    return this.lastProgressAt[slot]!;
  }
  locationAt(slot: number): string | null {
    return this.locations[slot]!;
  }

  remove(key: string): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    this.slots.delete(key);
    const last = this.keys.length - 1;
    if (slot !== last) {
      const moved = this.keys[last]!;
      this.keys[slot] = moved;
      this.locations[slot] = this.locations[last]!;
      for (const name of FLOAT_COLUMNS) {
        const column = this[name];
        column[slot] = column[last]!;
      }
      for (const name of BYTE_COLUMNS) {
        const column = this[name];
        column[slot] = column[last]!;
      }
      this.addresses.copyWithin(
        slot * ADDRESS_BYTES,
        last * ADDRESS_BYTES,
        (last + 1) * ADDRESS_BYTES,
      );
      this.slots.set(moved, slot);
    }
    this.keys.pop();
    this.locations.pop();
    return true;
  }

  /** Removes every machine whose last announce is at or before `cutoff`; returns how many. */
  removeSilentSince(cutoff: number): number {
    let removed = 0;
    // Backwards: a removal moves the last slot into the hole, which is already checked.
    for (let slot = this.keys.length - 1; slot >= 0; slot--) {
      if (this.lastAnnounceAt[slot]! <= cutoff) {
        this.remove(this.keys[slot]!);
        removed++;
      }
    }
    return removed;
  }

  /** Slots, most recently announced first. */
  slotsByRecency(): number[] {
    const order = Array.from(this.keys.keys());
    return order.sort((a, b) => this.lastAnnounceAt[b]! - this.lastAnnounceAt[a]!);
  }

  private grow(capacity: number): void {
    for (const name of FLOAT_COLUMNS) {
      const next = new Float64Array(capacity);
      next.set(this[name]);
      this[name] = next;
    }
    for (const name of BYTE_COLUMNS) {
      const next = new Uint8Array(capacity);
      next.set(this[name]);
      this[name] = next;
    }
    const addresses = new Uint8Array(capacity * ADDRESS_BYTES);
    addresses.set(this.addresses);
    this.addresses = addresses;
  }
}
