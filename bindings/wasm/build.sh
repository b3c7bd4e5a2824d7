#!/usr/bin/env bash
# Builds the dcs-wasm npm package: cargo (wasm32, size-optimised) → wasm-bindgen (web and
# nodejs) → wasm-opt -Oz, then prints the gzipped size of the .wasm against its budget: 260 KiB
# for the shipped module (with the browser till's sealing: AES-GCM, HMAC, Ed25519/P-256, argon2),
# 150 KiB for the CRDT + money/cart subset.
# With --crdt-cart-size it also builds and measures the module without the event builder.
# Installs what is missing (the rustup target, wasm-bindgen-cli at the exact version of
# Cargo.lock, npm binaryen@132) and caches the slow installs in $DCS_WASM_CACHE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${DCS_WASM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dcs-wasm}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
binaryen_version=132
mkdir -p "$cache"
say() { printf '[wasm build] %s\n' "$*"; }

# 1. The Rust standard library for wasm32 (rustup downloads it once per toolchain).
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the rustup target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 2. wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$root/Cargo.lock")
[ -n "$want" ] || { echo "wasm-bindgen is not in $root/Cargo.lock: run cargo build -p dcs-wasm once" >&2; exit 1; }
bindgen=$cache/wasm-bindgen-$want/bin/wasm-bindgen
if command -v wasm-bindgen >/dev/null && [ "$(wasm-bindgen --version)" = "wasm-bindgen $want" ]; then
  bindgen=$(command -v wasm-bindgen)
elif [ ! -x "$bindgen" ]; then
  say "installing wasm-bindgen-cli $want into $cache (about 2 minutes, once)"
  CARGO_TARGET_DIR="$cache/cargo-install-target" \
    cargo install wasm-bindgen-cli --version "$want" --root "$cache/wasm-bindgen-$want"
  rm -rf "$cache/cargo-install-target"
fi
say "$("$bindgen" --version)"

# 3. wasm-opt from npm binaryen (Debian's binaryen 108 emits modules Chromium rejects).
wasm_opt=$cache/binaryen-$binaryen_version/node_modules/.bin/wasm-opt
if [ ! -x "$wasm_opt" ]; then
  say "installing npm binaryen@$binaryen_version into $cache"
  npm install --no-audit --no-fund --silent --prefix "$cache/binaryen-$binaryen_version" "binaryen@$binaryen_version"
fi
say "$("$wasm_opt" --version)"

# 4. Release build tuned for size through profile overrides (the workspace profile stays as it is).
cargo_wasm() {
  CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
  CARGO_PROFILE_RELEASE_LTO=fat \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
  CARGO_PROFILE_RELEASE_DEBUG=false \
  CARGO_PROFILE_RELEASE_STRIP=debuginfo \
    cargo build --quiet --manifest-path "$root/Cargo.toml" -p dcs-wasm \
      --target wasm32-unknown-unknown --release "$@"
}
raw=$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/dcs_wasm.wasm

# wasm-bindgen for one target into a folder, then wasm-opt -Oz in place.
bindgen_opt() { # target out-dir
  "$bindgen" --target "$1" --out-dir "$2" --out-name dcs_wasm "$raw"
  "$wasm_opt" -Oz --strip-debug --strip-producers "$2/dcs_wasm_bg.wasm" -o "$2/dcs_wasm_bg.wasm"
}

# Prints a module's size, gzipped size and share of the budget; fails over the budget.
report() { # label wasm-file budget-KiB
  local bytes gz budget_bytes=$(($3 * 1024))
  bytes=$(wc -c < "$2")
  gz=$(gzip -9 -c "$2" | wc -c)
  printf '[wasm build] %s: %d bytes, %d bytes gzipped (-9) = %.1f KiB, %.0f %% of the %d KiB budget\n' \
    "$1" "$bytes" "$gz" "$(echo "$gz / 1024" | bc -l)" "$(echo "100 * $gz / $budget_bytes" | bc -l)" \
    $((budget_bytes / 1024))
  if [ "$gz" -gt "$budget_bytes" ]; then
    echo "$1 is over the $((budget_bytes / 1024)) KiB gzipped budget" >&2
    exit 1
  fi
}

say "cargo build (wasm32-unknown-unknown, opt-level z, fat LTO)"
cargo_wasm

# 5. JS glue and .d.ts typings for browsers (ES module, `await init()`) and Node (CommonJS).
rm -rf "$here/pkg"
bindgen_opt web "$here/pkg/web"
bindgen_opt nodejs "$here/pkg/node"
# The package is "type": "module"; the nodejs glue is CommonJS and must say so.
printf '{ "type": "commonjs" }\n' > "$here/pkg/node/package.json"
printf '{ "type": "module" }\n' > "$here/pkg/web/package.json"

# 6. Size against the budget: the shipped module (CRDTs + money/cart/tax + events + till) must fit.
report "package module (CRDTs, money/cart/tax, events, till)" "$here/pkg/web/dcs_wasm_bg.wasm" 260

# Optionally the CRDT + money/cart module alone (no event builder), the build the budget names.
if [ "${1:-}" = "--crdt-cart-size" ]; then
  say "cargo build --no-default-features (CRDTs + money/cart/tax only)"
  cargo_wasm --no-default-features
  subset=$(mktemp -d)
  bindgen_opt web "$subset"
  report "CRDT + money/cart module" "$subset/dcs_wasm_bg.wasm" 150
  rm -rf "$subset"
fi
