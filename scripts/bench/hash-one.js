// Child process of bench/hash.js: hashes one file with one implementation and prints a JSON
// line with the time and this process's peak RSS (so the parent's memory is not counted).
// It loads the hasher module alone, not all of core, so that the process's CPU seconds compare
// with mktorrent's: what a hashing tool costs, not what loading parse-torrent costs.
// `ours` times hashFile(): the calling thread and a worker started for the file, as for a first
// file.
// `ours-warm` times the same file again on a pool that has hashed it once (the seeder's steady
// state); its process CPU seconds cover both runs, so it reports none.
import { PieceHasher, hashFile } from '../../packages/core/dist/piece-hasher.js';

const [, , which, path, pieceLengthArg] = process.argv;
const pieceLength = Number(pieceLengthArg);

async function timed(fn) {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

let seconds;
if (which === 'ours') {
  seconds = await timed(() => hashFile(path, { pieceLength }));
} else if (which === 'ours-warm') {
  const hasher = new PieceHasher();
  try {
    await hasher.hashFile(path, { pieceLength });
    seconds = await timed(() => hasher.hashFile(path, { pieceLength }));
  } finally {
    await hasher.close();
  }
} else if (which === 'create-torrent') {
  // create-torrent is a dependency of core only (ESM, no exported package.json): import it from
  // core's node_modules.
  const entry = new URL(
    '../../packages/core/node_modules/create-torrent/index.js',
    import.meta.url,
  );
  const createTorrent = (await import(entry.href)).default;
  seconds = await timed(
    () =>
      new Promise((resolve, reject) =>
        createTorrent(path, { pieceLength, announceList: [] }, (err, t) =>
          err ? reject(err) : resolve(t),
        ),
      ),
  );
} else {
  throw new Error(`unknown implementation ${which}`);
}
const usage = process.resourceUsage();
const cpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
console.log(
  JSON.stringify({
    seconds,
    maxRssMB: usage.maxRSS / 1024,
    ...(which === 'ours-warm' ? {} : { cpuSeconds }),
  }),
);
