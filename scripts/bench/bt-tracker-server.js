// The reference bittorrent-tracker (npm), HTTP only, for `pnpm bench:tracker`.
// Usage: node scripts/bench/bt-tracker-server.js PORT
// bittorrent-tracker is a devDependency of packages/tracker, and its package exports have only
// an `import` condition, so it is loaded by path from there.
const entry = new URL(
  '../../packages/tracker/node_modules/bittorrent-tracker/server.js',
  import.meta.url,
);
const { default: Server } = await import(entry.href);

const port = Number(process.argv[2]);
const server = new Server({ udp: false, http: true, ws: false, stats: false });
server.on('error', (err) => {
  process.stderr.write(`bittorrent-tracker: ${err.message}\n`);
  process.exit(1);
});
server.on('warning', () => {});
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
