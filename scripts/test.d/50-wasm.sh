#!/usr/bin/env bash
# WASM suite: builds the bindings/wasm npm package (size budget checked by build.sh), then runs
# its Node tests and its headless Chromium tests (shared cases, bad input, the shared vector
# file, the IndexedDB offline queue across reloads) and type-checks the shipped .d.ts files. Installs what a bare Debian root machine
# lacks: Node and npm, Chromium, gzip/bc, the npm dev dependencies (npm ci, locked).
set -euo pipefail
cd "$(dirname "$0")/../.."
pkg=bindings/wasm
say() { printf '[wasm suite] %s\n' "$*"; }

missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ -x "${DCS_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium chromium-headless-shell chromium-driver)
command -v gzip >/dev/null || missing+=(gzip)
command -v bc >/dev/null || missing+=(bc)
. scripts/lib/apt-need.sh
apt_need ${missing[@]+"${missing[@]}"}
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  say "WARNING: Node $(node --version) is older than 20, which playwright-core declares; running anyway"
fi

say "build"
bash "$pkg/build.sh"

say "npm ci (playwright-core, typescript; locked; no browser download)"
(cd "$pkg" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)

cd "$pkg"
say "tsc: the shipped .d.ts typings type-check (tests/typings.mts)"
npx --no-install tsc -p tests
say "node --test: Node and Chromium"
node --test --test-reporter=spec tests/node.test.js tests/browser.test.js
