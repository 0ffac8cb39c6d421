/**
 * dist-get's optional `rate=` announce parameter (its own download rate in bytes/s), which only
 * the status page reads; other clients don't send it. It is picked out of the raw query here
 * rather than in the announce parser, which stays about what the swarm needs; a bad value is
 * ignored, never a failure, because it cannot affect the swarm. (`location=` is parsed by the
 * announce parser: the topology handout uses it.)
 */
export interface ExtraAnnounceParams {
  rate: number | undefined;
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

export function parseExtraParams(query: string): ExtraAnnounceParams {
  const rateRaw = valueOf(query, 'rate=', '&rate=');
  if (rateRaw === undefined || !/^\d{1,15}(\.\d{1,6})?$/.test(rateRaw)) return { rate: undefined };
  return { rate: Number(rateRaw) };
}
