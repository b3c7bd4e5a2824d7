#!/usr/bin/env bash
# gRPC-Web suite: drives the real dcs-local binary with a Connect-ES client generated from
# proto/ by `buf generate` (npm packages, pinned by package-lock.json), as the browser till does.
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { printf '[grpc-web suite] %s\n' "$*"; }
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "node and npm are missing: apt-get install nodejs npm" >&2; exit 1; }
  say "apt-get install nodejs npm"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
say "cargo build -p dcs-local"
cargo build --quiet -p dcs-local
cd daemons/dcs-local/tests/grpc-web
say "npm ci"
npm ci --no-audit --no-fund --loglevel=error
say "buf generate"
rm -rf gen
PATH="$PWD/node_modules/.bin:$PATH" buf generate ../../../../proto --template buf.gen.yaml
say "node --test"
DCS_LOCAL_BIN="$CARGO_TARGET_DIR/debug/dcs-local" node --test store_day.test.mjs
