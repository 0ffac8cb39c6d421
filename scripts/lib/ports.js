// Free TCP ports for tests and benchmarks: what the kernel hands out for port 0 on `host`.
import { createServer } from 'node:net';

/** A TCP port free on `host` right now (bound to port 0, then released). */
export async function freePort(host = '127.0.0.1') {
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}
