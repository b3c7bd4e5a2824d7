#!/usr/bin/env bash
# Python suite: builds and installs the `dcs` package from bindings/python into a throwaway
# virtual environment (maturin from PyPI), then runs its pytest suite and the store-day example.
# Installs python3-venv on a bare Debian root machine that lacks it.
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { printf '[python suite] %s\n' "$*"; }

if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "python3-venv is missing: apt-get install python3-venv (or run as root)" >&2
    exit 1
  fi
  say "apt-get install python3-venv python3-pip"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv python3-pip >/dev/null
fi

venv=$(mktemp -d /tmp/dcs-python-venv.XXXXXX)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
say "pip install maturin pytest"
"$venv/bin/pip" install -q --disable-pip-version-check "maturin>=1.8,<2" pytest
# Build in the workspace's target directory, so the crates the tests already built are reused.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
say "pip install ./bindings/python"
started=$(date +%s)
"$venv/bin/pip" install -q --disable-pip-version-check ./bindings/python
say "built and installed in $(( $(date +%s) - started )) s"

say "pytest"
(cd bindings/python && "$venv/bin/python" -m pytest -q tests)
say "example: examples/python/store_day.py"
"$venv/bin/python" examples/python/store_day.py >/dev/null
say "ok"
