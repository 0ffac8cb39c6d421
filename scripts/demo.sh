#!/usr/bin/env bash
# The README's first command: install, build, and run the main job on an embedded default.
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM_VERSION=12.4.2
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  npm i -g "pnpm@$PNPM_VERSION" --allow-scripts=pnpm >/dev/null 2>&1 || npm i -g "pnpm@$PNPM_VERSION"
fi
pnpm install --frozen-lockfile
pnpm build
echo "built; the end-to-end demo arrives with dist-get"
