#!/usr/bin/env bash
# `dcs demo` against real infrastructure: `scripts/stack up` starts PostgreSQL, the
# Kafka-protocol broker, OpenBao and Prometheus in a throwaway directory; the ignored test of
# daemons/dcs-cli/tests/demo_e2e.rs runs the demo with --postgres, --kafka and --vault (its
# leader killed and the tenant's KEK rotated during the run) and checks every acknowledged
# sale once in PostgreSQL and once in Kafka and the stock converged; `scripts/stack down` stops them. (The SQLite-only demo test runs in `cargo test`.)
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
