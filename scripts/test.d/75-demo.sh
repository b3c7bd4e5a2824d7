#!/usr/bin/env bash
# `dcs demo` against real infrastructure: `scripts/stack up` starts PostgreSQL, the
# Kafka-protocol broker, OpenBao and Prometheus in a throwaway directory; the ignored test of
# daemons/dcs-cli/tests/demo_e2e.rs runs the demo with --postgres, --kafka and --vault (its
# leader killed and the tenant's KEK rotated during the run) and checks every acknowledged
# # sale once in PostgreSQL and once in Kafka and the stock converged. Then the browser till
# against the same stack (examples/pos-web/e2e/region.e2e.mjs in headless Chromium): a till
# revoked while its store is cut off, whose sales the region refuses and the till lists with
# the region's reason. `scripts/stack down` stops them. (The SQLite-only demo test runs in
# `cargo test`.)
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { printf '[demo suite] %s\n' "$*"; }
stack=$(mktemp -d /tmp/dcs-demo-stack.XXXXXX)
rmdir "$stack"
trap 'scripts/stack down "$stack" >/dev/null 2>&1 || true' EXIT
say "scripts/stack up $stack"
scripts/stack up "$stack"
say "cargo test -p dcs-cli --test demo_e2e -- --ignored"
DCS_STACK_FLAGS="$stack/flags" cargo test --quiet -p dcs-cli --test demo_e2e -- --ignored --nocapture

. scripts/lib/apt-need.sh
need_node_and_chromium
if [ ! -f examples/pos-web/dist/index.html ] || [ ! -d examples/pos-web/gen ] || [ ! -d examples/pos-web/node_modules/playwright-core ]; then
  say "scripts/build-web (the till is not built)"
  scripts/build-web
fi
say "the till against the demo (node --test examples/pos-web/e2e/region.e2e.mjs)"
DCS_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/dcs" DCS_STACK_FLAGS="$stack/flags" \
  node --test --test-concurrency=1 examples/pos-web/e2e/region.e2e.mjs
