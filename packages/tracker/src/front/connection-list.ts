/** What the list needs of its items: a slot it keeps for them (-1 when not listed). */
export interface Listed {
  listIndex: number;
}

/**
 * A set of short-lived objects, kept as an array with swap-removal.
 *
 * Not a `Set`: a Set that gains and loses thousands of members a second rehashes often, and
 * each table it leaves behind keeps a link to the next one. Once one such table has reached the
 * old generation, every later table and every connection in them outlives the young-generation
 * GC until the next full one. Measured on dist-tracker with a new connection per announce: ~550
 * KB promoted per young-generation GC with a Set, 3–6 KB with this list (docs/benchmarks.md).
 */
export class ConnectionList<T extends Listed> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  add(item: T): void {
    if (item.listIndex >= 0) return;
    item.listIndex = this.items.length;
    this.items.push(item);
  }

  delete(item: T): void {
    const at = item.listIndex;
    if (at < 0) return;
    const last = this.items.pop()!;
    if (last !== item) {
      this.items[at] = last;
      last.listIndex = at;
    }
    item.listIndex = -1;
  }

  /** Calls `fn` on each item listed now; `fn` may add or delete items. */
  forEach(fn: (item: T) => void): void {
    for (const item of this.items.slice()) if (item.listIndex >= 0) fn(item);
  }
}
