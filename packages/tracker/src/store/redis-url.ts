// Apart from the Redis store itself, so that checking a --store flag does not load ioredis.

export interface RedisUrl {
  host: string;
  port: number;
  db: number;
  username: string;
  password: string;
}

/** Parses `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`; throws a one-line Error otherwise. */
export function parseRedisUrl(text: string): RedisUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--store ${text} is not a URL; use redis://HOST:PORT[/DB]`);
  }
  if (url.protocol !== 'redis:') {
    throw new Error(`--store ${text}: only redis:// URLs are supported`);
  }
  if (!url.hostname) throw new Error(`--store ${text} has no host; use redis://HOST:PORT[/DB]`);
  const port = url.port ? Number(url.port) : 6379;
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 15 || !/^\d*$/.test(dbText)) {
    throw new Error(`--store ${text}: the database must be a number from 0 to 15`);
  }
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    db,
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
}
