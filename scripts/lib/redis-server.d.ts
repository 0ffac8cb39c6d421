// Types for redis-server.js, so that TypeScript tests (the Redis store suites) can use it too.
export interface RedisServer {
  /** `redis://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** PID of the running redis-server, or undefined while stopped. */
  pid(): number | undefined;
  /** Kills redis-server by its PID (SIGKILL: a crash, not a clean shutdown). */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}
/**
 * Runs Debian's `redis-server` on a free loopback port, without persistence, and waits until it
 * answers. Stop it when done: it is stopped by its PID, never by name.
 */
export function startRedis(): Promise<RedisServer>;
