/**
 * dist-get's optional `rate=` announce parameter (its own download rate in bytes/s), which only
 * the status page reads; other clients don't send it. The announce parser hands it over as sent
 * (`AnnounceQuery.rawRate`) and it is judged here, where it is used: a bad value is ignored,
 * never a failure, because it cannot affect the swarm. (`location=` is checked by the announce
 * parser: the topology handout uses it.)
 */
export interface ExtraAnnounceParams {
  rate: number | undefined;
}

/** A `rate=` value as sent, as bytes/s; undefined when absent or not a plain decimal. */
export function parseRate(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^\d{1,15}(\.\d{1,6})?$/.test(raw)) return undefined;
  return Number(raw);
}

/** The value of `key` in `query`; `first` is `key=`, `later` is `&key=` (built once, not per announce). */
function valueOf(query: string, first: string, later: string): string | undefined {
  let start = first.length;
  if (!query.startsWith(first)) {
    const at = query.indexOf(later);
    if (at < 0) return undefined;
    start = at + later.length;
  }
  const end = query.indexOf('&', start);
  return query.slice(start, end < 0 ? query.length : end);
}

/** For a query string that has not been through the announce parser. */
export function parseExtraParams(query: string): ExtraAnnounceParams {
  return { rate: parseRate(valueOf(query, 'rate=', '&rate=')) };
}
