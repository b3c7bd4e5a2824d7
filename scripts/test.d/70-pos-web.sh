#!/usr/bin/env bash
# Browser till suite (examples/pos-web): unit tests of its pure modules (Vitest), then the
# built till in headless Chromium (playwright-core, Debian's chromium) against the real
# dcs-local serving it ([web] static_dir): a store day, 20 sales offline across a reload,
# the daemon killed mid-sale, bad input and a second tab. Writes docs/pos-*.png and prints
# the `[pos-web figure]` lines. Installs what a bare Debian root machine lacks (Node and npm,
# Chromium, the npm packages, the WASM package).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
say() { printf '[pos-web suite] %s\n' "$*"; }

. scripts/lib/apt-need.sh
need_node_and_chromium

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
if [ ! -f bindings/wasm/pkg/web/dcs_wasm_bg.wasm ]; then
  say "bindings/wasm/build.sh"
  bash bindings/wasm/build.sh
fi
say "cargo build -p dcs-local"
cargo build --quiet -p dcs-local

cd examples/pos-web
say "npm ci (node $(node --version), npm $(npm --version))"
npm ci --no-audit --no-fund --loglevel=error
say "buf generate"
rm -rf gen
PATH="$PWD/node_modules/.bin:$PATH" buf generate ../../proto --template buf.gen.yaml
say "vitest (pure modules)"
npx vitest run
say "npm run build"
npm run build
say "e2e (node --test e2e/till.e2e.mjs)"
figures=$(mktemp)
trap 'rm -f "$figures"' EXIT
POS_WEB_FIGURES=$figures DCS_LOCAL_BIN="$CARGO_TARGET_DIR/debug/dcs-local" \
  node --test --test-concurrency=1 e2e/till.e2e.mjs
cat "$figures"
say "screenshots: $(cd "$root/docs" && ls pos-*.png | tr '\n' ' ')"
say "ok"
