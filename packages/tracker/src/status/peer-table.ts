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

// A row: nine numbers, then the address bytes, padded to a whole number of float slots.
const LEFT = 0;
const UPLOADED = 1;
const DOWNLOADED = 2;
const RATE = 3;
const FIRST_SEEN_AT = 4;
const LAST_ANNOUNCE_AT = 5;
const LAST_PROGRESS_AT = 6;
const RATE_REPORTED = 7;
const ADDRESS_LENGTH = 8;
const NUMBERS = 9;
const ROW_FLOATS = NUMBERS + Math.ceil(ADDRESS_BYTES / 8);
const ROW_BYTES = ROW_FLOATS * 8;
const ADDRESS_AT = NUMBERS * 8;

const NO_ROWS = new Float64Array(0);
const NO_BYTES = new Uint8Array(0);

/**
 * The status board's machines of one swarm, as rows in one buffer: nine numbers and the
 * compact address per machine, and a map from peer id to row. A status page must hold 100,000
 * machines inside the tracker's memory budget; as one object per machine (numbers boxed, an
 * address array and a hex id each) that cost ~500 bytes a machine, as rows ~170. One buffer
 * rather than a typed array per field: with 10,000 small swarms, ten arrays each were 300,000
 * heap objects, and every major GC had to mark them all. Removal moves the last row into the
 * hole.
 */
export class PeerTable {
  private readonly slots = new Map<string, number>();
  private keys: string[] = [];
  private locations: (string | null)[] = [];
  // NaN in LEFT stands for "the client did not say".
  private rows = NO_ROWS;
  /** The same memory as `rows`, for the address bytes. */
  private bytes = NO_BYTES;

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
    if (slot * ROW_FLOATS === this.rows.length) this.grow(Math.max(8, Math.ceil(slot * 1.5)));
    this.keys.push(row.key);
    this.slots.set(row.key, slot);
    this.rows[slot * ROW_FLOATS + FIRST_SEEN_AT] = row.firstSeenAt;
    this.write(slot, row);
    return slot;
  }

  /**
   * Overwrites what changes with each announce (everything but the key and first sight). Also
   * how `add` fills in a new slot's location: assigning one past the end appends.
   */
  write(slot: number, row: Omit<PeerRow, 'key' | 'firstSeenAt'>): void {
    this.locations[slot] = row.location;
    const rows = this.rows;
    const at = slot * ROW_FLOATS;
    rows[at + LEFT] = row.left ?? NaN;
    rows[at + UPLOADED] = row.uploaded;
    rows[at + DOWNLOADED] = row.downloaded;
    rows[at + RATE] = row.rate;
    rows[at + RATE_REPORTED] = row.rateReported ? 1 : 0;
    rows[at + LAST_ANNOUNCE_AT] = row.lastAnnounceAt;
    rows[at + LAST_PROGRESS_AT] = row.lastProgressAt;
    const address = row.address;
    const length = Math.min(address.length, ADDRESS_BYTES);
    rows[at + ADDRESS_LENGTH] = length;
    // Compact addresses always fit; a view is made only for one that would not.
    this.bytes.set(
      length === address.length ? address : address.subarray(0, length),
      slot * ROW_BYTES + ADDRESS_AT,
    );
  }

  read(slot: number): PeerRow {
    const rows = this.rows;
    const at = slot * ROW_FLOATS;
    const left = rows[at + LEFT]!;
    const address = slot * ROW_BYTES + ADDRESS_AT;
    return {
      key: this.keys[slot]!,
      address: this.bytes.slice(address, address + rows[at + ADDRESS_LENGTH]!),
      location: this.locations[slot]!,
      left: Number.isNaN(left) ? null : left,
      uploaded: rows[at + UPLOADED]!,
      downloaded: rows[at + DOWNLOADED]!,
      rate: rows[at + RATE]!,
      rateReported: rows[at + RATE_REPORTED] === 1,
      firstSeenAt: rows[at + FIRST_SEEN_AT]!,
      lastAnnounceAt: rows[at + LAST_ANNOUNCE_AT]!,
      lastProgressAt: rows[at + LAST_PROGRESS_AT]!,
    };
  }

  /** Fields the per-announce update and the summaries need, without building a row. */
  leftAt(slot: number): number | null {
    const left = this.rows[slot * ROW_FLOATS + LEFT]!;
    return Number.isNaN(left) ? null : left;
  }
  downloadedAt(slot: number): number {
    return this.rows[slot * ROW_FLOATS + DOWNLOADED]!;
  }
  rateAt(slot: number): number {
    return this.rows[slot * ROW_FLOATS + RATE]!;
  }
  lastAnnounceAtOf(slot: number): number {
    return this.rows[slot * ROW_FLOATS + LAST_ANNOUNCE_AT]!;
  }
  lastProgressAtOf(slot: number): number {
    return this.rows[slot * ROW_FLOATS + LAST_PROGRESS_AT]!;
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
      this.bytes.copyWithin(slot * ROW_BYTES, last * ROW_BYTES, (last + 1) * ROW_BYTES);
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
      if (this.rows[slot * ROW_FLOATS + LAST_ANNOUNCE_AT]! <= cutoff) {
        this.remove(this.keys[slot]!);
        removed++;
      }
    }
    return removed;
  }

  /** Slots, most recently announced first. */
  slotsByRecency(): number[] {
    const order = Array.from(this.keys.keys());
    const rows = this.rows;
    return order.sort(
      (a, b) => rows[b * ROW_FLOATS + LAST_ANNOUNCE_AT]! - rows[a * ROW_FLOATS + LAST_ANNOUNCE_AT]!,
    );
  }

  private grow(capacity: number): void {
    const rows = new Float64Array(capacity * ROW_FLOATS);
    const bytes = new Uint8Array(rows.buffer);
    bytes.set(this.bytes);
    this.rows = rows;
    this.bytes = bytes;
  }
}
