// Types for ports.js, so that TypeScript tests (the tracker's) can use it too.
/**
 * A TCP port free on `host` (default 127.0.0.1) right now: the kernel's pick for port 0,
 * released before it resolves.
 */
export function freePort(host?: string): Promise<number>;
