// The floor for any tracker on node:http, for `pnpm bench:tracker`: answers every request with
// a fixed 50-peer compact announce reply, doing no tracker work at all. The gap between this
// and dist-tracker is what dist-tracker's own work costs.
// Usage: node scripts/bench/node-http-floor.js PORT
import http from 'node:http';

const peers = Buffer.alloc(50 * 6, 7);
const body = Buffer.concat([
  Buffer.from('d8:completei1e10:incompletei9e8:intervali30e5:peers300:'),
  peers,
  Buffer.from('e'),
]);
const server = http.createServer((req, res) => {
  res.sendDate = false;
  res.writeHead(200, ['Content-Type', 'text/plain', 'Content-Length', String(body.length)]);
  res.end(body);
});
server.listen(Number(process.argv[2]), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
