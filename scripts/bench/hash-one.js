// Child process of bench/hash.js: hashes one file with one implementation and prints a JSON
// line with the time and this process's peak RSS (so the parent's memory is not counted).
// It loads the hasher module alone, not all of core, so that the process's CPU seconds compare
// with mktorrent's: what a hashing tool costs, not what loading parse-torrent costs.
import { hashFile } from '../../packages/core/dist/piece-hasher.js';

const [, , which, path, pieceLengthArg] = process.argv;
const pieceLength = Number(pieceLengthArg);
const started = performance.now();
if (which === 'ours') {
  await hashFile(path, { pieceLength });
} else if (which === 'create-torrent') {
  // create-torrent is a dependency of core only (ESM, no exported package.json): import it from
  // core's node_modules.
  const entry = new URL(
    '../../packages/core/node_modules/create-torrent/index.js',
    import.meta.url,
  );
  const createTorrent = (await import(entry.href)).default;
  await new Promise((resolve, reject) =>
    createTorrent(path, { pieceLength, announceList: [] }, (err, t) =>
      err ? reject(err) : resolve(t),
    ),
  );
} else {
  throw new Error(`unknown implementation ${which}`);
}
const seconds = (performance.now() - started) / 1000;
const usage = process.resourceUsage();
console.log(
  JSON.stringify({
    seconds,
    maxRssMB: usage.maxRSS / 1024,
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
  }),
);
