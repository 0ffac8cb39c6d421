import { describe, expect, it } from '@jest/globals';
import { ConnectionList } from '@distributor/tracker';

const item = (name: string) => ({ name, listIndex: -1 });

describe('ConnectionList', () => {
  it('adds, deletes from anywhere, and counts', () => {
    const list = new ConnectionList<ReturnType<typeof item>>();
    const a = item('a');
    const b = item('b');
    const c = item('c');
    const d = item('d');
    for (const x of [a, b, c, d]) list.add(x);
    list.add(b); // already listed: no second entry
    expect(list.size).toBe(4);
    list.delete(b);
    list.delete(b); // not listed any more: nothing happens
    list.delete(a);
    expect(list.size).toBe(2);
    expect(a.listIndex).toBe(-1);
    const seen: string[] = [];
    list.forEach((x) => seen.push(x.name));
    expect(seen.sort()).toEqual(['c', 'd']);
    list.delete(d);
    list.delete(c);
    expect(list.size).toBe(0);
    list.add(a);
    expect(a.listIndex).toBe(0);
  });

  it('visits every item once while the callback deletes and adds', () => {
    const list = new ConnectionList<ReturnType<typeof item>>();
    const items = Array.from({ length: 50 }, (_, i) => item(String(i)));
    for (const x of items) list.add(x);
    const late = item('late');
    const seen: string[] = [];
    list.forEach((x) => {
      seen.push(x.name);
      list.delete(x);
      // Deleting another item that has not been visited yet: it must not be visited.
      if (x.name === '10') list.delete(items[40]!);
      list.add(late);
    });
    expect(seen).toHaveLength(49);
    expect(new Set(seen).size).toBe(49);
    expect(seen).not.toContain('40');
    expect(seen).not.toContain('late');
    expect(list.size).toBe(1);
  });
});
