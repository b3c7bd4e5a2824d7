#!/usr/bin/env bash
# Dashboard end-to-end suite: the built dashboard in headless Chromium (playwright-core,
# Debian's chromium) against real daemons: a dcs-master serving it, a 3-node region
# streaming to it, a store syncing sales through the region, operators made with the CLI
# (daemons/dcs-regional/tests/dashboard_e2e.rs driving daemons/dcs-master/web/e2e/
# dashboard.e2e.mjs). Writes the screenshots in docs/ and prints the load-time and size
# figures. Installs what a bare Debian root machine lacks (Node and npm, Chromium, the npm
# packages); needs PostgreSQL ($DCS_PG_URL, exported by scripts/test; started here with
# scripts/pg-dev when unset) and noida-db (scripts/kafka-dev install).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
say() { printf '[dashboard e2e suite] %s\n' "$*"; }

. scripts/lib/apt-need.sh
need_node_and_chromium

web=daemons/dcs-master/web
if [ ! -d "$web/node_modules/playwright-core" ]; then
  say "npm ci (node $(node --version), npm $(npm --version))"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ ! -f "$web/dist/index.html" ]; then
  say "npm run build"
  (cd "$web" && npm run build)
fi

if [ -z "${DCS_PG_URL:-}" ]; then
  export DCS_PG_STATE=${DCS_PG_STATE:-$(mktemp -d /tmp/dcs-e2e-pg.XXXXXX)}
  trap 'scripts/pg-dev stop || true' EXIT
  say "PostgreSQL (scripts/pg-dev start)"
  eval "$(scripts/pg-dev start)"
fi
scripts/kafka-dev install
# The `noida-db` on PATH is a Python wrapper that runs the broker as its child, and the
# harness stops the broker with SIGTERM to the process it started: name the broker itself,
# so that no broker outlives the test.
if [ -z "${DCS_NOIDA:-}" ]; then
  native=$(python3 -c 'import noida_db, os; print(os.path.join(os.path.dirname(noida_db.__file__), "noida-db"))' 2>/dev/null || true)
  [ -n "$native" ] && [ -x "$native" ] && export DCS_NOIDA=$native
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
say "cargo test -p dcs-regional --test dashboard_e2e -- --ignored"
cargo test -p dcs-regional --test dashboard_e2e -- --ignored --nocapture
say "screenshots: $(cd docs && ls dashboard-*.png | tr '\n' ' ')"
say "ok"
