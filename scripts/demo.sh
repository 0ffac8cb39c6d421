#!/usr/bin/env bash
# The README's first command: install, build, and run the main job on an embedded default —
# a tracker and a seeder on a sample directory, and a dist-get that fetches a file and verifies
# its checksum. Everything it starts is stopped on exit, even after a failure or Ctrl-C.
# Options (env): DEMO_SIZE_MIB (default 64), DEMO_PORT (tracker port, default: a free one).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PNPM_VERSION=12.4.2
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "==> installing pnpm $PNPM_VERSION"
  npm i -g "pnpm@$PNPM_VERSION" --allow-scripts=pnpm >/dev/null 2>&1 || npm i -g "pnpm@$PNPM_VERSION"
fi
echo "==> installing dependencies"
pnpm install --frozen-lockfile --reporter=silent
echo "==> building"
pnpm build

BIN="$ROOT/node_modules/.bin"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/distributor-demo.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
PORT=${DEMO_PORT:-$(free_port)}
SEED_PORT=$(free_port)
GET_PORT=$(free_port)
TRACKER="http://127.0.0.1:$PORT"
SIZE_MIB=${DEMO_SIZE_MIB:-64}

echo "==> sample directory $WORK/sample with a ${SIZE_MIB} MiB file"
mkdir -p "$WORK/sample" "$WORK/download" "$WORK/state"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$WORK/sample/sample.bin"

echo "==> dist-tracker on $TRACKER"
"$BIN/dist-tracker" --host 127.0.0.1 --port "$PORT" > "$WORK/tracker.log" 2>&1 &
PIDS+=($!)
echo "==> dist-seed $WORK/sample"
"$BIN/dist-seed" "$WORK/sample" --tracker "$TRACKER" --port "$SEED_PORT" --bind 127.0.0.1 \
  --state-dir "$WORK/state" > "$WORK/seeder.log" 2>&1 &
PIDS+=($!)

# The seeder publishes once the file has settled and been hashed (node's fetch: no curl needed).
published() {
  node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
    "$TRACKER/serve?sample.bin"
}
for _ in $(seq 1 120); do
  if published; then break; fi
  sleep 0.5
done
if ! published; then
  echo "demo: sample.bin was not published within 60 s; logs:" >&2
  tail -n 20 "$WORK/tracker.log" "$WORK/seeder.log" >&2
  exit 1
fi

echo "==> dist-get sample.bin"
"$BIN/dist-get" sample.bin --tracker "$TRACKER" -o "$WORK/download/sample.bin" \
  --port "$GET_PORT" --bind 127.0.0.1 --seed-time 0

want=$(sha256sum < "$WORK/sample/sample.bin" | cut -d' ' -f1)
got=$(sha256sum < "$WORK/download/sample.bin" | cut -d' ' -f1)
if [ "$want" != "$got" ]; then
  echo "demo: checksum mismatch: $got != $want" >&2
  exit 1
fi
echo "==> OK: sample.bin (${SIZE_MIB} MiB) downloaded and verified, sha256 $got"
