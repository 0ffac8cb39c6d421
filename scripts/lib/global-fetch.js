// Stands in for cross-fetch-ponyfill in the dist-get bundle (scripts/bundle-dist-get.js).
// parse-torrent imports that package to fetch .torrent URLs; under node it re-exports
// node-fetch and a web-streams polyfill (~290 KB of the bundle), whose module bodies all ran at
// every start-up. Node 20 has fetch built in; it is looked up on first use, because merely
// reading globalThis.fetch loads node's own fetch implementation.
export default function fetch(input, init) {
  return globalThis.fetch(input, init);
}
export { fetch };
