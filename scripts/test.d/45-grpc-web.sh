#!/usr/bin/env bash
# gRPC-Web suite: drives the real dcs-local binary with a Connect-ES client generated from
# proto/ by `buf generate` (npm packages, pinned by package-lock.json), as the browser till does;
# then the same client, and a native gRPC one over HTTP/2, through nginx running the shipped
# ops/nginx/dcs.conf (TLS with a throwaway certificate, its ports moved to free ones).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
say() { printf '[grpc-web suite] %s\n' "$*"; }
missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v openssl >/dev/null || missing+=(openssl)
. scripts/lib/apt-need.sh
apt_need ${missing[@]+"${missing[@]}"}
# Debian starts the packaged service on install: this suite runs its own.
service nginx stop >/dev/null 2>&1 || true
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
say "cargo build -p dcs-local"
cargo build --quiet -p dcs-local
cd daemons/dcs-local/tests/grpc-web
say "npm ci"
npm ci --no-audit --no-fund --loglevel=error
say "buf generate"
rm -rf gen
PATH="$PWD/node_modules/.bin:$PATH" buf generate ../../../../proto --template buf.gen.yaml
say "node --test (direct)"
DCS_LOCAL_BIN="$CARGO_TARGET_DIR/debug/dcs-local" node --test store_day.test.mjs

say "nginx with ops/nginx/dcs.conf in front of dcs-local"
tmp=$(mktemp -d /tmp/dcs-nginx.XXXXXX)
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
stop_nginx() {
  if [ -f "$tmp/nginx.pid" ]; then "$nginx_bin" -p "$tmp" -c "$tmp/nginx.conf" -s stop 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap stop_nginx EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pos_port=$(free_port)
tls_port=$(free_port)
plain_port=$(free_port)
admin_port=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=pos.store-1.example.com" \
  -addext "subjectAltName=DNS:pos.store-1.example.com,IP:127.0.0.1" \
  -keyout "$tmp/pos.key" -out "$tmp/pos.crt" 2>/dev/null
cp "$tmp/pos.crt" "$tmp/admin.crt"
cp "$tmp/pos.key" "$tmp/admin.key"
# The shipped file with only the values of its CHANGE lines moved: certificates, ports, loopback.
sed -e "s|/etc/ssl/dcs/|$tmp/|g" \
  -e "s|server 127.0.0.1:7400;|server 127.0.0.1:$pos_port;|g" \
  -e "s|server 127.0.0.1:7380;|server 127.0.0.1:$admin_port;|" \
  -e "s|listen 443 ssl http2;|listen 127.0.0.1:$tls_port ssl http2;|" \
  -e "s|listen 80;|listen 127.0.0.1:$plain_port;|" \
  -e '/listen \[::\]/d' \
  "$root/ops/nginx/dcs.conf" >"$tmp/dcs.conf"
if ! grep -q "server 127.0.0.1:$pos_port;" "$tmp/dcs.conf" || ! grep -q "127.0.0.1:$tls_port ssl" "$tmp/dcs.conf"; then
  echo "ops/nginx/dcs.conf changed shape: this suite's substitutions no longer apply" >&2
  exit 1
fi
. "$root/scripts/lib/nginx-main.sh"
nginx_main "$tmp" "$tmp/dcs.conf"
"$nginx_bin" -p "$tmp" -c "$tmp/nginx.conf"
say "node --test (through nginx on https://127.0.0.1:$tls_port)"
if ! DCS_LOCAL_BIN="$CARGO_TARGET_DIR/debug/dcs-local" DCS_POS_PORT=$pos_port \
  DCS_PROXY_URL="https://127.0.0.1:$tls_port" NODE_EXTRA_CA_CERTS="$tmp/pos.crt" \
  node --test through_nginx.test.mjs; then
  echo "nginx's error log:" >&2
  cat "$tmp/error.log" >&2
  exit 1
fi
