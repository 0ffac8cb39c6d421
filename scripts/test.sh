#!/usr/bin/env bash
# The README's second command: installs everything the tests need on a fresh machine
# (Debian packages for interop, pnpm, node modules), builds, lints and runs every test.
# The last line of output is `N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Third-party BitTorrent clients and servers the interop tests run against.
APT_PACKAGES=(ctorrent aria2 transmission-cli mktorrent opentracker redis-server nginx-light wrk iproute2 wget curl time chromium)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 2
  fi
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PNPM_VERSION=12.4.2
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  npm i -g "pnpm@$PNPM_VERSION" --allow-scripts=pnpm >/dev/null 2>&1 || npm i -g "pnpm@$PNPM_VERSION"
fi
pnpm install --frozen-lockfile
pnpm test
