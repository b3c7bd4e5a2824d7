#!/usr/bin/env bash
# Dashboard suite: the dcs-master admin dashboard (React + Vite, daemons/dcs-master/web):
# installs its npm packages (npm ci, locked), runs its Vitest suite once, type-checks and
# builds it, and checks the gzipped JavaScript against its 300 KB budget (npm run size).
# Installs Node and npm on a bare Debian root machine that lacks them.
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { printf '[dashboard suite] %s\n' "$*"; }
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "node and npm are missing: apt-get install nodejs npm" >&2; exit 1; }
  say "apt-get install nodejs npm"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
cd daemons/dcs-master/web
say "npm ci (node $(node --version), npm $(npm --version))"
npm ci --no-audit --no-fund --loglevel=error
say "npm test (vitest run)"
npm test
say "npm run build (tsc, vite build)"
npm run build
say "npm run size (budget 300 KB gzipped)"
npm run size
say "ok"
